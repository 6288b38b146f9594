use serde_json::json;

use crate::{
    helpers::{PASSWORD, TestApp, assert_problem},
    on_both_stores,
};

fn signup_creates_a_pending_user_and_mails_a_code(app: TestApp) {
    let user = app.signup(
        "  Ada@Example.COM ",
        json!({ "username": "Ada_L", "phone": "+442071234567", "organization_name": "Engines" }),
    );
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["username"], "ada_l");
    assert_eq!(user["phone"], "+442071234567");
    assert_eq!(user["status"], "pending_validation");
    assert_eq!(user["email_verified"], false);
    assert_eq!(user["is_admin"], false);
    let id = user["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());
    let mails = app.wait_for_mails(1);
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail["to"], "ada@example.com");
    assert_eq!(mail["kind"], "validate-email");
    let code = mail["code"].as_str().unwrap();
    assert!(code.len() >= 40);
    assert!(mail["text"].as_str().unwrap().contains(code));
    for field in ["subject", "sent_at"] {
        assert!(
            mail[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field}"
        );
    }
}

fn duplicates_are_refused_case_insensitively(app: TestApp) {
    app.signup(
        "ada@example.com",
        json!({ "username": "ada", "phone": "+442071234567" }),
    );
    for extra in [
        json!({ "email": "ADA@example.com" }),
        json!({ "email": "other@example.com", "username": "ADA" }),
        json!({ "email": "other@example.com", "phone": "+442071234567" }),
    ] {
        let mut body = json!({ "password": PASSWORD, "first_name": "B", "last_name": "C" });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let res = app.post_json("/api/v1/auth/signup", &body);
        assert_problem(res, 409, "user-already-exists");
    }
    assert_eq!(
        app.wait_for_mails(1).len(),
        1,
        "no mail for refused sign-ups"
    );
}

fn rule_violations_are_listed_per_field(app: TestApp) {
    let res = app.post_json(
        "/api/v1/auth/signup",
        &json!({ "email": "not-an-email", "password": "password", "first_name": " ",
                 "last_name": "L", "username": "a!", "phone": "0612" }),
    );
    let body = assert_problem(res, 422, "validation-failed");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
            e["field"].as_str().unwrap()
        })
        .collect();
    for f in ["email", "password", "first_name", "username", "phone"] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    assert!(app.mails().is_empty());
}

fn weak_or_personal_passwords_are_refused(app: TestApp) {
    for password in [
        "short",
        "password1",
        "12345678",
        "ada@example.com!",
        "my-ada_l-pass-word-42",
    ] {
        let res = app.post_json(
            "/api/v1/auth/signup",
            &json!({ "email": "ada@example.com", "password": password, "first_name": "A",
                     "last_name": "L", "username": "ada_l" }),
        );
        let body = assert_problem(res, 422, "validation-failed");
        assert_eq!(body["errors"][0]["field"], "password", "{password}");
    }
    let long = "x".repeat(257);
    let res = app.post_json(
        "/api/v1/auth/signup",
        &json!({ "email": "ada@example.com", "password": long, "first_name": "A", "last_name": "L" }),
    );
    assert_problem(res, 422, "validation-failed");
}

fn malformed_bodies_are_bad_requests(app: TestApp) {
    let res = app
        .post("/api/v1/auth/signup")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .unwrap();
    assert_problem(res, 400, "bad-request");
    let res = app.post_json("/api/v1/auth/signup", &json!({ "email": "a@b.co" }));
    let body = assert_problem(res, 400, "bad-request");
    assert!(
        body["detail"].as_str().unwrap().contains("password"),
        "{body}"
    );
    let res = app.post_json(
        "/api/v1/auth/signup",
        &json!({ "email": 42, "password": PASSWORD, "first_name": "A", "last_name": "L" }),
    );
    assert_problem(res, 400, "bad-request");
}

fn non_json_bodies_are_unsupported(app: TestApp) {
    let res = app
        .post("/api/v1/auth/signup")
        .header("content-type", "text/plain")
        .body(r#"{"email":"a@b.co"}"#)
        .send()
        .unwrap();
    assert_problem(res, 415, "unsupported-media-type");
    let res = app.post("/api/v1/auth/signup").send().unwrap();
    assert_problem(res, 415, "unsupported-media-type");
}

fn oversized_bodies_are_refused(app: TestApp) {
    let big = json!({ "email": "a@b.co", "password": PASSWORD, "first_name": "x".repeat(70 * 1024), "last_name": "L" });
    let res = app.post_json("/api/v1/auth/signup", &big);
    assert_problem(res, 413, "payload-too-large");
    // The same without a Content-Length (chunked) is refused too.
    let body = serde_json::to_vec(&big).unwrap();
    let res = app
        .post("/api/v1/auth/signup")
        .header("content-type", "application/json")
        .body(reqwest::blocking::Body::new(std::io::Cursor::new(body)))
        .send()
        .unwrap();
    assert_problem(res, 413, "payload-too-large");
}

on_both_stores!(
    signup_creates_a_pending_user_and_mails_a_code,
    duplicates_are_refused_case_insensitively,
    rule_violations_are_listed_per_field,
    weak_or_personal_passwords_are_refused,
    malformed_bodies_are_bad_requests,
    non_json_bodies_are_unsupported,
    oversized_bodies_are_refused,
);
