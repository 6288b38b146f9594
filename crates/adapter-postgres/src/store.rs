use std::{
    fmt,
    sync::{Arc, Mutex, mpsc},
    thread,
    time::{Duration, Instant},
};

use diesel::{
    Connection, RunQueryDsl,
    connection::{CacheSize, SimpleConnection},
    pg::PgConnection,
    r2d2::{ConnectionManager, CustomizeConnection, Pool},
    result::{DatabaseErrorKind, Error as DieselError},
    sql_query,
    sql_types::BigInt,
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use ports::{Store, StoreError};

use crate::{
    breaker::Breaker,
    error::{Failure, connection_error, pool_error, store_error},
};

/// The schema migrations of `migrations/postgres`, embedded at compile time.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// How long [`PgStore::connect`] waits for the server to answer.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// Advisory-lock key that serialises [`PgStore::migrate`] across instances
/// starting together ("authdmig").
const MIGRATION_LOCK: i64 = 0x6175_7468_646d_6967;

/// How the pool of a [`PgStore`] behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Connections at most (at least one is kept).
    pub max_connections: u32,
    /// The longest a call waits for a pooled connection before it fails
    /// with [`StoreError::Unavailable`].
    pub acquire_timeout: Duration,
    /// The longest one statement may run on the server before it is
    /// cancelled (and the call fails with [`StoreError::Unavailable`]);
    /// `None` keeps the server's own setting.
    pub statement_timeout: Option<Duration>,
    /// Whether each connection keeps its prepared statements. Off behind
    /// PgBouncer in transaction pooling mode (before 1.21), where the next
    /// transaction may run on another server connection.
    pub statement_cache: bool,
}

impl PoolSettings {
    /// The defaults, with a pool of `max_connections`.
    pub fn sized(max_connections: u32) -> Self {
        Self {
            max_connections,
            ..Self::default()
        }
    }
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_millis(250),
            statement_timeout: Some(Duration::from_secs(5)),
            statement_cache: true,
        }
    }
}

/// The authd store on PostgreSQL. Cheap to clone: clones share one pool,
/// one health-check connection and one [`Breaker`].
///
/// While the database is known to be unreachable (a connection was lost,
/// or [`Store::ping`] failed), calls fail at once with
/// [`StoreError::Unavailable`] instead of each waiting for the pool: until
/// a ping succeeds, or for at most [`Breaker::RETRY_AFTER`] after the last
/// failure, whichever comes first.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool<ConnectionManager<PgConnection>>,
    health: Arc<HealthCheck>,
    breaker: Arc<Breaker>,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("pool", &self.pool.state())
            .field("breaker", &self.breaker)
            .finish_non_exhaustive()
    }
}

/// The connection [`Store::ping`] uses: its own, so that a check never
/// queues behind the requests for a pooled one. The URL may hold a
/// password: it is never shown.
struct HealthCheck {
    url: String,
    conn: Mutex<Option<PgConnection>>,
}

impl HealthCheck {
    /// `SELECT 1` on the check's connection (`slot`), opened first if needed.
    fn ping(&self, slot: &mut Option<PgConnection>) -> Result<(), StoreError> {
        let conn = match slot.as_mut() {
            Some(conn) => conn,
            None => slot.insert(PgConnection::establish(&self.url).map_err(connection_error)?),
        };
        let answered = conn.batch_execute("SELECT 1").map_err(store_error);
        if answered.is_err() {
            *slot = None;
        }
        answered.map_err(|error| match error {
            StoreError::Internal(source) => StoreError::Unavailable(source),
            other => other,
        })
    }
}

/// Applies the pool's per-connection settings to every new connection.
#[derive(Debug, Clone, Copy)]
struct SessionSettings {
    statement_timeout: Option<Duration>,
    statement_cache: bool,
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        if !self.statement_cache {
            conn.set_prepared_statement_cache_size(CacheSize::Disabled);
        }
        if let Some(limit) = self.statement_timeout {
            conn.batch_execute(&format!("SET statement_timeout = {}", limit.as_millis()))
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

impl PgStore {
    /// Opens a pool to the database at `url`
    /// (`postgres://user:password@host:port/db`).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the server cannot be reached within a
    /// few seconds; [`StoreError::Internal`] for a malformed URL.
    pub fn connect(url: &str, settings: PoolSettings) -> Result<Self, StoreError> {
        probe(url)?;
        let pool = Pool::builder()
            .max_size(settings.max_connections.max(1))
            .connection_timeout(settings.acquire_timeout)
            .connection_customizer(Box::new(SessionSettings {
                statement_timeout: settings.statement_timeout,
                statement_cache: settings.statement_cache,
            }))
            // A connection that fails is the breaker's news, told once by
            // whoever watches the pings, not a log line per attempt.
            .error_handler(Box::new(diesel::r2d2::NopErrorHandler))
            .build(ConnectionManager::new(url))
            .map_err(pool_error)?;
        let health = Arc::new(HealthCheck {
            url: url.to_owned(),
            conn: Mutex::new(None),
        });
        Ok(Self {
            pool,
            health,
            breaker: Arc::default(),
        })
    }

    /// Applies the embedded migrations the database lacks and returns their
    /// versions, oldest first (none when the schema is up to date).
    /// Instances migrating at the same time take turns, under a lock held
    /// by the one transaction all the migrations run in (a transaction
    /// lock, unlike a session lock, holds behind PgBouncer's transaction
    /// pooling, and a failed upgrade leaves the schema as it was).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] without a connection;
    /// [`StoreError::Internal`] if a migration fails.
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        // A connection of its own, without the pool's statement timeout:
        // a migration, or the wait for another instance's, may take longer.
        let mut conn = PgConnection::establish(&self.health.url).map_err(connection_error)?;
        conn.transaction(|conn| {
            sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<BigInt, _>(MIGRATION_LOCK)
                .execute(conn)?;
            conn.run_pending_migrations(MIGRATIONS)
                .map(|versions| versions.iter().map(ToString::to_string).collect())
                .map_err(|error| Failure(StoreError::Internal(error)))
        })
        .map_err(|Failure(error)| error)
    }

    /// Runs `f` on a pooled connection.
    pub(crate) fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut PgConnection) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        self.breaker.admit()?;
        let started = Instant::now();
        let conn = self.pool.get();
        record_pool(&self.pool, started);
        let result = conn
            .map_err(pool_error)
            .and_then(|mut conn| f(&mut conn).map_err(|Failure(error)| error));
        record_pool(&self.pool, None);
        if let Err(StoreError::Unavailable(source)) = &result
            && lost_connection(source.as_ref())
        {
            // One connection is gone; whether the database is, a health
            // check tells (and trips the breaker if so).
            self.check_health();
        }
        result
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

impl PgStore {
    /// A health check unless one is under way already; either way its
    /// outcome sets the breaker.
    fn check_health(&self) {
        if let Ok(mut conn) = self.health.conn.try_lock() {
            drop(self.record(self.health.ping(&mut conn)));
        }
    }

    fn record(&self, answered: Result<(), StoreError>) -> Result<(), StoreError> {
        match &answered {
            Ok(()) => self.breaker.reset(),
            Err(_) => self.breaker.trip(),
        }
        answered
    }
}

impl Store for PgStore {
    fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self
            .health
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.record(self.health.ping(&mut conn))
    }
}

/// Records the pool's connections in use and idle and, for a checkout
/// begun at `started`, how long it took.
fn record_pool(pool: &Pool<ConnectionManager<PgConnection>>, started: impl Into<Option<Instant>>) {
    if let Some(started) = started.into() {
        metrics::histogram!("authd_db_acquire_duration_seconds").record(started.elapsed());
    }
    let state = pool.state();
    let idle = state.idle_connections;
    metrics::gauge!("authd_db_connections", "state" => "idle").set(idle);
    metrics::gauge!("authd_db_connections", "state" => "in_use").set(state.connections - idle);
}

/// Whether `error` says the connection to the server is gone (rather than
/// that one statement failed).
fn lost_connection(error: &(dyn std::error::Error + 'static)) -> bool {
    matches!(
        error.downcast_ref::<DieselError>(),
        Some(DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        ))
    )
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
