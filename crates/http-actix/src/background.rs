use std::sync::Arc;

use application::Fault;
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::blocking::blocking;

/// Work done after the answer has gone: mail whose cost must neither delay
/// the answer nor reveal, through its timing, what it found. At most a
/// fixed number of jobs run or wait at once; past that a new job is dropped
/// with a warning rather than queued without bound.
#[derive(Debug, Clone)]
pub(crate) struct Background(Arc<Semaphore>);

impl Background {
    /// Room for `limit` jobs at once.
    pub(crate) fn new(limit: usize) -> Self {
        Self(Arc::new(Semaphore::new(limit)))
    }

    /// Runs `job` on the blocking pool, in the current request's span.
    pub(crate) fn spawn<F>(&self, what: &'static str, job: F)
    where
        F: FnOnce() -> Result<(), Fault> + Send + 'static,
    {
        let Ok(permit) = Arc::clone(&self.0).try_acquire_owned() else {
            tracing::warn!(what, "background work dropped: too many jobs waiting");
            return;
        };
        let work = async move {
            if let Err(e) = blocking(job).await {
                tracing::error!(what, error = %e.chain(), "background work failed");
            }
            drop(permit);
        };
        actix_web::rt::spawn(work.instrument(tracing::Span::current()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn full_queues_drop_work() {
        let background = Background::new(1);
        let (tx, rx) = std::sync::mpsc::channel();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        background.spawn("first", move || {
            let _ = wait.recv();
            Ok(())
        });
        let tx2 = tx.clone();
        background.spawn("second", move || {
            let _ = tx2.send("second");
            Ok(())
        });
        let _ = release.send(());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        background.spawn("third", move || {
            let _ = tx.send("third");
            Ok(())
        });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let ran: Vec<_> = rx.try_iter().collect();
        assert_eq!(
            ran,
            ["third"],
            "the second job found no room and was dropped"
        );
    }
}
