//! The four published auth APIs of docs/migrating.md: each document's
//! example requests, sent as shown (paths, field names, headers), and
//! every response field the document names, on the real app.

use reqwest::blocking::Response;
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, PASSWORD, TestApp, assert_problem},
    on_both_backends, on_both_stores,
};

/// The access-token lifetime of the default settings, in seconds.
const ACCESS_TTL: i64 = 900;

/// The example password of the sign-up-by-invitation service's document.
const SEED_PASSWORD: &str = "SecurePassword123!";

impl TestApp {
    fn post_with_token(&self, path: &str, token: &str, body: &Value) -> Response {
        self.post(path)
            .bearer_auth(token)
            .json(body)
            .send()
            .expect("request sent")
    }

    /// An active user's id.
    fn active_id(&self, email: &str, extra: Value) -> String {
        let user = self.active_user(email, extra);
        user["id"].as_str().expect("id").to_owned()
    }
}

/// A problem body as the documents' clients read it: `error` (the
/// title), `message` (the detail) and `timestamp`, beside RFC 9457.
fn assert_readable(body: &Value, error: &str) {
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error"], body["title"]);
    assert_eq!(body["message"], body["detail"]);
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(body["timestamp"].is_string());
}

fn string(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("a string, not {v}"))
}

/// The OrgStack JWT guide: `POST /api/auth/login` with `username` (an
/// e-mail address), then `GET /api/organizations` with the token.
fn orgstack_guide(app: TestApp) {
    let id = app.active_id("user@example.com", json!({}));
    let res = app.post_json(
        "/api/auth/login",
        &json!({ "username": "user@example.com", "password": PASSWORD }),
    );
    assert_eq!(res.status(), 200);
    let body: Value = res.json().expect("JSON");
    let token = string(&body["token"]).to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT");
    assert_eq!(body["userId"], id.as_str());
    assert_eq!(body["username"], "user@example.com");
    assert_eq!(body["expiresIn"], ACCESS_TTL, "the real lifetime");
    // The sign-up-by-invitation service's fields, on the same path.
    assert_eq!(body["access_token"], token.as_str());
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], ACCESS_TTL);
    assert!(body["refresh_token"].is_string());

    let res = app.get_auth("/api/organizations", &token);
    assert_eq!(res.status(), 200);
    let list: Value = res.json().expect("JSON");
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert!(list[0]["id"].is_string());

    // A user with a username is answered with it.
    app.active_user("grace@example.com", json!({ "username": "grace" }));
    let res = app.post_json(
        "/api/auth/login",
        &json!({ "username": "grace", "password": PASSWORD }),
    );
    let body: Value = res.json().expect("JSON");
    assert_eq!(body["username"], "grace");
}

fn orgstack_guide_errors(app: TestApp) {
    app.active_user("user@example.com", json!({}));
    let res = app.post_json(
        "/api/auth/login",
        &json!({ "username": "user@example.com", "password": "securepassword" }),
    );
    let body = assert_problem(res, 401, "bad-credentials");
    assert_readable(&body, "Unauthorized");
    assert_eq!(body["message"], "Invalid username or password");

    let res = app.post_json(
        "/api/auth/login",
        &json!({ "username": "user@example.com" }),
    );
    let body = assert_problem(res, 400, "bad-request");
    assert_readable(&body, "Bad Request");
    assert_eq!(body["message"], "Username and password are required");

    let res = app.get("/api/organizations").send().expect("sent");
    let body = assert_problem(res, 401, "missing-authorization");
    assert_readable(&body, "Unauthorized");
    let res = app.get_auth(
        "/api/organizations",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...",
    );
    assert_readable(&assert_problem(res, 401, "invalid-token"), "Unauthorized");
}

/// The guide's "Handling expired tokens": a 401, and a new login.
fn orgstack_guide_tokens_expire(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.tokens.access_ttl_seconds = std::num::NonZeroU32::MIN;
    });
    app.active_user("user@example.com", json!({}));
    let login = || -> Value {
        let body = json!({ "username": "user@example.com", "password": PASSWORD });
        app.post_json("/api/auth/login", &body)
            .json()
            .expect("JSON")
    };
    let first = login();
    assert_eq!(first["expiresIn"], 1);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let res = app.get_auth("/api/organizations", string(&first["token"]));
    assert_readable(&assert_problem(res, 401, "token-expired"), "Unauthorized");
    let res = app.get_auth("/api/organizations", string(&login()["token"]));
    assert_eq!(res.status(), 200);
}

/// The authentication API reference: `/api/v1/auth/login` by username,
/// `refresh` with `refreshToken`, `logout`, and the API keys.
fn api_reference(app: TestApp) {
    let id = app.active_id("jane.doe@example.com", json!({ "username": "jane.doe" }));
    let res = app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "jane.doe", "password": PASSWORD }),
    );
    assert_eq!(res.status(), 200);
    let login: Value = res.json().expect("JSON");
    let token = string(&login["token"]).to_owned();
    assert_eq!(login["access_token"], token.as_str());
    assert_eq!(login["expires_in"], ACCESS_TTL);
    assert_eq!(login["user"]["id"], id.as_str());
    assert_eq!(login["user"]["username"], "jane.doe");
    assert_eq!(login["user"]["email"], "jane.doe@example.com");

    let res = app.post_json(
        "/api/v1/auth/refresh",
        &json!({ "refreshToken": login["refresh_token"] }),
    );
    assert_eq!(res.status(), 200);
    let refreshed: Value = res.json().expect("JSON");
    let token = string(&refreshed["token"]).to_owned();
    assert_eq!(refreshed["access_token"], token.as_str());
    assert_eq!(refreshed["expires_in"], ACCESS_TTL);
    // Sent again within the grace period, it gets the same successor.
    let res = app.post_json(
        "/api/v1/auth/refresh",
        &json!({ "refreshToken": login["refresh_token"] }),
    );
    assert_eq!(res.status(), 200);
    let again: Value = res.json().expect("JSON");
    assert_eq!(again["refresh_token"], refreshed["refresh_token"]);

    let res = app.post_with_token(
        "/api/v1/auth/keys",
        &token,
        &json!({ "name": "My Integration Key" }),
    );
    assert_eq!(res.status(), 201);
    let created: Value = res.json().expect("JSON");
    let key_id = string(&created["keyId"]).to_owned();
    assert_eq!(created["id"], key_id.as_str());
    assert!(string(&created["apiKey"]).starts_with("ak_"));
    assert_eq!(created["apiKey"], created["api_key"]);
    assert_eq!(created["name"], "My Integration Key");
    assert_eq!(created["createdAt"], created["created_at"]);
    assert!(string(&created["createdAt"]).ends_with('Z'));

    let res = app.get_auth("/api/v1/auth/keys", &token);
    assert_eq!(res.status(), 200);
    let keys: Value = res.json().expect("JSON");
    assert_eq!(keys[0]["keyId"], key_id.as_str());
    assert_eq!(keys[0]["name"], "My Integration Key");
    assert_eq!(keys[0]["createdAt"], created["createdAt"]);
    assert_eq!(keys[0]["lastUsed"], Value::Null, "never used");
    let used = app
        .get("/api/v1/auth/me")
        .header("X-API-Key", string(&created["apiKey"]))
        .send()
        .expect("sent");
    assert_eq!(used.status(), 200);
    let keys: Value = app
        .get_auth("/api/v1/auth/keys", &token)
        .json()
        .expect("JSON");
    assert!(string(&keys[0]["lastUsed"]).ends_with('Z'));
    assert_eq!(keys[0]["lastUsed"], keys[0]["last_used_at"]);

    let delete = || {
        app.client
            .delete(app.url(&format!("/api/v1/auth/keys/{key_id}")))
            .bearer_auth(&token)
            .send()
            .expect("sent")
    };
    let res = delete();
    assert_eq!(res.status(), 204);
    assert!(res.bytes().expect("body").is_empty(), "no body");
    assert_readable(&assert_problem(delete(), 404, "not-found"), "Not Found");

    let res = app.post_with_token("/api/v1/auth/logout", &token, &json!({}));
    assert_eq!(res.status(), 200);
    let body: Value = res.json().expect("JSON");
    assert_eq!(body["message"], "Successfully logged out");
    let res = app.post_with_token("/api/v1/auth/logout", &token, &json!({}));
    assert_readable(&assert_problem(res, 401, "invalid-token"), "Unauthorized");
    let res = app.post("/api/v1/auth/logout").send().expect("sent");
    assert_readable(
        &assert_problem(res, 401, "missing-authorization"),
        "Unauthorized",
    );
}

fn api_reference_errors(app: TestApp) {
    app.active_user("jane.doe@example.com", json!({ "username": "jane.doe" }));
    for username in ["jane.doe", "nobody"] {
        let res = app.post_json(
            "/api/v1/auth/login",
            &json!({ "username": username, "password": "wrong password" }),
        );
        let body = assert_problem(res, 401, "bad-credentials");
        assert_readable(&body, "Unauthorized");
    }
    let res = app.post_json("/api/v1/auth/refresh", &json!({ "refreshToken": "spent" }));
    assert_readable(&assert_problem(res, 401, "invalid-token"), "Unauthorized");
    let res = app.post_json("/api/v1/auth/refresh", &json!({}));
    assert_readable(&assert_problem(res, 400, "bad-request"), "Bad Request");
    for res in [
        app.get("/api/v1/auth/keys").send().expect("sent"),
        app.post("/api/v1/auth/keys")
            .json(&json!({ "name": "My Integration Key" }))
            .send()
            .expect("sent"),
    ] {
        let body = assert_problem(res, 401, "missing-authorization");
        assert_readable(&body, "Unauthorized");
    }
}

/// The organization API: `POST /auth/login` by username, e-mail or mobile
/// phone, and `POST /auth/refresh-token`.
fn organization_api(app: TestApp) {
    let id = app.active_id(
        "string@example.com",
        json!({ "username": "string", "phone": "+442071234567" }),
    );
    for username in ["string", "string@example.com", "+442071234567"] {
        let res = app
            .post("/auth/login")
            .header("X-Organization-Id", "7d1f1b8e-3c4a-4e3b-9a63-2f4f1d9b6c01")
            .json(&json!({ "password": PASSWORD, "username": username }))
            .send()
            .expect("sent");
        assert_eq!(
            res.status(),
            200,
            "login as {username}: the header is not used"
        );
        let body: Value = res.json().expect("JSON");
        let token = string(&body["access_token"]);
        assert_eq!(body["jwt_token"], token);
        assert!(body["refresh_token"].is_string());
        assert_eq!(body["user"]["id"], id.as_str());

        let res = app.post_json(
            "/auth/refresh-token",
            &json!({ "refresh_token": body["refresh_token"] }),
        );
        assert_eq!(res.status(), 200);
        let refreshed: Value = res.json().expect("JSON");
        assert_eq!(refreshed["jwt_token"], refreshed["access_token"]);
        assert_ne!(refreshed["access_token"], body["access_token"]);
        let res = app.post_json(
            "/auth/refresh-token",
            &json!({ "refreshToken": refreshed["refresh_token"] }),
        );
        assert_eq!(res.status(), 200, "the other spelling");
    }

    // The global header picks the organization where it makes sense.
    let token = app.login("string", PASSWORD)["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let list: Value = app
        .get_auth("/api/organizations", &token)
        .json()
        .expect("JSON");
    let own = string(&list[0]["id"]);
    let res = app
        .get("/api/organizations")
        .bearer_auth(&token)
        .header("X-Organization-Id", own)
        .send()
        .expect("sent");
    assert_eq!(res.status(), 200);
    let res = app
        .get("/api/organizations")
        .bearer_auth(&token)
        .header("X-Organization-Id", "7d1f1b8e-3c4a-4e3b-9a63-2f4f1d9b6c01")
        .send()
        .expect("sent");
    assert_problem(res, 403, "insufficient-permissions");
}

/// Every `error_code` of the organization API's 401, as it shows them.
fn organization_api_errors(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.tokens.refresh_ttl_seconds = std::num::NonZeroU32::MIN;
    });
    let login = |username: &str, password: &str| {
        app.post_json(
            "/auth/login",
            &json!({ "password": password, "username": username }),
        )
    };
    let res = login("string", "string");
    assert_readable(&assert_problem(res, 401, "bad-credentials"), "Unauthorized");

    app.signup("pending@example.com", json!({}));
    let body = assert_problem(
        login("pending@example.com", PASSWORD),
        401,
        "account-not-validated",
    );
    assert_readable(&body, "Unauthorized");
    let resend = string(&body["extra_attributes"]["resend_code"]);
    assert!(!resend.is_empty());
    assert!(string(&body["trace_id"]).len() >= 16);
    let res = app.post_json(
        "/api/v1/auth/validate/resend",
        &json!({ "resend_code": resend }),
    );
    assert_eq!(res.status(), 202, "the resend code works");

    let id = app.active_id("gone@example.com", json!({}));
    app.deactivate(&id);
    let body = assert_problem(login("gone@example.com", PASSWORD), 401, "inactive-account");
    assert_readable(&body, "Unauthorized");

    app.active_user("late@example.com", json!({}));
    let res = login("late@example.com", PASSWORD);
    assert_eq!(res.status(), 200);
    let tokens: Value = res.json().expect("JSON");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let res = app.post_json(
        "/auth/refresh-token",
        &json!({ "refresh_token": tokens["refresh_token"] }),
    );
    assert_readable(&assert_problem(res, 401, "token-expired"), "Unauthorized");

    let res = app
        .post("/auth/login")
        .header("Content-Type", "application/json")
        .body("{\"password\":\"string\",")
        .send()
        .expect("sent");
    assert_readable(&assert_problem(res, 400, "bad-request"), "Bad Request");
}

/// The sign-up-by-invitation service: sign up, log in with `email`,
/// sign up by invitation with `invite_token`.
fn invitation_service(app: TestApp) {
    let res = app.post_json(
        "/api/auth/signup",
        &json!({
            "email": "user@example.com",
            "first_name": "John",
            "last_name": "Doe",
            "password": SEED_PASSWORD,
        }),
    );
    assert_eq!(res.status(), 201);
    let user: Value = res.json().expect("JSON");
    let id = string(&user["id"]).to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "a UUID");
    assert_eq!(user["email"], "user@example.com");
    assert_eq!(user["first_name"], "John");
    assert_eq!(user["last_name"], "Doe");

    let login = || {
        app.post_json(
            "/api/auth/login",
            &json!({ "email": "user@example.com", "password": SEED_PASSWORD }),
        )
    };
    // authd validates the e-mail address first.
    assert_problem(login(), 401, "account-not-validated");
    let code = app.last_code("user@example.com", "validate-email");
    let res = app.post_json("/api/v1/auth/validate", &json!({ "code": code }));
    assert_eq!(res.status(), 200);
    let res = login();
    assert_eq!(res.status(), 200);
    let tokens: Value = res.json().expect("JSON");
    let token = string(&tokens["access_token"]).to_owned();
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["userId"], id.as_str());

    // "Create a new user account with organization": the account owns one.
    let list: Value = app
        .get_auth("/api/organizations", &token)
        .json()
        .expect("JSON");
    let organization = string(&list[0]["id"]).to_owned();
    assert_eq!(list[0]["role"], "owner", "{list}");

    let res = app.post_with_token(
        &format!("/api/v1/organizations/{organization}/invites"),
        &token,
        &json!({ "email": "invitee@example.com", "role": "member" }),
    );
    assert_eq!(res.status(), 201);
    let invite_token = app.last_code("invitee@example.com", "invite");
    let res = app.post_json(
        "/api/auth/signup_invite",
        &json!({
            "first_name": "John",
            "last_name": "Doe",
            "password": SEED_PASSWORD,
            "invite_token": invite_token,
        }),
    );
    assert_eq!(res.status(), 201);
    let invited: Value = res.json().expect("JSON");
    assert!(uuid::Uuid::parse_str(string(&invited["id"])).is_ok());
    assert_eq!(
        invited["email"], "invitee@example.com",
        "from the invitation"
    );
    assert_eq!(invited["first_name"], "John");
    assert_eq!(invited["last_name"], "Doe");
    let access = string(&invited["access_token"]);
    let list: Value = app
        .get_auth("/api/organizations", access)
        .json()
        .expect("JSON");
    assert_eq!(list[0]["id"], organization.as_str(), "a member of it");
    assert_eq!(list[0]["role"], "member");

    // A spent invitation is not spent twice.
    let res = app.post_json(
        "/api/auth/signup_invite",
        &json!({
            "first_name": "John", "last_name": "Doe",
            "password": SEED_PASSWORD, "invite_token": invite_token,
        }),
    );
    assert_problem(res, 400, "invalid-code");
}

/// The error statuses the sign-up-by-invitation service lists.
fn invitation_service_errors(app: TestApp) {
    let signup = |body: Value| app.post_json("/api/auth/signup", &body);
    let valid = json!({
        "email": "user@example.com", "first_name": "John", "last_name": "Doe",
        "password": SEED_PASSWORD,
    });
    assert_eq!(signup(valid.clone()).status(), 201);
    let body = assert_problem(signup(valid), 409, "user-already-exists");
    assert_readable(&body, "Conflict");

    let body = assert_problem(
        signup(json!({
            "email": "not an address", "first_name": "John", "last_name": "Doe",
            "password": SEED_PASSWORD,
        })),
        422,
        "validation-failed",
    );
    assert_readable(&body, "Unprocessable Entity");
    assert!(
        body["errors"].is_array() || body["errors"].is_object(),
        "{body}"
    );

    let res = app
        .post("/api/auth/signup")
        .header("Content-Type", "application/json")
        .body("{\"email\": ")
        .send()
        .expect("sent");
    assert_readable(&assert_problem(res, 400, "bad-request"), "Bad Request");

    let res = app.post_json(
        "/api/auth/login",
        &json!({ "email": "user@example.com", "password": "wrong password" }),
    );
    assert_readable(&assert_problem(res, 401, "bad-credentials"), "Unauthorized");

    let res = app.post_json(
        "/api/auth/signup_invite",
        &json!({
            "first_name": "John", "last_name": "Doe",
            "password": SEED_PASSWORD, "invite_token": "valid-invitation-token",
        }),
    );
    assert_readable(&assert_problem(res, 400, "invalid-code"), "Bad Request");
}

/// The profiles weaken nothing: throttling, revocation and deactivation
/// apply on them as on `/api/v1`.
fn profile_routes_keep_every_check(app: TestApp) {
    let id = app.active_id("user@example.com", json!({}));
    let login = app.login("user@example.com", PASSWORD);
    let token = string(&login["access_token"]);
    let res = app.post_with_token("/api/v1/auth/logout", token, &json!({}));
    assert_eq!(res.status(), 200);
    let res = app.get_auth("/api/organizations", token);
    assert_problem(res, 401, "invalid-token");

    let profile_login = |path: &str, password: &str| {
        app.post_json(
            path,
            &json!({ "username": "user@example.com", "password": password }),
        )
    };
    let tokens: Value = profile_login("/auth/login", PASSWORD).json().expect("JSON");
    let (_, admin) = app.logged_in_admin("root@example.com");
    let res = app
        .client
        .patch(app.url(&format!("/api/v1/admin/users/{id}")))
        .bearer_auth(admin)
        .json(&json!({ "status": "inactive" }))
        .send()
        .expect("sent");
    assert_eq!(res.status(), 200);
    let res = app.get_auth("/api/organizations", string(&tokens["access_token"]));
    assert_problem(res, 401, "invalid-token");
    let res = app.post_json(
        "/auth/refresh-token",
        &json!({ "refresh_token": tokens["refresh_token"] }),
    );
    assert_problem(res, 401, "invalid-token");
    let res = profile_login("/api/auth/login", PASSWORD);
    assert_problem(res, 401, "inactive-account");

    app.active_user("ada@example.com", json!({}));
    let guess = |path: &str| {
        app.post_json(
            path,
            &json!({ "username": "ada@example.com", "password": "wrong password" }),
        )
    };
    for path in ["/api/auth/login", "/auth/login", "/api/auth/login"] {
        assert_problem(guess(path), 401, "bad-credentials");
    }
    assert_problem(guess("/api/v1/auth/login"), 401, "bad-credentials");
    assert_problem(guess("/auth/login"), 401, "bad-credentials");
    let res = app.post_json(
        "/api/auth/login",
        &json!({ "username": "ada@example.com", "password": PASSWORD }),
    );
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 429, "too-many-attempts");
}

/// `api.compat_routes = false`: the profile paths are gone from the
/// server and from its OpenAPI document; `/api/v1` and its aliases stay.
fn profile_routes_can_be_turned_off(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.api.compat_routes = false);
    app.active_user("user@example.com", json!({}));
    let body = json!({ "username": "user@example.com", "password": PASSWORD });
    for path in [
        "/api/auth/login",
        "/auth/login",
        "/api/auth/signup",
        "/api/auth/signup_invite",
    ] {
        assert_problem(app.post_json(path, &body), 404, "not-found");
    }
    let res = app.post_json("/auth/refresh-token", &json!({ "refresh_token": "x" }));
    assert_problem(res, 404, "not-found");
    let tokens = app.login("user@example.com", PASSWORD);
    assert_eq!(tokens["token"], tokens["access_token"], "the alias stays");
    let res = app.get_auth("/api/organizations", string(&tokens["token"]));
    assert_problem(res, 404, "not-found");

    let document: Value = app
        .get("/api-docs/openapi.json")
        .send()
        .expect("sent")
        .json()
        .expect("JSON");
    let paths = document["paths"].as_object().expect("paths");
    assert!(paths.contains_key("/api/v1/auth/login"));
    for path in [
        "/api/auth/login",
        "/api/auth/signup",
        "/api/auth/signup_invite",
        "/api/organizations",
        "/auth/login",
        "/auth/refresh-token",
    ] {
        assert!(!paths.contains_key(path), "{path} is not documented");
    }
    let tags = document["tags"].as_array().map_or(0, |tags| {
        tags.iter().filter(|t| t["name"] == "compatibility").count()
    });
    assert_eq!(tags, 0, "no compatibility tag");
}

/// On by default: every profile path is served and documented.
fn profile_routes_are_on_by_default(app: TestApp) {
    let document: Value = app
        .get("/api-docs/openapi.json")
        .send()
        .expect("sent")
        .json()
        .expect("JSON");
    for (path, method) in [
        ("/api/auth/login", "post"),
        ("/api/auth/signup", "post"),
        ("/api/auth/signup_invite", "post"),
        ("/api/organizations", "get"),
        ("/auth/login", "post"),
        ("/auth/refresh-token", "post"),
    ] {
        let operation = &document["paths"][path][method];
        assert_eq!(operation["deprecated"], true, "{path}");
        assert_eq!(operation["tags"][0], "compatibility", "{path}");
    }
}

on_both_stores!(
    orgstack_guide,
    orgstack_guide_errors,
    api_reference,
    api_reference_errors,
    organization_api,
    invitation_service,
    invitation_service_errors,
    profile_routes_keep_every_check,
    profile_routes_are_on_by_default,
);

on_both_backends!(
    orgstack_guide_tokens_expire,
    organization_api_errors,
    profile_routes_can_be_turned_off,
);
