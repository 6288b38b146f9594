//! Two-factor login over HTTP, with codes the test computes from the
//! secret the setup answers, as an authenticator app would.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use reqwest::blocking::Response;
use serde_json::{Value, json};
use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::{
    cli::{authd, run},
    helpers::{Backend, PASSWORD, TestApp, assert_problem},
    on_both_backends, on_both_stores,
};

/// The authenticator app: the secret the setup answered.
struct App(Totp);

impl App {
    fn new(base32: &str) -> Self {
        let secret = Secret::try_from_base32(base32).expect("base32 secret");
        let totp = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_step_duration(30)
            .with_secret(secret)
            .build()
            .expect("a TOTP");
        Self(totp)
    }

    /// The code of the step `steps` away from now's.
    fn code(&self, steps: i64) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let now = i64::try_from(now).unwrap();
        let time = u64::try_from(now + steps * 30).unwrap();
        self.0.generate(time).to_string()
    }
}

impl TestApp {
    fn mfa_post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.post(path)
            .bearer_auth(token)
            .json(body)
            .send()
            .expect("request sent")
    }

    /// Sets up TOTP for the owner of `token`: the setup's answer.
    fn setup_totp(&self, token: &str) -> Value {
        let res = self
            .post("/api/v1/auth/mfa/totp/setup")
            .bearer_auth(token)
            .send()
            .expect("request sent");
        assert_eq!(res.status(), 200);
        res.json().expect("setup JSON")
    }

    /// Enrols the owner of `token`, confirming with the current code:
    /// their app, their recovery codes, and the code the confirmation used
    /// (which no login takes again).
    fn enrol(&self, token: &str) -> (App, Vec<String>, String) {
        let setup = self.setup_totp(token);
        let app = App::new(setup["secret"].as_str().expect("secret"));
        let confirmed = app.code(0);
        let res = self.mfa_post(
            "/api/v1/auth/mfa/totp/confirm",
            token,
            &json!({ "code": confirmed }),
        );
        assert_eq!(res.status(), 200, "confirm");
        let body: Value = res.json().expect("codes JSON");
        let codes = body["recovery_codes"]
            .as_array()
            .expect("codes")
            .iter()
            .map(|c| c.as_str().expect("a code").to_owned())
            .collect();
        (app, codes, confirmed)
    }

    /// A login with the right password: the `mfa_token` it answers.
    fn mfa_token(&self, email: &str) -> String {
        let res = self.post_json(
            "/api/v1/auth/login",
            &json!({ "username": email, "password": PASSWORD }),
        );
        let body = assert_problem(res, 401, "mfa-required");
        body["extra_attributes"]["mfa_token"]
            .as_str()
            .expect("mfa_token")
            .to_owned()
    }

    fn login_mfa(&self, body: &Value) -> Response {
        self.post_json("/api/v1/auth/login/mfa", body)
    }

    fn me(&self, token: &str) -> Value {
        let res = self.get_auth("/api/v1/auth/me", token);
        assert_eq!(res.status(), 200);
        res.json().expect("user JSON")
    }
}

fn amr(access_token: &str) -> Value {
    let payload = access_token.split('.').nth(1).expect("a JWT");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["amr"].clone()
}

fn token_of(res: Response) -> Value {
    assert_eq!(res.status(), 200);
    res.json().expect("tokens JSON")
}

/// The whole flow: enrol, log in with a code, never the same code twice
/// nor a stale one, a recovery code once, tokens that say `otp`.
fn totp_enrols_and_guards_the_login(app: TestApp) {
    let (token, _) = app.logged_in("ada@example.com");
    assert_eq!(app.me(&token)["mfa_enabled"], false);
    let setup = app.setup_totp(&token);
    let uri = setup["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(
        uri.contains("issuer=authd") && uri.contains("ada%40example.com"),
        "{uri}"
    );
    assert!(setup["qr_svg"].as_str().unwrap().contains("<svg"));
    let authenticator = App::new(setup["secret"].as_str().unwrap());

    // A wrong code enables nothing.
    let wrong = app.mfa_post(
        "/api/v1/auth/mfa/totp/confirm",
        &token,
        &json!({ "code": authenticator.code(5) }),
    );
    let body = assert_problem(wrong, 422, "validation-failed");
    assert_eq!(body["errors"][0]["field"], "code");
    assert_eq!(app.me(&token)["mfa_enabled"], false);
    app.login("ada@example.com", PASSWORD);

    let confirmed = authenticator.code(0);
    let res = app.mfa_post(
        "/api/v1/auth/mfa/totp/confirm",
        &token,
        &json!({ "code": confirmed }),
    );
    let codes: Value = res.json().unwrap();
    let codes: Vec<String> = codes["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(app.me(&token)["mfa_enabled"], true);
    // A session alone cannot swap the second factor.
    let again = app
        .post("/api/v1/auth/mfa/totp/setup")
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_problem(again, 409, "mfa-already-enabled");
    let verify = app.get_auth("/api/v1/auth/verify", &token);
    assert_eq!(
        verify.headers()["x-auth-mfa"],
        "false",
        "a session of the password alone, opened before"
    );

    // The right password now asks for the second factor.
    let mfa_token = app.mfa_token("ada@example.com");
    for used_or_stale in [confirmed.clone(), authenticator.code(-2)] {
        let res = app.login_mfa(&json!({ "mfa_token": mfa_token, "code": used_or_stale }));
        assert_problem(res, 401, "invalid-mfa-code");
    }
    let next = authenticator.code(1);
    let tokens = token_of(app.login_mfa(&json!({ "mfa_token": mfa_token, "code": next })));
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(amr(access), json!(["pwd", "otp"]));
    let verify = app.get_auth("/api/v1/auth/verify", access);
    assert_eq!(verify.headers()["x-auth-mfa"], "true");
    let spent = app.login_mfa(&json!({ "mfa_token": mfa_token, "code": authenticator.code(1) }));
    assert_problem(spent, 401, "invalid-token");

    // A refreshed token still says how the user logged in.
    let refreshed = token_of(app.post_json(
        "/api/v1/auth/refresh",
        &json!({ "refresh_token": tokens["refresh_token"] }),
    ));
    assert_eq!(
        amr(refreshed["access_token"].as_str().unwrap()),
        json!(["pwd", "otp"])
    );

    // The same code on a new login: refused. A recovery code: once.
    let again = app.mfa_token("ada@example.com");
    let replay = app.login_mfa(&json!({ "mfa_token": again, "code": next }));
    assert_problem(replay, 401, "invalid-mfa-code");
    let typed = codes[3].to_uppercase().replace('-', " ");
    let by_recovery =
        token_of(app.login_mfa(&json!({ "mfa_token": again, "recovery_code": typed })));
    assert_eq!(
        amr(by_recovery["access_token"].as_str().unwrap()),
        json!(["pwd", "otp"])
    );
    let third = app.mfa_token("ada@example.com");
    let reused = app.login_mfa(&json!({ "mfa_token": third, "recovery_code": codes[3] }));
    assert_problem(reused, 401, "invalid-mfa-code");

    // Bodies that name no factor, or two.
    for body in [
        json!({ "mfa_token": third }),
        json!({ "mfa_token": third, "code": "123456", "recovery_code": codes[4] }),
        json!({ "code": "123456" }),
    ] {
        assert_problem(app.login_mfa(&body), 400, "bad-request");
    }
    assert_problem(
        app.login_mfa(&json!({ "mfa_token": "unknown", "code": "123456" })),
        401,
        "invalid-token",
    );
}

/// New recovery codes take a current code not used before; the old set
/// dies.
fn recovery_codes_are_renewed_for_a_current_code(app: TestApp) {
    let (token, _) = app.logged_in("ada@example.com");
    let (authenticator, codes, confirmed) = app.enrol(&token);
    let renew = |code: String| {
        app.mfa_post(
            "/api/v1/auth/mfa/recovery-codes",
            &token,
            &json!({ "code": code }),
        )
    };
    let used = renew(confirmed);
    assert_problem(used, 401, "invalid-mfa-code");
    let res = renew(authenticator.code(1));
    assert_eq!(res.status(), 200);
    let fresh: Value = res.json().unwrap();
    assert_eq!(fresh["recovery_codes"].as_array().unwrap().len(), 10);
    let fresh = fresh["recovery_codes"][0].as_str().unwrap().to_owned();
    let mfa_token = app.mfa_token("ada@example.com");
    let old = app.login_mfa(&json!({ "mfa_token": mfa_token, "recovery_code": codes[5] }));
    assert_problem(old, 401, "invalid-mfa-code");
    token_of(app.login_mfa(&json!({ "mfa_token": mfa_token, "recovery_code": fresh })));
}

/// Wrong codes count toward the account's login throttle, as wrong
/// passwords do: the sixth try is 429, even with the right code.
fn wrong_codes_are_throttled(app: TestApp) {
    let (token, _) = app.logged_in("ada@example.com");
    let (authenticator, _, _) = app.enrol(&token);
    let mfa_token = app.mfa_token("ada@example.com");
    for _ in 0..5 {
        let res = app.login_mfa(&json!({ "mfa_token": mfa_token, "code": authenticator.code(4) }));
        assert_problem(res, 401, "invalid-mfa-code");
    }
    let res = app.login_mfa(&json!({ "mfa_token": mfa_token, "code": authenticator.code(1) }));
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 429, "too-many-attempts");
    let res = app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "ada@example.com", "password": PASSWORD }),
    );
    assert_problem(res, 429, "too-many-attempts");
}

/// A right password with TOTP on neither clears the failures nor counts
/// as one: it cannot be used to reset the throttle between code guesses.
fn the_password_does_not_reset_the_code_throttle(app: TestApp) {
    let (token, _) = app.logged_in("ada@example.com");
    let (authenticator, _, _) = app.enrol(&token);
    for _ in 0..4 {
        let mfa_token = app.mfa_token("ada@example.com");
        let res = app.login_mfa(&json!({ "mfa_token": mfa_token, "code": authenticator.code(4) }));
        assert_problem(res, 401, "invalid-mfa-code");
    }
    let mfa_token = app.mfa_token("ada@example.com");
    let res = app.login_mfa(&json!({ "mfa_token": mfa_token, "code": authenticator.code(4) }));
    assert_problem(res, 401, "invalid-mfa-code");
    let res = app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "ada@example.com", "password": PASSWORD }),
    );
    assert_problem(res, 429, "too-many-attempts");
}

/// TOTP goes off with the password or a current code, ending the other
/// sessions; an API key cannot touch any of it.
fn totp_goes_off_with_the_password_or_a_code(app: TestApp) {
    let (token, _) = app.logged_in("ada@example.com");
    let (authenticator, _, _) = app.enrol(&token);
    let mfa_token = app.mfa_token("ada@example.com");
    let other =
        token_of(app.login_mfa(&json!({ "mfa_token": mfa_token, "code": authenticator.code(1) })));
    let other = other["access_token"].as_str().unwrap().to_owned();
    let disable = |body: &Value| {
        app.client
            .delete(app.url("/api/v1/auth/mfa/totp"))
            .bearer_auth(&token)
            .json(body)
            .send()
            .unwrap()
    };
    assert_problem(
        disable(&json!({ "password": "not the password" })),
        401,
        "bad-credentials",
    );
    assert_problem(
        disable(&json!({ "code": authenticator.code(5) })),
        401,
        "invalid-mfa-code",
    );
    assert_problem(disable(&json!({})), 400, "bad-request");
    assert_problem(
        disable(&json!({ "password": PASSWORD, "code": "123456" })),
        400,
        "bad-request",
    );
    assert_eq!(disable(&json!({ "password": PASSWORD })).status(), 204);
    assert_eq!(app.me(&token)["mfa_enabled"], false, "this session stays");
    assert_problem(
        app.get_auth("/api/v1/auth/me", &other),
        401,
        "invalid-token",
    );
    app.login("ada@example.com", PASSWORD);

    let (authenticator, _, _) = app.enrol(&token);
    assert_eq!(
        disable(&json!({ "code": authenticator.code(1) })).status(),
        204
    );
    app.login("ada@example.com", PASSWORD);

    let key: Value = app
        .post("/api/v1/auth/keys")
        .bearer_auth(&token)
        .json(&json!({ "name": "script" }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let key = key["api_key"].as_str().unwrap();
    for path in [
        "/api/v1/auth/mfa/totp/setup",
        "/api/v1/auth/mfa/totp/confirm",
        "/api/v1/auth/mfa/recovery-codes",
    ] {
        let by_key = app.mfa_post(path, key, &json!({ "code": "123456" }));
        assert_problem(by_key, 403, "insufficient-permissions");
    }
    let verify = app
        .get("/api/v1/auth/verify")
        .header("X-API-Key", key)
        .send()
        .unwrap();
    assert_eq!(verify.headers()["x-auth-mfa"], "false");
}

/// An administrator turns a user's TOTP off (a lost phone): the user's
/// sessions end and the password alone logs in again. So does the
/// command line.
fn an_administrator_resets_a_lost_second_factor(backend: Backend) {
    let app = TestApp::spawn(backend);
    let (_, admin) = app.logged_in_admin("root@example.com");
    let (token, _) = app.logged_in("ada@example.com");
    let id = app.me(&token)["id"].as_str().unwrap().to_owned();
    app.enrol(&token);
    let reset = |who: &str, id: &str| {
        app.client
            .delete(app.url(&format!("/api/v1/admin/users/{id}/mfa")))
            .bearer_auth(who)
            .send()
            .unwrap()
    };
    assert_problem(reset(&token, &id), 403, "insufficient-permissions");
    assert_problem(
        reset(&admin, &uuid::Uuid::now_v7().to_string()),
        404,
        "not-found",
    );
    assert_problem(reset(&admin, "not-an-id"), 404, "not-found");
    assert_eq!(reset(&admin, &id).status(), 204);
    assert_problem(
        app.get_auth("/api/v1/auth/me", &token),
        401,
        "invalid-token",
    );
    let t = app.login("ada@example.com", PASSWORD);
    assert_eq!(t["user"]["mfa_enabled"], false);

    let token = t["access_token"].as_str().unwrap();
    app.enrol(token);
    let dir = tempfile::tempdir().unwrap();
    let out = run(authd(dir.path())
        .args(["user", "mfa-reset", "--email", "ada@example.com"])
        .env("AUTHD__DATABASE__URL", &app.database_url));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("{id} mfa_enabled=false")
    );
    assert_eq!(
        app.login("ada@example.com", PASSWORD)["user"]["mfa_enabled"],
        false
    );
}

/// A password reset leaves TOTP on.
fn a_password_reset_leaves_totp_on(app: TestApp) {
    let (token, _) = app.logged_in("ada@example.com");
    app.enrol(&token);
    let res = app.post_json(
        "/api/v1/auth/password/forgot",
        &json!({ "email": "ada@example.com" }),
    );
    assert_eq!(res.status(), 202);
    let code = app.last_code("ada@example.com", "reset-password");
    let res = app.post_json(
        "/api/v1/auth/password/reset",
        &json!({ "code": code, "new_password": "purple mountains drink quietly" }),
    );
    assert_eq!(res.status(), 204);
    let res = app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "ada@example.com", "password": "purple mountains drink quietly" }),
    );
    assert_problem(res, 401, "mfa-required");
}

on_both_stores!(
    totp_enrols_and_guards_the_login,
    recovery_codes_are_renewed_for_a_current_code,
    wrong_codes_are_throttled,
    the_password_does_not_reset_the_code_throttle,
    totp_goes_off_with_the_password_or_a_code,
    a_password_reset_leaves_totp_on,
);
on_both_backends!(an_administrator_resets_a_lost_second_factor);

/// Everything the store holds, as text and bytes: every table of the
/// PostgreSQL database, or the SQLite file with its write-ahead log.
fn everything_stored(app: &TestApp, backend: Backend) -> Vec<u8> {
    match backend {
        Backend::Sqlite => {
            let path = app.database_url.trim_start_matches("sqlite://").to_owned();
            let mut bytes = std::fs::read(&path).unwrap();
            if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
                bytes.extend(wal);
            }
            bytes
        }
        Backend::Postgres => {
            use diesel::{
                Connection, QueryableByName, RunQueryDsl, pg::PgConnection, sql_types::Text,
            };
            #[derive(QueryableByName)]
            struct Row {
                #[diesel(sql_type = Text)]
                text: String,
            }
            let mut conn = PgConnection::establish(&app.database_url).unwrap();
            let tables: Vec<Row> = diesel::sql_query(
                "SELECT table_name::text AS text FROM information_schema.tables \
                 WHERE table_schema = 'public'",
            )
            .load(&mut conn)
            .unwrap();
            assert!(tables.iter().any(|t| t.text == "totp_credentials"));
            let mut dump = String::new();
            for table in tables {
                let rows: Vec<Row> =
                    diesel::sql_query(format!("SELECT t::text AS text FROM \"{}\" t", table.text))
                        .load(&mut conn)
                        .unwrap();
                for row in rows {
                    dump.push_str(&row.text);
                    dump.push('\n');
                }
            }
            dump.into_bytes()
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// After a full enrolment and logins by code and by recovery code, the
/// store holds neither the secret (base32, raw or in hex) nor any
/// recovery code nor a challenge in clear.
fn no_second_factor_secret_is_stored_in_clear(backend: Backend) {
    let app = TestApp::spawn(backend);
    let (token, _) = app.logged_in("ada@example.com");
    let setup = app.setup_totp(&token);
    let base32 = setup["secret"].as_str().unwrap().to_owned();
    let authenticator = App::new(&base32);
    let res = app.mfa_post(
        "/api/v1/auth/mfa/totp/confirm",
        &token,
        &json!({ "code": authenticator.code(0) }),
    );
    let codes: Value = res.json().unwrap();
    let codes: Vec<String> = codes["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let by_code = app.mfa_token("ada@example.com");
    token_of(app.login_mfa(&json!({ "mfa_token": by_code, "code": authenticator.code(1) })));
    let by_recovery = app.mfa_token("ada@example.com");
    token_of(app.login_mfa(&json!({ "mfa_token": by_recovery, "recovery_code": codes[0] })));
    let pending = app.mfa_token("ada@example.com");

    let stored = everything_stored(&app, backend);
    assert!(
        contains(&stored, b"ada@example.com"),
        "the dump holds the data"
    );
    let raw = Secret::try_from_base32(&base32).unwrap().as_ref().to_vec();
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let mut secrets: Vec<Vec<u8>> = vec![
        base32.clone().into_bytes(),
        base32.to_lowercase().into_bytes(),
        raw,
        hex.into_bytes(),
        by_code.into_bytes(),
        by_recovery.into_bytes(),
        pending.into_bytes(),
    ];
    for code in &codes {
        secrets.push(code.clone().into_bytes());
        secrets.push(code.replace('-', "").into_bytes());
    }
    for secret in secrets {
        assert!(
            !contains(&stored, &secret),
            "{} is stored in clear",
            String::from_utf8_lossy(&secret)
        );
    }
}

on_both_backends!(no_second_factor_secret_is_stored_in_clear);
