//! The storage contract and adapter-specific checks, on a fresh PostgreSQL
//! database per test (see `adapter_postgres::testing`).

use std::time::{Duration, Instant};

use adapter_postgres::{
    MIGRATIONS, PgStore, PoolSettings,
    testing::{TestDatabase, test_store},
};
use diesel::{migration::MigrationSource, pg::Pg};
use domain::UserId;
use ports::{StoreError, UserStore};

mod contract {
    ports::store_contract_tests!(adapter_postgres::testing::test_store());
}

#[test]
fn migrating_a_migrated_database_applies_nothing() {
    let (store, _database) = test_store();
    assert_eq!(store.migrate().expect("migrate"), Vec::<String>::new());
}

#[test]
fn migrating_an_empty_database_applies_every_migration() {
    let database = TestDatabase::new();
    let store = database.store();
    // Start over from an empty schema, as a new deployment would.
    execute_sql(
        &database,
        "DROP SCHEMA public CASCADE; CREATE SCHEMA public;",
    );
    let embedded: Vec<String> = MigrationSource::<Pg>::migrations(&MIGRATIONS)
        .expect("embedded migrations")
        .iter()
        .map(|migration| migration.name().version().to_string())
        .collect();
    assert!(!embedded.is_empty());
    assert_eq!(store.migrate().expect("migrate"), embedded);
}

#[test]
fn an_unreachable_server_is_unavailable_quickly() {
    let started = Instant::now();
    let result = PgStore::connect(
        "postgres://postgres@127.0.0.1:1/postgres",
        PoolSettings::sized(2),
    );
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_dropped_test_database_is_gone() {
    let database = TestDatabase::new();
    let url = database.url().to_owned();
    drop(database);
    assert!(matches!(
        PgStore::connect(&url, PoolSettings::sized(1)),
        Err(StoreError::Unavailable(_))
    ));
}

#[test]
fn a_corrupt_row_is_an_internal_error() {
    let (store, database) = test_store();
    let id = UserId::generate();
    execute_sql(
        &database,
        &format!(
            "INSERT INTO users (id, email, first_name, last_name, password_hash, status, \
             created_at, updated_at) VALUES ('{id}', 'not an address', 'A', 'B', 'h', \
             'active', now(), now())"
        ),
    );
    let result = store.user_by_id(id);
    assert!(matches!(result, Err(StoreError::Internal(_))), "{result:?}");
}

/// Every migration's `down.sql` undoes its `up.sql`: all of them revert,
/// newest first, and then apply again.
#[test]
fn every_migration_reverts_and_applies_again() {
    use diesel::{Connection, migration::MigrationSource, pg::PgConnection};
    use diesel_migrations::MigrationHarness;
    let database = TestDatabase::new();
    let mut conn = PgConnection::establish(database.url()).expect("connect");
    let count = MigrationSource::<Pg>::migrations(&MIGRATIONS)
        .expect("embedded migrations")
        .len();
    for _ in 0..count {
        conn.revert_last_migration(MIGRATIONS).expect("revert");
    }
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .expect("migrate")
        .len();
    assert_eq!(applied, count);
    drop(conn);
    ports::testkit::create_invite_is_found_by_its_code_until_it_expires(&database.store());
}

fn execute_sql(database: &TestDatabase, sql: &str) {
    use diesel::{Connection, connection::SimpleConnection, pg::PgConnection};
    PgConnection::establish(database.url())
        .expect("connect")
        .batch_execute(sql)
        .expect("batch_execute");
}

/// A fresh store on a database whose default isolation is REPEATABLE READ.
fn repeatable_read_store() -> (PgStore, TestDatabase) {
    let database = TestDatabase::new();
    let name = database
        .url()
        .rsplit('/')
        .next()
        .expect("database name")
        .to_owned();
    execute_sql(
        &database,
        &format!("ALTER DATABASE \"{name}\" SET default_transaction_isolation = 'repeatable read'"),
    );
    (database.store(), database)
}

/// The races hold whatever isolation level the server defaults to: the
/// adapter sets its own. (Each race on a fresh store, as the contract's
/// checks expect.)
#[test]
fn races_hold_under_a_repeatable_read_default() {
    let races: [fn(&dyn ports::Store); 9] = [
        ports::testkit::accept_totp_step_accepts_each_step_once_and_in_order,
        ports::testkit::mfa_challenges_are_single_use_and_expire,
        ports::testkit::concurrent_key_creations_stop_at_the_limit,
        ports::testkit::owners_demoting_each_other_at_once_leave_one_owner,
        ports::testkit::concurrent_acceptances_of_one_invite_succeed_once,
        ports::testkit::concurrent_attempts_for_one_account_admit_its_limit,
        ports::testkit::concurrent_attempts_from_one_address_admit_its_limit,
        ports::testkit::concurrent_rotations_of_one_token_rotate_once,
        ports::testkit::concurrent_replays_within_grace_rotate_once_and_answer_alike,
    ];
    for race in races {
        let (store, _database) = repeatable_read_store();
        race(&store);
    }
}
