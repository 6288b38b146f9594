use std::{
    num::NonZeroU32,
    path::PathBuf,
    sync::mpsc,
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use actix_web::dev::ServerHandle;
use adapter_postgres::testing::TestDatabase;
use authd::{Application, Settings};
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};
use tempfile::TempDir;

/// Which store the app under test runs on.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Declares, for each named `fn(TestApp)`, one test per store.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite));
            }
            #[test]
            fn postgres() {
                super::$name($crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres));
            }
        }
    )*};
}

/// Like [`on_both_stores!`], for tests that boot their own apps: each
/// function takes the [`Backend`].
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite);
            }
            #[test]
            fn postgres() {
                super::$name($crate::helpers::Backend::Postgres);
            }
        }
    )*};
}

pub const PASSWORD: &str = "correct horse battery staple";

/// A running authd with its own store, data directory and mailbox.
pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub mailbox: PathBuf,
    pub database_url: String,
    settings: Settings,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
    database: Option<TestDatabase>,
    _dir: Option<TempDir>,
}

impl TestApp {
    pub fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {})
    }

    /// Boots the app after `adjust` has changed the test settings.
    pub fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, database) = match backend {
            Backend::Sqlite => (format!("sqlite://{}/authd.db", dir.path().display()), None),
            Backend::Postgres => {
                let db = TestDatabase::new();
                (db.url().to_owned(), Some(db))
            }
        };
        Self::spawn_in(dir, url, database, adjust)
    }

    /// Boots the app on the database at `url` (one the test looks after).
    pub fn spawn_on(url: &str, adjust: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::spawn_in(dir, url.to_owned(), None, adjust)
    }

    fn spawn_in(
        dir: TempDir,
        url: String,
        database: Option<TestDatabase>,
        adjust: impl FnOnce(&mut Settings),
    ) -> Self {
        let mut settings = Settings::default();
        settings.server.bind = "127.0.0.1:0".into();
        settings.server.workers = 1;
        settings.database.url = url.into();
        settings.database.max_connections = NonZeroU32::new(4).expect("not zero");
        settings.data.dir = dir.path().join("data");
        settings.mail.file = dir.path().join("mailbox.jsonl");
        // Cheap hashing: these tests are about the HTTP contract.
        settings.security.argon2_memory_kib = NonZeroU32::new(256).expect("not zero");
        settings.security.argon2_iterations = NonZeroU32::MIN;
        adjust(&mut settings);
        Self::boot(&settings, database, Some(dir))
    }

    /// A second instance of the same service: same store, keys and
    /// mailbox, its own port (as behind a load balancer).
    pub fn sibling(&self) -> Self {
        Self::boot(&self.settings, None, None)
    }

    /// Boots the app on explicit settings, keeping `database` and `dir`
    /// alive as long as it runs.
    fn boot(settings: &Settings, database: Option<TestDatabase>, dir: Option<TempDir>) -> Self {
        let app = Application::build(settings).expect("application builds");
        let port = app.port();
        let (tx, rx) = mpsc::channel();
        let thread = thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = app.start().expect("server starts");
                tx.send(server.handle()).expect("handle sent");
                server.await.expect("server runs");
            });
        });
        let handle = rx.recv().expect("server started");
        Self {
            base: format!("http://127.0.0.1:{port}"),
            client: Client::new(),
            mailbox: settings.mail.file.clone(),
            database_url: settings.database.url.expose_secret().to_owned(),
            settings: settings.clone(),
            handle,
            thread: Some(thread),
            database,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(self.url(path))
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.client.post(self.url(path))
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Response {
        self.post(path).json(body).send().expect("request sent")
    }

    pub fn get_auth(&self, path: &str, token: &str) -> Response {
        self.get(path)
            .bearer_auth(token)
            .send()
            .expect("request sent")
    }

    /// The newest code of `kind` mailed to `to`, waiting (a few seconds at
    /// most) for the first such mail: mails are delivered in the background.
    pub fn last_code(&self, to: &str, kind: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let code = self
                .mails()
                .into_iter()
                .rev()
                .find(|m| m["to"] == to && m["kind"] == kind)
                .and_then(|m| m["code"].as_str().map(str::to_owned));
            match code {
                Some(code) => return code,
                None if std::time::Instant::now() > deadline => {
                    panic!("no {kind} mail to {to}")
                }
                None => thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
    }

    /// Waits (a few seconds at most) until `n` mails have been sent, for
    /// endpoints that answer before they mail.
    pub fn wait_for_mails(&self, n: usize) -> Vec<Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let mails = self.mails();
            if mails.len() >= n || std::time::Instant::now() > deadline {
                return mails;
            }
            thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Every mail sent so far: each complete line of the mailbox (a line
    /// still being appended has no newline yet).
    pub fn mails(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.mailbox).unwrap_or_default();
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        complete
            .lines()
            .map(|l| serde_json::from_str(l).expect("mailbox line is JSON"))
            .collect()
    }

    /// Signs up `email` (optionally with more fields) and returns the user.
    pub fn signup(&self, email: &str, extra: Value) -> Value {
        let mut body = json!({
            "email": email, "password": PASSWORD, "first_name": "Ada", "last_name": "Lovelace",
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let res = self.post_json("/api/v1/auth/signup", &body);
        assert_eq!(res.status(), 201, "signup of {email}");
        res.json().expect("user JSON")
    }

    /// Signs up and validates `email`; returns the active user.
    pub fn active_user(&self, email: &str, extra: Value) -> Value {
        self.signup(email, extra);
        let code = self.last_code(email, "validate-email");
        let res = self.post_json("/api/v1/auth/validate", &json!({ "code": code }));
        assert_eq!(res.status(), 200);
        res.json().expect("user JSON")
    }

    /// Logs in and returns the token response.
    pub fn login(&self, identifier: &str, password: &str) -> Value {
        let res = self.post_json(
            "/api/v1/auth/login",
            &json!({ "username": identifier, "password": password }),
        );
        assert_eq!(res.status(), 200, "login of {identifier}");
        res.json().expect("token JSON")
    }

    /// A login with a wrong password.
    pub fn guess(&self, identifier: &str) -> Response {
        let body = json!({ "username": identifier, "password": "wrong password" });
        self.post_json("/api/v1/auth/login", &body)
    }

    /// A wrong guess, refused as bad credentials (not throttled).
    pub fn failed_guess(&self, identifier: &str) {
        assert_problem(self.guess(identifier), 401, "bad-credentials");
    }

    /// An active, logged-in user: (access token, refresh token).
    pub fn logged_in(&self, email: &str) -> (String, String) {
        self.active_user(email, json!({}));
        let t = self.login(email, PASSWORD);
        (
            t["access_token"].as_str().expect("access token").to_owned(),
            t["refresh_token"]
                .as_str()
                .expect("refresh token")
                .to_owned(),
        )
    }
}

impl TestApp {
    /// Disables an account, as an administrator would.
    pub fn deactivate(&self, user_id: &str) {
        let store = authd::open_store(&self.database_url, adapter_postgres::PoolSettings::sized(1))
            .expect("store opens");
        let id = user_id.parse().expect("user id");
        let now = time::OffsetDateTime::now_utc();
        store
            .set_user_status(id, domain::UserStatus::Inactive, now)
            .expect("deactivated");
    }

    /// Drops the PostgreSQL database under the running app.
    pub fn drop_database(mut self) -> Self {
        drop(self.database.take());
        self
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
        if let Some(t) = self.thread.take() {
            drop(t.join());
        }
    }
}

/// How long another instance may take to learn of a change: the change
/// feed's delay (milliseconds), with room for a loaded machine. The
/// instance that made the change knows at once.
pub const FEED_DELAY: Duration = Duration::from_secs(1);

/// Sends `request` until it is answered `status` (within [`FEED_DELAY`],
/// or fails), then checks the problem as [`assert_problem`] does; returns
/// how long that took. For a change made on another instance.
pub fn assert_problem_soon(request: impl Fn() -> Response, status: u16, code: &str) -> Duration {
    let started = Instant::now();
    loop {
        let res = request();
        if res.status() == status || started.elapsed() > FEED_DELAY {
            assert_problem(res, status, code);
            return started.elapsed();
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Checks a problem+json answer: status, code, and the common members.
pub fn assert_problem(res: Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status(), status, "status for {code}");
    let content_type = res.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let request_id = res.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    if status == 401 {
        let challenge = res
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().expect("ascii"));
        assert!(
            challenge.is_some_and(|c| c.starts_with("Bearer")),
            "a 401 carries a challenge"
        );
    }
    let body: Value = res.json().expect("problem JSON");
    assert_eq!(body["error_code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], "about:blank");
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["detail"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(
        body["trace_id"],
        request_id.as_str(),
        "trace_id equals X-Request-Id"
    );
    let ts = body["timestamp"].as_str().expect("timestamp");
    assert!(
        ts.ends_with('Z') && ts.len() == 20,
        "RFC 3339 UTC timestamp: {ts}"
    );
    body
}

/// The one answer to every resend of a validation mail.
pub const RESEND_ACCEPTED: &str =
    r#"{"message":"If the account awaits validation, a new mail is on its way"}"#;

/// The one answer to every forgotten password.
pub const FORGOT_ACCEPTED: &str =
    r#"{"message":"If an account has this address, a reset mail is on its way"}"#;
