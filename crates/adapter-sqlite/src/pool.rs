//! The connection pool and the settings every connection gets.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sql_types::Text;

use ports::StoreError;

use crate::error::{connection_error, pool_error, store_error};

/// The pool type of the store.
pub(crate) type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;

/// How long a statement waits for another connection's write lock before
/// SQLite answers `SQLITE_BUSY`. Write transactions are short (a few
/// statements), so reaching this means the store is badly overloaded.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a caller waits for a free pooled connection.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);

/// The settings applied to every connection as the pool opens it.
///
/// * `busy_timeout` first, so that even the following statements wait for
///   a lock instead of failing at once.
/// * `journal_mode=WAL`: readers never block the writer nor the writer the
///   readers; there is still one writer at a time. The mode is stored in
///   the file; setting it again is a no-op.
/// * `foreign_keys=ON`: SQLite enforces `REFERENCES … ON DELETE CASCADE`
///   only when asked, per connection.
/// * `synchronous=FULL`: in WAL mode the default `NORMAL` may lose the last
///   commits on power loss. For an auth store a lost commit is a revoked
///   session or a spent refresh token or code coming back to life, so each
///   commit is synced to disk before it is acknowledged; auth writes are
///   rare enough that the cost does not matter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionSettings;

impl ConnectionSettings {
    fn apply(conn: &mut SqliteConnection) -> QueryResult<()> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {};
             PRAGMA journal_mode = WAL;
             PRAGMA foreign_keys = ON;
             PRAGMA synchronous = FULL;",
            BUSY_TIMEOUT.as_millis()
        ))
    }
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for ConnectionSettings {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        Self::apply(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Opens the database once, outside the pool, and switches it to WAL.
///
/// Doing this before the pool opens its connections means they find WAL
/// already set and never race to change the journal mode; and a file that
/// cannot be opened fails here at once, rather than after the pool's
/// checkout timeout.
pub(crate) fn prepare(path: &str) -> Result<(), StoreError> {
    let mut conn = open(path)?;
    let mode = journal_mode(&mut conn)?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(
            journal_mode = %mode,
            "SQLite refused WAL mode (e.g. on a network file system); writers will block readers"
        );
    }
    Ok(())
}

/// One connection outside the pool, set up as the pool's are.
pub(crate) fn open(path: &str) -> Result<SqliteConnection, StoreError> {
    let mut conn = SqliteConnection::establish(path).map_err(connection_error)?;
    ConnectionSettings::apply(&mut conn).map_err(store_error)?;
    Ok(conn)
}

/// A pool of at most `max_connections` connections to the file at `path`.
pub(crate) fn build(path: &str, max_connections: u32) -> Result<SqlitePool, StoreError> {
    let manager = ConnectionManager::<SqliteConnection>::new(path);
    Pool::builder()
        .max_size(max_connections.max(1))
        .min_idle(Some(1))
        .connection_timeout(CHECKOUT_TIMEOUT)
        .connection_customizer(Box::new(ConnectionSettings))
        .build(manager)
        .map_err(pool_error)
}

#[derive(QueryableByName)]
struct JournalMode {
    #[diesel(sql_type = Text)]
    journal_mode: String,
}

/// The journal mode of the connection's database (`wal`, `delete`, …).
pub(crate) fn journal_mode(conn: &mut SqliteConnection) -> Result<String, StoreError> {
    let row = diesel::sql_query("PRAGMA journal_mode")
        .get_result::<JournalMode>(conn)
        .map_err(store_error)?;
    Ok(row.journal_mode)
}
