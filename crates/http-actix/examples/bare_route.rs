//! The reference route of the benchmarks (`bench/run`): one actix-web
//! route, compiled in the same build as authd, with nothing behind it.
//!
//! `GET /verify` reads the `Authorization` header and answers 200 with a
//! small JSON body; any other path is 404. It does no I/O and no
//! cryptography, so its throughput is what actix-web alone gives on this
//! machine with the same worker count as authd (one per core).
//!
//! Usage: `bare_route [ADDRESS]` (default `127.0.0.1:0`, a free port). The
//! bound address is printed on stdout, one line, once it listens.

use std::net::TcpListener;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, http::header, web};

async fn verify(request: HttpRequest) -> HttpResponse {
    let credential = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    HttpResponse::Ok().json(serde_json::json!({
        "authenticated": credential.is_some(),
        "credential_length": credential.map_or(0, str::len),
    }))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = TcpListener::bind(&address)?;
    println!("{}", listener.local_addr()?);
    HttpServer::new(|| App::new().route("/verify", web::get().to(verify)))
        .listen(listener)?
        .run()
        .await
}
