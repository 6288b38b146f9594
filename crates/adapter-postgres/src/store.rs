use std::{
    fmt,
    sync::{Arc, Mutex, mpsc},
    thread,
    time::{Duration, Instant},
};

use diesel::{
    Connection, QueryableByName, RunQueryDsl,
    connection::CacheSize,
    pg::PgConnection,
    result::{DatabaseErrorKind, Error as DieselError},
    sql_query,
    sql_types::{BigInt, Bool},
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use ports::{ChangeFeed, ChangeListener, ReadOnlyDatabase, Store, StoreError};

use crate::{
    breaker::Breaker,
    changes,
    error::{Failure, connection_error, pool_error, store_error},
    pool::{self, PgPool},
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
    /// Connections opened at start and kept idle (at most
    /// `max_connections`); the others open when needed.
    pub min_connections: u32,
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
            min_connections: 2,
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
    pool: PgPool,
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
    /// As the pool's connections: off behind PgBouncer's transaction mode.
    statement_cache: bool,
    conn: Mutex<Option<PgConnection>>,
}

/// What the health check asks.
#[derive(QueryableByName)]
struct Writable {
    #[diesel(sql_type = Bool)]
    read_only: bool,
}

impl HealthCheck {
    /// Whether the database answers and takes writes, asked on the check's
    /// connection (`slot`), opened first if needed. A kept connection that
    /// fails is tried once more as a new one: it may be the only thing lost
    /// (ended by a restart shorter than the interval, or by an operator).
    fn ping(&self, slot: &mut Option<PgConnection>) -> Result<(), StoreError> {
        let kept = slot.is_some();
        match self.ask(slot) {
            Err(e) if kept && !e.is_read_only() => self.ask(slot),
            answered => answered,
        }
    }

    /// A connection outside the pool, without the pool's statement timeout
    /// but with its statement cache setting.
    fn open(&self) -> Result<PgConnection, StoreError> {
        let mut conn = PgConnection::establish(&self.url).map_err(connection_error)?;
        if !self.statement_cache {
            conn.set_prepared_statement_cache_size(CacheSize::Disabled);
        }
        Ok(conn)
    }

    fn ask(&self, slot: &mut Option<PgConnection>) -> Result<(), StoreError> {
        let conn = match slot.as_mut() {
            Some(conn) => conn,
            None => slot.insert(self.open()?),
        };
        let answered = sql_query(
            "SELECT pg_is_in_recovery() \
                 OR current_setting('transaction_read_only')::boolean AS read_only",
        )
        .get_result::<Writable>(conn)
        .map_err(store_error);
        match answered {
            Ok(Writable { read_only: false }) => Ok(()),
            Ok(Writable { read_only: true }) => {
                Err(StoreError::Unavailable(Box::new(ReadOnlyDatabase)))
            }
            Err(StoreError::Internal(source) | StoreError::Unavailable(source)) => {
                *slot = None;
                Err(StoreError::Unavailable(source))
            }
            Err(other) => {
                *slot = None;
                Err(other)
            }
        }
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
        let pool = pool::build(url, &settings);
        let health = Arc::new(HealthCheck {
            url: url.to_owned(),
            statement_cache: settings.statement_cache,
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
        let mut conn = self.health.open()?;
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
        pool::record(&self.pool, started);
        let result = conn.map_err(pool_error).and_then(|mut conn| {
            let result = f(&mut conn.conn).map_err(|Failure(error)| error);
            if !matches!(result, Err(StoreError::Unavailable(_))) {
                conn.answered_at = Instant::now();
            }
            if let Err(StoreError::Unavailable(source)) = &result
                && spoils_connection(source.as_ref())
            {
                // Lost, or on a server that takes no writes (a demoted
                // primary): a new connection may reach the new primary.
                conn.discard = true;
            }
            result
        });
        pool::record(&self.pool, None);
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

    /// Sets the breaker by a health check's answer: a database that answers
    /// but takes no writes still serves reads, so it does not trip it.
    fn record(&self, answered: Result<(), StoreError>) -> Result<(), StoreError> {
        match &answered {
            Ok(()) => self.breaker.reset(),
            Err(e) if e.is_read_only() => self.breaker.reset(),
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

    /// `LISTEN`s on a connection of its own, which must reach the server
    /// itself (not through a pooler in transaction mode: the feed then
    /// never hears itself, and is never trusted). A change committed by
    /// another instance is told a few milliseconds after its commit; a
    /// lost connection is noticed at once, one that stops answering within
    /// 500 ms.
    fn watch_changes(&self, listener: Arc<dyn ChangeListener>) -> Result<ChangeFeed, StoreError> {
        changes::start(&self.health.url, listener)
    }
}

/// The diesel error behind a store error, if there is one.
fn diesel_kind(error: &(dyn std::error::Error + 'static)) -> Option<DatabaseErrorKind> {
    match error.downcast_ref::<DieselError>() {
        Some(DieselError::DatabaseError(kind, _)) => Some(*kind),
        _ => None,
    }
}

/// Whether `error` says the connection to the server is gone (rather than
/// that one statement failed).
fn lost_connection(error: &(dyn std::error::Error + 'static)) -> bool {
    matches!(
        diesel_kind(error),
        Some(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand)
    )
}

/// Whether the connection that failed with `error` should not be used
/// again: it is gone, or its server has become read-only.
fn spoils_connection(error: &(dyn std::error::Error + 'static)) -> bool {
    lost_connection(error) || diesel_kind(error) == Some(DatabaseErrorKind::ReadOnlyTransaction)
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
