//! Readiness: whether the database answers, known without asking it.
//!
//! A thread of its own checks the database ([`Store::ping`], on the store's
//! own connection) at a fixed interval and keeps the last result, so that
//! a readiness probe reads it at once, whatever the load, and says
//! "unavailable" within moments of the database going away. Each change is
//! logged once: "database unreachable", then "database reachable again".
//! The thread stops when the last clone of the service is dropped.

use std::{
    sync::{Arc, Condvar, Mutex, PoisonError},
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use ports::Store;

use crate::service::AuthService;

/// The watching thread and what it found. Dropping the watch stops the
/// thread and waits for it, so that no check is left running on a store
/// that is being closed (or in a process that is exiting).
#[derive(Debug)]
pub(crate) struct DatabaseWatch {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// What the watch and its thread share.
#[derive(Debug)]
struct Shared {
    every: Duration,
    last: Mutex<Option<Check>>,
    stopping: Mutex<bool>,
    wake: Condvar,
}

/// One finished check.
#[derive(Debug, Clone, Copy)]
struct Check {
    at: Instant,
    /// What the check found, `None` when the database answered and takes
    /// writes.
    found: Option<NotReady>,
}

/// Why the service is not ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.reason())]
pub enum NotReady {
    /// The database did not answer its last check.
    Unreachable,
    /// The database answers but takes no writes (a standby, a primary
    /// being demoted, a read-only setting).
    ReadOnly,
    /// The last check is overdue (it hangs).
    Stale,
    /// Nothing watches the database.
    Unwatched,
}

impl NotReady {
    /// The reason in words fit for a probe's log: fixed text, nothing
    /// found at run time.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Unreachable => "the database did not answer its last check",
            Self::ReadOnly => "the database takes no writes",
            Self::Stale => "the database check has not finished in time",
            Self::Unwatched => "nothing watches the database",
        }
    }
}

impl DatabaseWatch {
    /// Checks `store` at once, then every `every` on a thread of its own.
    pub(crate) fn start(store: Arc<dyn Store>, every: Duration) -> Self {
        let shared = Arc::new(Shared {
            every,
            last: Mutex::new(None),
            stopping: Mutex::new(false),
            wake: Condvar::new(),
        });
        // The first check before anything reads the result.
        let found = check(&shared, &*store, None);
        let watched = Arc::clone(&shared);
        let thread = thread::Builder::new()
            .name("authd-db-watch".into())
            .spawn(move || watch_loop(&watched, &*store, found))
            .map_err(|error| {
                tracing::error!(%error, "cannot start the database watch: readiness will say unavailable");
            })
            .ok();
        Self { shared, thread }
    }

    /// The database answered its last check, and that check is recent.
    pub(crate) fn ready(&self) -> Result<(), NotReady> {
        let last = *lock(&self.shared.last);
        match last {
            Some(Check {
                found: Some(why), ..
            }) => Err(why),
            Some(check) if check.at.elapsed() <= self.shared.freshness() => Ok(()),
            _ => Err(NotReady::Stale),
        }
    }
}

impl Drop for DatabaseWatch {
    fn drop(&mut self) {
        *lock(&self.shared.stopping) = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            drop(thread.join());
        }
    }
}

impl Shared {
    /// How old a check may be: a check that hangs (a server that stopped
    /// answering without closing the connection) makes the result stale.
    fn freshness(&self) -> Duration {
        (self.every * 4).max(Duration::from_secs(1))
    }

    fn record(&self, found: Option<NotReady>) {
        *lock(&self.last) = Some(Check {
            at: Instant::now(),
            found,
        });
    }

    /// Waits `every`, or less if the watch is stopped; `false` once stopped.
    fn pause(&self) -> bool {
        let stopping = lock(&self.stopping);
        let (stopping, _) = self
            .wake
            .wait_timeout_while(stopping, self.every, |stopping| !*stopping)
            .unwrap_or_else(PoisonError::into_inner);
        !*stopping
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Checks `store` once, records what it found, and logs it if it differs
/// from what was known (`known`); returns what it found.
fn check(shared: &Shared, store: &dyn Store, known: Option<NotReady>) -> Option<NotReady> {
    let answer = store.ping();
    let found = match &answer {
        Ok(()) => None,
        Err(e) if e.is_read_only() => Some(NotReady::ReadOnly),
        Err(_) => Some(NotReady::Unreachable),
    };
    shared.record(found);
    metrics::gauge!("authd_db_up").set(if found.is_none() { 1.0 } else { 0.0 });
    if found != known {
        match (&answer, found) {
            (Err(error), Some(why)) => tracing::warn!(error = %error, "{why}"),
            _ => tracing::info!("database reachable again, and taking writes"),
        }
    }
    found
}

fn watch_loop(shared: &Shared, store: &dyn Store, mut known: Option<NotReady>) {
    while shared.pause() {
        known = check(shared, store, known);
    }
}

impl AuthService {
    /// The same service, its readiness known from a check of the database
    /// every `every` on a thread of its own (see [`AuthService::ready`]).
    #[must_use]
    pub fn with_database_watch(self, every: Duration) -> Self {
        let watch = DatabaseWatch::start(Arc::clone(&self.ports.store), every);
        Self {
            watch: Some(Arc::new(watch)),
            ..self
        }
    }

    /// Whether storage answered its last check and takes writes. This only
    /// reads the watch's last result and never waits; a service without a
    /// watch (see [`AuthService::with_database_watch`]) is never ready.
    ///
    /// # Errors
    /// Why it is not ready.
    pub fn ready(&self) -> Result<(), NotReady> {
        self.watch
            .as_ref()
            .ok_or(NotReady::Unwatched)
            .and_then(|watch| watch.ready())
    }
}
