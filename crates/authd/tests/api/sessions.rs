//! The caller's sessions: never refreshed past their absolute lifetime.

use std::{
    thread,
    time::{Duration, Instant},
};

use reqwest::blocking::Response;
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, PASSWORD, TestApp, assert_problem},
    on_both_backends,
};

fn refresh(app: &TestApp, token: &str) -> Response {
    app.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": token }))
}
/// With `tokens.session_max_age_seconds = 2` and the default 30-day
/// refresh lifetime, the refresh tokens of login and refresh expire at the
/// cap, and past it the session cannot be refreshed any more.
fn a_session_is_not_refreshed_past_its_max_age(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.tokens.session_max_age_seconds = std::num::NonZeroU32::new(2).unwrap();
    });
    app.active_user("ada@example.com", json!({}));
    let logged_in = Instant::now();
    let t = app.login("ada@example.com", PASSWORD);
    assert_eq!(t["refresh_expires_in"], 2, "capped at login");
    let first = t["refresh_token"].as_str().unwrap();

    thread::sleep(Duration::from_millis(1_000));
    let res = refresh(&app, first);
    assert_eq!(res.status(), 200);
    let t: Value = res.json().unwrap();
    let left = t["refresh_expires_in"].as_i64().unwrap();
    assert!(
        (0..=1).contains(&left),
        "capped at the session's end: {left}"
    );
    let second = t["refresh_token"].as_str().unwrap();

    if let Some(rest) = Duration::from_millis(2_100).checked_sub(logged_in.elapsed()) {
        thread::sleep(rest);
    }
    assert_problem(refresh(&app, second), 401, "token-expired");
}

on_both_backends!(a_session_is_not_refreshed_past_its_max_age);
