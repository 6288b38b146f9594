//! A highly available PostgreSQL of a test's own: etcd and two nodes under
//! Patroni (a primary and a streaming replica), all on free loopback ports
//! under the target directory, that the test may switch over, fail over,
//! kill and make read-only.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use diesel::{Connection, connection::SimpleConnection, pg::PgConnection};
use tempfile::TempDir;

use crate::private_postgres::{free_port, is_root, live_processes, server_bindir};

/// The Patroni scope (cluster name).
const SCOPE: &str = "authd-ha";

/// One PostgreSQL node and the Patroni that runs it.
struct Node {
    name: String,
    pg_port: u16,
    rest_port: u16,
    config: PathBuf,
    patroni: Option<Child>,
}

/// etcd and two Patroni nodes; everything is stopped when dropped.
pub struct HaCluster {
    dir: TempDir,
    etcd: Child,
    nodes: Vec<Node>,
    as_owner: bool,
    rest: reqwest::blocking::Client,
}

impl HaCluster {
    /// Starts etcd, then the first node (which becomes the primary), then
    /// the second (a replica of it), and waits until the replica streams.
    ///
    /// # Panics
    /// When Patroni, etcd or PostgreSQL's server programs are missing (the
    /// message says what to install), or the cluster does not come up.
    pub fn start() -> Self {
        program("patroni");
        let etcd_bin = program("etcd");
        let bindir = server_bindir();
        let dir = tempfile::Builder::new()
            .prefix("ha-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("a directory under the target directory");
        let as_owner = is_root();
        let (etcd_client, etcd_peer) = (free_port(), free_port());
        let nodes: Vec<Node> = (1..=2)
            .map(|i| {
                let name = format!("pg{i}");
                let node = Node {
                    config: dir.path().join(format!("{name}.yml")),
                    name,
                    pg_port: free_port(),
                    rest_port: free_port(),
                    patroni: None,
                };
                std::fs::create_dir_all(dir.path().join(&node.name)).expect("node directory");
                std::fs::write(
                    &node.config,
                    node_config(&node, dir.path(), &bindir, etcd_client),
                )
                .expect("node configuration");
                node
            })
            .collect();
        if as_owner {
            let status = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(dir.path())
                .status()
                .expect("chown runs");
            assert!(status.success(), "chown {}", dir.path().display());
        }
        let log = |name: &str| {
            std::fs::File::create(dir.path().join(format!("{name}.log"))).expect("log file")
        };
        let etcd = as_user(as_owner, &etcd_bin)
            .args(["--name", "ha", "--data-dir"])
            .arg(dir.path().join("etcd"))
            .arg(format!(
                "--listen-client-urls=http://127.0.0.1:{etcd_client}"
            ))
            .arg(format!(
                "--advertise-client-urls=http://127.0.0.1:{etcd_client}"
            ))
            .arg(format!("--listen-peer-urls=http://127.0.0.1:{etcd_peer}"))
            .arg(format!(
                "--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}"
            ))
            .arg(format!("--initial-cluster=ha=http://127.0.0.1:{etcd_peer}"))
            .arg("--enable-v2=true")
            .stdout(Stdio::null())
            .stderr(log("etcd"))
            .spawn()
            .expect("etcd starts");
        let mut cluster = Self {
            dir,
            etcd,
            nodes,
            as_owner,
            rest: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .expect("client"),
        };
        cluster.wait_for(Duration::from_secs(30), "etcd", |c| {
            c.rest
                .get(format!("http://127.0.0.1:{etcd_client}/health"))
                .send()
                .is_ok_and(|r| r.status().is_success())
        });
        cluster.start_patroni(0);
        cluster.wait_for(Duration::from_secs(60), "the first primary", |c| {
            c.primary().is_some()
        });
        cluster.start_patroni(1);
        cluster.wait_for_replica(1);
        cluster
    }

    /// The multi-host URL a client uses: whichever node takes writes.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.pg_port))
            .collect();
        format!(
            "postgres://postgres@{}/postgres?target_session_attrs=read-write&connect_timeout=2",
            hosts.join(",")
        )
    }

    /// The node that is primary now, by Patroni's REST API.
    pub fn primary(&self) -> Option<usize> {
        (0..self.nodes.len()).find(|&i| self.answers(i, "primary"))
    }

    /// Waits at most `timeout` for a primary that takes writes; the moment
    /// it was seen.
    pub fn wait_for_primary(&self, timeout: Duration) -> Instant {
        self.wait_for(timeout, "a primary", |c| {
            c.primary()
                .is_some_and(|i| c.node_connection(i).is_some_and(takes_writes))
        });
        Instant::now()
    }

    /// Waits until both nodes run, one of them as a streaming replica.
    pub fn wait_until_whole(&self) {
        self.wait_for(Duration::from_secs(90), "both nodes", |c| {
            c.primary().is_some() && (0..c.nodes.len()).any(|i| c.answers(i, "replica"))
        });
    }

    /// A planned switchover to the replica.
    pub fn switchover(&self) {
        let leader = self.primary().expect("a primary");
        let candidate = 1 - leader;
        self.patronictl(&[
            "switchover",
            "--leader",
            &self.nodes[leader].name,
            "--candidate",
            &self.nodes[candidate].name,
            "--force",
        ]);
    }

    /// A manual failover to the replica.
    pub fn failover(&self) {
        let candidate = 1 - self.primary().expect("a primary");
        self.patronictl(&[
            "failover",
            "--candidate",
            &self.nodes[candidate].name,
            "--force",
        ]);
    }

    /// `kill -9` of the primary's postmaster (Patroni stays).
    pub fn kill_primary_postmaster(&self) {
        let primary = self.primary().expect("a primary");
        kill9(self.postmaster_pid(primary));
    }

    /// `kill -9` of the primary's Patroni and postmaster: the replica is
    /// promoted once the leader lock expires. The killed node comes back
    /// with [`HaCluster::revive`].
    pub fn kill_primary_node(&mut self) -> usize {
        let primary = self.primary().expect("a primary");
        let postmaster = self.postmaster_pid(primary);
        // The child may be `runuser`, which waits for Patroni: kill both.
        for pid in self.processes_with(&self.nodes[primary].config) {
            kill9(pid);
        }
        if let Some(mut patroni) = self.nodes[primary].patroni.take() {
            drop(patroni.kill());
            drop(patroni.wait());
        }
        kill9(postmaster);
        primary
    }

    /// Starts a killed node's Patroni again and waits until it streams.
    pub fn revive(&mut self, node: usize) {
        self.start_patroni(node);
        self.wait_until_whole();
    }

    /// Makes the primary read-only (or writable again) as an operator
    /// would, without restarting it.
    pub fn set_read_only(&self, on: bool) {
        let primary = self.primary().expect("a primary");
        let mut conn = self
            .node_connection(primary)
            .expect("a connection to the primary");
        // One statement each: ALTER SYSTEM runs outside a transaction.
        conn.batch_execute(&format!(
            "ALTER SYSTEM SET default_transaction_read_only = {on}"
        ))
        .expect("setting changed");
        conn.batch_execute("SELECT pg_reload_conf()")
            .expect("configuration reloaded");
    }

    fn node_connection(&self, node: usize) -> Option<PgConnection> {
        PgConnection::establish(&format!(
            "postgres://postgres@127.0.0.1:{}/postgres?connect_timeout=2",
            self.nodes[node].pg_port
        ))
        .ok()
    }

    fn answers(&self, node: usize, role: &str) -> bool {
        self.rest
            .get(format!(
                "http://127.0.0.1:{}/{role}",
                self.nodes[node].rest_port
            ))
            .send()
            .is_ok_and(|r| r.status() == 200)
    }

    fn wait_for_replica(&self, node: usize) {
        self.wait_for(Duration::from_secs(90), "the replica", |c| {
            c.answers(node, "replica")
        });
    }

    fn wait_for(&self, timeout: Duration, what: &str, ready: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + timeout;
        while !ready(self) {
            assert!(
                Instant::now() < deadline,
                "no {what} after {timeout:?}; logs in {}",
                self.dir.path().display()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn start_patroni(&mut self, node: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(
                self.dir
                    .path()
                    .join(format!("{}.log", self.nodes[node].name)),
            )
            .expect("log file");
        let child = as_user(self.as_owner, &program("patroni"))
            .arg(&self.nodes[node].config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("patroni starts");
        self.nodes[node].patroni = Some(child);
    }

    fn patronictl(&self, args: &[&str]) {
        let out = Command::new(program("patronictl"))
            .arg("-c")
            .arg(&self.nodes[0].config)
            .args(args)
            .output()
            .expect("patronictl runs");
        assert!(
            out.status.success(),
            "patronictl {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The processes whose command line names `path` (a node's Patroni).
    fn processes_with(&self, path: &Path) -> Vec<u32> {
        let needle = path.to_string_lossy().into_owned();
        live_processes(|proc_dir| {
            std::fs::read(proc_dir.join("cmdline")).is_ok_and(|c| {
                String::from_utf8_lossy(&c)
                    .replace('\0', " ")
                    .contains(&needle)
            })
        })
    }

    fn postmaster_pid(&self, node: usize) -> u32 {
        let file = self
            .dir
            .path()
            .join(&self.nodes[node].name)
            .join("data/postmaster.pid");
        std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse().ok()))
            .unwrap_or_else(|| panic!("no postmaster pid in {}", file.display()))
    }
}

impl Drop for HaCluster {
    fn drop(&mut self) {
        // SIGTERM to every process of each node (`runuser` and Patroni):
        // Patroni stops its PostgreSQL before it exits.
        let configs: Vec<PathBuf> = self.nodes.iter().map(|n| n.config.clone()).collect();
        for config in &configs {
            for pid in self.processes_with(config) {
                drop(Command::new("kill").arg(pid.to_string()).status());
            }
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        for node in &mut self.nodes {
            if let Some(mut patroni) = node.patroni.take() {
                while patroni.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                    thread::sleep(Duration::from_millis(50));
                }
                drop(patroni.kill());
                drop(patroni.wait());
            }
        }
        for config in &configs {
            for pid in self.processes_with(config) {
                kill9(pid);
            }
        }
        for node in &self.nodes {
            let data = self.dir.path().join(&node.name).join("data");
            if data.join("postmaster.pid").exists() {
                drop(
                    as_user(self.as_owner, &server_bindir().join("pg_ctl"))
                        .arg("-D")
                        .arg(&data)
                        .args(["-m", "immediate", "-w", "stop"])
                        .output(),
                );
            }
        }
        drop(self.etcd.kill());
        drop(self.etcd.wait());
    }
}

fn takes_writes(mut conn: PgConnection) -> bool {
    #[derive(diesel::QueryableByName)]
    struct Writable {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        read_only: bool,
    }
    diesel::RunQueryDsl::get_result::<Writable>(
        diesel::sql_query(
            "SELECT pg_is_in_recovery() \
                 OR current_setting('transaction_read_only')::boolean AS read_only",
        ),
        &mut conn,
    )
    .is_ok_and(|w| !w.read_only)
}

fn node_config(node: &Node, dir: &Path, bindir: &Path, etcd_port: u16) -> String {
    let home = dir.join(&node.name);
    format!(
        "scope: {SCOPE}
name: {name}
restapi:
  listen: 127.0.0.1:{rest}
  connect_address: 127.0.0.1:{rest}
etcd:
  host: 127.0.0.1:{etcd_port}
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_level: replica
        hot_standby: 'on'
        max_wal_senders: 5
        max_replication_slots: 5
        wal_log_hints: 'on'
  initdb:
    - encoding: UTF8
    - auth: trust
  pg_hba:
    - host replication replicator 127.0.0.1/32 trust
    - host all all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:{pg}
  connect_address: 127.0.0.1:{pg}
  data_dir: {data}
  bin_dir: {bindir}
  pgpass: {home}/pgpass
  authentication:
    replication:
      username: replicator
      password: replicator
    superuser:
      username: postgres
      password: postgres
  parameters:
    unix_socket_directories: '{home}'
    fsync: 'off'
",
        name = node.name,
        rest = node.rest_port,
        pg = node.pg_port,
        data = home.join("data").display(),
        bindir = bindir.display(),
        home = home.display(),
    )
}

/// Runs `program` as the `postgres` user when the tests run as root
/// (PostgreSQL refuses root, and Patroni runs it).
fn as_user(as_owner: bool, program: &Path) -> Command {
    if as_owner {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn program(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the high-availability test needs {name}: apt-get install patroni etcd-server \
                 (Debian, Ubuntu); `make test-ha` installs them when missing"
            )
        })
}

fn kill9(pid: u32) {
    drop(Command::new("kill").args(["-9", &pid.to_string()]).status());
}
