//! authd behind PgBouncer in transaction pooling mode, where consecutive
//! transactions of one client connection may run on different server
//! connections: no prepared statement may outlive its transaction
//! (`database.statement_cache = false`) and no lock its transaction.

use std::{
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use adapter_postgres::testing::TestDatabase;
use tempfile::TempDir;

use crate::{auth_flow, helpers::TestApp, login, refresh_grace};

/// A PgBouncer of the test's own, in front of the shared test server.
struct Bouncer {
    child: Child,
    port: u16,
    _dir: TempDir,
}

impl Bouncer {
    fn start() -> Self {
        let binary = binary();
        let dir = tempfile::tempdir().expect("temp dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let (host, server_port) = server();
        let users = dir.path().join("users.txt");
        std::fs::write(&users, "\"postgres\" \"\"\n").expect("users file");
        let ini = dir.path().join("pgbouncer.ini");
        std::fs::write(
            &ini,
            format!(
                "[databases]\n* = host={host} port={server_port}\n\n[pgbouncer]\n\
                 listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                 auth_type = trust\nauth_file = {}\npool_mode = transaction\n\
                 max_client_conn = 500\ndefault_pool_size = 8\n\
                 ignore_startup_parameters = extra_float_digits\n\
                 logfile = {}\n",
                users.display(),
                dir.path().join("pgbouncer.log").display()
            ),
        )
        .expect("pgbouncer.ini");
        let mut command = Command::new(binary);
        if is_root() {
            // PgBouncer will not run as root.
            run_as_postgres(dir.path());
            command.args(["-u", "postgres"]);
        }
        let child = command
            .arg(&ini)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pgbouncer starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "pgbouncer did not listen: {}",
                std::fs::read_to_string(dir.path().join("pgbouncer.log")).unwrap_or_default()
            );
            thread::sleep(Duration::from_millis(20));
        }
        Self {
            child,
            port,
            _dir: dir,
        }
    }

    /// `database`'s URL through the bouncer.
    fn url_of(&self, database: &TestDatabase) -> String {
        let name = database.url().rsplit('/').next().expect("a database name");
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

/// The test server's host and port, from the URL the test kit uses.
fn server() -> (String, u16) {
    let database = TestDatabase::new();
    let authority = database
        .url()
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("host:port in the test database URL")
        .to_owned();
    let (host, port) = authority.rsplit_once(':').unwrap_or((&authority, "5432"));
    (host.to_owned(), port.parse().expect("a port"))
}

fn binary() -> PathBuf {
    ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join("pgbouncer"))
                    .find(|p| p.is_file())
            })
        })
        .unwrap_or_else(|| {
            panic!(
                "this test runs authd behind PgBouncer: apt-get install pgbouncer \
                 (Debian, Ubuntu), dnf install pgbouncer (Fedora), brew install pgbouncer (macOS)"
            )
        })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Lets the `postgres` user write the bouncer's log in `dir`.
fn run_as_postgres(dir: &Path) {
    let status = Command::new("chown")
        .args(["-R", "postgres:"])
        .arg(dir)
        .status()
        .expect("chown runs");
    assert!(status.success(), "chown postgres {}", dir.display());
}

/// Runs `flow` on an app whose store goes through `bouncer`, on a fresh
/// database; then starts a second instance on it, whose start (a migration
/// check, a health connection) must not trip over what the first left on
/// PgBouncer's server connections.
fn through(bouncer: &Bouncer, flow: fn(TestApp)) {
    let database = TestDatabase::new();
    let url = bouncer.url_of(&database);
    let spawn = || {
        TestApp::spawn_on(&url, |s| {
            s.database.statement_cache = false;
        })
    };
    flow(spawn());
    for _ in 0..3 {
        let again = spawn();
        let res = again.get("/health/ready").send().expect("answer");
        assert_eq!(res.status(), 200, "a later instance starts and is ready");
    }
}

#[test]
fn the_core_flow_and_the_races_hold_behind_pgbouncer_in_transaction_mode() {
    let bouncer = Bouncer::start();
    through(&bouncer, auth_flow::validation_activates_once);
    through(&bouncer, auth_flow::logout_revokes_at_once);
    through(&bouncer, login::concurrent_guesses_never_exceed_the_limit);
    through(
        &bouncer,
        refresh_grace::twenty_concurrent_refreshes_get_one_successor,
    );
}
