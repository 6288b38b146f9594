//! Failing fast while the database is unreachable.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use ports::StoreError;

/// Whether calls may go to the database: closed (they may) until tripped
/// by a lost connection or a failed health check, then open (they fail at
/// once) until a health check succeeds or [`Breaker::RETRY_AFTER`] has
/// passed since the last trip, when calls may try again.
#[derive(Debug, Default)]
pub(crate) struct Breaker {
    tripped_at: Mutex<Option<Instant>>,
}

/// Why a call was not tried.
#[derive(Debug, thiserror::Error)]
#[error("the database was unreachable moments ago; not trying again yet")]
struct Open;

impl Breaker {
    /// How long calls fail fast after a trip when no health check says the
    /// database is back: the longest a store without a watcher sheds calls.
    pub(crate) const RETRY_AFTER: Duration = Duration::from_secs(1);

    /// `Ok` if a call may go to the database now.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] while open.
    pub(crate) fn admit(&self) -> Result<(), StoreError> {
        match *self.state() {
            Some(at) if at.elapsed() < Self::RETRY_AFTER => {
                Err(StoreError::Unavailable(Box::new(Open)))
            }
            _ => Ok(()),
        }
    }

    /// The database was found unreachable.
    pub(crate) fn trip(&self) {
        *self.state() = Some(Instant::now());
    }

    /// The database answered.
    pub(crate) fn reset(&self) {
        *self.state() = None;
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.tripped_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trip_sheds_calls_until_a_reset() {
        let breaker = Breaker::default();
        assert!(breaker.admit().is_ok());
        breaker.trip();
        assert!(matches!(breaker.admit(), Err(StoreError::Unavailable(_))));
        breaker.reset();
        assert!(breaker.admit().is_ok());
    }

    #[test]
    fn calls_try_again_once_the_retry_interval_has_passed() {
        let breaker = Breaker::default();
        *breaker.state() = Some(Instant::now() - Breaker::RETRY_AFTER);
        assert!(breaker.admit().is_ok());
    }
}
