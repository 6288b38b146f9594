//! Prometheus metrics: the process's recorder (which every crate's
//! `metrics::` calls reach), a series per request, and `GET /metrics`.

use std::{
    sync::OnceLock,
    thread,
    time::{Duration, Instant},
};

use actix_web::{
    Error, HttpRequest, HttpResponse,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::{Method, header},
    middleware::Next,
    web,
};
use domain::ErrorCode;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{
    error::ApiError,
    outcomes::{Documented, operation_errors},
    settings::HttpSettings,
};

/// `metrics.token` is set and the request does not carry it.
#[derive(Debug)]
pub(crate) enum TokenRequired {
    /// No `Authorization` header.
    Missing,
    /// Another credential.
    Wrong,
}

impl Documented for TokenRequired {
    const CODES: &'static [ErrorCode] = &[ErrorCode::MissingAuthorization, ErrorCode::InvalidToken];
}

impl From<TokenRequired> for ApiError {
    fn from(refusal: TokenRequired) -> Self {
        let code = match refusal {
            TokenRequired::Missing => ErrorCode::MissingAuthorization,
            TokenRequired::Wrong => ErrorCode::InvalidToken,
        };
        ApiError::with_detail(
            code,
            "This endpoint needs the bearer token set as metrics.token",
        )
    }
}

operation_errors!(MetricsErrors: TokenRequired);

/// Bucket bounds of every `_seconds` histogram: 1 ms to 10 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often histogram samples are folded into their buckets, so that
/// memory stays bounded however rarely the endpoint is scraped.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The Prometheus text format's media type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a series is, for its description.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Every series authd exports, with its help text (see docs/operations.md).
const SERIES: &[(&str, Kind, &str)] = &[
    (
        "authd_http_requests_total",
        Kind::Counter,
        "HTTP requests answered, by method, route template and status.",
    ),
    (
        "authd_http_request_duration_seconds",
        Kind::Histogram,
        "Time to answer an HTTP request, by method, route template and status.",
    ),
    (
        "authd_logins_total",
        Kind::Counter,
        "Password logins by outcome: success, mfa-required, or the error code.",
    ),
    (
        "authd_refresh_reuse_detected_total",
        Kind::Counter,
        "Spent refresh tokens presented again: each revoked its session.",
    ),
    (
        "authd_throttle_rejections_total",
        Kind::Counter,
        "Requests refused by a limit, by kind: login (passwords and codes) or mail.",
    ),
    (
        "authd_password_hash_duration_seconds",
        Kind::Histogram,
        "Time of one argon2id computation, by operation: hash or verify.",
    ),
    (
        "authd_db_connections",
        Kind::Gauge,
        "Pooled database connections, by state: in_use or idle.",
    ),
    (
        "authd_db_acquire_duration_seconds",
        Kind::Histogram,
        "Time to get a pooled database connection, successful or not.",
    ),
    (
        "authd_db_up",
        Kind::Gauge,
        "1 when the database answered its last readiness check and takes writes, else 0.",
    ),
    (
        "authd_blocking_jobs",
        Kind::Gauge,
        "Use cases running or waiting for a blocking thread, across workers.",
    ),
    (
        "authd_load_shed_total",
        Kind::Counter,
        "Requests answered service-unavailable at once because the blocking pool was full.",
    ),
    (
        "authd_mails_total",
        Kind::Counter,
        "Mail delivery attempts by outcome: sent, retried (to be tried again) or failed (given up).",
    ),
];

/// The process's recorder, installed by the first call (later calls, from
/// a second server in the same process, share it); `None` if another
/// recorder was installed first.
pub(crate) fn recorder() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE.get_or_init(install).as_ref()
}

fn install() -> Option<PrometheusHandle> {
    let installed = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
        .and_then(PrometheusBuilder::install_recorder);
    let handle = match installed {
        Ok(handle) => handle,
        Err(error) => {
            tracing::error!(%error, "cannot install the metrics recorder: /metrics stays empty");
            return None;
        }
    };
    for &(name, kind, help) in SERIES {
        match kind {
            Kind::Counter => metrics::describe_counter!(name, help),
            Kind::Gauge => metrics::describe_gauge!(name, help),
            Kind::Histogram => metrics::describe_histogram!(name, help),
        }
    }
    // Present from the start, so that a rate over them is defined before
    // the first event (the labelled series appear with their first event).
    metrics::counter!("authd_refresh_reuse_detected_total").absolute(0);
    metrics::counter!("authd_load_shed_total").absolute(0);
    let upkeep = handle.clone();
    let spawned = thread::Builder::new()
        .name("authd-metrics".into())
        .spawn(move || {
            loop {
                thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot start the metrics upkeep");
    }
    Some(handle)
}

/// Counts each request and its latency under its route template (never
/// the raw path, whose values are unbounded).
pub(crate) async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    record_request(method, route, res.status().as_u16(), started);
    Ok(res)
}

/// The request series of one method, route and status.
type RequestSeries = (metrics::Counter, metrics::Histogram);

thread_local! {
    /// Each worker's handles on the request series it has recorded:
    /// registering a series by its labels on every request costs more
    /// than the rest of a cached answer.
    static REQUEST_SERIES: std::cell::RefCell<std::collections::HashMap<(&'static str, String, u16), RequestSeries>> =
        std::cell::RefCell::default();
}

/// Counts a request and records how long it took since `started`.
fn record_request(method: &'static str, route: String, status: u16, started: Instant) {
    REQUEST_SERIES.with_borrow_mut(|known| {
        let (requests, duration) =
            known
                .entry((method, route, status))
                .or_insert_with_key(|(method, route, status)| {
                    let labels = [
                        ("method", (*method).to_owned()),
                        ("route", route.clone()),
                        ("status", status.to_string()),
                    ];
                    (
                        metrics::counter!("authd_http_requests_total", &labels),
                        metrics::histogram!("authd_http_request_duration_seconds", &labels),
                    )
                });
        requests.increment(1);
        duration.record(started.elapsed());
    });
}

/// The method as a label: one of the standard ones, or "other" (a client
/// may send any token as a method).
fn method_label(method: &Method) -> &'static str {
    [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
    ]
    .into_iter()
    .zip(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
    .find_map(|(known, label)| (known == method).then_some(label))
    .unwrap_or("other")
}

/// Counts a login step's outcome: `success`, or the `error_code` it
/// ended in (`mfa-required` when a second factor follows).
pub(crate) fn login_outcome<T>(step: &'static str, result: &Result<T, ApiError>) {
    let outcome = match result {
        Ok(_) => "success",
        Err(e) => e.code().as_str(),
    };
    metrics::counter!("authd_logins_total", "step" => step, "outcome" => outcome).increment(1);
}

/// The metrics in Prometheus text format; with `metrics.token` set, only
/// for a request that carries it as its bearer token.
#[utoipa::path(get, path = "/metrics", tag = "health", operation_id = "metrics",
    responses(
        (status = 200, description = "Prometheus text format (version 0.0.4); docs/operations.md \
            lists the series", content_type = "text/plain", body = String),
        MetricsErrors,
    ))]
pub(crate) async fn endpoint(
    req: HttpRequest,
    settings: web::Data<HttpSettings>,
) -> Result<HttpResponse, ApiError> {
    if let Some(token) = &settings.metrics_token {
        check_bearer(&req, token.expose_secret()).map_err(MetricsErrors::fail)?;
    }
    let text = recorder().map(PrometheusHandle::render).unwrap_or_default();
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, TEXT_FORMAT))
        .body(text))
}

/// Whether the request's `Authorization` is `Bearer <expected>` (the
/// scheme in any case), compared in constant time (as digests, so that not
/// even the length leaks).
fn check_bearer(req: &HttpRequest, expected: &str) -> Result<(), TokenRequired> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(TokenRequired::Missing)?;
    let given = header
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, token)| token);
    let (given, expected) = (Sha256::digest(given), Sha256::digest(expected));
    if bool::from(given.ct_eq(&expected)) {
        Ok(())
    } else {
        Err(TokenRequired::Wrong)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        let odd = Method::from_bytes(b"BREW").expect("a token");
        assert_eq!(method_label(&odd), "other");
    }
}
