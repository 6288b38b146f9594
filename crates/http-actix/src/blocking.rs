use std::cell::Cell;

use actix_web::web;
use domain::ErrorCode;

use crate::error::ApiError;

thread_local! {
    /// This worker's jobs on its blocking pool (running or waiting for a
    /// thread), and how many it may have before it sheds load.
    static LOAD: Cell<Load> = const { Cell::new(Load { jobs: 0, capacity: usize::MAX }) };
}

#[derive(Debug, Clone, Copy)]
struct Load {
    jobs: usize,
    capacity: usize,
}

/// Sets how many jobs the calling worker may have on its blocking pool,
/// running or queued; past that, [`blocking`] answers
/// `service-unavailable` at once rather than queue without limit.
pub(crate) fn set_capacity(capacity: usize) {
    LOAD.with(|load| {
        load.set(Load {
            capacity,
            ..load.get()
        });
    });
}

/// A job's place in its worker's [`LOAD`], given back when dropped.
struct Slot;

impl Slot {
    fn take() -> Option<Self> {
        LOAD.with(|load| {
            let now = load.get();
            (now.jobs < now.capacity).then(|| {
                load.set(Load {
                    jobs: now.jobs + 1,
                    ..now
                });
                metrics::gauge!("authd_blocking_jobs").increment(1.0);
                Self
            })
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        metrics::gauge!("authd_blocking_jobs").decrement(1.0);
        LOAD.with(|load| {
            let now = load.get();
            load.set(Load {
                jobs: now.jobs.saturating_sub(1),
                ..now
            });
        });
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
    let Some(_slot) = Slot::take() else {
        metrics::counter!("authd_load_shed_total").increment(1);
        return Err(ErrorCode::ServiceUnavailable.into());
    };
    let span = tracing::Span::current();
    web::block(move || span.in_scope(f))
        .await
        .map_err(ApiError::internal)?
        .map_err(Into::into)
}
