//! Several instances on one store, client addresses, and a lost database.

use serde_json::json;

use crate::{
    helpers::{Backend, PASSWORD, TestApp, assert_problem, assert_problem_soon},
    on_both_stores,
};

fn instances_share_sessions_and_counters(a: TestApp) {
    let b = a.sibling();
    let (token, refresh) = a.logged_in("ada@example.com");
    assert_eq!(
        b.get_auth("/api/v1/auth/me", &token).status(),
        200,
        "B verifies A's token"
    );
    let res = b.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": refresh }));
    assert_eq!(res.status(), 200);
    let token = res.json::<serde_json::Value>().unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        a.post("/api/v1/auth/logout")
            .bearer_auth(&token)
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_problem_soon(
        || b.get_auth("/api/v1/auth/me", &token),
        401,
        "invalid-token",
    );
    for app in [&a, &b, &a, &b, &a] {
        app.failed_guess("ada@example.com");
    }
    let res = b.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "ada@example.com", "password": PASSWORD }),
    );
    assert_problem(res, 429, "too-many-attempts");
}

fn guesses_from(app: &TestApp, forwarded_for: &str, n: usize) -> Vec<u16> {
    (0..n)
        .map(|i| {
            app.post("/api/v1/auth/login")
                .header("x-forwarded-for", forwarded_for)
                .json(&json!({ "username": format!("user{i}@example.com"), "password": "wrong password" }))
                .send()
                .unwrap()
                .status()
                .as_u16()
        })
        .collect()
}

fn forwarded_addresses_count_only_behind_trusted_proxies(backend: Backend) {
    let proxied = TestApp::spawn_with(backend, |s| {
        s.server.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]
    });
    assert!(
        guesses_from(&proxied, "203.0.113.5", 20)
            .iter()
            .all(|s| *s == 401)
    );
    assert_eq!(
        guesses_from(&proxied, "203.0.113.5", 1),
        [429],
        "that client is throttled"
    );
    assert_eq!(
        guesses_from(&proxied, "203.0.113.6", 1),
        [401],
        "another client is not"
    );

    let direct = TestApp::spawn(backend);
    let statuses: Vec<u16> = (0..21)
        .flat_map(|i| guesses_from(&direct, &format!("198.51.100.{i}"), 1))
        .collect();
    assert_eq!(
        statuses[20], 429,
        "a spoofed header does not escape the peer's limit: {statuses:?}"
    );
}

#[test]
fn forwarded_addresses_sqlite() {
    forwarded_addresses_count_only_behind_trusted_proxies(Backend::Sqlite);
}

#[test]
fn forwarded_addresses_postgres() {
    forwarded_addresses_count_only_behind_trusted_proxies(Backend::Postgres);
}

#[test]
fn endpoints_answer_503_without_the_database() {
    let app = TestApp::spawn(Backend::Postgres).drop_database();
    let res = app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "ada@example.com", "password": PASSWORD }),
    );
    assert_eq!(res.headers()["retry-after"], "1");
    let body = assert_problem(res, 503, "service-unavailable");
    assert_eq!(
        body["detail"],
        "The service is temporarily unavailable; retry later"
    );
}

on_both_stores!(instances_share_sessions_and_counters);
