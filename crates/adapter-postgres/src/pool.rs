//! The connection pool: r2d2 over diesel's manager, with each connection's
//! session settings, and connections that a failure spoiled kept out.

use std::time::{Duration, Instant};

use crate::store::PoolSettings;
use diesel::{
    Connection,
    connection::{CacheSize, SimpleConnection},
    pg::PgConnection,
    r2d2::{ConnectionManager, CustomizeConnection, Error, ManageConnection, Pool},
};

/// The pool of a [`crate::PgStore`].
pub(crate) type PgPool = Pool<Manager>;

/// A pooled connection, and whether it must not go back to the pool.
pub(crate) struct Tracked {
    pub(crate) conn: PgConnection,
    /// Set by the store when the connection failed in a way that the next
    /// user would meet again (its server became read-only, say): r2d2 then
    /// closes it instead of handing it out.
    pub(crate) discard: bool,
    /// When the connection last answered.
    pub(crate) answered_at: Instant,
}

/// How long a connection may sit idle and still be handed out unchecked.
/// One used this recently is trusted: checking it would cost every store
/// call a round trip. A connection that died meanwhile fails its call
/// (`service-unavailable`) and is closed.
const TRUSTED_WHILE_IDLE: Duration = Duration::from_secs(1);

/// diesel's manager, with [`Tracked::discard`] honoured.
#[derive(Debug)]
pub(crate) struct Manager(ConnectionManager<PgConnection>);

impl ManageConnection for Manager {
    type Connection = Tracked;
    type Error = Error;

    fn connect(&self) -> Result<Tracked, Error> {
        Ok(Tracked {
            conn: self.0.connect()?,
            discard: false,
            answered_at: Instant::now(),
        })
    }

    fn is_valid(&self, tracked: &mut Tracked) -> Result<(), Error> {
        if tracked.answered_at.elapsed() < TRUSTED_WHILE_IDLE {
            return Ok(());
        }
        self.0.is_valid(&mut tracked.conn)?;
        tracked.answered_at = Instant::now();
        Ok(())
    }

    fn has_broken(&self, tracked: &mut Tracked) -> bool {
        tracked.discard || self.0.has_broken(&mut tracked.conn)
    }
}

/// Applies the pool's per-connection settings to every new connection.
#[derive(Debug, Clone, Copy)]
struct SessionSettings {
    statement_timeout: Option<std::time::Duration>,
    statement_cache: bool,
}

impl CustomizeConnection<Tracked, Error> for SessionSettings {
    fn on_acquire(&self, tracked: &mut Tracked) -> Result<(), Error> {
        let conn = &mut tracked.conn;
        if !self.statement_cache {
            conn.set_prepared_statement_cache_size(CacheSize::Disabled);
        }
        if let Some(limit) = self.statement_timeout {
            conn.batch_execute(&format!("SET statement_timeout = {}", limit.as_millis()))
                .map_err(Error::QueryError)?;
        }
        Ok(())
    }
}

/// How long [`build`] waits for the pool's first connections.
const FILL_WAIT: Duration = Duration::from_secs(5);

/// A pool to `url` as `settings` say. It keeps `min_connections` open
/// (not all of them: several instances starting together on a small server
/// would otherwise crowd it) and opens the rest on demand.
///
/// It waits up to [`FILL_WAIT`] for those first connections (the acquire
/// timeout is for requests, not for opening a pool at start), then returns
/// even if they are not all there: the pool goes on trying, on threads of
/// its own. A command that ends in moments should ask for none: libpq does
/// not survive the process exiting under a connection being opened.
pub(crate) fn build(url: &str, settings: &PoolSettings) -> PgPool {
    let max = settings.max_connections.max(1);
    let min = settings.min_connections.min(max);
    let pool = Pool::builder()
        .max_size(max)
        .min_idle(Some(min))
        .connection_timeout(settings.acquire_timeout)
        .connection_customizer(Box::new(SessionSettings {
            statement_timeout: settings.statement_timeout,
            statement_cache: settings.statement_cache,
        }))
        // A connection that fails is the breaker's news, told once by
        // whoever watches the pings, not a log line per attempt.
        .error_handler(Box::new(diesel::r2d2::NopErrorHandler))
        .build_unchecked(Manager(ConnectionManager::new(url)));
    let deadline = Instant::now() + FILL_WAIT;
    while pool.state().idle_connections < min && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    pool
}

/// Records the pool's connections in use and idle and, for a checkout
/// begun at `started`, how long it took.
pub(crate) fn record(pool: &PgPool, started: impl Into<Option<Instant>>) {
    if let Some(started) = started.into() {
        metrics::histogram!("authd_db_acquire_duration_seconds").record(started.elapsed());
    }
    let state = pool.state();
    let idle = state.idle_connections;
    metrics::gauge!("authd_db_connections", "state" => "idle").set(idle);
    metrics::gauge!("authd_db_connections", "state" => "in_use").set(state.connections - idle);
}
