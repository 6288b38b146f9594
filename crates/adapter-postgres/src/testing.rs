//! A fresh, migrated PostgreSQL database per test.
//!
//! The first [`TestDatabase`] of a process makes sure a template database
//! holding the migrated schema exists (named after a hash of the embedded
//! migrations, created under an advisory lock so that parallel test
//! processes build it once); every [`TestDatabase`] is then a cheap copy of
//! it, dropped again when the value is dropped.
//!
//! Templates of other migration sets (`authd_tmpl_*` under another hash,
//! left by earlier checkouts) are dropped when a process prepares its own,
//! but not while another process may still clone one: each process holds a
//! shared advisory lock on its template for as long as it runs, a template
//! is dropped only by whoever takes that lock exclusively, and the drop
//! does not force out a session connected to it.
//!
//! The server comes from `AUTHD_TEST_DATABASE_URL`, by default
//! `postgres://postgres@127.0.0.1:5432/postgres`; its user must be allowed
//! to create databases.

use std::sync::{Mutex, OnceLock};

use diesel::{
    dsl::exists,
    pg::PgConnection,
    prelude::*,
    sql_query,
    sql_types::{BigInt, Bool, Integer, Text},
};
use diesel_migrations::MigrationHarness;
use uuid::Uuid;

use crate::{MIGRATIONS, PgStore, error::Failure};

diesel::table! {
    /// The server's catalog of databases (only what the harness reads).
    pg_database (datname) {
        datname -> Text,
    }
}

/// The environment variable naming the test server.
pub const SERVER_URL_VAR: &str = "AUTHD_TEST_DATABASE_URL";

/// The test server when [`SERVER_URL_VAR`] is unset.
pub const DEFAULT_SERVER_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Connections in the pool of [`TestDatabase::store`]: enough for the
/// concurrency tests to race for real.
const TEST_POOL_SIZE: u32 = 8;

/// Advisory-lock key that serialises template creation ("authdtpl").
const TEMPLATE_LOCK: i64 = 0x6175_7468_6474_706c;

/// The first int of the two-int advisory lock `(TEMPLATE_IN_USE,
/// hashtext(template))` that marks a template as in use ("tplu").
const TEMPLATE_IN_USE: i32 = 0x7470_6c75;

/// The names of every template database, this migration set's or not
/// (a `LIKE` pattern).
const TEMPLATES: &str = r"authd\_tmpl\_%";

/// A database of its own for one test, migrated, dropped on [`Drop`]
/// (with any connection still open to it).
#[derive(Debug)]
pub struct TestDatabase {
    server_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates a new database from the migrated template.
    ///
    /// # Panics
    /// When the test server cannot be reached (the message says how to
    /// start it: tests never skip silently), or refuses to create databases.
    pub fn new() -> Self {
        let server_url = server_url();
        let template = template(&server_url);
        let name = format!("authd_test_{}", Uuid::now_v7().simple());
        execute(
            &mut admin_connection(&server_url),
            &format!(r#"CREATE DATABASE "{name}" TEMPLATE "{template}""#),
        );
        let url = with_database(&server_url, &name);
        Self {
            server_url,
            name,
            url,
        }
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A store on this database.
    ///
    /// # Panics
    /// If the database cannot be reached.
    pub fn store(&self) -> PgStore {
        PgStore::connect(
            &self.url,
            crate::PoolSettings {
                // The races queue for connections; none should give up.
                acquire_timeout: std::time::Duration::from_secs(10),
                ..crate::PoolSettings::sized(TEST_POOL_SIZE)
            },
        )
        .unwrap_or_else(|error| panic!("cannot connect to test database {}: {error:?}", self.name))
    }
}

impl Default for TestDatabase {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // A failure here must not hide the test's own outcome: report, go on.
        let dropped = PgConnection::establish(&self.server_url)
            .map_err(|error| error.to_string())
            .and_then(|mut conn| {
                sql_query(format!(
                    r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#,
                    self.name
                ))
                .execute(&mut conn)
                .map_err(|error| error.to_string())
            });
        if let Err(error) = dropped {
            eprintln!("could not drop test database {}: {error}", self.name);
        }
    }
}

/// A store on a fresh test database; keep the [`TestDatabase`] alive as
/// long as the store is used.
pub fn test_store() -> (PgStore, TestDatabase) {
    let database = TestDatabase::new();
    (database.store(), database)
}

fn server_url() -> String {
    std::env::var(SERVER_URL_VAR).unwrap_or_else(|_| DEFAULT_SERVER_URL.to_owned())
}

fn admin_connection(server_url: &str) -> PgConnection {
    PgConnection::establish(server_url).unwrap_or_else(|error| {
        panic!(
            "cannot reach the test PostgreSQL server ({}).\n\
             `make test` starts a private one when PostgreSQL is installed \
             (scripts/with-test-postgres); or start the system's with:\n    \
             pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n\
             or point {SERVER_URL_VAR} at a server whose user may create databases \
             (default: {DEFAULT_SERVER_URL}).",
            error.to_string().trim_end()
        )
    })
}

fn execute(conn: &mut PgConnection, statement: &str) {
    if let Err(error) = sql_query(statement).execute(conn) {
        panic!("test database setup failed at `{statement}`: {error}");
    }
}

/// The name of the migrated template, created by the first caller of any
/// process and reused by the others.
fn template(server_url: &str) -> &'static str {
    static TEMPLATE: OnceLock<Template> = OnceLock::new();
    &TEMPLATE.get_or_init(|| prepare_template(server_url)).name
}

/// This process's template, and the connection holding the shared lock
/// that keeps it from being dropped as stale by another process.
struct Template {
    name: String,
    _in_use: Mutex<PgConnection>,
}

/// Under the template lock: creates this migration set's template if it
/// is missing, marks it in use, and drops the templates of other migration
/// sets that no process is using.
fn prepare_template(server_url: &str) -> Template {
    let name = format!("authd_tmpl_{}", env!("AUTHD_PG_MIGRATIONS_HASH"));
    let mut admin = admin_connection(server_url);
    let mut in_use = admin_connection(server_url);
    with_advisory_lock(&mut admin, TEMPLATE_LOCK, |admin| {
        if !database_exists(admin, &name)? {
            build_template(admin, server_url, &name);
        }
        // Whoever takes this lock exclusively holds the template lock
        // meanwhile, so the shared lock is free to take now.
        in_use_lock(&mut in_use, "pg_try_advisory_lock_shared", &name)?;
        drop_stale_templates(admin, &name)?;
        Ok(())
    })
    .unwrap_or_else(|error| panic!("cannot prepare the test template: {:?}", error.0));
    Template {
        name,
        _in_use: Mutex::new(in_use),
    }
}

/// Drops every template but `current` that no process marks as in use.
/// Without `FORCE`, and a failure is ignored: whoever is connected to a
/// template right now keeps it, and a later run drops it.
fn drop_stale_templates(admin: &mut PgConnection, current: &str) -> QueryResult<()> {
    let stale: Vec<String> = pg_database::table
        .select(pg_database::datname)
        .filter(pg_database::datname.like(TEMPLATES))
        .filter(pg_database::datname.ne(current))
        .load(admin)?;
    for name in stale {
        if in_use_lock(admin, "pg_try_advisory_lock", &name)? {
            let _ignored = sql_query(format!(r#"DROP DATABASE IF EXISTS "{name}""#)).execute(admin);
            in_use_lock(admin, "pg_advisory_unlock", &name)?;
        }
    }
    Ok(())
}

/// Calls the advisory-lock `function` (one that answers whether it took
/// or released the lock) on the in-use lock of `template`.
fn in_use_lock(conn: &mut PgConnection, function: &str, template: &str) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Answer {
        #[diesel(sql_type = Bool)]
        done: bool,
    }
    sql_query(format!("SELECT {function}($1, hashtext($2)) AS done"))
        .bind::<Integer, _>(TEMPLATE_IN_USE)
        .bind::<Text, _>(template)
        .get_result::<Answer>(conn)
        .map(|answer| answer.done)
}

fn database_exists(admin: &mut PgConnection, name: &str) -> QueryResult<bool> {
    diesel::select(exists(
        pg_database::table.filter(pg_database::datname.eq(name)),
    ))
    .get_result(admin)
}

/// Migrates a scratch database, then renames it: a crash half-way leaves
/// no template behind, only a scratch copy the next attempt replaces.
fn build_template(admin: &mut PgConnection, server_url: &str, name: &str) {
    let scratch = format!("{name}_building");
    execute(
        admin,
        &format!(r#"DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)"#),
    );
    execute(
        admin,
        &format!(r#"CREATE DATABASE "{scratch}" TEMPLATE template0"#),
    );
    let url = with_database(server_url, &scratch);
    let mut conn = PgConnection::establish(&url)
        .unwrap_or_else(|error| panic!("cannot connect to {scratch}: {error}"));
    if let Err(error) = conn.run_pending_migrations(MIGRATIONS) {
        panic!("migrating the test template failed: {error}");
    }
    drop(conn);
    execute(
        admin,
        &format!(r#"ALTER DATABASE "{scratch}" RENAME TO "{name}""#),
    );
}

/// `server_url` with its database name replaced by `database`.
fn with_database(server_url: &str, database: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server_url, None),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority..].find('/') {
        Some(slash) => &base[..authority + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// Runs `f` while holding the session-level advisory lock `key`.
fn with_advisory_lock<T>(
    conn: &mut PgConnection,
    key: i64,
    f: impl FnOnce(&mut PgConnection) -> Result<T, Failure>,
) -> Result<T, Failure> {
    sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(key)
        .execute(conn)?;
    let result = f(conn);
    let unlocked = sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(key)
        .execute(conn);
    let value = result?;
    unlocked?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::{
        TestDatabase, admin_connection, database_exists, execute, in_use_lock, prepare_template,
        server_url, with_database,
    };

    /// Preparing the template drops the templates of other migration sets,
    /// but not one another process marks as in use, nor its own.
    #[test]
    fn stale_templates_are_dropped_unless_in_use() {
        let server = server_url();
        let mut admin = admin_connection(&server);
        let [stale, in_use] = ["stale", "in_use"]
            .map(|what| format!("authd_tmpl_{what}_{}", Uuid::now_v7().simple()));
        // Marked in use before it exists, so that no other process drops it.
        let mut user = admin_connection(&server);
        assert!(in_use_lock(&mut user, "pg_try_advisory_lock_shared", &in_use).expect("lock"));
        for name in [&stale, &in_use] {
            execute(&mut admin, &format!(r#"CREATE DATABASE "{name}""#));
        }
        let exists = |admin: &mut _, name: &str| database_exists(admin, name).expect("exists");

        let template = prepare_template(&server);
        assert!(!exists(&mut admin, &stale), "{stale} is dropped");
        assert!(exists(&mut admin, &in_use), "{in_use} is in use");
        assert!(exists(&mut admin, &template.name));

        assert!(in_use_lock(&mut user, "pg_advisory_unlock_shared", &in_use).expect("unlock"));
        let again = prepare_template(&server);
        assert!(!exists(&mut admin, &in_use), "{in_use} is no longer in use");
        assert_eq!(again.name, template.name);
        assert!(exists(&mut admin, &template.name));
        drop(TestDatabase::new());
    }

    #[test]
    fn replaces_the_database_name() {
        let cases = [
            ("postgres://u@h:5432/postgres", "postgres://u@h:5432/x"),
            ("postgres://u@h:5432", "postgres://u@h:5432/x"),
            (
                "postgres://u:p@h/db?sslmode=disable",
                "postgres://u:p@h/x?sslmode=disable",
            ),
            ("postgresql://h/", "postgresql://h/x"),
        ];
        for (server, expected) in cases {
            assert_eq!(with_database(server, "x"), expected, "{server}");
        }
    }
}
