use std::{
    cell::RefCell,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use actix_web::web;
use domain::ErrorCode;

use crate::error::ApiError;

thread_local! {
    /// This worker's count of jobs on its blocking pool (running or waiting
    /// for a thread), and how many it may have before it sheds load. Set
    /// on each worker's thread by [`set_capacity`].
    static LOAD: RefCell<Arc<Load>> = RefCell::new(Arc::new(Load::with_capacity(usize::MAX)));
}

#[derive(Debug)]
struct Load {
    jobs: AtomicUsize,
    capacity: usize,
}

impl Load {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            jobs: AtomicUsize::new(0),
            capacity,
        }
    }
}

/// Sets how many jobs the calling worker may have on its blocking pool,
/// running or queued; past that, [`blocking`] answers
/// `service-unavailable` at once rather than queue without limit.
pub(crate) fn set_capacity(capacity: usize) {
    LOAD.with(|load| *load.borrow_mut() = Arc::new(Load::with_capacity(capacity)));
}

/// A job's place in its worker's [`LOAD`]. It travels with the job, so
/// that the place is given back when the job ends, not when the request
/// that started it does (a client that hangs up leaves its job running).
struct Slot(Arc<Load>);

impl Slot {
    fn take() -> Option<Self> {
        let load = LOAD.with(|load| Arc::clone(&load.borrow()));
        load.jobs
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |jobs| {
                (jobs < load.capacity).then_some(jobs + 1)
            })
            .ok()?;
        metrics::gauge!("authd_blocking_jobs").increment(1.0);
        Some(Self(load))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.jobs.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!("authd_blocking_jobs").decrement(1.0);
    }
}

/// Runs a synchronous use case on the blocking pool (never on an actix
/// worker), inside the current request's tracing span.
///
/// # Errors
/// `service-unavailable` when the worker's blocking pool is full (see
/// [`set_capacity`]), besides whatever `f` fails with.
pub(crate) async fn blocking<T, E, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    let Some(slot) = Slot::take() else {
        metrics::counter!("authd_load_shed_total").increment(1);
        return Err(ErrorCode::ServiceUnavailable.into());
    };
    let span = tracing::Span::current();
    web::block(move || {
        let _slot = slot;
        span.in_scope(f)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(Into::into)
}
