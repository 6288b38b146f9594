//! The `authd` binary itself: subcommands, settings layering, and logs.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, ExitStatus, Output, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp};

pub(crate) fn authd(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_authd"));
    cmd.current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .env("AUTHD__SECURITY__ARGON2_MEMORY_KIB", "256")
        .env("AUTHD__SECURITY__ARGON2_ITERATIONS", "1")
        .stdin(Stdio::null());
    cmd
}

pub(crate) fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("authd runs");
    assert!(
        out.status.success(),
        "authd failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn migrate_uses_the_embedded_default_relative_to_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    run(authd(dir.path()).arg("migrate"));
    assert!(dir.path().join("data/authd.db").is_file());
}

#[test]
fn environment_beats_file_and_authd_url_beats_database_url() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("authd.toml"),
        "[database]\nurl = \"sqlite://from-file.db\"\n",
    )
    .unwrap();
    run(authd(dir.path()).args(["--config", "authd.toml", "migrate"]));
    assert!(dir.path().join("from-file.db").is_file());
    run(authd(dir.path())
        .args(["--config", "authd.toml", "migrate"])
        .env("DATABASE_URL", "sqlite://from-env.db"));
    assert!(dir.path().join("from-env.db").is_file());
    run(authd(dir.path())
        .args(["--config", "authd.toml", "migrate"])
        .env("DATABASE_URL", "sqlite://loser.db")
        .env("AUTHD__DATABASE__URL", "sqlite://winner.db"));
    assert!(dir.path().join("winner.db").is_file());
    assert!(!dir.path().join("loser.db").exists());
}

#[test]
fn bad_settings_are_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = authd(dir.path())
        .args(["migrate"])
        .env("AUTHD__DATABASE__URL", "mysql://x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sqlite:// or postgres://"));
    let out = authd(dir.path())
        .args(["--config", "missing.toml", "migrate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    std::fs::write(dir.path().join("typo.toml"), "[server]\nbnid = \"x\"\n").unwrap();
    let out = authd(dir.path())
        .args(["--config", "typo.toml", "migrate"])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "unknown settings are errors, not ignored"
    );
}

/// A value the settings cannot hold fails at load time, before anything
/// is opened, and the message names the key.
#[test]
fn out_of_range_and_unknown_values_are_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value, message) in [
        (
            "AUTHD__SECURITY__MAX_FAILED_LOGINS",
            "0",
            "expected a nonzero u32 for key `security.max_failed_logins`",
        ),
        (
            "AUTHD__DATABASE__MAX_CONNECTIONS",
            "0",
            "for key `database.max_connections`",
        ),
        (
            "AUTHD__MAIL__TRANSPORT",
            "smpt",
            r#"unknown mail transport "smpt": expected "file" or "smtp" for key `mail.transport`"#,
        ),
        (
            "AUTHD__MAIL__TRANSPORT",
            "smtp",
            r#"mail.smtp.host must be set when mail.transport is "smtp""#,
        ),
        (
            "AUTHD__TOKENS__ALGORITHM",
            "HS257",
            "for key `tokens.algorithm`",
        ),
    ] {
        let out = authd(dir.path())
            .arg("migrate")
            .env(var, value)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{var}={value} is refused");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{var}={value}: {stderr}");
    }
    assert!(
        !dir.path().join("data").exists(),
        "nothing is opened with bad settings"
    );
}

/// `config print` shows the file and the environment over the defaults,
/// every secret as `***`, and opens nothing.
#[test]
fn config_print_shows_the_settings_in_effect_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("authd.toml"),
        "[server]\nworkers = 3\n[log]\nformat = \"json\"\n",
    )
    .unwrap();
    let out = run(authd(dir.path())
        .args(["--config", "authd.toml", "config", "print"])
        .env("AUTHD__LOG__FORMAT", "text")
        .env(
            "DATABASE_URL",
            "postgres://authd:hunter2-url@db.example:5432/authd?password=hunter2-query",
        )
        .env("AUTHD__TOKENS__HMAC_SECRET", "hunter2-hmac")
        .env("AUTHD__SECURITY__ENCRYPTION_KEY", "hunter2-current")
        .env(
            "AUTHD__SECURITY__PREVIOUS_ENCRYPTION_KEYS",
            "hunter2-old,hunter2-older",
        )
        .env("AUTHD__METRICS__TOKEN", "hunter2-metrics")
        .env("AUTHD__MAIL__TRANSPORT", "smtp")
        .env("AUTHD__MAIL__FROM", "authd <no-reply@example.com>")
        .env("AUTHD__MAIL__SMTP__HOST", "smtp.example.com")
        .env("AUTHD__MAIL__SMTP__USERNAME", "authd")
        .env("AUTHD__MAIL__SMTP__PASSWORD", "hunter2-smtp"));
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(!printed.contains("hunter2"), "{printed}");
    for line in [
        "workers = 3",
        "format = \"text\"",
        "url = \"postgres://authd:***@db.example:5432/authd?password=***\"",
        "hmac_secret = \"***\"",
        "encryption_key = \"***\"",
        "previous_encryption_keys = [\"***\", \"***\"]",
        "token = \"***\"",
        "host = \"smtp.example.com\"",
        "username = \"authd\"",
        "password = \"***\"",
        "argon2_memory_kib = 256",
    ] {
        assert!(printed.lines().any(|l| l == line), "{line} in {printed}");
    }
    assert!(
        !dir.path().join("data").exists(),
        "printing the settings opens nothing"
    );
}

/// What `config print` writes, given back as the settings file, prints
/// the same.
#[test]
fn config_print_reads_back_as_the_same_settings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("authd.toml"),
        "[server]\nworkers = 3\ntrusted_proxies = [\"10.0.0.1\"]\n\
         [mail]\nfrom = \"authd <no-reply@example.com>\"\n[mail.smtp]\ntls = \"none\"\n",
    )
    .unwrap();
    let first = run(authd(dir.path())
        .args(["--config", "authd.toml", "config", "print"])
        .env("DATABASE_URL", "postgres://authd@db.example/authd")
        .env("AUTHD__LOG__FORMAT", "JSON")
        .env("AUTHD__APP__PUBLIC_URL", "https://app.example.com/"));
    let first = String::from_utf8(first.stdout).unwrap();
    std::fs::write(dir.path().join("printed.toml"), &first).unwrap();
    let second = run(authd(dir.path()).args(["--config", "printed.toml", "config", "print"]));
    assert_eq!(String::from_utf8(second.stdout).unwrap(), first);
    for line in [
        "url = \"postgres://authd@db.example/authd\"",
        "format = \"json\"",
        "public_url = \"https://app.example.com\"",
        "tls = \"none\"",
    ] {
        assert!(first.lines().any(|l| l == line), "{line} in {first}");
    }
}

/// Runs authd, which must refuse to start, and returns what it says.
fn refusal(cmd: &mut Command) -> String {
    let mut child = cmd
        // One message to compare, without a backtrace.
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            drop(child.kill());
            drop(child.wait());
            panic!("authd started with a bad setting");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    String::from_utf8(out.stderr).unwrap()
}

/// A bad setting stops `config print` as it stops `serve`: at once, with
/// the same message, which names the key.
#[test]
fn a_bad_setting_stops_config_print_as_it_stops_serve_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("typo.toml"),
        "[server]\nbnid = \"0.0.0.0:80\"\n",
    )
    .unwrap();
    /// Where a bad setting is written, and what its refusal must say.
    struct Bad {
        args: &'static [&'static str],
        env: Option<(&'static str, &'static str)>,
        says: &'static [&'static str],
    }
    for bad in [
        Bad {
            args: &[],
            env: Some(("AUTHD__DATABASE__ACQUIRE_TIMEOUT_MS", "0")),
            says: &["expected a nonzero u32 for key `database.acquire_timeout_ms`"],
        },
        Bad {
            args: &[],
            env: Some(("AUTHD__SERVER__WORKERS", "abc")),
            says: &["\"abc\"", "for key `server.workers`"],
        },
        Bad {
            args: &["--config", "typo.toml"],
            env: None,
            says: &["unknown field `bnid`", "for key `server`"],
        },
        Bad {
            args: &[],
            env: Some(("AUTHD__LOG__FORMAT", "xml")),
            says: &[r#"unknown log format "xml": expected "text" or "json" for key `log.format`"#],
        },
        Bad {
            args: &[],
            env: Some(("AUTHD__METRICS__TOKEN", "")),
            says: &["is empty", "`metrics.token`"],
        },
    ] {
        let with = |command: &[&str]| {
            let mut cmd = authd(dir.path());
            cmd.args(bad.args)
                .args(command)
                .env("AUTHD__SERVER__BIND", "127.0.0.1:0")
                .envs(bad.env);
            refusal(&mut cmd)
        };
        let printed = with(&["config", "print"]);
        for text in bad.says {
            assert!(
                printed.contains(text),
                "{:?} {:?}: {printed}",
                bad.args,
                bad.env
            );
        }
        assert_eq!(with(&["serve"]), printed, "{:?} {:?}", bad.args, bad.env);
    }
    assert!(
        !dir.path().join("data").exists(),
        "nothing is opened with bad settings"
    );
}

/// `url` with `password` written into its user part.
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (user, host) = rest.split_once('@').expect("a user in the test server URL");
    let user = user.split(':').next().unwrap();
    format!("{scheme}://{user}:{password}@{host}")
}

#[test]
fn the_database_password_reaches_no_log_or_error() {
    const PASSWORD_IN_URL: &str = "hunter2-in-the-url";
    // The test server trusts local connections, so the password is carried
    // but never checked.
    let database = adapter_postgres::testing::TestDatabase::new();
    let url = with_password(database.url(), PASSWORD_IN_URL);
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(
        dir.path(),
        &[("AUTHD__DATABASE__URL", &url), ("RUST_LOG", "debug")],
    );
    let res = reqwest::blocking::get(format!("{}/health/ready", served.base)).unwrap();
    assert_eq!(res.status(), 200);
    let startup = served.startup.join("\n");
    let log = served.stop().join("\n");
    assert!(log.contains("/health/ready"), "the request is logged");
    assert!(!startup.contains(PASSWORD_IN_URL), "{startup}");
    assert!(!log.contains(PASSWORD_IN_URL), "{log}");

    // A database that cannot be reached: neither the retries' log lines
    // nor the error after them name the password.
    let out = authd(dir.path())
        .arg("migrate")
        .env("AUTHD__DATABASE__CONNECT_TIMEOUT_SECONDS", "1")
        .env(
            "AUTHD__DATABASE__URL",
            format!("postgres://authd:{PASSWORD_IN_URL}@127.0.0.1:1/authd"),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot connect to PostgreSQL"), "{stderr}");
    assert!(
        stderr.contains("database not reachable yet; trying again"),
        "it tried again for a second: {stderr}"
    );
    assert!(!stderr.contains(PASSWORD_IN_URL), "{stderr}");
}

fn user_create_then_login(backend: Backend) {
    let app = TestApp::spawn(backend);
    let dir = tempfile::tempdir().unwrap();
    let out = run(authd(dir.path())
        .args([
            "user",
            "create",
            "--email",
            "Root@Example.com",
            "--username",
            "root",
            "--admin",
            "--active",
        ])
        .env("AUTHD__DATABASE__URL", &app.database_url)
        .env("AUTHD_USER_PASSWORD", PASSWORD));
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let t = app.login("root", PASSWORD);
    assert_eq!(t["user"]["id"], id);
    assert_eq!(t["user"]["email"], "root@example.com");
    assert_eq!(t["user"]["is_admin"], true);
    assert_eq!(t["user"]["status"], "active");
    assert!(app.mails().is_empty(), "the command mails nothing");

    let mut child = authd(dir.path())
        .args(["user", "create", "--email", "pending@example.com"])
        .env("AUTHD__DATABASE__URL", &app.database_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        format!("{PASSWORD}\n").as_bytes(),
    )
    .unwrap();
    assert!(child.wait().unwrap().success());
    let res = app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "pending@example.com", "password": PASSWORD }),
    );
    assert_eq!(
        res.json::<Value>().unwrap()["error_code"],
        "account-not-validated"
    );

    let out = authd(dir.path())
        .args([
            "user",
            "create",
            "--email",
            "weak@example.com",
            "--password",
            "password",
        ])
        .env("AUTHD__DATABASE__URL", &app.database_url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("too weak"));
}

#[test]
fn user_create_sqlite() {
    user_create_then_login(Backend::Sqlite);
}

#[test]
fn user_create_postgres() {
    user_create_then_login(Backend::Postgres);
}

/// `authd serve` on port 0, with its port read from its own log.
pub(crate) struct Served {
    child: Child,
    pub(crate) base: String,
    /// The log lines up to and including the port line.
    startup: Vec<String>,
    log: std::sync::mpsc::Receiver<String>,
    reader: std::thread::JoinHandle<()>,
}

impl Served {
    pub(crate) fn start(dir: &Path, envs: &[(&str, &str)]) -> Self {
        let mut child = authd(dir)
            .arg("serve")
            .env("AUTHD__SERVER__BIND", "127.0.0.1:0")
            .env("AUTHD__SERVER__WORKERS", "1")
            .envs(envs.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        let port = loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("authd did not report its port: {seen:#?}"));
            let port = port_in(&line);
            seen.push(line);
            if let Some(port) = port {
                break port;
            }
        };
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            startup: seen,
            log: rx,
            reader,
        }
    }

    /// The log lines up to and including the port line.
    pub(crate) fn startup(&self) -> &[String] {
        &self.startup
    }

    /// Sends the server `signal` (`TERM`, `INT`, …) as an operator would.
    pub(crate) fn signal(&self, signal: &str) {
        run(Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string()));
    }

    /// Waits at most `timeout` for the server to exit on its own (killing
    /// it after that); its exit status, if it exited in time, and every log
    /// line after the port line.
    pub(crate) fn exit(mut self, timeout: Duration) -> (Option<ExitStatus>, Vec<String>) {
        let deadline = Instant::now() + timeout;
        let status = loop {
            match self.child.try_wait().expect("the server's status") {
                Some(status) => break Some(status),
                None if Instant::now() > deadline => break None,
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        (status, self.stop())
    }

    /// Stops the server and returns every log line after the port line.
    pub(crate) fn stop(mut self) -> Vec<String> {
        // SIGTERM first: log lines are written by a thread of their own,
        // and a server stopping on a signal writes out those still queued.
        if matches!(self.child.try_wait(), Ok(None)) {
            drop(
                Command::new("kill")
                    .arg("-TERM")
                    .arg(self.child.id().to_string())
                    .status(),
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        drop(self.child.kill());
        drop(self.child.wait());
        // The reader ends when the pipe closes: every line is in by then.
        drop(self.reader.join());
        self.log.try_iter().collect()
    }
}

fn port_in(line: &str) -> Option<u16> {
    if !line.contains("authd listening") {
        return None;
    }
    if let Ok(v) = serde_json::from_str::<Value>(line) {
        return v["port"].as_u64().and_then(|p| u16::try_from(p).ok());
    }
    line.split("port=")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[test]
fn no_secret_reaches_the_log_even_at_debug_level() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path(), &[("RUST_LOG", "debug")]);
    let client = reqwest::blocking::Client::new();
    let post = |path: &str, body: Value| {
        client
            .post(format!("{}{path}", served.base))
            .json(&body)
            .send()
            .unwrap()
            .json::<Value>()
            .unwrap()
    };
    post(
        "/api/v1/auth/signup",
        json!({ "email": "ada@example.com", "password": PASSWORD, "first_name": "A", "last_name": "L" }),
    );
    let mailbox = std::fs::read_to_string(dir.path().join("data/mailbox.jsonl")).unwrap();
    let code = serde_json::from_str::<Value>(mailbox.lines().last().unwrap()).unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    post("/api/v1/auth/validate", json!({ "code": code }));
    let t = post(
        "/api/v1/auth/login",
        json!({ "username": "ada@example.com", "password": PASSWORD }),
    );
    let access = t["access_token"].as_str().unwrap().to_owned();
    let refresh = t["refresh_token"].as_str().unwrap().to_owned();
    let t2 = post("/api/v1/auth/refresh", json!({ "refresh_token": refresh }));
    let me = client
        .get(format!("{}/api/v1/auth/me", served.base))
        .bearer_auth(&access)
        .send()
        .unwrap();
    assert_eq!(me.status(), 200);
    post(
        "/api/v1/auth/login",
        json!({ "username": "ada@example.com", "password": "a wrong guess 123" }),
    );
    let created = client
        .post(format!("{}/api/v1/auth/keys", served.base))
        .bearer_auth(&access)
        .json(&json!({ "name": "script" }))
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap();
    let api_key = created["api_key"].as_str().unwrap().to_owned();
    let by_key = client
        .get(format!("{}/api/v1/auth/verify", served.base))
        .header("X-API-Key", &api_key)
        .send()
        .unwrap();
    assert_eq!(by_key.status(), 200);
    let mut mistyped = api_key.clone();
    mistyped.pop();
    mistyped.push('x');
    let refused = client
        .get(format!("{}/api/v1/auth/me", served.base))
        .bearer_auth(&mistyped)
        .send()
        .unwrap();
    assert_eq!(refused.status(), 401);
    let key = std::fs::read_to_string(dir.path().join("data/keys/jwt-eddsa.pem")).unwrap();
    let key_body = key.lines().nth(1).unwrap().to_owned();
    let log = served.stop().join("\n");
    assert!(
        log.contains("/api/v1/auth/login"),
        "the request lines are logged"
    );
    let secrets = [
        PASSWORD,
        "a wrong guess 123",
        code.as_str(),
        access.as_str(),
        refresh.as_str(),
        t2["refresh_token"].as_str().unwrap(),
        key_body.as_str(),
        // What follows an API key's prefix, of the key and of a mistyped one.
        &api_key[11..],
        &mistyped[11..],
    ];
    for secret in secrets {
        assert!(!log.contains(secret), "a secret is in the log");
    }
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path(), &[("AUTHD__LOG__FORMAT", "json")]);
    let res = reqwest::blocking::get(format!("{}/health/live", served.base)).unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let lines = served.stop();
    let request = lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .find(|v| v["path"] == "/health/live")
        .expect("a request line");
    assert_eq!(request["status"], 200);
    assert_eq!(request["method"], "GET");
    assert!(request["latency_ms"].is_number());
    assert_eq!(request["span"]["trace_id"], id);
}

#[test]
fn with_requests_failures_only_errors_are_logged() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(
        dir.path(),
        &[
            ("AUTHD__LOG__FORMAT", "json"),
            ("AUTHD__LOG__REQUESTS", "failures"),
        ],
    );
    let live = reqwest::blocking::get(format!("{}/health/live", served.base)).unwrap();
    assert_eq!(live.status(), 200);
    let refused = reqwest::blocking::get(format!("{}/api/v1/auth/verify", served.base)).unwrap();
    assert_eq!(refused.status(), 401);
    let id = refused.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let requests: Vec<Value> = served
        .stop()
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .filter(|v| v["message"] == "request")
        .collect();
    assert_eq!(requests.len(), 1, "only the refused one: {requests:?}");
    assert_eq!(requests[0]["path"], "/api/v1/auth/verify");
    assert_eq!(requests[0]["status"], 401);
    assert_eq!(requests[0]["span"]["trace_id"], id);
}
