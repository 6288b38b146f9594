use serde_json::Value;

use crate::{
    helpers::{Backend, TestApp, assert_problem},
    on_both_stores,
};

fn health_endpoints_answer(app: TestApp) {
    let res = app.get("/health/live").send().unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let head = app.client.head(app.url("/health/ready")).send().unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.text().unwrap(), "", "HEAD has no body");
    let jwks = app.get("/.well-known/jwks.json").send().unwrap();
    assert_eq!(
        jwks.headers()["cache-control"],
        "public, max-age=300",
        "its own caching is kept"
    );
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
    // Readiness reads the last background check: the next one, due within
    // `database.health_check_interval_ms`, finds the database gone.
    let gone = std::time::Instant::now();
    let res = loop {
        let res = app.get("/health/ready").send().unwrap();
        if res.status() != 200 || gone.elapsed() > std::time::Duration::from_secs(1) {
            break res;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(res.headers()["retry-after"], "1");
    let body = assert_problem(res, 503, "service-unavailable");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        !detail.to_lowercase().contains("postgres") && !detail.contains("database \""),
        "{detail}"
    );
}

fn a_failed_mail_loses_no_signup(backend: Backend) {
    // A directory where the mailbox file should be: every send fails.
    let app = TestApp::spawn_with(backend, |s| s.mail.file = std::env::temp_dir());
    let res = app.post_json(
        "/api/v1/auth/signup",
        &serde_json::json!({ "email": "ada@example.com", "password": crate::helpers::PASSWORD,
                             "first_name": "A", "last_name": "L" }),
    );
    assert_eq!(
        res.status(),
        201,
        "the account exists; the user can ask for the mail again"
    );
    let res = app.post_json(
        "/api/v1/auth/login",
        &serde_json::json!({ "username": "ada@example.com", "password": crate::helpers::PASSWORD }),
    );
    assert_problem(res, 401, "account-not-validated");
}

#[test]
fn failed_mail_sqlite() {
    a_failed_mail_loses_no_signup(Backend::Sqlite);
}

#[test]
fn failed_mail_postgres() {
    a_failed_mail_loses_no_signup(Backend::Postgres);
}

#[test]
fn internal_errors_reveal_nothing() {
    use diesel::{Connection, connection::SimpleConnection, pg::PgConnection};
    let app = TestApp::spawn(Backend::Postgres);
    let (token, _) = app.logged_in("ada@example.com");
    // A row no valid code path writes: the store cannot turn it into a user.
    PgConnection::establish(&app.database_url)
        .unwrap()
        .batch_execute("UPDATE users SET email = 'not an e-mail <script>'")
        .unwrap();
    let res = app.get_auth("/api/v1/auth/me", &token);
    let body = assert_problem(res, 500, "internal-error");
    assert_eq!(body["detail"], "An internal error occurred");
    let text = body.to_string();
    for leak in ["script", "email", "users", "diesel", "postgres", "row"] {
        assert!(!text.to_lowercase().contains(leak), "{leak} in {text}");
    }
}
