use std::{sync::mpsc, thread, time::Duration};

use diesel::{
    Connection, RunQueryDsl,
    pg::PgConnection,
    r2d2::{ConnectionManager, Pool},
    sql_query,
    sql_types::BigInt,
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use ports::{Store, StoreError};

use crate::error::{Failure, connection_error, pool_error};

/// The schema migrations of `migrations/postgres`, embedded at compile time.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// How long to wait for a connection, from the server or from the pool.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// Advisory-lock key that serialises [`PgStore::migrate`] across instances
/// starting together ("authdmig").
const MIGRATION_LOCK: i64 = 0x6175_7468_646d_6967;

/// The authd store on PostgreSQL. Cheap to clone: clones share one pool.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: Pool<ConnectionManager<PgConnection>>,
}

impl PgStore {
    /// Opens a pool of at most `max_connections` (at least one) connections
    /// to the database at `url` (`postgres://user:password@host:port/db`).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the server cannot be reached within a
    /// few seconds; [`StoreError::Internal`] for a malformed URL.
    pub fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        probe(url)?;
        let pool = Pool::builder()
            .max_size(max_connections.max(1))
            .connection_timeout(CONNECTION_TIMEOUT)
            .build(ConnectionManager::new(url))
            .map_err(pool_error)?;
        Ok(Self { pool })
    }

    /// Applies the embedded migrations the database lacks and returns their
    /// versions, oldest first (none when the schema is up to date).
    /// Instances migrating at the same time take turns.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] without a connection;
    /// [`StoreError::Internal`] if a migration fails.
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        self.with_conn(|conn| {
            with_advisory_lock(conn, MIGRATION_LOCK, |conn| {
                conn.run_pending_migrations(MIGRATIONS)
                    .map(|versions| versions.iter().map(ToString::to_string).collect())
                    .map_err(|error| Failure(StoreError::Internal(error)))
            })
        })
    }

    /// Runs `f` on a pooled connection.
    pub(crate) fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut PgConnection) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        let mut conn = self.pool.get().map_err(pool_error)?;
        f(&mut conn).map_err(|Failure(error)| error)
    }

    /// Runs `f` in one transaction, rolled back if `f` fails. The isolation
    /// level is READ COMMITTED whatever the server's default: the row and
    /// advisory locks taken here serialise writers only if every statement
    /// after a lock sees what the previous lock holder committed.
    pub(crate) fn transaction<T>(
        &self,
        f: impl FnOnce(&mut PgConnection) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        self.with_conn(|conn| conn.build_transaction().read_committed().run(f))
    }
}

impl Store for PgStore {
    fn ping(&self) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            sql_query("SELECT 1").execute(conn)?;
            Ok(())
        })
        .map_err(|error| match error {
            StoreError::Internal(source) => StoreError::Unavailable(source),
            other => other,
        })
    }
}

/// Runs `f` while holding the session-level advisory lock `key`.
pub(crate) fn with_advisory_lock<T>(
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

/// Opens one connection outside the pool, so that a refused connection
/// fails at once rather than after the pool's retries, and a server that
/// never answers fails after [`CONNECTION_TIMEOUT`].
fn probe(url: &str) -> Result<(), StoreError> {
    let (sender, receiver) = mpsc::channel();
    let url = url.to_owned();
    thread::Builder::new()
        .name("authd-pg-probe".into())
        .spawn(move || {
            // After a timeout nobody listens any more; that is fine.
            let _ = sender.send(PgConnection::establish(&url).map(drop));
        })
        .map_err(|error| StoreError::Internal(Box::new(error)))?;
    match receiver.recv_timeout(CONNECTION_TIMEOUT) {
        Ok(result) => result.map_err(connection_error),
        Err(waited) => Err(StoreError::Unavailable(Box::new(waited))),
    }
}
