//! Administration over HTTP: listing users, switching them on and off,
//! granting and withdrawing the administrator's rights.

use reqwest::blocking::Response;
use serde_json::{Value, json};

use crate::{
    helpers::{PASSWORD, TestApp, assert_problem, assert_problem_soon},
    on_both_stores,
};

impl TestApp {
    /// Signs up, validates and logs in an administrator; returns
    /// (user id, access token).
    pub(crate) fn logged_in_admin(&self, email: &str) -> (String, String) {
        let user = self.active_user(email, json!({}));
        let id = user["id"].as_str().expect("id").to_owned();
        let store = authd::open_store(&self.database_url, adapter_postgres::PoolSettings::sized(1))
            .expect("store opens");
        let patch = domain::AdminPatch {
            status: None,
            is_admin: Some(true),
        };
        store
            .apply_admin_patch(
                id.parse().expect("id"),
                &patch,
                time::OffsetDateTime::now_utc(),
            )
            .expect("made an administrator");
        let token = self.login(email, PASSWORD)["access_token"]
            .as_str()
            .expect("access token")
            .to_owned();
        (id, token)
    }

    /// An active, logged-in user: (id, access token, refresh token).
    pub(crate) fn user_with_tokens(&self, email: &str) -> (String, String, String) {
        let (token, refresh) = self.logged_in(email);
        let me: Value = self
            .get_auth("/api/v1/auth/me", &token)
            .json()
            .expect("user JSON");
        (me["id"].as_str().expect("id").to_owned(), token, refresh)
    }

    /// Login of a deactivated `email`: `inactive-account` to the right
    /// password only.
    fn assert_inactive(&self, email: &str) {
        for (password, code) in [
            (PASSWORD, "inactive-account"),
            ("not the password", "bad-credentials"),
        ] {
            let body = json!({ "username": email, "password": password });
            assert_problem(self.post_json("/api/v1/auth/login", &body), 401, code);
        }
    }

    fn list_users(&self, token: &str, query: &str) -> Response {
        self.get_auth(&format!("/api/v1/admin/users{query}"), token)
    }

    fn listed(&self, token: &str, query: &str) -> Value {
        let res = self.list_users(token, query);
        assert_eq!(res.status(), 200, "{query}");
        res.json().expect("page JSON")
    }

    fn patch_user(&self, token: &str, id: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(&format!("/api/v1/admin/users/{id}")))
            .bearer_auth(token)
            .json(body)
            .send()
            .expect("request sent")
    }

    pub(crate) fn patched(&self, token: &str, id: &str, body: &Value) -> Value {
        let res = self.patch_user(token, id, body);
        assert_eq!(res.status(), 200, "{body}");
        res.json().expect("user JSON")
    }
}

fn emails(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["email"].as_str().expect("email"))
        .collect()
}

fn invalid_fields(res: Response) -> Vec<String> {
    let body = assert_problem(res, 422, "validation-failed");
    body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field").to_owned())
        .collect()
}

fn admins_list_users_by_status_and_search_page_by_page(app: TestApp) {
    let (_, token) = app.logged_in_admin("root@example.com");
    app.signup(
        "pending@example.com",
        json!({ "first_name": "Quentin", "last_name": "Blackwood" }),
    );
    app.active_user("a_b@example.com", json!({ "username": "zebra.keeper" }));
    let gone = app.active_user("axb@example.com", json!({}));
    app.patched(
        &token,
        gone["id"].as_str().unwrap(),
        &json!({ "status": "inactive" }),
    );

    let all = app.listed(&token, "");
    assert_eq!(
        emails(&all),
        [
            "root@example.com",
            "pending@example.com",
            "a_b@example.com",
            "axb@example.com"
        ],
        "oldest first"
    );
    assert_eq!(all["total"], 4);
    assert_eq!(all["items"][0]["is_admin"], true);
    assert_eq!(all["items"][1]["status"], "pending_validation");

    let cases: [(&str, &[&str]); 9] = [
        ("?status=pending_validation", &["pending@example.com"]),
        ("?status=inactive", &["axb@example.com"]),
        ("?status=active", &["root@example.com", "a_b@example.com"]),
        ("?q=BLACKWOOD", &["pending@example.com"]),
        ("?q=quen", &["pending@example.com"]),
        ("?q=Zebra", &["a_b@example.com"]),
        ("?q=a_b", &["a_b@example.com"]),
        ("?q=%25", &[]),
        ("?q=ROOT@&status=active", &["root@example.com"]),
    ];
    for (query, expected) in cases {
        let page = app.listed(&token, query);
        assert_eq!(emails(&page), expected, "{query}");
        assert_eq!(page["total"], expected.len(), "{query}");
    }

    let page = app.listed(&token, "?limit=2&offset=1");
    assert_eq!(emails(&page), ["pending@example.com", "a_b@example.com"]);
    assert_eq!(page["total"], 4, "the total ignores the page");
    let page = app.listed(&token, "?limit=200&offset=3");
    assert_eq!(emails(&page), ["axb@example.com"]);
    let page = app.listed(&token, "?offset=99&status=active");
    assert_eq!(emails(&page), Vec::<&str>::new());
    assert_eq!(page["total"], 2);
    assert_eq!(
        app.listed(&token, "?q=")["total"],
        4,
        "empty text matches all"
    );

    let farthest = app.listed(&token, "?offset=9223372036854775807");
    assert_eq!(emails(&farthest), Vec::<&str>::new(), "the largest offset");

    let long = "x".repeat(101);
    let refused = [
        ("?limit=0", vec!["limit"]),
        ("?limit=201", vec!["limit"]),
        ("?limit=ten", vec!["limit"]),
        ("?offset=-1", vec!["offset"]),
        ("?offset=9223372036854775808", vec!["offset"]),
        ("?status=deleted", vec!["status"]),
        ("?status=", vec!["status"]),
        ("?limit=", vec!["limit"]),
        ("?limit=%205", vec!["limit"]),
        ("?offset=", vec!["offset"]),
        (
            "?status=Active&limit=-5&offset=x",
            vec!["status", "limit", "offset"],
        ),
    ];
    for (query, fields) in refused {
        assert_eq!(
            invalid_fields(app.list_users(&token, query)),
            fields,
            "{query}"
        );
    }
    assert_eq!(
        invalid_fields(app.list_users(&token, &format!("?q={long}"))),
        ["q"]
    );
    assert_problem(
        app.list_users(&token, "?limit=1&limit=2"),
        400,
        "bad-request",
    );
}

fn deactivation_refuses_the_users_tokens_at_once_on_every_instance(a: TestApp) {
    let b = a.sibling();
    let (_, admin) = a.logged_in_admin("root@example.com");
    let (id, token, refresh) = a.user_with_tokens("bob@example.com");
    let id = id.as_str();
    assert_eq!(b.get_auth("/api/v1/auth/me", &token).status(), 200);

    let user = a.patched(&admin, id, &json!({ "status": "inactive" }));
    assert_eq!(user["status"], "inactive");
    assert_eq!(user["email"], "bob@example.com");
    assert_problem(a.get_auth("/api/v1/auth/me", &token), 401, "invalid-token");
    assert_problem_soon(
        || b.get_auth("/api/v1/auth/me", &token),
        401,
        "invalid-token",
    );
    assert_problem(
        b.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": refresh })),
        401,
        "invalid-token",
    );
    b.assert_inactive("bob@example.com");
    assert_eq!(
        b.listed(&admin, "?status=inactive")["items"][0]["id"],
        id,
        "the other instance sees it too"
    );

    let user = b.patched(&admin, id, &json!({ "status": "active" }));
    assert_eq!(user["status"], "active");
    let t = a.login("bob@example.com", PASSWORD);
    let token = t["access_token"].as_str().unwrap();
    assert_eq!(b.get_auth("/api/v1/auth/me", token).status(), 200);
}

fn admins_cannot_switch_off_or_demote_themselves(app: TestApp) {
    let (root, token) = app.logged_in_admin("root@example.com");
    for body in [
        json!({ "status": "inactive" }),
        json!({ "is_admin": false }),
        json!({ "status": "active", "is_admin": false }),
    ] {
        let problem = assert_problem(
            app.patch_user(&token, &root, &body),
            409,
            "cannot-change-own-account",
        );
        assert!(problem["detail"].as_str().unwrap().contains("own account"));
    }
    let me = app.patched(
        &token,
        &root,
        &json!({ "status": "active", "is_admin": true }),
    );
    assert_eq!(
        (me["status"].clone(), me["is_admin"].clone()),
        (json!("active"), json!(true))
    );
    assert_eq!(app.listed(&token, "")["total"], 1, "still an administrator");

    // Another administrator may demote this one.
    let second = app.active_user("second@example.com", json!({}));
    let second_id = second["id"].as_str().unwrap();
    let granted = app.patched(&token, second_id, &json!({ "is_admin": true }));
    assert_eq!(granted["is_admin"], true);
    let second_token = app.login("second@example.com", PASSWORD)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let root_user = app.patched(&second_token, &root, &json!({ "is_admin": false }));
    assert_eq!(root_user["is_admin"], false);
    assert_problem(app.list_users(&token, ""), 403, "insufficient-permissions");
}

fn only_admins_administer_and_requests_are_checked(app: TestApp) {
    let (_, admin) = app.logged_in_admin("root@example.com");
    let (id, token, _) = app.user_with_tokens("bob@example.com");
    let id = id.as_str();

    assert_problem(app.list_users(&token, ""), 403, "insufficient-permissions");
    assert_problem(
        app.patch_user(&token, id, &json!({ "is_admin": true })),
        403,
        "insufficient-permissions",
    );
    assert_problem(
        app.get("/api/v1/admin/users").send().unwrap(),
        401,
        "missing-authorization",
    );
    let anonymous = app
        .client
        .patch(app.url(&format!("/api/v1/admin/users/{id}")))
        .json(&json!({ "status": "inactive" }))
        .send()
        .unwrap();
    assert_problem(anonymous, 401, "missing-authorization");
    assert_problem(app.list_users("not-a-token", ""), 401, "invalid-token");

    let unknown = uuid::Uuid::now_v7().to_string();
    for target in [unknown.as_str(), "not-an-id"] {
        assert_problem(
            app.patch_user(&admin, target, &json!({ "status": "inactive" })),
            404,
            "not-found",
        );
    }
    assert_eq!(
        invalid_fields(app.patch_user(&admin, id, &json!({ "status": "pending_validation" }))),
        ["status"]
    );
    assert_problem(
        app.patch_user(&admin, id, &json!({ "is_admin": "yes" })),
        400,
        "bad-request",
    );
    assert_problem(
        app.patch_user(&admin, id, &json!({ "role": "owner" })),
        400,
        "bad-request",
    );
    let same = app.patched(&admin, id, &json!({}));
    assert_eq!(same["status"], "active");
    assert_eq!(same["is_admin"], false);
    assert_problem(
        app.client
            .delete(app.url(&format!("/api/v1/admin/users/{id}")))
            .bearer_auth(&admin)
            .send()
            .unwrap(),
        405,
        "method-not-allowed",
    );
    assert_eq!(
        app.get_auth("/api/v1/auth/me", &token).status(),
        200,
        "nothing changed"
    );

    // A pending account an administrator switches on may log in, its
    // address still unverified.
    let pending = app.signup("pending@example.com", json!({}));
    let user = app.patched(
        &admin,
        pending["id"].as_str().unwrap(),
        &json!({ "status": "active" }),
    );
    assert_eq!(user["status"], "active");
    assert_eq!(user["email_verified"], false);
    assert_eq!(
        app.login("pending@example.com", PASSWORD)["user"]["status"],
        "active"
    );
}

on_both_stores!(
    admins_list_users_by_status_and_search_page_by_page,
    deactivation_refuses_the_users_tokens_at_once_on_every_instance,
    admins_cannot_switch_off_or_demote_themselves,
    only_admins_administer_and_requests_are_checked,
);

/// `authd user …` against the app's store, as an operator would run it.
fn user_command(app: &TestApp, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("temp dir");
    crate::cli::authd(dir.path())
        .arg("user")
        .args(args)
        .env("AUTHD__DATABASE__URL", &app.database_url)
        .env("AUTHD_USER_PASSWORD", PASSWORD)
        .output()
        .expect("authd runs")
}

fn succeeded(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "authd failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn the_command_line_makes_the_first_admin_and_administers(app: TestApp) {
    let root = succeeded(user_command(
        &app,
        &[
            "create",
            "--email",
            "root@example.com",
            "--admin",
            "--active",
        ],
    ));
    let admin = app.login("root@example.com", PASSWORD)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = app.listed(&admin, "");
    assert_eq!(
        page["items"][0]["id"],
        root.trim(),
        "the first admin administers"
    );

    let (id, token, _) = app.user_with_tokens("bob@example.com");
    let id = id.as_str();

    let out = succeeded(user_command(
        &app,
        &["set-status", "--email", "Bob@Example.com", "inactive"],
    ));
    assert_eq!(out.trim(), format!("{id} status=inactive is_admin=false"));
    assert_problem(
        app.get_auth("/api/v1/auth/me", &token),
        401,
        "invalid-token",
    );
    app.assert_inactive("bob@example.com");

    let out = succeeded(user_command(
        &app,
        &["set-status", "--email", "bob@example.com", "active"],
    ));
    assert_eq!(out.trim(), format!("{id} status=active is_admin=false"));
    let token = app.login("bob@example.com", PASSWORD)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_problem(app.list_users(&token, ""), 403, "insufficient-permissions");

    let out = succeeded(user_command(
        &app,
        &["set-admin", "--email", "bob@example.com", "true"],
    ));
    assert_eq!(out.trim(), format!("{id} status=active is_admin=true"));
    assert_eq!(app.listed(&token, "")["total"], 2, "bob administers now");
    succeeded(user_command(
        &app,
        &["set-admin", "--email", "bob@example.com", "false"],
    ));
    assert_problem(app.list_users(&token, ""), 403, "insufficient-permissions");

    // The operator is not bound by the own-account rule: there is none.
    let out = succeeded(user_command(
        &app,
        &["set-admin", "--email", "root@example.com", "false"],
    ));
    assert!(out.ends_with("is_admin=false\n"), "{out}");

    for (args, message) in [
        (
            &["set-status", "--email", "nobody@example.com", "inactive"][..],
            "no user has the e-mail address nobody@example.com",
        ),
        (
            &["set-status", "--email", "bob@example.com", "pending"][..],
            "invalid value",
        ),
        (
            &["set-admin", "--email", "bob@example.com", "maybe"][..],
            "invalid value",
        ),
        (
            &["set-admin", "--email", "not an address", "true"][..],
            "--email",
        ),
    ] {
        let out = user_command(&app, args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

on_both_stores!(the_command_line_makes_the_first_admin_and_administers);
