//! A PostgreSQL cluster of a test's own, on a free port, that the test may
//! stop, kill and start again: never the shared test server.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Command, Output},
    thread,
    time::{Duration, Instant},
};

use tempfile::TempDir;

/// A private cluster (trust authentication), removed when dropped.
pub struct PrivateCluster {
    bindir: PathBuf,
    data: PathBuf,
    port: u16,
    /// Runs the server programs as the `postgres` user when the tests run as
    /// root (PostgreSQL refuses to run as root).
    as_owner: bool,
    _dir: TempDir,
}

impl PrivateCluster {
    /// Creates and starts a cluster.
    ///
    /// # Panics
    /// When PostgreSQL's server programs are not installed (the message
    /// says what to install) or the cluster cannot start.
    pub fn start() -> Self {
        let bindir = server_bindir();
        let dir = tempfile::tempdir().expect("temp dir");
        let as_owner = is_root();
        if as_owner {
            run(Command::new("chown").arg("postgres:").arg(dir.path()));
        }
        let data = dir.path().join("data");
        let mut cluster = Self {
            bindir,
            data,
            port: 0,
            as_owner,
            _dir: dir,
        };
        run(cluster
            .program("initdb")
            .arg("-D")
            .arg(&cluster.data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ]));
        cluster.port = free_port();
        cluster.resume();
        cluster
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn resume(&self) {
        // fsync off (nothing here must survive the machine); commits are
        // still synchronous, so an acknowledged one survives a killed server.
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off",
            self.port
        );
        let log = self.data.parent().expect("parent").join("postgres.log");
        run(self
            .program("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(log)
            .args(["-w", "-t", "60", "-o", &options, "start"]));
    }

    /// Stops the server as an operator would: connections are closed.
    pub fn stop(&self) {
        run(self
            .program("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "stop"]));
    }

    /// `kill -9` of the postmaster; returns once every process of the
    /// cluster has gone (its backends end on their own when they notice; any
    /// left after 5 s are killed too), so that the server can start again.
    pub fn kill(&self) {
        let pid = self.postmaster_pid();
        run(Command::new("kill").args(["-9", &pid.to_string()]));
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = self.processes();
            if left.is_empty() {
                return;
            }
            if Instant::now() > deadline {
                for process in left {
                    drop(
                        Command::new("kill")
                            .args(["-9", &process.to_string()])
                            .output(),
                    );
                }
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// The live processes of this cluster: those working in its data
    /// directory (every server process does).
    fn processes(&self) -> Vec<u32> {
        live_processes(|proc_dir| {
            std::fs::read_link(proc_dir.join("cwd")).is_ok_and(|cwd| cwd == self.data)
        })
    }

    fn postmaster_pid(&self) -> u32 {
        let text =
            std::fs::read_to_string(self.data.join("postmaster.pid")).expect("postmaster.pid");
        text.lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .expect("a pid on the first line")
    }

    fn program(&self, name: &str) -> Command {
        let path = self.bindir.join(name);
        if self.as_owner {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        }
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        drop(
            self.program("pg_ctl")
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "-w", "stop"])
                .output(),
        );
    }
}

/// The processes that have not ended (zombies have) and whose `/proc`
/// directory `matches`.
pub(crate) fn live_processes(matches: impl Fn(&std::path::Path) -> bool) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let state = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // pid (comm) state …: a zombie (Z) has ended already.
            let zombie = state.rsplit_once(')')?.1.trim_start().starts_with('Z');
            (!zombie && matches(&e.path())).then_some(pid)
        })
        .collect()
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The newest installed server's programs (Debian keeps them in
/// /usr/lib/postgresql/VERSION/bin), or those on PATH.
pub(crate) fn server_bindir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("initdb").is_file())
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return bin;
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        .unwrap_or_else(|| {
            panic!(
                "these tests start PostgreSQL clusters of their own and need its server \
                 programs (initdb, pg_ctl): apt-get install postgresql (Debian, Ubuntu), \
                 dnf install postgresql-server (Fedora), brew install postgresql (macOS)"
            )
        })
}

pub(crate) fn is_root() -> bool {
    let out = run(Command::new("id").arg("-u"));
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
