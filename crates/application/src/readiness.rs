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

use ports::{BoxError, Store};

use crate::{error::Fault, service::AuthService};

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
    answered: bool,
}

/// Why the service is not ready.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NotReady {
    #[error("the database did not answer its last check")]
    Unreachable,
    #[error("the database check has not finished in time")]
    Stale,
    #[error("nothing watches the database")]
    Unwatched,
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
        let up = check(&shared, &*store, true);
        let watched = Arc::clone(&shared);
        let thread = thread::Builder::new()
            .name("authd-db-watch".into())
            .spawn(move || watch_loop(&watched, &*store, up))
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
            Some(check) if !check.answered => Err(NotReady::Unreachable),
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

    fn record(&self, answered: bool) {
        *lock(&self.last) = Some(Check {
            at: Instant::now(),
            answered,
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

/// Checks `store` once, records the answer, and logs it if it differs from
/// what was known (`was_up`); returns whether it answered.
fn check(shared: &Shared, store: &dyn Store, was_up: bool) -> bool {
    let answer = store.ping();
    shared.record(answer.is_ok());
    metrics::gauge!("authd_db_up").set(if answer.is_ok() { 1.0 } else { 0.0 });
    match &answer {
        Err(error) if was_up => tracing::warn!(error = %error, "database unreachable"),
        Ok(()) if !was_up => tracing::info!("database reachable again"),
        _ => {}
    }
    answer.is_ok()
}

fn watch_loop(shared: &Shared, store: &dyn Store, mut up: bool) {
    while shared.pause() {
        up = check(shared, store, up);
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

    /// Whether storage answered its last check. This only reads the
    /// watch's last result and never waits; a service without a watch
    /// (see [`AuthService::with_database_watch`]) is never ready.
    ///
    /// # Errors
    /// [`Fault::Unavailable`] when the database did not answer its last
    /// check, the check is overdue, or nothing watches the database.
    pub fn ready(&self) -> Result<(), Fault> {
        let watch = self.watch.as_ref().ok_or(NotReady::Unwatched);
        watch
            .and_then(|watch| watch.ready())
            .map_err(|e| Fault::Unavailable(BoxError::from(e)))
    }
}
