use serde_json::Value;

use crate::{
    helpers::{Backend, TestApp, assert_problem},
    on_both_stores,
};

fn health_endpoints_answer(app: TestApp) {
    let res = app.get("/health/live").send().unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().unwrap()["status"], "ok");
    assert_eq!(app.get("/health/ready").send().unwrap().status(), 200);
}

fn openapi_document_is_served(app: TestApp) {
    let res = app.get("/api-docs/openapi.json").send().unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/auth/signup",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/.well-known/jwks.json",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    let committed: Value =
        serde_json::from_str(include_str!("../../../../openapi/openapi.json")).unwrap();
    assert_eq!(
        doc, committed,
        "openapi/openapi.json is stale: run `make openapi`"
    );
    let res = app.get("/docs/").send().unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text().unwrap().contains("swagger"),
        "Swagger UI served from the binary"
    );
}

on_both_stores!(health_endpoints_answer, openapi_document_is_served);

#[test]
fn ready_is_503_when_the_database_is_gone() {
    let app = TestApp::spawn(Backend::Postgres).drop_database();
    let res = app.get("/health/ready").send().unwrap();
    let body = assert_problem(res, 503, "service-unavailable");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        !detail.to_lowercase().contains("postgres") && !detail.contains("database \""),
        "{detail}"
    );
}
