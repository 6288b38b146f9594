//! What limits the mails authd sends: per recipient and per client address
//! (answers unchanged past a limit), and a resent validation code voids the
//! older ones.
//!
//! Resend and forgot answer before they mail. A mail that must not be sent
//! is checked after a barrier: a later request whose mail is allowed, made
//! after the refused one was answered, whose mail is waited for.

use std::{
    num::NonZeroU32,
    thread,
    time::{Duration, Instant},
};

use reqwest::blocking::Response;
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, FORGOT_ACCEPTED, PASSWORD, RESEND_ACCEPTED, TestApp, assert_problem},
    on_both_backends, on_both_stores,
};

/// An app behind a trusted proxy (so each request names its client
/// address), allowing 3 mails per recipient and 3 per client address.
fn limited(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |s| {
        s.server.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        s.security.max_mails_per_recipient = NonZeroU32::new(3).unwrap();
        s.security.max_mails_per_ip = NonZeroU32::new(3).unwrap();
    })
}

/// A POST from client address `ip`.
fn post_from(app: &TestApp, ip: &str, path: &str, body: &Value) -> Response {
    app.post(path)
        .header("x-forwarded-for", ip)
        .json(body)
        .send()
        .expect("request sent")
}

fn signup_from(app: &TestApp, ip: &str, email: &str) -> Response {
    let body = json!({
        "email": email, "password": PASSWORD, "first_name": "Ada", "last_name": "Lovelace",
    });
    post_from(app, ip, "/api/v1/auth/signup", &body)
}

/// Signs up `email` from `ip` and validates it: one mail to `email`.
fn active_from(app: &TestApp, ip: &str, email: &str) {
    assert_eq!(signup_from(app, ip, email).status(), 201);
    let code = app.last_code(email, "validate-email");
    let res = app.post_json("/api/v1/auth/validate", &json!({ "code": code }));
    assert_eq!(res.status(), 200);
}

/// Asks for a reset mail to `email` from `ip`: always 202, the same words.
fn forgot_from(app: &TestApp, ip: &str, email: &str) {
    let body = json!({ "email": email });
    let res = post_from(app, ip, "/api/v1/auth/password/forgot", &body);
    assert_eq!(res.status(), 202);
    assert_eq!(res.text().unwrap(), FORGOT_ACCEPTED);
}

/// Asks for a validation mail to `email` from `ip`: always 202, the same
/// words.
fn resend_from(app: &TestApp, ip: &str, email: &str) {
    let body = json!({ "email": email });
    let res = post_from(app, ip, "/api/v1/auth/validate/resend", &body);
    assert_eq!(res.status(), 202);
    assert_eq!(res.text().unwrap(), RESEND_ACCEPTED);
}

/// The codes of the mails of `kind` sent to `to`, oldest first, once there
/// are at least `n` (waiting a few seconds at most).
fn codes_to(app: &TestApp, to: &str, kind: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let codes: Vec<String> = app
            .mails()
            .into_iter()
            .filter(|m| m["to"] == to && m["kind"] == kind)
            .filter_map(|m| m["code"].as_str().map(str::to_owned))
            .collect();
        if codes.len() >= n {
            return codes;
        }
        assert!(Instant::now() < deadline, "no {kind} mail #{n} to {to}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// How many mails went to `to`.
fn mails_to(app: &TestApp, to: &str) -> usize {
    app.mails().iter().filter(|m| m["to"] == to).count()
}

fn reset(app: &TestApp, code: &str) -> Response {
    app.post_json(
        "/api/v1/auth/password/reset",
        &json!({ "code": code, "new_password": "purple mountains drink quietly" }),
    )
}

fn forgot_past_the_recipient_limit_sends_nothing(backend: Backend) {
    let app = limited(backend);
    active_from(&app, "198.51.100.1", "ada@example.com");
    forgot_from(&app, "203.0.113.1", "ada@example.com");
    codes_to(&app, "ada@example.com", "reset-password", 1);
    forgot_from(&app, "203.0.113.2", "ada@example.com");
    let newest = codes_to(&app, "ada@example.com", "reset-password", 2)[1].clone();
    // The validation mail and two reset mails: the fourth mail is refused,
    // from yet another address, and still answered 202.
    forgot_from(&app, "203.0.113.3", "ada@example.com");
    active_from(&app, "198.51.100.2", "bob@example.com");
    forgot_from(&app, "203.0.113.3", "bob@example.com");
    codes_to(&app, "bob@example.com", "reset-password", 1);
    assert_eq!(mails_to(&app, "ada@example.com"), 3, "nothing more to ada");
    // No code was made either: the newest mailed one still works.
    assert_eq!(reset(&app, &newest).status(), 204);
}

fn resend_past_the_recipient_limit_sends_nothing(backend: Backend) {
    let app = limited(backend);
    assert_eq!(
        signup_from(&app, "198.51.100.1", "ada@example.com").status(),
        201
    );
    resend_from(&app, "203.0.113.1", "ada@example.com");
    codes_to(&app, "ada@example.com", "validate-email", 2);
    resend_from(&app, "203.0.113.2", "ada@example.com");
    let newest = codes_to(&app, "ada@example.com", "validate-email", 3)[2].clone();
    resend_from(&app, "203.0.113.3", "ada@example.com");
    assert_eq!(
        signup_from(&app, "198.51.100.2", "bob@example.com").status(),
        201
    );
    resend_from(&app, "203.0.113.3", "bob@example.com");
    codes_to(&app, "bob@example.com", "validate-email", 2);
    assert_eq!(mails_to(&app, "ada@example.com"), 3, "nothing more to ada");
    let res = app.post_json("/api/v1/auth/validate", &json!({ "code": newest }));
    assert_eq!(
        res.status(),
        200,
        "no newer code voided the newest mailed one"
    );
}

fn signup_past_the_client_address_limit_creates_the_account_without_mail(backend: Backend) {
    let app = limited(backend);
    let ip = "203.0.113.1";
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        assert_eq!(signup_from(&app, ip, email).status(), 201);
    }
    assert_eq!(app.wait_for_mails(3).len(), 3);
    let res = signup_from(&app, ip, "d@example.com");
    assert_eq!(res.status(), 201);
    let user: Value = res.json().unwrap();
    assert_eq!(user["email"], "d@example.com");
    assert_eq!(user["status"], "pending_validation");
    // Sign-up mails before it answers: nothing went to d.
    assert_eq!(app.mails().len(), 3);
    assert_eq!(mails_to(&app, "d@example.com"), 0);
    let res = app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "d@example.com", "password": PASSWORD }),
    );
    assert_problem(res, 401, "account-not-validated");
    // From another address, d can ask for the mail again.
    resend_from(&app, "203.0.113.2", "d@example.com");
    let code = codes_to(&app, "d@example.com", "validate-email", 1)[0].clone();
    let res = app.post_json("/api/v1/auth/validate", &json!({ "code": code }));
    assert_eq!(res.status(), 200);
}

fn forgot_past_the_client_address_limit_sends_nothing_to_anyone(backend: Backend) {
    let app = limited(backend);
    let emails = [
        "a@example.com",
        "b@example.com",
        "c@example.com",
        "d@example.com",
    ];
    for (i, email) in emails.iter().enumerate() {
        active_from(&app, &format!("198.51.100.{i}"), email);
    }
    let ip = "203.0.113.1";
    for email in &emails[..3] {
        forgot_from(&app, ip, email);
        codes_to(&app, email, "reset-password", 1);
    }
    // The address's fourth mail, to a recipient under its own limit.
    forgot_from(&app, ip, "d@example.com");
    forgot_from(&app, "203.0.113.2", "d@example.com");
    let codes = codes_to(&app, "d@example.com", "reset-password", 1);
    assert_eq!(codes.len(), 1, "only the other address's mail to d");
    assert_eq!(reset(&app, &codes[0]).status(), 204);
}

fn resend_voids_the_older_validation_codes(app: TestApp) {
    app.signup("ada@example.com", json!({}));
    let first = app.last_code("ada@example.com", "validate-email");
    let res = app.post_json(
        "/api/v1/auth/validate/resend",
        &json!({ "email": "ada@example.com" }),
    );
    assert_eq!(res.status(), 202);
    app.wait_for_mails(2);
    let newest = app.last_code("ada@example.com", "validate-email");
    assert_ne!(first, newest);
    let res = app.post_json("/api/v1/auth/validate", &json!({ "code": first }));
    assert_problem(res, 400, "invalid-code");
    let res = app.post_json("/api/v1/auth/validate", &json!({ "code": newest }));
    assert_eq!(res.status(), 200);
    let user: serde_json::Value = res.json().unwrap();
    assert_eq!(user["status"], "active");
}

on_both_stores!(resend_voids_the_older_validation_codes);

on_both_backends!(
    forgot_past_the_recipient_limit_sends_nothing,
    resend_past_the_recipient_limit_sends_nothing,
    signup_past_the_client_address_limit_creates_the_account_without_mail,
    forgot_past_the_client_address_limit_sends_nothing_to_anyone,
);
