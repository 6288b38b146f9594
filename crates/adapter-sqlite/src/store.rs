//! The store itself: opening, migrating, and running work on a pooled
//! connection with the busy-retry policy.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use diesel::SqliteConnection;
use diesel::connection::SimpleConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use ports::{ChangeFeed, ChangeListener, Store, StoreError};

use crate::changes;
use crate::error::{Failure, pool_error};
use crate::pool::{self, SqlitePool};
use crate::url::database_path;

/// The schema, compiled into the binary.
const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// How many times a unit of work runs before a persistent `SQLITE_BUSY` is
/// reported as [`StoreError::Unavailable`].
const BUSY_ATTEMPTS: u32 = 4;

/// The pause before the first re-run; it doubles each time.
const BUSY_BACKOFF: Duration = Duration::from_millis(25);

/// The embedded authd store: a SQLite file reached through a pool of
/// diesel connections.
///
/// Work of more than one statement runs in one `BEGIN IMMEDIATE`
/// transaction, which takes the database's write lock up front: two
/// writers queue for the lock instead of both reading and then deadlocking
/// on the upgrade. A single statement is atomic on its own (a writing one
/// takes the write lock as it starts).
///
/// Writers of one store take turns in the process before they ask SQLite
/// for its write lock: a writer that waits is woken as the one before it
/// finishes, where SQLite's own busy handler would leave it asleep for up
/// to 100 ms at a time. Connections still wait up to 10 s for the lock
/// other processes on the file hold, and work that still meets
/// `SQLITE_BUSY` is run again a few times with a growing pause.
///
/// Cloning is cheap and shares the pool.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    path: PathBuf,
    /// The connection [`Store::ping`] uses: its own, so that a check never
    /// queues behind the requests for a pooled one.
    health: Arc<Mutex<Option<SqliteConnection>>>,
    /// Held by the writer whose turn it is.
    writers: Arc<Mutex<()>>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("pool", &self.pool.state())
            .finish()
    }
}

/// A database URL this store cannot serve.
#[derive(Debug, thiserror::Error)]
#[error(
    "unsupported SQLite database URL {0:?}: expected sqlite://path, sqlite:path or a file path"
)]
pub(crate) struct UnsupportedUrl(String);

impl SqliteStore {
    /// Opens (creating if needed) the database file that `url` names, with
    /// a pool of at most `max_connections` connections.
    ///
    /// Accepts `sqlite://relative/path.db`, `sqlite:///absolute/path.db`,
    /// `sqlite:path.db` and a bare path, and creates the file's directory
    /// if it is missing. An in-memory database is not supported.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the directory or the file cannot be
    /// created or opened; [`StoreError::Internal`] for a URL this store does
    /// not understand.
    pub fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let path = database_path(url)
            .ok_or_else(|| StoreError::Internal(Box::new(UnsupportedUrl(url.to_owned()))))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        }
        let location = path.to_string_lossy();
        pool::prepare(&location)?;
        let pool = pool::build(&location, max_connections)?;
        Ok(Self {
            pool,
            path,
            health: Arc::default(),
            writers: Arc::default(),
        })
    }

    /// Applies the migrations this build knows and the database lacks, and
    /// returns their versions (empty when the schema is up to date).
    ///
    /// They run inside one write transaction, so processes migrating the
    /// same file at once take turns and the second finds nothing to do.
    ///
    /// # Errors
    /// [`StoreError::Internal`] if a migration fails (nothing is applied
    /// then); [`StoreError::Unavailable`] if the database cannot be reached.
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        self.transaction(|conn| {
            conn.run_pending_migrations(MIGRATIONS)
                .map(|versions| versions.iter().map(ToString::to_string).collect())
                .map_err(|error| Failure(StoreError::Internal(error)))
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a pooled connection, outside any explicit transaction:
    /// for reading.
    pub(crate) fn with_conn<T>(
        &self,
        mut f: impl FnMut(&mut SqliteConnection) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        self.retrying(|conn| f(conn))
    }

    /// Runs `f`, work that writes in one statement, outside any explicit
    /// transaction, in its writer's turn.
    pub(crate) fn write<T>(
        &self,
        mut f: impl FnMut(&mut SqliteConnection) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        let _turn = self.writer_turn();
        self.retrying(|conn| f(conn))
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction, in its writer's
    /// turn, rolled back if `f` fails. Taking the write lock up front
    /// makes writers queue for it rather than deadlock on upgrading a read.
    pub(crate) fn transaction<T>(
        &self,
        mut f: impl FnMut(&mut SqliteConnection) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        let _turn = self.writer_turn();
        self.retrying(|conn| conn.immediate_transaction(|tx| f(tx)))
    }

    /// Waits for the writers before this one in the process to finish.
    fn writer_turn(&self) -> MutexGuard<'_, ()> {
        self.writers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f`, again after a pause while SQLite reports busy, and maps
    /// the outcome to the port's errors.
    fn retrying<T>(
        &self,
        mut f: impl FnMut(&mut SqliteConnection) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            let conn = self.pool.get();
            record_pool(&self.pool, started);
            let outcome = conn
                .map_err(|error| Failure(pool_error(error)))
                .and_then(|mut conn| f(&mut conn));
            record_pool(&self.pool, None);
            match outcome {
                Err(e) if e.is_busy() && attempt < BUSY_ATTEMPTS => {
                    tracing::warn!(attempt, "SQLite stayed busy; running the work again");
                    thread::sleep(BUSY_BACKOFF * 2u32.pow(attempt - 1));
                    attempt += 1;
                }
                other => return other.map_err(|Failure(error)| error),
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Records the pool's connections in use and idle and, for a checkout
/// begun at `started`, how long it took.
fn record_pool(pool: &SqlitePool, started: impl Into<Option<Instant>>) {
    if let Some(started) = started.into() {
        metrics::histogram!("authd_db_acquire_duration_seconds").record(started.elapsed());
    }
    let state = pool.state();
    let idle = state.idle_connections;
    metrics::gauge!("authd_db_connections", "state" => "idle").set(idle);
    metrics::gauge!("authd_db_connections", "state" => "in_use").set(state.connections - idle);
}

impl Store for SqliteStore {
    fn ping(&self) -> Result<(), StoreError> {
        let mut slot = self
            .health
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let conn = match slot.as_mut() {
            Some(conn) => conn,
            None => slot.insert(pool::open(&self.path.to_string_lossy())?),
        };
        // Reading the schema page touches the file, which `SELECT 1` does not.
        let answered = conn.batch_execute("SELECT 1 FROM sqlite_schema LIMIT 1");
        if answered.is_err() {
            *slot = None;
        }
        answered.map_err(|error| StoreError::Unavailable(Box::new(error)))
    }

    /// Reads the changes every process and every store on the file
    /// commits, every 5 ms, on a connection of its own.
    fn watch_changes(&self, listener: Arc<dyn ChangeListener>) -> Result<ChangeFeed, StoreError> {
        changes::start(self.path.to_string_lossy().into_owned(), listener)
    }
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel::result::{DatabaseErrorKind, Error as DieselError};
    use diesel::sql_types::{BigInt, Text};

    use super::*;

    fn fresh(max_connections: u32) -> (SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("authd.db").display());
        let store = SqliteStore::connect(&url, max_connections).unwrap();
        store.migrate().unwrap();
        (store, dir)
    }

    /// Every migration's `down.sql` undoes its `up.sql`: all of them
    /// revert, newest first, and then apply again.
    #[test]
    fn every_migration_reverts_and_applies_again() {
        use diesel::migration::MigrationSource;
        let (store, _dir) = fresh(1);
        let mut conn = store.pool().get().unwrap();
        let count = MigrationSource::<diesel::sqlite::Sqlite>::migrations(&MIGRATIONS)
            .unwrap()
            .len();
        for _ in 0..count {
            conn.revert_last_migration(MIGRATIONS).unwrap();
        }
        assert_eq!(
            conn.run_pending_migrations(MIGRATIONS).unwrap().len(),
            count
        );
    }

    #[derive(QueryableByName)]
    struct Number {
        #[diesel(sql_type = BigInt)]
        value: i64,
    }

    fn pragma_number(conn: &mut SqliteConnection, name: &str) -> i64 {
        diesel::sql_query(format!("SELECT (SELECT * FROM pragma_{name}) AS value"))
            .get_result::<Number>(conn)
            .unwrap()
            .value
    }

    #[test]
    fn every_pooled_connection_has_the_settings() {
        let (store, _dir) = fresh(4);
        // Hold all four at once so the pool must open four distinct ones.
        let mut held: Vec<_> = (0..4).map(|_| store.pool().get().unwrap()).collect();
        for conn in &mut held {
            assert_eq!(pool::journal_mode(conn).unwrap(), "wal");
            assert_eq!(pragma_number(conn, "foreign_keys"), 1);
            assert_eq!(pragma_number(conn, "busy_timeout"), 10_000);
            assert_eq!(pragma_number(conn, "synchronous"), 2, "2 is FULL");
        }
    }

    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        id: String,
    }

    /// What SQLite actually says on each unique index of `users`, which
    /// `error::unique_field` relies on.
    #[test]
    fn unique_violation_messages_name_the_index() {
        let (store, _dir) = fresh(1);
        let mut conn = store.pool().get().unwrap();
        let insert =
            |conn: &mut SqliteConnection, id: &str, email: &str, user: &str, phone: &str| {
                diesel::sql_query(
                    "INSERT INTO users (id, email, username, phone, first_name, last_name,
                     password_hash, status, created_at, updated_at)
                 VALUES (?, ?, ?, ?, 'A', 'B', 'h', 'active', 0, 0)",
                )
                .bind::<Text, _>(id)
                .bind::<Text, _>(email)
                .bind::<Text, _>(user)
                .bind::<Text, _>(phone)
                .execute(conn)
            };
        insert(&mut conn, "1", "a@x.io", "alice", "+33612345678").unwrap();
        let cases = [
            ("A@X.IO", "bob", "+33612345679", "index 'users_email_key'"),
            (
                "b@x.io",
                "ALICE",
                "+33612345679",
                "index 'users_username_key'",
            ),
            ("b@x.io", "bob", "+33612345678", "users.phone"),
        ];
        for (email, user, phone, expected) in cases {
            match insert(&mut conn, "2", email, user, phone) {
                Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)) => {
                    assert_eq!(
                        info.message(),
                        format!("UNIQUE constraint failed: {expected}")
                    );
                }
                other => panic!("expected a unique violation, got {other:?}"),
            }
        }
        let ids = diesel::sql_query("SELECT id FROM users")
            .load::<Row>(&mut conn)
            .unwrap();
        assert_eq!(ids.len(), 1);
        assert_eq!(ids[0].id, "1");
    }

    /// A row that does not make a domain value is `Internal`, not a panic
    /// nor a half-valid user.
    #[test]
    fn a_corrupt_row_is_internal() {
        use domain::UserId;
        use ports::UserStore;

        let (store, _dir) = fresh(1);
        let id = UserId::generate();
        diesel::sql_query(
            "INSERT INTO users (id, email, first_name, last_name, password_hash, status,
                 created_at, updated_at)
             VALUES (?, 'not an e-mail', 'A', 'B', 'h', 'active', 0, 0)",
        )
        .bind::<Text, _>(id.to_string())
        .execute(&mut store.pool().get().unwrap())
        .unwrap();
        match store.user_by_id(id) {
            Err(StoreError::Internal(e)) => {
                assert_eq!(e.to_string(), "corrupt value in column users.email");
            }
            other => panic!("expected Internal, got {other:?}"),
        }
    }
}
