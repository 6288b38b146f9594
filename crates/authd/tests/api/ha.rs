//! High availability: two authd instances on a Patroni-managed primary and
//! replica, reached through a multi-host URL, under load while the
//! database switches over, fails over, is killed or turns read-only.
//!
//! `make test` runs the short variant (a switchover and a read-only
//! primary); `make test-ha` (`AUTHD_TEST_HA=full`) runs every fault.

use std::{
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use crate::{
    helpers::{PASSWORD, TestApp},
    outage::{Answer, assert_only_2xx_or_503, assert_sign_ups_whole_or_absent, collect, load},
    patroni::HaCluster,
};

/// Clients per instance.
const CLIENTS: usize = 4;
/// Service must be back this long after a new primary takes writes.
const BACK_WITHIN: Duration = Duration::from_secs(15);

/// What a fault did to the clients, for the report.
struct Figures {
    answers: usize,
    unavailable: usize,
    /// From the fault to the last 503.
    last_503_after: Option<Duration>,
}

impl Figures {
    /// One line for docs/high-availability.md.
    fn report(&self, name: &str) {
        eprintln!(
            "ha: {name}: {} answers, {} of them 503; the last 503 ended {:.1} s after the fault",
            self.answers,
            self.unavailable,
            self.last_503_after.unwrap_or_default().as_secs_f64()
        );
    }
}

/// One fault: applied to the cluster, it returns the moment from which the
/// database takes writes again (a new primary, or the old one writable).
type Fault = fn(&mut HaCluster) -> Instant;

fn switchover(cluster: &mut HaCluster) -> Instant {
    cluster.switchover();
    cluster.wait_for_primary(Duration::from_secs(60))
}

fn failover(cluster: &mut HaCluster) -> Instant {
    cluster.failover();
    cluster.wait_for_primary(Duration::from_secs(60))
}

fn kill_postmaster(cluster: &mut HaCluster) -> Instant {
    cluster.kill_primary_postmaster();
    // Patroni notices and starts PostgreSQL again (or fails over).
    thread::sleep(Duration::from_secs(2));
    cluster.wait_for_primary(Duration::from_secs(60))
}

fn kill_node(cluster: &mut HaCluster) -> Instant {
    let killed = cluster.kill_primary_node();
    thread::sleep(Duration::from_secs(2));
    let back = cluster.wait_for_primary(Duration::from_secs(60));
    cluster.revive(killed);
    back
}

fn read_only(cluster: &mut HaCluster) -> Instant {
    cluster.set_read_only(true);
    thread::sleep(Duration::from_secs(4));
    cluster.set_read_only(false);
    Instant::now()
}

/// Runs `fault` under load on both instances and checks what the clients
/// saw: no answer but 2xx or 503 with `Retry-After`; every request from
/// [`BACK_WITHIN`] after the database took writes again served; every
/// acknowledged sign-up whole. With `unready_until_writable`, readiness
/// must say 503 from a second and a half after the fault until the
/// database takes writes again.
fn under_load(
    cluster: &mut HaCluster,
    apps: &[TestApp],
    tokens: &[String],
    (name, fault): (&str, Fault),
    unready_until_writable: bool,
) -> Figures {
    cluster.wait_until_whole();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = apps
        .iter()
        .zip(tokens)
        .map(|(app, token)| load(app, token, &stop, CLIENTS))
        .collect();
    thread::sleep(Duration::from_secs(2));
    let at = Instant::now();
    let writable = fault(cluster);
    let deadline = writable + BACK_WITHIN;
    thread::sleep(deadline.saturating_duration_since(Instant::now()) + Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let mut requests: Vec<Answer> = Vec::new();
    let mut probes: Vec<Answer> = Vec::new();
    for per_app in workers {
        let (answers, probed) = collect(per_app);
        requests.extend(answers);
        probes.extend(probed);
    }
    assert_only_2xx_or_503(name, &requests, &probes);
    let late: Vec<&Answer> = requests
        .iter()
        .filter(|a| a.started >= deadline && a.status >= 300)
        .collect();
    assert!(
        late.is_empty(),
        "{name}: not served {BACK_WITHIN:?} after the database took writes: {late:?}"
    );
    for app in apps {
        assert_sign_ups_whole_or_absent(app, &requests);
    }
    if unready_until_writable {
        let ready: Vec<&Answer> = probes
            .iter()
            .filter(|a| a.started >= at + Duration::from_millis(1500))
            .filter(|a| a.started + a.took < writable && a.status != 503)
            .collect();
        assert!(
            ready.is_empty(),
            "{name}: ready while taking no writes: {ready:?}"
        );
    }
    let unavailable: Vec<&Answer> = requests.iter().filter(|a| a.status == 503).collect();
    Figures {
        answers: requests.len(),
        unavailable: unavailable.len(),
        last_503_after: unavailable
            .iter()
            .map(|a| (a.started + a.took).saturating_duration_since(at))
            .max(),
    }
}

#[test]
fn patroni_faults_cost_only_503s_lose_no_sign_up_and_need_no_restart() {
    let full = std::env::var("AUTHD_TEST_HA").is_ok_and(|v| v == "full");
    let mut cluster = HaCluster::start();
    let url = cluster.url();
    let apps: Vec<TestApp> = (0..2)
        .map(|_| {
            TestApp::spawn_on(&url, |s| {
                s.server.workers = 1;
                s.database.max_connections = NonZeroU32::new(4).expect("not zero");
                s.security.max_mails_per_ip = NonZeroU32::new(1_000_000).expect("not zero");
            })
        })
        .collect();
    let (first, _) = apps[0].logged_in("ada@example.com");
    let second = apps[1].login("ada@example.com", PASSWORD)["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let tokens = [first, second];

    let mut faults: Vec<(&str, Fault)> = vec![("switchover", switchover)];
    if full {
        faults.extend([
            ("failover", failover as Fault),
            ("kill -9 postmaster", kill_postmaster),
            ("kill -9 Patroni and postmaster", kill_node),
        ]);
    }
    for (name, fault) in faults {
        under_load(&mut cluster, &apps, &tokens, (name, fault), false).report(name);
    }
    let fault: (&str, Fault) = ("read-only primary", read_only);
    under_load(&mut cluster, &apps, &tokens, fault, true).report(fault.0);
}
