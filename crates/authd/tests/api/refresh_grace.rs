//! Refreshes within the grace period: concurrent and retried refreshes of
//! one token get one answer and keep one token chain; a token presented
//! after its own window is theft and ends the session.

use std::{
    collections::BTreeSet,
    sync::Barrier,
    thread,
    time::{Duration, Instant},
};

use reqwest::blocking::Response;
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, TestApp, assert_problem},
    on_both_backends, on_both_stores,
};

fn refresh(app: &TestApp, token: &str) -> Response {
    app.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": token }))
}

/// The access and refresh tokens of a 200 answer.
fn tokens(res: Response) -> (String, String) {
    assert_eq!(res.status(), 200, "refresh answered");
    let t: Value = res.json().unwrap();
    (
        t["access_token"].as_str().unwrap().to_owned(),
        t["refresh_token"].as_str().unwrap().to_owned(),
    )
}

fn assert_signed_out(app: &TestApp, access_tokens: &[&str]) {
    for token in access_tokens {
        assert_problem(app.get_auth("/api/v1/auth/me", token), 401, "invalid-token");
    }
}

/// Sleeps until `elapsed` has passed since `since`.
fn wait_until(since: Instant, elapsed: Duration) {
    if let Some(left) = elapsed.checked_sub(since.elapsed()) {
        thread::sleep(left);
    }
}

/// The default grace period (10 s) covers twenty tabs refreshing at once.
pub(crate) fn twenty_concurrent_refreshes_get_one_successor(app: TestApp) {
    let (first_access, first) = app.logged_in("ada@example.com");
    let barrier = Barrier::new(20);
    let answers: Vec<(String, String)> = thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    tokens(refresh(&app, &first))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let successors: BTreeSet<&str> = answers.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(successors.len(), 1, "one successor for all: {successors:?}");
    let next = successors.into_iter().next().unwrap().to_owned();
    assert_ne!(next, first);
    for (access, _) in &answers {
        assert_eq!(app.get_auth("/api/v1/auth/me", access).status(), 200);
    }
    assert_eq!(
        app.get_auth("/api/v1/auth/me", &first_access).status(),
        200,
        "the session is alive"
    );
    let (access, after) = tokens(refresh(&app, &next));
    assert_ne!(after, next, "the successor rotates as usual");
    assert_eq!(app.get_auth("/api/v1/auth/me", &access).status(), 200);
}

/// Replays get the same successor, and do not stretch the window, which
/// runs from the first spending; after it, a replay revokes the session,
/// whose access tokens are refused at once.
fn a_replay_after_the_window_revokes_the_session(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.tokens.refresh_reuse_grace_seconds = 2);
    let (first_access, first) = app.logged_in("ada@example.com");
    let spent = Instant::now();
    let (access, second) = tokens(refresh(&app, &first));
    let (replay_access, replayed) = tokens(refresh(&app, &first));
    assert_eq!(replayed, second, "a retry gets the same successor");
    wait_until(spent, Duration::from_millis(1_200));
    let (_, replayed) = tokens(refresh(&app, &first));
    assert_eq!(replayed, second, "still within the window");
    wait_until(spent, Duration::from_millis(2_300));
    assert_problem(refresh(&app, &first), 401, "invalid-token");
    assert_signed_out(&app, &[&first_access, &access, &replay_access]);
    assert_problem(refresh(&app, &second), 401, "invalid-token");
}

/// Theft is judged by the presented token's own window: its successor
/// being live and unspent does not make a late replay harmless.
fn a_late_replay_is_reuse_while_its_successor_is_live(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.tokens.refresh_reuse_grace_seconds = 1);
    let (_, first) = app.logged_in("ada@example.com");
    let spent = Instant::now();
    let (access, second) = tokens(refresh(&app, &first));
    wait_until(spent, Duration::from_millis(1_300));
    assert_eq!(app.get_auth("/api/v1/auth/me", &access).status(), 200);
    assert_problem(refresh(&app, &first), 401, "invalid-token");
    assert_signed_out(&app, &[&access]);
    assert_problem(refresh(&app, &second), 401, "invalid-token");
}

/// Instances on one store derive the same successor: a refresh on one and
/// its replay on the other get the same next token.
fn instances_answer_a_replay_alike(a: TestApp) {
    let b = a.sibling();
    let (_, first) = a.logged_in("ada@example.com");
    let (_, second) = tokens(refresh(&a, &first));
    let (access, replayed) = tokens(refresh(&b, &first));
    assert_eq!(replayed, second);
    assert_eq!(a.get_auth("/api/v1/auth/me", &access).status(), 200);
    let (_, third) = tokens(refresh(&b, &second));
    assert_ne!(third, second);
}

/// A logout wins over any replay.
fn a_replay_after_logout_is_refused(app: TestApp) {
    let (_, first) = app.logged_in("ada@example.com");
    let (access, second) = tokens(refresh(&app, &first));
    let res = app
        .post("/api/v1/auth/logout")
        .bearer_auth(&access)
        .send()
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_problem(refresh(&app, &first), 401, "invalid-token");
    assert_problem(refresh(&app, &second), 401, "invalid-token");
}

on_both_stores!(
    twenty_concurrent_refreshes_get_one_successor,
    instances_answer_a_replay_alike,
    a_replay_after_logout_is_refused,
);

on_both_backends!(
    a_replay_after_the_window_revokes_the_session,
    a_late_replay_is_reuse_while_its_successor_is_live,
);
