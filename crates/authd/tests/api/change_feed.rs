//! What instances remember of callers, and the change feed that makes
//! them forget: a revocation is refused at once by the instance that made
//! it and within the feed's delay by the others, and a feed that is down
//! is never trusted.

use std::time::{Duration, Instant};

use diesel::{Connection, RunQueryDsl, connection::SimpleConnection, pg::PgConnection};
use serde_json::json;

use crate::{
    helpers::{Backend, FEED_DELAY, TestApp, assert_problem, assert_problem_soon},
    on_both_stores,
};

/// Logged in on one instance, remembered by both, logged out on the
/// first: the first refuses the token at once, the second within the
/// feed's delay, round after round.
fn both_instances_forget_a_logout(a: TestApp) {
    let b = a.sibling();
    let mut slowest = Duration::ZERO;
    for round in 0..20 {
        let (token, _) = a.logged_in(&format!("ada{round}@example.com"));
        for app in [&a, &b, &a, &b] {
            assert_eq!(app.get_auth("/api/v1/auth/verify", &token).status(), 200);
            assert_eq!(app.get_auth("/api/v1/auth/me", &token).status(), 200);
        }
        let res = a.post("/api/v1/auth/logout").bearer_auth(&token).send();
        assert_eq!(res.unwrap().status(), 200);
        assert_problem(
            a.get_auth("/api/v1/auth/verify", &token),
            401,
            "invalid-token",
        );
        let took = assert_problem_soon(
            || b.get_auth("/api/v1/auth/verify", &token),
            401,
            "invalid-token",
        );
        slowest = slowest.max(took);
        assert_problem(b.get_auth("/api/v1/auth/me", &token), 401, "invalid-token");
    }
    println!("the other instance refused a logged-out token within {slowest:?}");
}

/// An organization deleted, one created and a deactivation on one
/// instance show in the answers of another within the feed's delay.
fn another_instance_answers_what_changed_at_once(a: TestApp) {
    let b = a.sibling();
    let (_, admin) = a.logged_in_admin("root@example.com");
    let (id, token, _) = a.user_with_tokens("bob@example.com");
    let verified = |app: &TestApp| {
        let res = app.get_auth("/api/v1/auth/verify", &token);
        assert_eq!(res.status(), 200);
        res.json::<serde_json::Value>().unwrap()
    };
    let soon = |expected: &serde_json::Value| {
        let started = Instant::now();
        while verified(&b)["organization_id"] != *expected {
            assert!(started.elapsed() < FEED_DELAY, "still not {expected}");
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    let first = verified(&b)["organization_id"].clone();
    assert_eq!(verified(&b)["organization_id"], first);

    // Bob's own organization goes; he is left in none.
    let org = first
        .as_str()
        .expect("an organization at sign-up")
        .to_owned();
    let res = a
        .client
        .delete(a.url(&format!("/api/v1/organizations/{org}")))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(verified(&a)["organization_id"], serde_json::Value::Null);
    soon(&serde_json::Value::Null);

    let res = a
        .post("/api/v1/organizations")
        .bearer_auth(&token)
        .json(&json!({ "name": "Second" }))
        .send()
        .unwrap();
    assert_eq!(res.status(), 201);
    let second = res.json::<serde_json::Value>().unwrap()["id"].clone();
    assert_eq!(verified(&a)["organization_id"], second);
    soon(&second);

    let user = a.patched(&admin, &id, &json!({ "status": "inactive" }));
    assert_eq!(user["status"], "inactive");
    assert_problem(
        a.get_auth("/api/v1/auth/verify", &token),
        401,
        "invalid-token",
    );
    assert_problem_soon(
        || b.get_auth("/api/v1/auth/verify", &token),
        401,
        "invalid-token",
    );
}

on_both_stores!(
    both_instances_forget_a_logout,
    another_instance_answers_what_changed_at_once,
);

/// The backends of the app's database other than this connection's:
/// the feeds' (`feeds`), or all the others.
fn terminate(side: &mut PgConnection, feeds: bool) {
    let which = if feeds { "=" } else { "<>" };
    side.batch_execute(&format!(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()
            AND application_name {which} 'authd-changes'"
    ))
    .expect("terminate backends");
}

/// Lets connections to the app's database be opened, or not, from a
/// connection to another database of the server (a database cannot
/// refuse connections while connected to).
fn allow_connections(app: &TestApp, allowed: bool) {
    let (server, database) = app.database_url.rsplit_once('/').expect("a database URL");
    let mut admin = PgConnection::establish(&format!("{server}/postgres")).expect("admin");
    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS {allowed}"
        ))
        .expect("alter database");
}

/// While its feed hears, an instance answers a caller it remembers
/// without its pool; once the feed's connection is killed it answers
/// nothing from memory (its pool being gone too, it can only say 503);
/// once the feed is back, a revocation made in SQL, with no instance to
/// forget it locally, is refused within the feed's delay.
#[test]
fn a_killed_feed_falls_back_to_the_database_then_resyncs() {
    let app = TestApp::spawn(Backend::Postgres);
    let mut side = PgConnection::establish(&app.database_url).expect("side connection");
    let (token, _) = app.logged_in("ada@example.com");
    let verify = || app.get_auth("/api/v1/auth/verify", &token).status();
    assert_eq!(verify(), 200);

    // The pool's connections gone and none to be had: answered from memory.
    allow_connections(&app, false);
    terminate(&mut side, false);
    for _ in 0..5 {
        assert_eq!(verify(), 200, "a remembered caller needs no pool");
    }

    // The feed's too: nothing from memory, so the pool's failure shows.
    terminate(&mut side, true);
    let took = assert_problem_soon(
        || app.get_auth("/api/v1/auth/verify", &token),
        503,
        "service-unavailable",
    );
    // Noticed by the feed's next read (every 2 ms), not at the end of its
    // 500 ms lease; and from then on nothing comes from memory, through
    // and past the lease, while the feed tries to reconnect.
    assert!(took < Duration::from_millis(250), "trusted {took:?} after");
    let distrusted = Instant::now();
    while distrusted.elapsed() < Duration::from_millis(700) {
        assert_eq!(verify(), 503, "answered from memory without a feed");
    }

    allow_connections(&app, true);
    let deadline = Instant::now() + Duration::from_secs(15);
    while verify() != 200 {
        assert!(Instant::now() < deadline, "never served again");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Remembered again, then revoked behind the app's back.
    assert_eq!(verify(), 200);
    diesel::sql_query("UPDATE sessions SET revoked_at = now() WHERE revoked_at IS NULL")
        .execute(&mut side)
        .expect("revoke in SQL");
    assert_problem_soon(
        || app.get_auth("/api/v1/auth/verify", &token),
        401,
        "invalid-token",
    );
}
