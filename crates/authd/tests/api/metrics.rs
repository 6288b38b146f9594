//! `GET /metrics`: the named series, after a flow that moves each of them.

use std::{
    num::NonZeroU32,
    time::{Duration, Instant},
};

use serde_json::json;

use crate::{
    helpers::{Backend, TestApp, assert_problem},
    on_both_backends,
};

/// The value of the first sample of `series` whose labels contain every
/// `label` (`name="value"`), in Prometheus text `text`.
fn sample(text: &str, series: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(key, _)| {
            let name = key.split('{').next().unwrap_or_default();
            name == series && labels.iter().all(|label| key.contains(label))
        })
        .find_map(|(_, value)| value.parse().ok())
}

fn scrape(app: &TestApp) -> String {
    let res = app.get("/metrics").send().expect("answer");
    assert_eq!(res.status(), 200);
    let content_type = res.headers()["content-type"].to_str().expect("ascii");
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    res.text().expect("text")
}

/// Scrapes until `series` (with `labels`) is above zero, for at most 5 s
/// (mail goes out in the background).
fn eventually_positive(app: &TestApp, series: &str, labels: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = scrape(app);
        if sample(&text, series, labels).is_some_and(|v| v > 0.0) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn every_named_series_moves(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.tokens.refresh_reuse_grace_seconds = 0;
        s.security.max_failed_logins = NonZeroU32::new(1).expect("not zero");
    });
    // Sign-up (a hash, a mail), login (a verify), a refresh and its reuse.
    let (token, refresh) = app.logged_in("ada@example.com");
    for expected in [200, 401] {
        let res = app.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": refresh }));
        assert_eq!(res.status(), expected);
    }
    // A wrong password, then the throttle.
    app.failed_guess("bob@example.com");
    assert_problem(app.guess("bob@example.com"), 429, "too-many-attempts");
    // A path with an id, and one that names no route.
    let org = uuid::Uuid::now_v7();
    app.get_auth(&format!("/api/v1/organizations/{org}"), &token);
    app.get("/no/such/path").send().expect("answer");

    let text = eventually_positive(&app, "authd_mails_total", &[r#"outcome="sent""#]);
    for (series, labels) in [
        (
            "authd_http_requests_total",
            &[
                r#"route="/api/v1/auth/login""#,
                r#"status="200""#,
                r#"method="POST""#,
            ][..],
        ),
        (
            "authd_http_request_duration_seconds_count",
            &[r#"route="/api/v1/auth/signup""#],
        ),
        (
            "authd_http_requests_total",
            &[r#"route="/api/v1/organizations/{id}""#],
        ),
        ("authd_http_requests_total", &[r#"route="unmatched""#]),
        ("authd_logins_total", &[r#"outcome="success""#]),
        ("authd_logins_total", &[r#"outcome="bad-credentials""#]),
        ("authd_refresh_reuse_detected_total", &[]),
        ("authd_throttle_rejections_total", &[r#"kind="login""#]),
        (
            "authd_password_hash_duration_seconds_count",
            &[r#"operation="hash""#],
        ),
        (
            "authd_password_hash_duration_seconds_count",
            &[r#"operation="verify""#],
        ),
        ("authd_db_acquire_duration_seconds_count", &[]),
        ("authd_mails_total", &[r#"outcome="sent""#]),
    ] {
        let value = sample(&text, series, labels);
        assert!(
            value.is_some_and(|v| v > 0.0),
            "{series} {labels:?} is {value:?} in:\n{text}"
        );
    }
    // Gauges, which every test of this process sets: present, whatever
    // their value now.
    for series in [
        "authd_blocking_jobs",
        "authd_load_shed_total",
        "authd_db_connections",
        "authd_db_up",
    ] {
        assert!(sample(&text, series, &[]).is_some(), "{series} in:\n{text}");
    }
    assert!(
        !text.contains(&org.to_string()),
        "a raw path became a label:\n{text}"
    );
    assert!(
        text.contains("# HELP authd_logins_total "),
        "series are described"
    );
}

/// With `metrics.token`, the endpoint answers only its bearer.
#[test]
fn a_metrics_token_guards_the_endpoint() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.metrics.token = Some("scrape-secret".to_owned().into());
    });
    assert_problem(
        app.get("/metrics").send().expect("answer"),
        401,
        "missing-authorization",
    );
    assert_problem(
        app.get_auth("/metrics", "scrape-secre"),
        401,
        "invalid-token",
    );
    let res = app.get_auth("/metrics", "scrape-secret");
    assert_eq!(res.status(), 200);
    let lower = app
        .get("/metrics")
        .header("Authorization", "bearer scrape-secret")
        .send()
        .expect("answer");
    assert_eq!(lower.status(), 200, "the scheme is case-insensitive");
    assert!(
        res.text()
            .expect("text")
            .contains("authd_http_requests_total")
    );
}

on_both_backends!(every_named_series_moves);
