use std::net::TcpListener;

use actix_web::{
    App, HttpResponse, HttpServer,
    dev::Server,
    http::header,
    middleware::{DefaultHeaders, from_fn},
    web,
};
use application::AuthService;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::{
    background::Background, blocking, handlers, metrics, openapi::ApiDoc, request_id,
    settings::HttpSettings,
};

/// Mail jobs that may run or wait at once, across all workers.
const BACKGROUND_JOBS: usize = 64;

/// Builds the HTTP server on an already bound listener (port 0 in tests).
///
/// # Errors
/// When the listener cannot be used.
pub fn build_server(
    service: AuthService,
    settings: HttpSettings,
    listener: TcpListener,
) -> std::io::Result<Server> {
    let service = web::Data::new(service);
    let workers = settings.workers;
    let blocking_threads = settings.blocking_threads_per_worker.max(1);
    let blocking_capacity = blocking_threads + settings.blocking_queue_per_worker;
    let shutdown_timeout = settings.shutdown_timeout.as_secs();
    let settings = web::Data::new(settings);
    let background = web::Data::new(Background::new(BACKGROUND_JOBS));
    let compat_routes = settings.compat_routes;
    // Serialised once and shared by every worker: as a JSON value, each
    // copy of the document held some megabytes.
    let openapi = web::Bytes::from(
        serde_json::to_vec(&ApiDoc::value(compat_routes))
            .map_err(|e| std::io::Error::other(format!("the OpenAPI document: {e}")))?,
    );
    // Installed before the first request, so that every series counts.
    metrics::recorder();
    let mut server = HttpServer::new(move || {
        // Runs on each worker's own thread, where its load is counted.
        blocking::set_capacity(blocking_capacity);
        App::new()
            .wrap(
                // Defaults only: a handler that sets its own caching keeps it.
                DefaultHeaders::new()
                    .add((header::CACHE_CONTROL, "no-store"))
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff")),
            )
            .wrap(from_fn(request_id::middleware))
            .wrap(from_fn(metrics::middleware))
            .app_data(service.clone())
            .app_data(settings.clone())
            .app_data(background.clone())
            .configure(handlers::auth::configure)
            .configure(handlers::system::configure)
            .configure(handlers::sessions::configure)
            .configure(handlers::passwords::configure)
            .configure(handlers::admin::configure)
            .configure(handlers::organizations::configure)
            .configure(handlers::api_keys::configure)
            .configure(handlers::mfa::configure)
            .configure(|cfg| {
                if compat_routes {
                    handlers::compat::configure(cfg);
                }
            })
            .service(
                handlers::system::resource("/api-docs/openapi.json", "GET, HEAD").route(
                    handlers::get().to({
                        let doc = openapi.clone();
                        move || {
                            let doc = doc.clone();
                            async move {
                                HttpResponse::Ok()
                                    .content_type(header::ContentType::json())
                                    .body(doc)
                            }
                        }
                    }),
                ),
            )
            .service(web::redirect("/docs", "/docs/"))
            .service(SwaggerUi::new("/docs/{_:.*}").config(Config::new(["/api-docs/openapi.json"])))
            .default_service(web::to(handlers::system::not_found))
    })
    .worker_max_blocking_threads(blocking_threads)
    .shutdown_timeout(shutdown_timeout)
    // The binary decides what a signal means (see `authd::serve`).
    .disable_signals()
    .listen(listener)?;
    if workers > 0 {
        server = server.workers(workers);
    }
    Ok(server.run())
}
