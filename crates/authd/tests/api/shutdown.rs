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
const STALL: Duration = Duration::from_millis(1500);

/// Sign-ups in flight when the signal comes: each is answered 201, new
/// connections are refused at once, the validation mails are written before
/// the process ends, and it ends by itself with success.
fn in_flight_requests_finish(signal: &str) {
    let database = TestDatabase::new();
    PgConnection::establish(database.url())
        .expect("side connection")
        .batch_execute(&format!(
            "CREATE FUNCTION stall() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN PERFORM pg_sleep({}); RETURN NEW; END $$;
             CREATE TRIGGER stall BEFORE INSERT ON users
             FOR EACH ROW EXECUTE FUNCTION stall();",
            STALL.as_secs_f64()
        ))
        .expect("trigger installed");
    let dir = tempfile::tempdir().expect("temp dir");
    let served = Served::start(
        dir.path(),
        &[
            ("AUTHD__DATABASE__URL", database.url()),
            ("AUTHD__SERVER__SHUTDOWN_TIMEOUT_SECONDS", "10"),
        ],
    );
    let signups: Vec<JoinHandle<u16>> = (0..3)
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
        .collect();
    thread::sleep(Duration::from_millis(500));
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
