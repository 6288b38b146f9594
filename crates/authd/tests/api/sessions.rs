//! The caller's sessions: listed with the client seen at login and at each
//! refresh, ended one by one with immediate effect, and never refreshed
//! past their absolute lifetime.

use std::{
    thread,
    time::{Duration, Instant},
};

use reqwest::blocking::Response;
use serde_json::{Value, json};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{
    helpers::{Backend, PASSWORD, TestApp, assert_problem},
    on_both_backends, on_both_stores,
};

/// The test client's own address, which the app trusts as a proxy in the
/// tests that forward a client address.
const PROXY: &str = "127.0.0.1";

/// Logs `email` in as a client with this `User-Agent`, forwarded for `ip`:
/// (access token, refresh token).
fn login_as(app: &TestApp, email: &str, user_agent: &str, ip: &str) -> (String, String) {
    let body = json!({ "username": email, "password": PASSWORD });
    token_pair(post_as(app, "/api/v1/auth/login", &body, user_agent, ip))
}

/// Presents `refresh_token` as a client with this `User-Agent`, forwarded
/// for `ip`.
fn refresh_as(app: &TestApp, refresh_token: &str, user_agent: &str, ip: &str) -> Response {
    let body = json!({ "refresh_token": refresh_token });
    post_as(app, "/api/v1/auth/refresh", &body, user_agent, ip)
}

fn post_as(app: &TestApp, path: &str, body: &Value, user_agent: &str, ip: &str) -> Response {
    app.post(path)
        .header("User-Agent", user_agent)
        .header("X-Forwarded-For", ip)
        .json(body)
        .send()
        .unwrap()
}

fn token_pair(res: Response) -> (String, String) {
    assert_eq!(res.status(), 200);
    let t: Value = res.json().unwrap();
    (
        t["access_token"].as_str().unwrap().to_owned(),
        t["refresh_token"].as_str().unwrap().to_owned(),
    )
}

fn refresh(app: &TestApp, token: &str) -> Response {
    app.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": token }))
}

fn sessions(app: &TestApp, access: &str) -> Vec<Value> {
    let res = app.get_auth("/api/v1/auth/sessions", access);
    assert_eq!(res.status(), 200);
    res.json().unwrap()
}

fn delete(app: &TestApp, id: &str, access: &str) -> Response {
    app.client
        .delete(app.url(&format!("/api/v1/auth/sessions/{id}")))
        .bearer_auth(access)
        .send()
        .unwrap()
}

fn instant(value: &Value) -> OffsetDateTime {
    let text = value.as_str().expect("a timestamp string");
    assert!(text.ends_with('Z'), "UTC: {text}");
    OffsetDateTime::parse(text, &Rfc3339).expect("RFC 3339")
}

fn id_of(session: &Value) -> String {
    session["id"].as_str().unwrap().to_owned()
}

fn with_trusted_proxy(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |s| {
        s.server.trusted_proxies = vec![PROXY.parse().unwrap()];
    })
}

/// Two logins are listed, the newest first, each with its own client and
/// `current` on the caller's; a refresh records its client and moves its
/// session to the top; a replay within grace records nothing.
fn sessions_are_listed_with_the_client_of_login_and_refresh(backend: Backend) {
    let app = with_trusted_proxy(backend);
    app.active_user("ada@example.com", json!({}));
    let (_, laptop_refresh) = login_as(&app, "ada@example.com", "laptop/1.0", "198.51.100.1");
    let (phone, _) = login_as(&app, "ada@example.com", "phone/1.0", "203.0.113.2");

    let listed = sessions(&app, &phone);
    assert_eq!(listed.len(), 2, "{listed:?}");
    let (newest, oldest) = (&listed[0], &listed[1]);
    assert_eq!(newest["user_agent"], "phone/1.0");
    assert_eq!(newest["ip"], "203.0.113.2");
    assert_eq!(newest["current"], true);
    assert_eq!(oldest["user_agent"], "laptop/1.0");
    assert_eq!(oldest["ip"], "198.51.100.1");
    assert_eq!(oldest["current"], false);
    for s in &listed {
        let created = instant(&s["created_at"]);
        assert_eq!(instant(&s["last_used_at"]), created);
        assert_eq!(
            instant(&s["expires_at"]) - created,
            time::Duration::days(30),
            "the default refresh lifetime"
        );
        assert!(id_of(s).parse::<uuid::Uuid>().is_ok());
    }

    let (laptop, _) = token_pair(refresh_as(
        &app,
        &laptop_refresh,
        "laptop/2.0",
        "192.0.2.44",
    ));
    let replay = refresh_as(&app, &laptop_refresh, "replayer/9.9", "192.0.2.99");
    assert_eq!(replay.status(), 200, "a replay within grace");

    let listed = sessions(&app, &laptop);
    assert_eq!(listed.len(), 2);
    let used = &listed[0];
    assert_eq!(
        id_of(used),
        id_of(oldest),
        "the refreshed session comes first"
    );
    assert_eq!(used["user_agent"], "laptop/2.0");
    assert_eq!(used["ip"], "192.0.2.44");
    assert_eq!(used["current"], true);
    assert!(instant(&used["last_used_at"]) > instant(&used["created_at"]));
    assert_eq!(listed[1]["current"], false);
    assert_eq!(listed[1]["user_agent"], "phone/1.0");
}

/// Deleting another session of one's own ends its access and refresh
/// tokens at once; deleting it again is 204 too; deleting the current
/// session is a logout.
fn deleting_a_session_ends_its_tokens_at_once(app: TestApp) {
    let (old_access, old_refresh) = app.logged_in("ada@example.com");
    let t = app.login("ada@example.com", PASSWORD);
    let access = t["access_token"].as_str().unwrap().to_owned();
    let listed = sessions(&app, &access);
    let other = listed
        .iter()
        .find(|s| s["current"] == false)
        .map(id_of)
        .unwrap();

    assert_eq!(delete(&app, &other, &access).status(), 204);
    assert_problem(
        app.get_auth("/api/v1/auth/me", &old_access),
        401,
        "invalid-token",
    );
    assert_problem(refresh(&app, &old_refresh), 401, "invalid-token");
    let listed = sessions(&app, &access);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["current"], true);
    assert_eq!(
        delete(&app, &other, &access).status(),
        204,
        "an ended session of one's own: idempotent"
    );

    let current = id_of(&listed[0]);
    let refresh_token = t["refresh_token"].as_str().unwrap();
    assert_eq!(delete(&app, &current, &access).status(), 204);
    assert_problem(
        app.get_auth("/api/v1/auth/sessions", &access),
        401,
        "invalid-token",
    );
    assert_problem(refresh(&app, refresh_token), 401, "invalid-token");
}

/// Another user's session, an unknown id and a malformed one get one
/// answer, 404 `not-found`, and nothing ends.
fn a_session_not_ones_own_is_not_found(app: TestApp) {
    let (ada, _) = app.logged_in("ada@example.com");
    let (bob, _) = app.logged_in("bob@example.com");
    let adas = id_of(&sessions(&app, &ada)[0]);
    let unknown = uuid::Uuid::now_v7().to_string();
    for id in [adas.as_str(), unknown.as_str(), "not-a-session-id"] {
        assert_problem(delete(&app, id, &bob), 404, "not-found");
    }
    assert_eq!(app.get_auth("/api/v1/auth/me", &ada).status(), 200);
    assert_eq!(sessions(&app, &ada).len(), 1);
    assert_eq!(sessions(&app, &bob).len(), 1, "Bob sees only his own");
}

/// Both operations need a valid access token.
fn sessions_need_authorization(app: TestApp) {
    let res = app.get("/api/v1/auth/sessions").send().unwrap();
    assert_problem(res, 401, "missing-authorization");
    let id = uuid::Uuid::now_v7();
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/auth/sessions/{id}")))
        .send()
        .unwrap();
    assert_problem(res, 401, "missing-authorization");
    assert_problem(
        app.get_auth("/api/v1/auth/sessions", "not.a.token"),
        401,
        "invalid-token",
    );
    assert_problem(
        delete(&app, &id.to_string(), "not.a.token"),
        401,
        "invalid-token",
    );
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

on_both_backends!(
    sessions_are_listed_with_the_client_of_login_and_refresh,
    a_session_is_not_refreshed_past_its_max_age,
);

on_both_stores!(
    deleting_a_session_ends_its_tokens_at_once,
    a_session_not_ones_own_is_not_found,
    sessions_need_authorization,
);
