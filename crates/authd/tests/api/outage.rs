//! The worst day: a connection lost in the middle of a write, and a
//! database that goes away under load.

use diesel::{Connection, RunQueryDsl, connection::SimpleConnection, pg::PgConnection};
use serde_json::json;

use crate::helpers::{Backend, PASSWORD, TestApp, assert_problem};

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

/// The connection dies as the validation code is written: the client is
/// told to retry, nothing of the account is left (no user, organization or
/// membership without its code), and the retry creates the whole account,
/// whose mailed code works.
#[test]
fn a_sign_up_cut_off_at_its_code_leaves_nothing_and_its_retry_succeeds() {
    let app = TestApp::spawn(Backend::Postgres);
    let mut side = side_connection(&app);
    side.batch_execute(
        "CREATE FUNCTION cut_the_connection() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$;
         CREATE TRIGGER cut BEFORE INSERT ON one_time_codes
         FOR EACH ROW EXECUTE FUNCTION cut_the_connection();",
    )
    .expect("trigger installed");
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

    side.batch_execute("DROP TRIGGER cut ON one_time_codes")
        .expect("trigger dropped");
    let res = app.post_json("/api/v1/auth/signup", &body);
    assert_eq!(res.status(), 201, "the retry creates the account");
    let code = app.last_code("ada@example.com", "validate-email");
    let res = app.post_json("/api/v1/auth/validate", &json!({ "code": code }));
    assert_eq!(res.status(), 200, "the retry's code validates the account");
    app.login("ada@example.com", PASSWORD);
}
