use serde_json::json;

use crate::{
    helpers::{TestApp, assert_problem},
    on_both_stores,
};

fn unknown_paths_and_methods_are_problems(app: TestApp) {
    assert_problem(app.get("/api/v1/nope").send().unwrap(), 404, "not-found");
    assert_problem(
        app.get("/api/v1/auth/login").send().unwrap(),
        405,
        "method-not-allowed",
    );
    let res = app
        .client
        .delete(app.url("/api/v1/auth/me"))
        .send()
        .unwrap();
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
    let res = app.post_json("/api/v1/auth/login", &json!({}));
    let incoming = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body = assert_problem(res, 400, "bad-request");
    assert_eq!(body["trace_id"], incoming);
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
