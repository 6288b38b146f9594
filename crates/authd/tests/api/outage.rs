//! The worst day: a connection lost in the middle of a write, and a
//! database that goes away under load.

use std::{
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use diesel::{Connection, RunQueryDsl, connection::SimpleConnection, pg::PgConnection};
use reqwest::blocking::{Client, RequestBuilder};
use serde_json::json;

use crate::{
    helpers::{Backend, PASSWORD, TestApp, assert_problem},
    private_postgres::PrivateCluster,
};

/// A connection to the app's own PostgreSQL database, beside the app's pool.
fn side_connection(app: &TestApp) -> PgConnection {
    PgConnection::establish(&app.database_url).expect("side connection")
}

fn count(conn: &mut PgConnection, query: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(query)
        .get_result::<Count>(conn)
        .expect("count")
        .n
}

/// Kills the app's connection at every insert into `table` until
/// [`heal`] is called.
fn cut_connections_at(side: &mut PgConnection, table: &str) {
    side.batch_execute(&format!(
        "CREATE FUNCTION cut_the_connection() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$;
         CREATE TRIGGER cut BEFORE INSERT ON {table}
         FOR EACH ROW EXECUTE FUNCTION cut_the_connection();"
    ))
    .expect("trigger installed");
}

fn heal(side: &mut PgConnection, table: &str) {
    side.batch_execute(&format!("DROP TRIGGER cut ON {table}"))
        .expect("trigger dropped");
}

/// The connection dies as the validation code is written: the client is
/// told to retry, nothing of the account is left (no user, organization or
/// membership without its code), and the retry creates the whole account,
/// whose mailed code works.
#[test]
fn a_sign_up_cut_off_at_its_code_leaves_nothing_and_its_retry_succeeds() {
    let app = TestApp::spawn(Backend::Postgres);
    let mut side = side_connection(&app);
    cut_connections_at(&mut side, "one_time_codes");
    let body = json!({
        "email": "ada@example.com", "password": PASSWORD,
        "first_name": "Ada", "last_name": "Lovelace", "organization_name": "Engines",
    });
    let res = app.post_json("/api/v1/auth/signup", &body);
    assert_problem(res, 503, "service-unavailable");
    for table in ["users", "organizations", "memberships", "one_time_codes"] {
        let n = count(&mut side, &format!("SELECT count(*) AS n FROM {table}"));
        assert_eq!(n, 0, "{table} after the cut-off sign-up");
    }

    heal(&mut side, "one_time_codes");
    let res = app.post_json("/api/v1/auth/signup", &body);
    assert_eq!(res.status(), 201, "the retry creates the account");
    let code = app.last_code("ada@example.com", "validate-email");
    let res = app.post_json("/api/v1/auth/validate", &json!({ "code": code }));
    assert_eq!(res.status(), 200, "the retry's code validates the account");
    app.login("ada@example.com", PASSWORD);
}

/// The connection dies as the membership of a sign-up by invitation is
/// written: the user is not stored, the invitation is not spent, and the
/// retry with the same code makes a member who can log in.
#[test]
fn a_sign_up_by_invite_cut_off_at_its_membership_spends_nothing() {
    let app = TestApp::spawn(Backend::Postgres);
    let ada = app.account("ada@example.com");
    let org = app.own_organization(&ada);
    app.invite(&ada, &org, "grace@example.com", "member");
    let code = app.invite_code("grace@example.com");
    let mut side = side_connection(&app);
    let users = count(&mut side, "SELECT count(*) AS n FROM users");
    cut_connections_at(&mut side, "memberships");
    assert_problem(
        app.sign_up_by_invite(&code, json!({})),
        503,
        "service-unavailable",
    );
    assert_eq!(
        count(&mut side, "SELECT count(*) AS n FROM users"),
        users,
        "no user after the cut-off sign-up"
    );
    assert_eq!(
        count(
            &mut side,
            "SELECT count(*) AS n FROM invites WHERE accepted_at IS NULL"
        ),
        1,
        "the invitation is still open"
    );

    heal(&mut side, "memberships");
    let res = app.sign_up_by_invite(&code, json!({}));
    assert_eq!(res.status(), 201, "the retry with the same code succeeds");
    app.login("grace@example.com", PASSWORD);
}

/// A login whose request ends in a 503 is not left counted as a failed
/// attempt: five right passwords cut off by database faults do not lock the
/// account. The fault: every other DELETE on the throttle table kills its
/// connection (a sequence alternates, whatever the transactions do), which
/// cuts the clearing of the attempt after the right password and lets its
/// withdrawal through.
#[test]
fn logins_cut_off_by_database_faults_lock_nobody_out() {
    let app = TestApp::spawn(Backend::Postgres);
    app.active_user("ada@example.com", json!({}));
    let mut side = side_connection(&app);
    side.batch_execute(
        "CREATE SEQUENCE cuts;
         CREATE FUNCTION cut_every_other() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF nextval('cuts') % 2 = 1 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
           RETURN NULL;
         END $$;
         CREATE TRIGGER cut BEFORE DELETE ON throttle_records
         FOR EACH STATEMENT EXECUTE FUNCTION cut_every_other();",
    )
    .expect("trigger installed");
    let body = json!({ "username": "ada@example.com", "password": PASSWORD });
    for attempt in 1..=6 {
        let res = app.post_json("/api/v1/auth/login", &body);
        assert_problem(res, 503, "service-unavailable");
        let left = count(
            &mut side,
            "SELECT count(*) AS n FROM throttle_records WHERE purpose = 'login'",
        );
        assert_eq!(left, 0, "attempt {attempt} left a failure behind");
    }
    side.batch_execute("DROP TRIGGER cut ON throttle_records")
        .expect("trigger dropped");
    let res = app.post_json("/api/v1/auth/login", &body);
    assert_eq!(res.status(), 200, "the right password still logs in");
}

/// Makes every insert into `users` take `seconds` on the server.
fn stall_user_inserts(side: &mut PgConnection, seconds: f64) {
    side.batch_execute(&format!(
        "CREATE FUNCTION stall() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN PERFORM pg_sleep({seconds}); RETURN NEW; END $$;
         CREATE TRIGGER stall BEFORE INSERT ON users
         FOR EACH ROW EXECUTE FUNCTION stall();"
    ))
    .expect("trigger installed");
}

/// A statement that runs past `database.statement_timeout_ms` is cancelled
/// by the server: the client is told to retry at once instead of waiting,
/// and nothing of the sign-up is stored.
#[test]
fn a_statement_past_the_statement_timeout_is_answered_503_at_once() {
    let app = TestApp::spawn_with(Backend::Postgres, |s| {
        s.database.statement_timeout_ms = 200;
    });
    let mut side = side_connection(&app);
    stall_user_inserts(&mut side, 3.0);
    let started = Instant::now();
    let res = app.post_json(
        "/api/v1/auth/signup",
        &json!({ "email": "ada@example.com", "password": PASSWORD,
                 "first_name": "Ada", "last_name": "Lovelace" }),
    );
    let took = started.elapsed();
    assert_problem(res, 503, "service-unavailable");
    assert!(took < Duration::from_secs(2), "answered after {took:?}");
    assert_eq!(count(&mut side, "SELECT count(*) AS n FROM users"), 0);
}

/// Requests run while the database goes away.
const CLIENTS: usize = 16;
/// The longest a request may wait for its 503 during an outage: the
/// acquire timeout (250 ms by default) and room for a loaded machine.
const OUTAGE_BOUND: Duration = Duration::from_secs(1);
/// Readiness must say 503 within this of the database going away.
const READINESS_BOUND: Duration = Duration::from_secs(1);
/// Service must resume within this of the database's return.
const RECOVERY_BOUND: Duration = Duration::from_secs(2);

/// What one request saw.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) started: Instant,
    pub(crate) took: Duration,
    /// 0 when no answer came (the client gave up).
    pub(crate) status: u16,
    pub(crate) retry_after: bool,
    /// The address a sign-up was for.
    pub(crate) signup: Option<String>,
}

fn ask(request: RequestBuilder, signup: Option<String>) -> Answer {
    let started = Instant::now();
    let (status, retry_after) = match request.send() {
        Ok(res) => (
            res.status().as_u16(),
            res.headers().contains_key("retry-after"),
        ),
        Err(_) => (0, false),
    };
    Answer {
        started,
        took: started.elapsed(),
        status,
        retry_after,
        signup,
    }
}

/// Runs `clients` clients (sign-ups, logins, `/me`) and a readiness probe
/// against `app` until `stop` is set; the probe's answers come last.
pub(crate) fn load(
    app: &TestApp,
    token: &str,
    stop: &Arc<AtomicBool>,
    clients: usize,
) -> Vec<JoinHandle<Vec<Answer>>> {
    let client = Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .expect("client");
    // Loads on one database (several instances, several faults) sign up
    // addresses of their own.
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let mut workers: Vec<JoinHandle<Vec<Answer>>> = (0..clients)
        .map(|i| {
            let (client, base, token, stop) = (
                client.clone(),
                app.base.clone(),
                token.to_owned(),
                Arc::clone(stop),
            );
            thread::spawn(move || {
                let mut answers = Vec::new();
                for n in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let answer = match n % 3 {
                        0 => {
                            let email = format!("l{run}-c{i}-{n}@example.com");
                            let body = json!({ "email": email, "password": PASSWORD,
                                               "first_name": "Load", "last_name": "Test" });
                            let req = client
                                .post(format!("{base}/api/v1/auth/signup"))
                                .json(&body);
                            ask(req, Some(email))
                        }
                        1 => {
                            let body =
                                json!({ "username": "ada@example.com", "password": PASSWORD });
                            ask(
                                client.post(format!("{base}/api/v1/auth/login")).json(&body),
                                None,
                            )
                        }
                        _ => ask(
                            client
                                .get(format!("{base}/api/v1/auth/me"))
                                .bearer_auth(&token),
                            None,
                        ),
                    };
                    answers.push(answer);
                }
                answers
            })
        })
        .collect();
    let (base, stop) = (app.base.clone(), Arc::clone(stop));
    workers.push(thread::spawn(move || {
        let mut answers = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            answers.push(ask(client.get(format!("{base}/health/ready")), None));
            thread::sleep(Duration::from_millis(50));
        }
        answers
    }));
    workers
}

/// The database goes away under load (`cut`), stays away 3 s and comes
/// back: no answer is a 500, every answer during the outage is a 503 with
/// `Retry-After` within [`OUTAGE_BOUND`], readiness turns 503 within
/// [`READINESS_BOUND`] and answers at once throughout, service resumes
/// within [`RECOVERY_BOUND`], and every sign-up is whole or absent (every
/// acknowledged one whole).
fn outage_under_load(cut: impl FnOnce(&PrivateCluster)) {
    let cluster = PrivateCluster::start();
    let app = TestApp::spawn_on(&cluster.url(), |s| {
        s.server.workers = 2;
        s.database.max_connections = NonZeroU32::new(8).expect("not zero");
        s.security.max_mails_per_ip = NonZeroU32::new(1_000_000).expect("not zero");
    });
    let (token, _) = app.logged_in("ada@example.com");
    let stop = Arc::new(AtomicBool::new(false));
    let workers = load(&app, &token, &stop, CLIENTS);
    thread::sleep(Duration::from_secs(1));
    cut(&cluster);
    let down_at = Instant::now();
    thread::sleep(Duration::from_secs(3));
    // The server may answer before `pg_ctl start` returns: the outage ends
    // when it is asked to start, service is due from when it has.
    let back_at = Instant::now();
    cluster.resume();
    let up_at = Instant::now();
    thread::sleep(RECOVERY_BOUND + Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let (requests, probes) = collect(workers);
    assert_only_2xx_or_503("", &requests, &probes);

    let during: Vec<&Answer> = requests
        .iter()
        .filter(|a| a.started >= down_at && a.started < back_at)
        .collect();
    assert!(
        during.len() > CLIENTS,
        "load went on during the outage: {}",
        during.len()
    );
    let slow: Vec<&&Answer> = during
        .iter()
        .filter(|a| a.status != 503 || a.took > OUTAGE_BOUND)
        .collect();
    let slowest = during.iter().map(|a| a.took).max();
    assert!(
        slow.is_empty(),
        "outage answers not 503 within {OUTAGE_BOUND:?} (slowest {slowest:?}): {slow:?}"
    );

    let late_probes: Vec<&Answer> = probes
        .iter()
        .filter(|a| a.took > Duration::from_millis(500))
        .collect();
    assert!(late_probes.is_empty(), "readiness waited: {late_probes:?}");
    let unready: Vec<&Answer> = probes
        .iter()
        .filter(|a| {
            a.started >= down_at + READINESS_BOUND && a.started < back_at && a.status != 503
        })
        .collect();
    assert!(
        unready.is_empty(),
        "readiness said ready during the outage: {unready:?}"
    );

    let after: Vec<&Answer> = requests
        .iter()
        .chain(&probes)
        .filter(|a| a.started >= up_at + RECOVERY_BOUND)
        .collect();
    assert!(!after.is_empty(), "load went on after the recovery");
    let failed: Vec<&&Answer> = after.iter().filter(|a| a.status >= 300).collect();
    assert!(
        failed.is_empty(),
        "not served {RECOVERY_BOUND:?} after the database returned: {failed:?}"
    );

    assert_sign_ups_whole_or_absent(&app, &requests);
    let finished = |a: &Answer| a.started + a.took;
    let unready_after = probes
        .iter()
        .find(|a| a.started >= down_at && a.status == 503)
        .map(|a| finished(a).saturating_duration_since(down_at));
    let served_after = requests
        .iter()
        .filter(|a| a.started >= back_at && a.status < 300)
        .map(finished)
        .min()
        .map(|at| at.saturating_duration_since(up_at));
    eprintln!(
        "outage: {} answers, {} during the outage (slowest {slowest:?}); readiness 503 after \
         {unready_after:?}; first answer served {served_after:?} after the database was up",
        requests.len(),
        during.len(),
    );
}

/// Stops waiting for a [`load`]'s threads: the clients' answers, then the
/// probe's.
pub(crate) fn collect(workers: Vec<JoinHandle<Vec<Answer>>>) -> (Vec<Answer>, Vec<Answer>) {
    let mut answers: Vec<Vec<Answer>> = workers
        .into_iter()
        .map(|w| w.join().expect("client thread"))
        .collect();
    let probes = answers.pop().expect("probe answers");
    (answers.into_iter().flatten().collect(), probes)
}

/// Every answer was a 2xx, or a 503 with `Retry-After`.
pub(crate) fn assert_only_2xx_or_503(what: &str, requests: &[Answer], probes: &[Answer]) {
    let wrong: Vec<&Answer> = requests
        .iter()
        .chain(probes)
        .filter(|a| !matches!(a.status, 200 | 201 | 503) || (a.status == 503 && !a.retry_after))
        .collect();
    assert!(
        wrong.is_empty(),
        "{what}: answers other than 2xx or 503 with Retry-After: {wrong:?}"
    );
}

/// Every stored user has its organization and its validation code, and
/// every acknowledged sign-up is stored.
pub(crate) fn assert_sign_ups_whole_or_absent(app: &TestApp, requests: &[Answer]) {
    #[derive(diesel::QueryableByName)]
    struct Stored {
        #[diesel(sql_type = diesel::sql_types::Text)]
        email: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        memberships: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        codes: i64,
    }
    let stored: Vec<Stored> = diesel::sql_query(
        "SELECT u.email,
                (SELECT count(*) FROM memberships m WHERE m.user_id = u.id) AS memberships,
                (SELECT count(*) FROM one_time_codes c WHERE c.user_id = u.id) AS codes
         FROM users u",
    )
    .load(&mut side_connection(app))
    .expect("users");
    let partial: Vec<&str> = stored
        .iter()
        .filter(|u| u.memberships != 1 || u.codes != 1)
        .map(|u| u.email.as_str())
        .collect();
    assert!(partial.is_empty(), "half-made accounts: {partial:?}");
    let emails: std::collections::HashSet<&str> = stored.iter().map(|u| u.email.as_str()).collect();
    let lost: Vec<&str> = requests
        .iter()
        .filter(|a| a.status == 201)
        .filter_map(|a| a.signup.as_deref())
        .filter(|e| !emails.contains(e))
        .collect();
    assert!(lost.is_empty(), "acknowledged sign-ups lost: {lost:?}");
}

#[test]
fn a_database_stopped_under_load_costs_bounded_503s_and_no_sign_up() {
    outage_under_load(PrivateCluster::stop);
}

#[test]
fn a_killed_postmaster_under_load_costs_bounded_503s_and_no_sign_up() {
    outage_under_load(PrivateCluster::kill);
}

/// With every blocking thread busy and no room to queue
/// (`server.blocking_queue_per_worker = 0`), a request is answered 503 with
/// `Retry-After` at once instead of waiting its turn; readiness still
/// answers at once; the busy requests finish.
#[test]
fn a_full_blocking_pool_sheds_requests_at_once() {
    let app = TestApp::spawn_with(Backend::Postgres, |s| {
        s.server.blocking_queue_per_worker = 0;
        s.database.max_connections = NonZeroU32::new(2).expect("not zero");
    });
    stall_user_inserts(&mut side_connection(&app), 2.5);
    // Two sign-ups hold both blocking threads of the one worker.
    let busy: Vec<JoinHandle<u16>> = (0..2)
        .map(|i| {
            let (client, url) = (app.client.clone(), app.url("/api/v1/auth/signup"));
            thread::spawn(move || {
                let body = json!({ "email": format!("busy{i}@example.com"), "password": PASSWORD,
                                   "first_name": "Ada", "last_name": "Lovelace" });
                client
                    .post(url)
                    .json(&body)
                    .send()
                    .expect("answer")
                    .status()
                    .as_u16()
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(800));
    let started = Instant::now();
    let shed = app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "busy0@example.com", "password": PASSWORD }),
    );
    let took = started.elapsed();
    assert!(shed.headers().contains_key("retry-after"));
    assert_problem(shed, 503, "service-unavailable");
    assert!(took < Duration::from_millis(500), "shed after {took:?}");
    let ready = app.get("/health/ready").send().expect("answer");
    assert_eq!(ready.status(), 200, "readiness does not queue");
    let statuses: Vec<u16> = busy
        .into_iter()
        .map(|b| b.join().expect("client"))
        .collect();
    assert_eq!(statuses, [201, 201]);
}

/// The database turns read-only for 2 s under load (as a demoted primary,
/// or an operator's `default_transaction_read_only`, would): no answer is
/// a 500, writes are 503 with `Retry-After`, reads go on, readiness says
/// 503 with the reason, and writes succeed again within
/// [`RECOVERY_BOUND`] of the database taking them.
#[test]
fn a_read_only_database_answers_503_and_unready_until_it_takes_writes() {
    let cluster = PrivateCluster::start();
    let app = TestApp::spawn_on(&cluster.url(), |s| {
        s.server.workers = 2;
        s.security.max_mails_per_ip = NonZeroU32::new(1_000_000).expect("not zero");
    });
    let (token, _) = app.logged_in("ada@example.com");
    let mut admin = PgConnection::establish(&cluster.url()).expect("admin connection");
    let read_only = |admin: &mut PgConnection, on: bool| {
        // One statement each: ALTER SYSTEM runs outside a transaction.
        admin
            .batch_execute(&format!(
                "ALTER SYSTEM SET default_transaction_read_only = {on}"
            ))
            .expect("setting changed");
        admin
            .batch_execute("SELECT pg_reload_conf()")
            .expect("configuration reloaded");
    };
    let stop = Arc::new(AtomicBool::new(false));
    let workers = load(&app, &token, &stop, CLIENTS);
    thread::sleep(Duration::from_secs(1));
    read_only(&mut admin, true);
    let from = Instant::now();
    thread::sleep(Duration::from_secs(2));
    let ready = app.get("/health/ready").send().expect("answer");
    assert_eq!(ready.status(), 503, "readiness while read-only");
    let body: serde_json::Value = ready.json().expect("problem");
    assert_eq!(body["detail"], "the database takes no writes");
    read_only(&mut admin, false);
    let back = Instant::now();
    thread::sleep(RECOVERY_BOUND + Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    let (requests, probes) = collect(workers);
    assert_only_2xx_or_503("", &requests, &probes);
    let refused_writes = requests
        .iter()
        .filter(|a| a.signup.is_some() && a.started > from + Duration::from_millis(500))
        .filter(|a| a.started < back && a.status == 503)
        .count();
    assert!(refused_writes > 0, "sign-ups were refused while read-only");
    let late: Vec<&Answer> = requests
        .iter()
        .chain(&probes)
        .filter(|a| a.started >= back + RECOVERY_BOUND && a.status >= 300)
        .collect();
    assert!(
        late.is_empty(),
        "not served after the database took writes: {late:?}"
    );
    assert_sign_ups_whole_or_absent(&app, &requests);
}

/// `authd serve` started while its database is down waits for it (with
/// backoff, `database.connect_timeout_seconds`) and serves once it is up.
#[test]
fn startup_waits_for_a_database_that_is_not_up_yet() {
    let cluster = PrivateCluster::start();
    cluster.stop();
    let dir = tempfile::tempdir().expect("temp dir");
    let url = cluster.url();
    let served = thread::scope(|s| {
        s.spawn(|| {
            thread::sleep(Duration::from_secs(2));
            cluster.resume();
        });
        crate::cli::Served::start(
            dir.path(),
            &[
                ("AUTHD__DATABASE__URL", url.as_str()),
                ("AUTHD__DATABASE__CONNECT_TIMEOUT_SECONDS", "30"),
            ],
        )
    });
    let res = reqwest::blocking::get(format!("{}/health/ready", served.base)).expect("answer");
    assert_eq!(res.status(), 200);
    let startup = served.startup().join("\n");
    assert!(
        startup.contains("database not reachable yet; trying again"),
        "{startup}"
    );
    served.stop();
}
