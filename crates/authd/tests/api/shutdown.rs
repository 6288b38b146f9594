//! Graceful shutdown: SIGTERM or SIGINT while requests are under way.

use std::{
    net::TcpStream,
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use adapter_postgres::testing::TestDatabase;
use diesel::{Connection, connection::SimpleConnection, pg::PgConnection};
use serde_json::json;

use crate::{cli::Served, helpers::PASSWORD};

/// How long each sign-up is held up in the database.
const STALL: Duration = Duration::from_millis(2000);

/// `authd serve` on a fresh database whose user inserts take `stall`, with
/// `server.shutdown_timeout_seconds = shutdown_timeout`.
fn serve_with_stalled_sign_ups(
    stall: Duration,
    shutdown_timeout: &str,
) -> (TestDatabase, tempfile::TempDir, Served) {
    let database = TestDatabase::new();
    PgConnection::establish(database.url())
        .expect("side connection")
        .batch_execute(&format!(
            "CREATE FUNCTION stall() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN PERFORM pg_sleep({}); RETURN NEW; END $$;
             CREATE TRIGGER stall BEFORE INSERT ON users
             FOR EACH ROW EXECUTE FUNCTION stall();",
            stall.as_secs_f64()
        ))
        .expect("trigger installed");
    let dir = tempfile::tempdir().expect("temp dir");
    let served = Served::start(
        dir.path(),
        &[
            ("AUTHD__DATABASE__URL", database.url()),
            ("AUTHD__SERVER__SHUTDOWN_TIMEOUT_SECONDS", shutdown_timeout),
        ],
    );
    (database, dir, served)
}

/// Starts `n` sign-ups against `served`; each thread answers its status
/// (0 when no answer came).
fn sign_ups(served: &Served, n: usize) -> Vec<JoinHandle<u16>> {
    (0..n)
        .map(|i| {
            let url = format!("{}/api/v1/auth/signup", served.base);
            thread::spawn(move || {
                let body = json!({ "email": format!("user{i}@example.com"), "password": PASSWORD,
                                   "first_name": "Ada", "last_name": "Lovelace" });
                reqwest::blocking::Client::new()
                    .post(url)
                    .json(&body)
                    .send()
                    .map_or(0, |r| r.status().as_u16())
            })
        })
        .collect()
}

/// Sign-ups in flight when the signal comes: each is answered 201, new
/// connections are refused at once, the validation mails are written before
/// the process ends, and it ends by itself with success.
fn in_flight_requests_finish(signal: &str) {
    let (_database, dir, served) = serve_with_stalled_sign_ups(STALL, "10");
    let signups = sign_ups(&served, 3);
    thread::sleep(Duration::from_millis(800));
    let signalled = Instant::now();
    served.signal(signal);
    let address = served.base.trim_start_matches("http://").to_owned();
    let refused = (0..50).any(|_| {
        thread::sleep(Duration::from_millis(20));
        TcpStream::connect(&address).is_err()
    });
    let statuses: Vec<u16> = signups
        .into_iter()
        .map(|s| s.join().expect("client"))
        .collect();
    let (status, log) = served.exit(Duration::from_secs(15));
    let took = signalled.elapsed();
    let log = log.join("\n");
    assert_eq!(
        statuses,
        [201, 201, 201],
        "in-flight requests finish\n{log}"
    );
    assert!(
        refused,
        "no new connection is taken after the signal\n{log}"
    );
    assert!(
        status.is_some_and(|s| s.success()),
        "exits by itself with success: {status:?}\n{log}"
    );
    assert!(took < Duration::from_secs(10), "stopped after {took:?}");
    let mailbox = std::fs::read_to_string(dir.path().join("data/mailbox.jsonl"))
        .expect("the mailbox was written");
    let mails = mailbox
        .lines()
        .filter(|l| l.contains(r#""kind":"validate-email""#))
        .count();
    assert_eq!(
        mails, 3,
        "every validation mail went out:\n{mailbox}\n{log}"
    );
}

#[test]
fn sigterm_lets_requests_under_way_finish() {
    in_flight_requests_finish("TERM");
}

#[test]
fn sigint_lets_requests_under_way_finish() {
    in_flight_requests_finish("INT");
}

/// A second signal while requests are under way ends the process at once,
/// with status 1, without waiting for them.
#[test]
fn a_second_signal_stops_at_once() {
    let (_database, _dir, served) = serve_with_stalled_sign_ups(Duration::from_secs(10), "30");
    let signups = sign_ups(&served, 1);
    thread::sleep(Duration::from_millis(800));
    served.signal("TERM");
    thread::sleep(Duration::from_millis(300));
    let second = Instant::now();
    served.signal("TERM");
    let (status, log) = served.exit(Duration::from_secs(5));
    let took = second.elapsed();
    let log = log.join("\n");
    assert!(
        status.is_some_and(|s| s.code() == Some(1)),
        "ends with status 1: {status:?}\n{log}"
    );
    assert!(
        took < Duration::from_secs(3),
        "ended {took:?} after the second signal"
    );
    assert!(log.contains("stopping at once"), "{log}");
    drop(signups);
}
