use serde_json::json;

use crate::{
    helpers::{TestApp, assert_problem},
    on_both_stores,
};

fn unknown_paths_and_methods_are_problems(app: TestApp) {
    assert_problem(app.get("/api/v1/nope").send().unwrap(), 404, "not-found");
    let res = app.get("/api/v1/auth/login").send().unwrap();
    assert_eq!(res.headers()["allow"], "POST");
    assert_problem(res, 405, "method-not-allowed");
    let res = app
        .client
        .delete(app.url("/api/v1/auth/me"))
        .send()
        .unwrap();
    assert_eq!(res.headers()["allow"], "GET, HEAD, PATCH");
    assert_problem(res, 405, "method-not-allowed");
}

fn request_ids_are_kept_or_made(app: TestApp) {
    let res = app
        .get("/health/live")
        .header("x-request-id", "abc-123")
        .send()
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let res = app.get("/health/live").send().unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 16);
    let res = app
        .post("/api/v1/auth/login")
        .header("x-request-id", "trace-me")
        .json(&json!({}))
        .send()
        .unwrap();
    assert_eq!(
        assert_problem(res, 400, "bad-request")["trace_id"],
        "trace-me"
    );
}

on_both_stores!(
    unknown_paths_and_methods_are_problems,
    request_ids_are_kept_or_made
);

fn bodies_are_checked_on_every_endpoint(app: TestApp) {
    let (token, _) = app.logged_in("ada@example.com");
    let big = "x".repeat(65 * 1024);
    for path in [
        "/api/v1/auth/login",
        "/api/v1/auth/validate",
        "/api/v1/auth/refresh",
        "/api/v1/auth/validate/resend",
    ] {
        let res = app
            .post(path)
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .unwrap();
        assert_problem(res, 415, "unsupported-media-type");
        // authd decodes no content coding: a compressed body is refused as
        // such, not read as malformed JSON.
        let res = app
            .post(path)
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(&[0x1f_u8, 0x8b, 0x08, 0x00][..])
            .send()
            .unwrap();
        let body = assert_problem(res, 415, "unsupported-media-type");
        assert!(
            body["detail"].as_str().unwrap().contains("uncompressed"),
            "{body}"
        );
        let res = app
            .post(path)
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .unwrap();
        assert_problem(res, 413, "payload-too-large");
    }
    let res = app
        .client
        .patch(app.url("/api/v1/auth/me"))
        .bearer_auth(&token)
        .body("{}")
        .send()
        .unwrap();
    assert_problem(res, 415, "unsupported-media-type");
    let res = app
        .post("/api/v1/auth/logout")
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .unwrap();
    assert_problem(res, 413, "payload-too-large");
    // The optional body of logout is checked as well, and a refused
    // logout ends nothing.
    let res = app
        .post("/api/v1/auth/logout")
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(&[0x1f_u8, 0x8b, 0x08, 0x00][..])
        .send()
        .unwrap();
    assert_problem(res, 415, "unsupported-media-type");
    let res = app
        .get("/api/v1/auth/me")
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(res.status(), 200, "the session lives on");
}

fn type_errors_never_echo_the_value(app: TestApp) {
    let res = app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "ada", "password": 98_765_432_123_u64 }),
    );
    let body = assert_problem(res, 400, "bad-request");
    assert!(
        !body["detail"].as_str().unwrap().contains("98765432123"),
        "{body}"
    );
    let res = app.post_json("/api/v1/auth/refresh", &json!({ "token": "x" }));
    let body = assert_problem(res, 400, "bad-request");
    assert_eq!(body["detail"], "Missing required field `refresh_token`");
}

fn credentials_are_checked_before_field_rules(app: TestApp) {
    let res = app
        .client
        .patch(app.url("/api/v1/auth/me"))
        .bearer_auth("forged")
        .json(&json!({ "username": "x" }))
        .send()
        .unwrap();
    assert_problem(res, 401, "invalid-token");
}

fn bearer_challenges_are_sent(app: TestApp) {
    let res = app.get("/api/v1/auth/me").send().unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let res = app.get_auth("/api/v1/auth/me", "nope");
    assert_eq!(
        res.headers()["www-authenticate"],
        r#"Bearer error="invalid_token""#
    );
}

/// A JSON value that is not an object is no request, whatever its items:
/// 400, and nothing happens (no account, no logout).
fn only_json_objects_are_requests(app: TestApp) {
    let (token, _) = app.logged_in("ada@example.com");
    let signup = json!([
        "grace@example.com",
        "analytical engine notes 1843",
        "Grace",
        "Hopper",
        null,
        null,
        null
    ]);
    let bodies = [
        ("post", "/api/v1/auth/signup", signup),
        (
            "post",
            "/api/v1/auth/login",
            json!(["ada@example.com", null, "x"]),
        ),
        ("post", "/api/v1/auth/refresh", json!(["token"])),
        ("post", "/api/v1/auth/validate", json!("code")),
        ("post", "/api/v1/auth/validate/resend", json!(42)),
        ("post", "/api/v1/auth/logout", json!([true])),
        ("patch", "/api/v1/auth/me", json!(["Amazing", "Grace"])),
        ("post", "/api/v1/auth/password/change", json!(["a", "b"])),
        (
            "post",
            "/api/v1/auth/password/forgot",
            json!(["ada@example.com"]),
        ),
        ("post", "/api/v1/auth/password/reset", json!(null)),
    ];
    for (method, path, body) in bodies {
        let request = match method {
            "patch" => app.client.patch(app.url(path)),
            _ => app.post(path),
        };
        let res = request.bearer_auth(&token).json(&body).send().unwrap();
        let problem = assert_problem(res, 400, "bad-request");
        assert_eq!(
            problem["detail"], "The request body must be a JSON object",
            "{path}"
        );
    }
    let res = app
        .post("/api/v1/auth/login")
        .header("content-type", "application/json")
        .body("[not json")
        .send()
        .unwrap();
    let problem = assert_problem(res, 400, "bad-request");
    assert_eq!(problem["detail"], "The request body is not valid JSON");
    assert_eq!(
        app.get_auth("/api/v1/auth/me", &token).status(),
        200,
        "the array logout ended nothing"
    );
    let res = app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "grace@example.com", "password": "analytical engine notes 1843" }),
    );
    assert_problem(res, 401, "bad-credentials");
}

on_both_stores!(
    bodies_are_checked_on_every_endpoint,
    only_json_objects_are_requests,
    type_errors_never_echo_the_value,
    bearer_challenges_are_sent,
    credentials_are_checked_before_field_rules,
);
