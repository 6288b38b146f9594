//! Password change, forgot and reset.

use std::{
    thread,
    time::{Duration, Instant},
};

use reqwest::blocking::Response;
use serde_json::{Value, json};

use crate::{
    helpers::{FORGOT_ACCEPTED, PASSWORD, TestApp, assert_problem},
    on_both_stores,
};

const NEW_PASSWORD: &str = "purple mountains drink quietly";

/// The newest code of the `nth` reset mail to `to`, waiting for it to be
/// sent (forgot answers before it mails).
fn reset_mail(app: &TestApp, to: &str, nth: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let codes: Vec<String> = app
            .mails()
            .into_iter()
            .filter(|m| m["to"] == to && m["kind"] == "reset-password")
            .filter_map(|m| m["code"].as_str().map(str::to_owned))
            .collect();
        if codes.len() >= nth {
            return codes[nth - 1].clone();
        }
        assert!(Instant::now() < deadline, "no reset mail #{nth} to {to}");
        thread::sleep(Duration::from_millis(20));
    }
}

fn forgot(app: &TestApp, email: &str) -> Response {
    app.post_json("/api/v1/auth/password/forgot", &json!({ "email": email }))
}

fn reset(app: &TestApp, code: &str, new_password: &str) -> Response {
    app.post_json(
        "/api/v1/auth/password/reset",
        &json!({ "code": code, "new_password": new_password }),
    )
}

fn change(app: &TestApp, token: &str, current: &str, new: &str) -> Response {
    app.post("/api/v1/auth/password/change")
        .bearer_auth(token)
        .json(&json!({ "current_password": current, "new_password": new }))
        .send()
        .expect("request sent")
}

fn login_attempt(app: &TestApp, email: &str, password: &str) -> Response {
    app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": email, "password": password }),
    )
}

fn refresh(app: &TestApp, token: &str) -> Response {
    app.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": token }))
}

/// Another login of `email`: (access token, refresh token).
fn session(app: &TestApp, email: &str, password: &str) -> (String, String) {
    let t = app.login(email, password);
    (
        t["access_token"].as_str().expect("access").to_owned(),
        t["refresh_token"].as_str().expect("refresh").to_owned(),
    )
}

#[track_caller]
fn assert_no_content(res: Response) {
    assert_eq!(res.status(), 204);
    assert!(res.bytes().expect("body").is_empty());
}

fn change_keeps_this_session_and_ends_the_others(app: TestApp) {
    let (this, this_refresh) = app.logged_in("ada@example.com");
    let (other, other_refresh) = session(&app, "ada@example.com", PASSWORD);
    assert_no_content(change(&app, &this, PASSWORD, NEW_PASSWORD));

    assert_problem(
        app.get_auth("/api/v1/auth/me", &other),
        401,
        "invalid-token",
    );
    assert_problem(refresh(&app, &other_refresh), 401, "invalid-token");
    assert_eq!(app.get_auth("/api/v1/auth/me", &this).status(), 200);
    assert_eq!(refresh(&app, &this_refresh).status(), 200);

    assert_problem(
        login_attempt(&app, "ada@example.com", PASSWORD),
        401,
        "bad-credentials",
    );
    app.login("ada@example.com", NEW_PASSWORD);
}

fn change_with_a_wrong_current_password_is_bad_credentials_and_throttled(app: TestApp) {
    let (token, _) = app.logged_in("ada@example.com");
    for _ in 0..5 {
        assert_problem(
            change(&app, &token, "not my password", NEW_PASSWORD),
            401,
            "bad-credentials",
        );
    }
    // The wrong current passwords counted toward the account's login
    // throttle: the right one is refused too, and so is a login.
    let res = change(&app, &token, PASSWORD, NEW_PASSWORD);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert_problem(res, 429, "too-many-attempts");
    assert_problem(
        login_attempt(&app, "ada@example.com", PASSWORD),
        429,
        "too-many-attempts",
    );
}

fn change_refuses_a_weak_new_password(app: TestApp) {
    let (token, _) = app.logged_in("ada@example.com");
    for weak in ["short", "password1", "ada@example.com 2024 yes"] {
        let res = change(&app, &token, PASSWORD, weak);
        let problem = assert_problem(res, 422, "validation-failed");
        assert_eq!(problem["errors"][0]["field"], "new_password", "{problem}");
    }
    // Nothing changed.
    app.login("ada@example.com", PASSWORD);
    assert_eq!(app.get_auth("/api/v1/auth/me", &token).status(), 200);
}

fn change_needs_a_token_and_both_fields(app: TestApp) {
    let (token, _) = app.logged_in("ada@example.com");
    let body = json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD });
    let res = app.post_json("/api/v1/auth/password/change", &body);
    assert_problem(res, 401, "missing-authorization");
    let res = app
        .post("/api/v1/auth/password/change")
        .bearer_auth("not.a.token")
        .json(&body)
        .send()
        .unwrap();
    assert_problem(res, 401, "invalid-token");
    let res = app
        .post("/api/v1/auth/password/change")
        .bearer_auth(&token)
        .json(&json!({ "new_password": NEW_PASSWORD }))
        .send()
        .unwrap();
    assert_problem(res, 400, "bad-request");
    app.login("ada@example.com", PASSWORD);
}

fn forgot_answers_alike_and_mails_only_existing_accounts(app: TestApp) {
    app.active_user("ada@example.com", json!({}));
    let unknown = forgot(&app, "nobody@example.com");
    assert_eq!(unknown.status(), 202);
    let unknown_body = unknown.bytes().unwrap();
    let known = forgot(&app, "ADA@example.com");
    assert_eq!(known.status(), 202);
    assert_eq!(known.bytes().unwrap(), unknown_body);
    assert_eq!(unknown_body, FORGOT_ACCEPTED.as_bytes());

    let code = reset_mail(&app, "ada@example.com", 1);
    assert!(code.len() >= 40);
    thread::sleep(Duration::from_millis(200));
    assert!(
        app.mails().iter().all(|m| m["to"] != "nobody@example.com"),
        "no mail for an unknown address"
    );
    let mail = app
        .mails()
        .into_iter()
        .find(|m| m["kind"] == "reset-password")
        .unwrap();
    assert!(mail["text"].as_str().unwrap().contains(&code));
    assert!(mail["text"].as_str().unwrap().contains("30 minutes"));
}

fn forgot_refuses_a_malformed_address(app: TestApp) {
    let res = forgot(&app, "not an address");
    let problem = assert_problem(res, 422, "validation-failed");
    assert_eq!(problem["errors"][0]["field"], "email");
    let res = app.post_json("/api/v1/auth/password/forgot", &json!({}));
    assert_problem(res, 400, "bad-request");
}

fn reset_sets_the_password_and_ends_every_session(app: TestApp) {
    let (first, first_refresh) = app.logged_in("ada@example.com");
    let (second, _) = session(&app, "ada@example.com", PASSWORD);
    assert_eq!(forgot(&app, "ada@example.com").status(), 202);
    let code = reset_mail(&app, "ada@example.com", 1);
    assert_no_content(reset(&app, &code, NEW_PASSWORD));

    for token in [&first, &second] {
        assert_problem(app.get_auth("/api/v1/auth/me", token), 401, "invalid-token");
    }
    assert_problem(refresh(&app, &first_refresh), 401, "invalid-token");
    assert_problem(
        login_attempt(&app, "ada@example.com", PASSWORD),
        401,
        "bad-credentials",
    );
    app.login("ada@example.com", NEW_PASSWORD);
    // Single use.
    assert_problem(
        reset(&app, &code, "another fine passphrase here"),
        400,
        "invalid-code",
    );
}

fn reset_refuses_unknown_codes_and_weak_passwords_without_spending(app: TestApp) {
    app.active_user("ada@example.com", json!({}));
    assert_problem(
        reset(&app, "no-such-code", NEW_PASSWORD),
        400,
        "invalid-code",
    );
    assert_eq!(forgot(&app, "ada@example.com").status(), 202);
    let code = reset_mail(&app, "ada@example.com", 1);
    for weak in ["short", "password1", "ada@example.com rules"] {
        let problem = assert_problem(reset(&app, &code, weak), 422, "validation-failed");
        assert_eq!(problem["errors"][0]["field"], "new_password", "{problem}");
    }
    let res = app.post_json("/api/v1/auth/password/reset", &json!({ "code": code }));
    assert_problem(res, 400, "bad-request");
    // The code was not spent: it still works with a good password.
    assert_no_content(reset(&app, &code, NEW_PASSWORD));
    app.login("ada@example.com", NEW_PASSWORD);
}

fn only_the_newest_reset_code_works(app: TestApp) {
    app.active_user("ada@example.com", json!({}));
    assert_eq!(forgot(&app, "ada@example.com").status(), 202);
    let older = reset_mail(&app, "ada@example.com", 1);
    assert_eq!(forgot(&app, "ada@example.com").status(), 202);
    let newest = reset_mail(&app, "ada@example.com", 2);
    assert_ne!(older, newest);
    assert_problem(reset(&app, &older, NEW_PASSWORD), 400, "invalid-code");
    assert_no_content(reset(&app, &newest, NEW_PASSWORD));
}

fn reset_validates_a_pending_account(app: TestApp) {
    let user = app.signup("ada@example.com", json!({}));
    assert_eq!(user["status"], "pending_validation");
    assert_eq!(forgot(&app, "ada@example.com").status(), 202);
    let code = reset_mail(&app, "ada@example.com", 1);
    assert_no_content(reset(&app, &code, NEW_PASSWORD));
    let tokens = app.login("ada@example.com", NEW_PASSWORD);
    assert_eq!(tokens["user"]["status"], "active");
    assert_eq!(tokens["user"]["email_verified"], true);
}

fn reset_leaves_an_inactive_account_inactive(app: TestApp) {
    let user = app.active_user("ada@example.com", json!({}));
    app.deactivate(user["id"].as_str().unwrap());
    assert_eq!(forgot(&app, "ada@example.com").status(), 202);
    let code = reset_mail(&app, "ada@example.com", 1);
    assert_no_content(reset(&app, &code, NEW_PASSWORD));
    assert_problem(
        login_attempt(&app, "ada@example.com", NEW_PASSWORD),
        401,
        "inactive-account",
    );
    for wrong in [PASSWORD, "not it at all"] {
        assert_problem(
            login_attempt(&app, "ada@example.com", wrong),
            401,
            "bad-credentials",
        );
    }
}

fn concurrent_resets_with_one_code_succeed_once(app: TestApp) {
    app.active_user("ada@example.com", json!({}));
    assert_eq!(forgot(&app, "ada@example.com").status(), 202);
    let code = reset_mail(&app, "ada@example.com", 1);
    let start = std::sync::Barrier::new(6);
    let statuses: Vec<u16> = thread::scope(|scope| {
        let racers: Vec<_> = (0..6)
            .map(|i| {
                let (app, code, start) = (&app, &code, &start);
                scope.spawn(move || {
                    let password = format!("{NEW_PASSWORD} number {i}");
                    start.wait();
                    reset(app, code, &password).status().as_u16()
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 204 || *s == 400),
        "{statuses:?}"
    );
}

fn a_password_change_spends_outstanding_reset_codes(app: TestApp) {
    let (token, _) = app.logged_in("ada@example.com");
    assert_eq!(forgot(&app, "ada@example.com").status(), 202);
    let code = reset_mail(&app, "ada@example.com", 1);
    assert_no_content(change(&app, &token, PASSWORD, NEW_PASSWORD));
    assert_problem(
        reset(&app, &code, "another fine passphrase here"),
        400,
        "invalid-code",
    );
    app.login("ada@example.com", NEW_PASSWORD);
}

fn documented_in_the_openapi_document(app: TestApp) {
    let doc: Value = app
        .get("/api-docs/openapi.json")
        .send()
        .unwrap()
        .json()
        .unwrap();
    for path in ["change", "forgot", "reset"] {
        let op = &doc["paths"][format!("/api/v1/auth/password/{path}")]["post"];
        assert!(op.is_object(), "{path}");
    }
    let change = &doc["paths"]["/api/v1/auth/password/change"]["post"]["responses"];
    assert!(change["429"]["headers"]["Retry-After"].is_object());
    assert!(change["204"].is_object());
}

on_both_stores!(
    change_keeps_this_session_and_ends_the_others,
    change_with_a_wrong_current_password_is_bad_credentials_and_throttled,
    change_refuses_a_weak_new_password,
    change_needs_a_token_and_both_fields,
    forgot_answers_alike_and_mails_only_existing_accounts,
    forgot_refuses_a_malformed_address,
    reset_sets_the_password_and_ends_every_session,
    reset_refuses_unknown_codes_and_weak_passwords_without_spending,
    only_the_newest_reset_code_works,
    reset_validates_a_pending_account,
    reset_leaves_an_inactive_account_inactive,
    concurrent_resets_with_one_code_succeed_once,
    a_password_change_spends_outstanding_reset_codes,
    documented_in_the_openapi_document,
);
