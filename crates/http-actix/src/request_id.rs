//! `X-Request-Id` on every response, one log line per request (or per
//! failed one, as configured), and the id made available to error bodies
//! as their `trace_id`.

use std::time::Instant;

use actix_web::{
    Error,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
    web,
};
use rand::RngCore;
use tracing::Instrument;

use crate::settings::HttpSettings;

/// The request-id header.
pub(crate) const HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static TRACE_ID: HeaderValue;
}

/// The current request's id (empty outside a request).
pub(crate) fn current() -> String {
    TRACE_ID
        .try_with(|id| id.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

/// Keeps an incoming id when it is short, printable ASCII; otherwise makes one.
fn incoming_or_new(req: &ServiceRequest) -> HeaderValue {
    req.headers()
        .get(&HEADER)
        .filter(|v| {
            !v.is_empty() && v.len() <= 128 && v.as_bytes().iter().all(u8::is_ascii_graphic)
        })
        .cloned()
        .unwrap_or_else(new_id)
}

/// Sixteen random hexadecimal digits.
fn new_id() -> HeaderValue {
    HeaderValue::try_from(format!("{:016x}", rand::thread_rng().next_u64()))
        .expect("hexadecimal digits are a valid header value")
}

/// The middleware.
pub(crate) async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = incoming_or_new(&req);
    let log_successes = req
        .app_data::<web::Data<HttpSettings>>()
        .is_none_or(|settings| settings.log_successes);
    let started = Instant::now();
    let span = tracing::info_span!("request", trace_id = %id.to_str().unwrap_or_default());
    // Handlers turn every error into a response inside this scope; an `Err`
    // here could only come from an inner middleware, and there is none.
    let mut res = TRACE_ID
        .scope(id.clone(), next.call(req).instrument(span.clone()))
        .await?;
    let status = res.status().as_u16();
    if log_successes || status >= 400 {
        let _entered = span.enter();
        let request = res.request();
        tracing::info!(
            method = %request.method(),
            path = %request.path(),
            status,
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
    }
    res.headers_mut().insert(HEADER, id);
    Ok(res)
}
