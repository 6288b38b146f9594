use std::{
    fmt, io,
    sync::{
        Arc, Condvar, Mutex, PoisonError, TryLockError,
        atomic::{AtomicU64, Ordering},
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use domain::UserId;

/// What changed in what checking a caller reads: an account's sessions,
/// standing, profile, memberships or API keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Something of this account.
    Account(UserId),
    /// Anything, of any account (an organization was deleted).
    Everything,
}

/// Told by a store's change feed of every change committed by any
/// instance, as it learns of them, so that what an instance remembers of
/// callers can be forgotten.
///
/// The feed is trusted only between a call to [`ChangeListener::resynced`]
/// and the `until` it names (renewed by [`ChangeListener::alive`]): past
/// it, or after [`ChangeListener::lost`], changes may have been missed.
pub trait ChangeListener: Send + Sync {
    /// `change` was committed.
    fn changed(&self, change: Change);
    /// The feed has just (re)started: anything may have changed before
    /// now, and every change committed from now on will be told. It is
    /// known to be working until `until`.
    fn resynced(&self, until: Instant);
    /// The feed is still working, and will be known to be until `until`.
    fn alive(&self, until: Instant);
    /// The feed stopped: changes are missed until the next `resynced`.
    fn lost(&self);
}

/// An adapter's change feed: a connection it listens on, driven by
/// [`ChangeFeed::start`].
pub trait FeedSource: Send + 'static {
    /// Keeps the feed going: connects when it must, proves the connection
    /// still hears, tells the listener what arrived. Called every period on
    /// the feed's thread; it may block.
    fn tick(&mut self);

    /// Tells the listener, without blocking, every change that has
    /// arrived so far.
    fn catch_up(&mut self);
}

/// A running change feed; dropping it stops the feed and joins its thread.
pub struct ChangeFeed {
    source: Arc<Mutex<dyn FeedSource>>,
    /// When the last catch-up or tick began, in microseconds since `epoch`:
    /// what had arrived by then has been told.
    caught_up_at: Arc<AtomicU64>,
    epoch: Instant,
    _thread: Ticking,
}

/// How long after a catch-up another is not needed: what may arrive
/// meanwhile is told within that much more delay, and a busy instance
/// reads its feed's connection at most this often, not on every request.
pub const CATCH_UP_EVERY: Duration = Duration::from_micros(500);

fn micros_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
}

impl ChangeFeed {
    /// Runs `source` on a thread of its own, named `name`, calling its
    /// [`FeedSource::tick`] every `period` until the feed is dropped.
    ///
    /// # Errors
    /// The thread could not be started.
    pub fn start(name: &str, period: Duration, source: impl FeedSource) -> io::Result<Self> {
        let source = Arc::new(Mutex::new(source));
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let (stopped, ticked) = (Arc::clone(&stop), Arc::clone(&source));
        let epoch = Instant::now();
        let caught_up_at = Arc::new(AtomicU64::new(0));
        let ticked_at = Arc::clone(&caught_up_at);
        let thread = thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let (flag, wake) = &*stopped;
                let mut stop = flag.lock().unwrap_or_else(PoisonError::into_inner);
                while !*stop {
                    drop(stop);
                    let started = micros_since(epoch);
                    ticked.lock().unwrap_or_else(PoisonError::into_inner).tick();
                    ticked_at.store(started, Ordering::Release);
                    stop = flag.lock().unwrap_or_else(PoisonError::into_inner);
                    stop = wake
                        .wait_timeout_while(stop, period, |stop| !*stop)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            })?;
        Ok(Self {
            source,
            caught_up_at,
            epoch,
            _thread: Ticking {
                stop,
                thread: Some(thread),
            },
        })
    }

    /// Tells the listener every change that has arrived so far (or up to
    /// [`CATCH_UP_EVERY`] ago), unless the feed is busy (connecting, or
    /// proving its connection): `false` then, and what arrived may not have
    /// been told. Another caller catching up is waited for, briefly.
    pub fn catch_up(&self) -> bool {
        let fresh = u64::try_from(CATCH_UP_EVERY.as_micros()).unwrap_or(u64::MAX);
        let since = micros_since(self.epoch);
        if since.saturating_sub(self.caught_up_at.load(Ordering::Acquire)) < fresh {
            return true;
        }
        for _ in 0..CATCH_UP_TRIES {
            match self.source.try_lock() {
                Ok(mut source) => {
                    let started = micros_since(self.epoch);
                    source.catch_up();
                    self.caught_up_at.store(started, Ordering::Release);
                    return true;
                }
                Err(TryLockError::WouldBlock) => thread::yield_now(),
                Err(TryLockError::Poisoned(_)) => return false,
            }
        }
        false
    }
}

/// How often [`ChangeFeed::catch_up`] tries a busy feed before it gives
/// up: a catch-up takes microseconds, a tick that connects much longer.
const CATCH_UP_TRIES: usize = 8;

/// The thread of a [`ChangeFeed`].
struct Ticking {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Ticking {
    fn drop(&mut self) {
        let (flag, wake) = &*self.stop;
        *flag.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            // A tick that panicked has nothing left to clean up.
            let _ = thread.join();
        }
    }
}

impl fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChangeFeed")
    }
}
