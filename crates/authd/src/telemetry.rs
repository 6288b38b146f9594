use std::{
    io::BufWriter,
    sync::{Mutex, PoisonError},
};

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::{EnvFilter, fmt};

use crate::settings::{LogFormat, LogSettings};

/// The log writer's guard, kept until [`flush_logs`].
static WRITER: Mutex<Option<WorkerGuard>> = Mutex::new(None);

/// Installs the global tracing subscriber: text or JSON lines on stderr,
/// filtered by `RUST_LOG` or the configured level.
///
/// Lines are formatted where they are logged and written by a thread of
/// their own, in batches: a request never waits on the write, and a busy
/// server makes one write per batch, not one per line. None is dropped:
/// when the queue is full, loggers wait. Call [`flush_logs`] before the
/// process ends.
pub fn init_tracing(log: &LogSettings) {
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("authd-log")
        .finish(BufWriter::new(std::io::stderr()));
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&log.level));
    let builder = fmt().with_env_filter(filter).with_writer(writer);
    let result = if log.format == LogFormat::Json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    } else {
        builder.try_init()
    };
    // A second initialisation (tests) keeps the first subscriber.
    if result.is_ok() {
        *WRITER.lock().unwrap_or_else(PoisonError::into_inner) = Some(guard);
    }
}

/// Writes out the lines still queued and stops the log writer; later lines
/// are lost. For the end of the process (a `static` is never dropped).
pub fn flush_logs() {
    drop(WRITER.lock().unwrap_or_else(PoisonError::into_inner).take());
}
