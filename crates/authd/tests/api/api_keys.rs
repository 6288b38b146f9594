//! API keys over HTTP: making, listing and deleting them, using them in
//! either header, and every refusal.

use reqwest::blocking::{RequestBuilder, Response};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, TestApp, assert_problem, assert_problem_soon},
    on_both_backends, on_both_stores,
};

impl TestApp {
    fn create_key(&self, token: &str, body: &Value) -> Response {
        self.post("/api/v1/auth/keys")
            .bearer_auth(token)
            .json(body)
            .send()
            .expect("request sent")
    }

    /// A new key named `name` for the owner of `token`: the create answer.
    fn key(&self, token: &str, name: &str) -> Value {
        let res = self.create_key(token, &json!({ "name": name }));
        assert_eq!(res.status(), 201);
        res.json().expect("key JSON")
    }

    fn keys(&self, token: &str) -> Value {
        let res = self.get_auth("/api/v1/auth/keys", token);
        assert_eq!(res.status(), 200);
        res.json().expect("keys JSON")
    }

    fn delete_key(&self, token: &str, id: &str) -> Response {
        self.client
            .delete(self.url(&format!("/api/v1/auth/keys/{id}")))
            .bearer_auth(token)
            .send()
            .expect("request sent")
    }

    /// `GET /me` with an API key in `X-API-Key`.
    fn me_by_key_header(&self, key: &str) -> Response {
        self.get("/api/v1/auth/me")
            .header("X-API-Key", key)
            .send()
            .expect("request sent")
    }
}

fn secret(created: &Value) -> String {
    created["api_key"].as_str().expect("api_key").to_owned()
}

fn send(request: RequestBuilder) -> Response {
    request.send().expect("request sent")
}

fn keys_are_made_listed_and_deleted(app: TestApp) {
    let (token, _) = app.logged_in("ada@example.com");
    let first = app.key(&token, " deploy bot ");
    let key = secret(&first);
    assert!(key.starts_with("ak_") && key.len() == 54, "{key}");
    assert_eq!(first["name"], "deploy bot");
    assert_eq!(first["prefix"], &key[..11]);
    assert_eq!(first["last_used_at"], Value::Null);
    assert_eq!(first["expires_at"], Value::Null);
    let second = app.key(&token, "backup job");
    let listed = app.keys(&token);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["backup job", "deploy bot"], "the newest first");
    for listed in listed.as_array().unwrap() {
        assert!(listed.get("api_key").is_none(), "no secret in a list");
        assert!(
            !listed.to_string().contains(&key[11..]),
            "nothing of the secret past its prefix"
        );
    }
    let id = first["id"].as_str().unwrap();
    assert_eq!(app.delete_key(&token, id).status(), 204);
    assert_problem(app.delete_key(&token, id), 404, "not-found");
    assert_problem(app.delete_key(&token, "not-an-id"), 404, "not-found");
    let (eve, _) = app.logged_in("eve@example.com");
    let second_id = second["id"].as_str().unwrap();
    assert_problem(app.delete_key(&eve, second_id), 404, "not-found");
    assert_eq!(app.keys(&token).as_array().unwrap().len(), 1);
    assert_eq!(app.keys(&eve), json!([]));
    assert_problem(app.me_by_key_header(&key), 401, "invalid-token");
}

fn a_key_acts_as_its_owner_in_either_header(app: TestApp) {
    let (token, _) = app.logged_in("ada@example.com");
    let created = app.key(&token, "script");
    let key = secret(&created);
    let by_bearer = app.get_auth("/api/v1/auth/me", &key);
    assert_eq!(by_bearer.status(), 200);
    assert_eq!(
        by_bearer.json::<Value>().unwrap()["email"],
        "ada@example.com"
    );
    let by_header = app.me_by_key_header(&key);
    assert_eq!(by_header.status(), 200);
    assert_eq!(
        by_header.json::<Value>().unwrap()["email"],
        "ada@example.com"
    );
    let orgs = app.get_auth("/api/v1/organizations", &key);
    assert_eq!(orgs.status(), 200);

    let verify = send(app.get("/api/v1/auth/verify").header("X-API-Key", &key));
    assert_eq!(verify.status(), 200);
    let header = |name: &str| {
        verify
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(header("x-auth-method").as_deref(), Some("api_key"));
    assert_eq!(header("x-user-email").as_deref(), Some("ada@example.com"));
    assert_eq!(header("x-session-id"), None);
    assert!(header("x-organization-id").is_some());
    let body: Value = verify.json().unwrap();
    assert_eq!(body["auth_method"], "api_key");
    assert_eq!(body["session_id"], Value::Null);
    assert_eq!(body["expires_at"], Value::Null);

    let used = app.keys(&token);
    assert!(used[0]["last_used_at"].is_string(), "{used}");
    // A client that fills every scheme an operation names sends one
    // credential twice: that is one credential, a key or a token.
    for credential in [&key, &token] {
        let twice = send(
            app.get("/api/v1/auth/me")
                .bearer_auth(credential)
                .header("X-API-Key", credential.as_str()),
        );
        assert_eq!(twice.status(), 200);
    }
    let two = send(
        app.get("/api/v1/auth/me")
            .bearer_auth(&token)
            .header("X-API-Key", &key),
    );
    let problem = assert_problem(two, 400, "bad-request");
    assert_eq!(
        problem["detail"],
        "Send one credential: Authorization or X-API-Key, not both"
    );
    // An empty organization header names none: the answer is the one
    // without it (the oldest membership).
    let unnamed = send(
        app.get("/api/v1/auth/verify")
            .header("X-API-Key", &key)
            .header("X-Organization-Id", ""),
    );
    assert_eq!(unnamed.status(), 200);
    let unnamed: Value = unnamed.json().unwrap();
    assert!(unnamed["organization_id"].is_string(), "{unnamed}");
    assert_eq!(unnamed["organization_id"], body["organization_id"]);
    assert_eq!(unnamed["role"], body["role"]);
    let token_as_key = app.me_by_key_header(&token);
    assert_problem(token_as_key, 401, "invalid-token");
    let foreign = send(
        app.get("/api/v1/auth/verify")
            .header("X-API-Key", &key)
            .header("X-Organization-Id", uuid::Uuid::now_v7().to_string()),
    );
    assert_problem(foreign, 403, "insufficient-permissions");
}

fn a_key_cannot_manage_keys_sessions_or_the_password(app: TestApp) {
    let (token, _) = app.logged_in("ada@example.com");
    let key = secret(&app.key(&token, "script"));
    let session = uuid::Uuid::now_v7();
    let refused = [
        send(app.get("/api/v1/auth/keys").bearer_auth(&key)),
        send(
            app.post("/api/v1/auth/keys")
                .bearer_auth(&key)
                .json(&json!({ "name": "more" })),
        ),
        send(
            app.client
                .delete(app.url(&format!("/api/v1/auth/keys/{session}")))
                .bearer_auth(&key),
        ),
        send(app.get("/api/v1/auth/sessions").header("X-API-Key", &key)),
        send(
            app.client
                .delete(app.url(&format!("/api/v1/auth/sessions/{session}")))
                .bearer_auth(&key),
        ),
        send(
            app.post("/api/v1/auth/password/change")
                .bearer_auth(&key)
                .json(&json!({ "current_password": "x", "new_password": "y" })),
        ),
        send(
            app.post("/api/v1/auth/logout")
                .bearer_auth(&key)
                .json(&json!({ "all_sessions": true })),
        ),
    ];
    for res in refused {
        let url = res.url().path().to_owned();
        let body = assert_problem(res, 403, "insufficient-permissions");
        assert!(
            body["detail"].as_str().unwrap().contains("API key"),
            "{url}: {body}"
        );
    }
    assert_eq!(
        app.keys(&token).as_array().unwrap().len(),
        1,
        "nothing made"
    );
    assert_eq!(
        app.get_auth("/api/v1/auth/me", &token).status(),
        200,
        "the session lives"
    );
}

/// Deleted, expired, or its owner switched off by an administrator on
/// another instance: the key is refused at once.
fn a_key_is_refused_once_deleted_expired_or_its_owner_is_off(backend: Backend) {
    let app = TestApp::spawn(backend);
    let (admin_id, admin) = app.logged_in_admin("root@example.com");
    let (token, _) = app.logged_in("ada@example.com");
    let deleted = app.key(&token, "deleted");
    assert_eq!(
        app.delete_key(&token, deleted["id"].as_str().unwrap())
            .status(),
        204
    );
    assert_problem(
        app.me_by_key_header(&secret(&deleted)),
        401,
        "invalid-token",
    );

    let soon = (time::OffsetDateTime::now_utc() + time::Duration::seconds(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let res = app.create_key(&token, &json!({ "name": "short", "expires_at": soon }));
    assert_eq!(res.status(), 201);
    let short: Value = res.json().unwrap();
    assert!(short["expires_at"].is_string());
    assert_eq!(app.me_by_key_header(&secret(&short)).status(), 200);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_problem(app.me_by_key_header(&secret(&short)), 401, "invalid-token");
    let res = send(app.get("/api/v1/auth/verify").bearer_auth(secret(&short)));
    assert_problem(res, 401, "invalid-token");

    let key = secret(&app.key(&token, "lasting"));
    assert_eq!(app.me_by_key_header(&key).status(), 200);
    let other = app.sibling();
    let ada: Value = app.get_auth("/api/v1/auth/me", &token).json().unwrap();
    let res = other
        .client
        .patch(other.url(&format!(
            "/api/v1/admin/users/{}",
            ada["id"].as_str().unwrap()
        )))
        .bearer_auth(&admin)
        .json(&json!({ "status": "inactive" }))
        .send()
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_problem_soon(|| app.me_by_key_header(&key), 401, "invalid-token");
    let res = send(app.get("/api/v1/auth/verify").bearer_auth(&key));
    assert_problem(res, 401, "invalid-token");
    assert!(!admin_id.is_empty());
}

/// A mistyped key is refused on its checksum alone: with the database
/// gone, it is still 401 (a well-formed key needs the store: 503).
#[test]
fn a_mistyped_key_is_refused_without_the_store() {
    let app = TestApp::spawn(Backend::Postgres);
    let (token, _) = app.logged_in("ada@example.com");
    let key = secret(&app.key(&token, "script"));
    let mut typo = key.clone().into_bytes();
    typo[20] = if typo[20] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    assert_problem(app.me_by_key_header(&typo), 401, "invalid-token");
    let app = app.drop_database();
    assert_problem(app.me_by_key_header(&typo), 401, "invalid-token");
    assert_problem(app.me_by_key_header("ak_short"), 401, "invalid-token");
    assert_problem(app.me_by_key_header(&key), 503, "service-unavailable");
}

fn key_input_and_the_limit(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.security.max_api_keys_per_user = std::num::NonZeroU32::new(2).expect("not zero");
    });
    let (token, _) = app.logged_in("ada@example.com");
    let past = "2020-01-01T00:00:00Z";
    for (body, field) in [
        (json!({ "name": " " }), "name"),
        (json!({ "name": "x".repeat(101) }), "name"),
        (json!({ "name": "a", "expires_at": past }), "expires_at"),
        (
            json!({ "name": "a", "expires_at": "tomorrow" }),
            "expires_at",
        ),
    ] {
        let res = app.create_key(&token, &body);
        let problem = assert_problem(res, 422, "validation-failed");
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    assert_problem(app.create_key(&token, &json!({})), 400, "bad-request");
    let typo = json!({ "name": "a", "expires": "2099-01-01T00:00:00Z" });
    let problem = assert_problem(app.create_key(&token, &typo), 400, "bad-request");
    assert!(
        problem["detail"].as_str().unwrap().contains("expires"),
        "{problem}"
    );
    let offset = json!({ "name": "offset", "expires_at": "2099-01-01T02:00:00.123456789+02:00" });
    let res = app.create_key(&token, &offset);
    assert_eq!(res.status(), 201);
    let created: Value = res.json().unwrap();
    assert_eq!(
        created["expires_at"], "2099-01-01T00:00:00.123456Z",
        "UTC, to the microsecond"
    );
    let listed = app.keys(&token);
    assert_eq!(listed[0]["expires_at"], created["expires_at"], "as stored");
    assert_eq!(listed[0]["created_at"], created["created_at"], "as stored");
    let id = created["id"].as_str().unwrap();
    assert_eq!(app.delete_key(&token, id).status(), 204);
    assert_problem(app.create_key(&token, &json!(["a"])), 400, "bad-request");
    app.key(&token, "one");
    app.key(&token, "two");
    assert_problem(
        app.create_key(&token, &json!({ "name": "three" })),
        409,
        "too-many-keys",
    );
    let (eve, _) = app.logged_in("eve@example.com");
    app.key(&eve, "eve's");
    assert_problem(
        send(app.post("/api/v1/auth/keys").json(&json!({ "name": "x" }))),
        401,
        "missing-authorization",
    );
}

on_both_stores!(
    keys_are_made_listed_and_deleted,
    a_key_acts_as_its_owner_in_either_header,
    a_key_cannot_manage_keys_sessions_or_the_password,
);
on_both_backends!(
    a_key_is_refused_once_deleted_expired_or_its_owner_is_off,
    key_input_and_the_limit,
);
