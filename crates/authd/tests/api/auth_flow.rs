use serde_json::json;

use crate::{
    helpers::{PASSWORD, RESEND_ACCEPTED, TestApp, assert_problem},
    on_both_stores,
};

pub(crate) fn validation_activates_once(app: TestApp) {
    let pending = app.signup("ada@example.com", json!({}));
    let code = app.last_code("ada@example.com", "validate-email");
    let res = app.post_json("/api/v1/auth/validate", &json!({ "code": code }));
    assert_eq!(res.status(), 200);
    let user: serde_json::Value = res.json().unwrap();
    assert_eq!(user["status"], "active");
    assert_eq!(user["email_verified"], true);
    assert_eq!(user["id"], pending["id"]);
    assert_eq!(
        user["created_at"], pending["created_at"],
        "answered and stored times agree"
    );
    let again = app.post_json("/api/v1/auth/validate", &json!({ "code": code }));
    assert_problem(again, 400, "invalid-code");
    let unknown = app.post_json("/api/v1/auth/validate", &json!({ "code": "nope" }));
    assert_problem(unknown, 400, "invalid-code");
    let missing = app.post_json("/api/v1/auth/validate", &json!({}));
    assert_problem(missing, 400, "bad-request");
}

fn resend_answers_the_same_for_everyone(app: TestApp) {
    app.signup("ada@example.com", json!({}));
    let first = app.last_code("ada@example.com", "validate-email");
    // The unknown address first: its work is done by the time the known
    // one's mail has been written.
    for email in ["nobody@example.com", "ada@example.com"] {
        let res = app.post_json("/api/v1/auth/validate/resend", &json!({ "email": email }));
        assert_eq!(res.status(), 202);
        assert_eq!(res.text().unwrap(), RESEND_ACCEPTED);
    }
    app.wait_for_mails(2);
    let second = app.last_code("ada@example.com", "validate-email");
    assert_ne!(first, second);
    assert_eq!(app.mails().len(), 2, "no mail to an unknown address");
    let res = app.post_json(
        "/api/v1/auth/validate/resend",
        &json!({ "resend_code": "bogus" }),
    );
    assert_eq!(res.status(), 202);
    let res = app.post_json("/api/v1/auth/validate/resend", &json!({}));
    let body = assert_problem(res, 400, "bad-request");
    assert_eq!(body["detail"], "resend_code or email is required");
    let res = app.post_json("/api/v1/auth/validate/resend", &json!({ "email": "bad" }));
    assert_problem(res, 422, "validation-failed");
    // The newest code validates.
    let res = app.post_json("/api/v1/auth/validate", &json!({ "code": second }));
    assert_eq!(res.status(), 200);
}

fn resend_code_from_login_sends_a_new_mail(app: TestApp) {
    app.signup("ada@example.com", json!({}));
    let res = app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "ada@example.com", "password": PASSWORD }),
    );
    let body = assert_problem(res, 401, "account-not-validated");
    let resend_code = body["extra_attributes"]["resend_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app.post_json(
        "/api/v1/auth/validate/resend",
        &json!({ "resend_code": resend_code }),
    );
    assert_eq!(res.status(), 202);
    assert_eq!(app.wait_for_mails(2).len(), 2);
    // Single-use: a second resend with it sends nothing.
    let res = app.post_json(
        "/api/v1/auth/validate/resend",
        &json!({ "resend_code": resend_code }),
    );
    assert_eq!(res.status(), 202);
    // Another resend, to a known address, is queued after it: once its mail
    // is out, the spent code's turn has passed.
    app.post_json(
        "/api/v1/auth/validate/resend",
        &json!({ "email": "ada@example.com" }),
    );
    let mails = app.wait_for_mails(3);
    assert_eq!(mails.len(), 3);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(app.mails().len(), 3, "the spent resend code sent nothing");
}

fn me_shows_and_patches_the_profile(app: TestApp) {
    app.active_user("bob@example.com", json!({ "username": "bob" }));
    let (token, _) = app.logged_in("ada@example.com");
    let res = app.get_auth("/api/v1/auth/me", &token);
    assert_eq!(res.status(), 200);
    let me: serde_json::Value = res.json().unwrap();
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["status"], "active");

    let patch = |body: serde_json::Value| {
        app.client
            .patch(app.url("/api/v1/auth/me"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .unwrap()
    };
    let res = patch(json!({ "first_name": "Augusta", "username": "ADA", "phone": "+33612345678" }));
    assert_eq!(res.status(), 200);
    let me: serde_json::Value = res.json().unwrap();
    assert_eq!(
        (me["first_name"].as_str(), me["username"].as_str()),
        (Some("Augusta"), Some("ada"))
    );
    assert_eq!(me["last_name"], "Lovelace");
    let res = patch(json!({ "phone": null }));
    assert_eq!(
        res.json::<serde_json::Value>().unwrap()["phone"],
        serde_json::Value::Null
    );
    assert_problem(
        patch(json!({ "username": "BOB" })),
        409,
        "user-already-exists",
    );
    let body = assert_problem(
        patch(json!({ "username": "x", "last_name": "" })),
        422,
        "validation-failed",
    );
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
    assert_problem(
        patch(json!({ "email": "new@example.com" })),
        400,
        "bad-request",
    );
    let res = app.get_auth("/api/v1/auth/me", &token);
    assert_eq!(
        res.json::<serde_json::Value>().unwrap()["username"],
        "ada",
        "refused patches changed nothing"
    );
}

pub(crate) fn logout_revokes_at_once(app: TestApp) {
    let (token, refresh) = app.logged_in("ada@example.com");
    let res = app
        .post("/api/v1/auth/logout")
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<serde_json::Value>().unwrap(),
        json!({ "message": "Successfully logged out" })
    );
    assert_problem(
        app.get_auth("/api/v1/auth/me", &token),
        401,
        "invalid-token",
    );
    let res = app.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": refresh }));
    assert_problem(res, 401, "invalid-token");
    let res = app
        .post("/api/v1/auth/logout")
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_problem(res, 401, "invalid-token");
    assert_problem(
        app.post("/api/v1/auth/logout").send().unwrap(),
        401,
        "missing-authorization",
    );
}

fn logout_all_sessions(app: TestApp) {
    let (first, _) = app.logged_in("ada@example.com");
    let second = app.login("ada@example.com", PASSWORD)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post("/api/v1/auth/logout")
        .bearer_auth(&first)
        .json(&json!({ "all_sessions": false }))
        .send()
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.get_auth("/api/v1/auth/me", &second).status(),
        200,
        "other session lives"
    );
    let third = app.login("ada@example.com", PASSWORD)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post("/api/v1/auth/logout")
        .bearer_auth(&third)
        .json(&json!({ "all_sessions": true }))
        .send()
        .unwrap();
    assert_eq!(res.status(), 200);
    for token in [&second, &third] {
        assert_problem(app.get_auth("/api/v1/auth/me", token), 401, "invalid-token");
    }
    let res = app
        .post("/api/v1/auth/logout")
        .bearer_auth(&second)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .unwrap();
    assert_problem(res, 400, "bad-request");
}

fn verify_serves_forward_auth(app: TestApp) {
    let (token, _) = app.logged_in("ada@example.com");
    let me: serde_json::Value = app.get_auth("/api/v1/auth/me", &token).json().unwrap();
    let res = app.get_auth("/api/v1/auth/verify", &token);
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-user-id"], me["id"].as_str().unwrap());
    assert_eq!(res.headers()["x-user-email"], "ada@example.com");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: serde_json::Value = res.json().unwrap();
    assert_eq!(body["user_id"], me["id"]);
    assert!(body["session_id"].as_str().is_some());
    assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_problem(
        app.get("/api/v1/auth/verify").send().unwrap(),
        401,
        "missing-authorization",
    );
}

on_both_stores!(
    validation_activates_once,
    resend_answers_the_same_for_everyone,
    resend_code_from_login_sends_a_new_mail,
    me_shows_and_patches_the_profile,
    logout_revokes_at_once,
    logout_all_sessions,
    verify_serves_forward_auth,
);
