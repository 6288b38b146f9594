use actix_web::{HttpResponse, Resource, ResponseError, http::header, web};
use domain::ErrorCode;

use super::{Service, get};
use crate::{
    dto::{HealthResponse, JwksResponse},
    error::ApiError,
    outcomes::operation_errors,
};

operation_errors!(ReadyErrors: application::NotReady);

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health/live", tag = "health",
    responses((status = 200, body = HealthResponse)))]
pub(crate) async fn live() -> HttpResponse {
    HttpResponse::Ok().json(HealthResponse { status: "ok" })
}

/// Readiness: the database answered its last check and takes writes. The
/// check runs in the background every `database.health_check_interval_ms`,
/// so this answers at once, whatever the load: 503 within about a second
/// of the database going away or turning read-only (a standby, a primary
/// being demoted), with the reason in `detail`.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses(
        (status = 200, body = HealthResponse),
        ReadyErrors,
    ))]
pub(crate) async fn ready(svc: Service) -> Result<HttpResponse, ApiError> {
    svc.ready().map_err(ReadyErrors::fail)?;
    Ok(HttpResponse::Ok().json(HealthResponse { status: "ok" }))
}

/// The public keys that verify access tokens: every key of the set, the
/// signer first, each with `kid`, `alg` and `use`. Cacheable for five
/// minutes: a key is published at least that long before it signs (see
/// docs/key-rotation.md).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "tokens",
    responses((status = 200, body = JwksResponse, headers(
        ("Cache-Control" = String, description = "`public, max-age=300`")))))]
pub(crate) async fn jwks(svc: Service) -> HttpResponse {
    let keys = svc.public_keys().into_iter().map(|k| k.0).collect();
    HttpResponse::Ok()
        .insert_header(("Cache-Control", JWKS_CACHE_CONTROL))
        .json(JwksResponse { keys })
}

/// How long resource servers may keep the key set: the wait between
/// publishing a key and letting it sign.
pub(crate) const JWKS_CACHE_CONTROL: &str = "public, max-age=300";

/// A 404 problem for unknown paths.
pub(crate) async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ErrorCode::NotFound.into())
}

/// A resource that answers 405 problem+json, with the `Allow` header RFC
/// 9110 requires, to the methods it lacks. `allow` lists the methods its
/// routes serve, e.g. `"GET, HEAD, PATCH"`.
pub(crate) fn resource(path: &str, allow: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move || async move {
        let mut res = ApiError::from(ErrorCode::MethodNotAllowed).error_response();
        res.headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static(allow));
        res
    }))
}

/// Routes of this module.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/health/live", "GET, HEAD").route(get().to(live)))
        .service(resource("/health/ready", "GET, HEAD").route(get().to(ready)))
        .service(resource("/.well-known/jwks.json", "GET, HEAD").route(get().to(jwks)))
        .service(resource("/metrics", "GET, HEAD").route(get().to(crate::metrics::endpoint)));
}
