//! Delivery in the background: a bounded in-memory queue and one worker
//! thread that retries a failed send with exponential backoff.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ports::{Mail, MailError, Mailer};
use secrecy::{ExposeSecret, SecretString};

/// How a [`QueuedMailer`] queues and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Mails waiting at most; past it a new mail is dropped with a warning.
    pub queue_capacity: usize,
    /// The wait after the first failed attempt; each further failure
    /// doubles it, up to `max_backoff`.
    pub first_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
    /// How long after its first attempt a mail is still retried; then it
    /// is given up and an error is logged.
    pub retry_for: Duration,
    /// When the mailer is dropped, how long the worker keeps trying to
    /// deliver what is queued before it gives the rest up.
    pub drain_for: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            queue_capacity: 1000,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            retry_for: Duration::from_secs(900),
            drain_for: Duration::from_secs(5),
        }
    }
}

/// A [`Mailer`] that never makes its caller wait on the transport.
///
/// [`Mailer::send`] only puts a copy of the mail on a bounded in-memory
/// queue and returns `Ok` at once; when the queue is full the mail is
/// dropped and a warning names its kind. One worker thread hands the
/// queued mails, in order, to the wrapped transport; a failed send is
/// retried after 1 s, 2 s, 4 s … (capped at `max_backoff`) until
/// `retry_for` has passed since the first attempt, then an error is logged.
/// Log lines name the mail's kind and the attempts, never its code or
/// recipient.
///
/// The queue lives in memory: a crash or restart loses the mails in it.
/// Every mail carries a code the user can ask for again (resend, forgot),
/// so nothing is lost for good.
///
/// Dropping the mailer stops the worker: it keeps trying to deliver what
/// is queued for `drain_for` at most, then gives the rest up (logged).
pub struct QueuedMailer {
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

/// The queue and the worker's wake-up call.
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    policy: DeliveryPolicy,
}

struct State {
    mails: VecDeque<Mail>,
    /// Set when the mailer is dropped: drain until this instant, then stop.
    stop_at: Option<Instant>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The queue stays consistent across a panic: every change to it is
        // a single push or pop.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl QueuedMailer {
    /// Starts the worker that delivers through `transport`.
    ///
    /// The worker logs through the tracing subscriber current here.
    ///
    /// # Panics
    /// When the operating system cannot start a thread.
    pub fn start(transport: Arc<dyn Mailer>, policy: DeliveryPolicy) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                mails: VecDeque::new(),
                stop_at: None,
            }),
            wake: Condvar::new(),
            policy,
        });
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        let worker = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("mail-delivery".into())
                .spawn(move || {
                    tracing::dispatcher::with_default(&dispatch, || {
                        Worker { shared, transport }.run();
                    });
                })
                .expect("the mail delivery thread starts")
        };
        Self {
            shared,
            worker: Mutex::new(Some(worker)),
        }
    }

    /// Stops taking mails and waits while the worker delivers what is
    /// queued, for `drain_for` at most (the rest is given up, logged); for a
    /// service that is shutting down. Mails sent after this are dropped
    /// (logged). Dropping the mailer does the same.
    pub fn close(&self) {
        {
            let mut state = self.shared.lock();
            if state.stop_at.is_none() {
                state.stop_at = Some(Instant::now() + self.shared.policy.drain_for);
            }
        }
        self.shared.wake.notify_all();
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(worker) = worker
            && worker.join().is_err()
        {
            tracing::error!("the mail delivery thread panicked");
        }
    }
}

impl Mailer for QueuedMailer {
    fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let mut state = self.shared.lock();
        if state.stop_at.is_some() {
            drop(state);
            tracing::warn!(kind = mail.kind.as_str(), "mailer closed: mail dropped");
            counted("failed");
            return Ok(());
        }
        if state.mails.len() >= self.shared.policy.queue_capacity {
            drop(state);
            tracing::warn!(kind = mail.kind.as_str(), "mail queue full: mail dropped");
            return Ok(());
        }
        state.mails.push_back(copy(mail));
        drop(state);
        self.shared.wake.notify_one();
        Ok(())
    }
}

impl Drop for QueuedMailer {
    fn drop(&mut self) {
        self.close();
    }
}

impl fmt::Debug for QueuedMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueuedMailer")
            .field("queued", &self.shared.lock().mails.len())
            .finish_non_exhaustive()
    }
}

/// A copy of `mail` for the queue (a [`Mail`] is deliberately not `Clone`).
fn copy(mail: &Mail) -> Mail {
    Mail {
        to: mail.to.clone(),
        kind: mail.kind,
        code: SecretString::from(mail.code.expose_secret().to_owned()),
        subject: mail.subject.clone(),
        text: mail.text.clone(),
        sent_at: mail.sent_at,
    }
}

/// Counts a delivery attempt's outcome.
fn counted(outcome: &'static str) {
    metrics::counter!("authd_mails_total", "outcome" => outcome).increment(1);
}

/// The delivery thread.
struct Worker {
    shared: Arc<Shared>,
    transport: Arc<dyn Mailer>,
}

impl Worker {
    fn run(&self) {
        while let Some(mail) = self.next() {
            self.deliver(&mail);
        }
    }

    /// The next queued mail; `None` once stopped and the queue is empty or
    /// the drain time is over (what is left is then logged as lost).
    fn next(&self) -> Option<Mail> {
        let mut state = self.shared.lock();
        loop {
            match state.stop_at {
                Some(stop_at) if Instant::now() >= stop_at => {
                    for mail in state.mails.drain(..) {
                        tracing::error!(
                            kind = mail.kind.as_str(),
                            attempts = 0,
                            "mail not sent: the service stopped first"
                        );
                        counted("failed");
                    }
                    return None;
                }
                Some(_) if state.mails.is_empty() => return None,
                _ => {}
            }
            if let Some(mail) = state.mails.pop_front() {
                return Some(mail);
            }
            state = self
                .shared
                .wake
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Sends `mail`, retrying with backoff until the retry window or the
    /// drain time is over.
    fn deliver(&self, mail: &Mail) {
        let policy = &self.shared.policy;
        let kind = mail.kind.as_str();
        let give_up_at = Instant::now() + policy.retry_for;
        let mut backoff = policy.first_backoff;
        let mut attempts: u32 = 0;
        loop {
            attempts += 1;
            let Err(error) = self.transport.send(mail) else {
                counted("sent");
                if attempts > 1 {
                    tracing::info!(kind, attempts, "mail sent after retries");
                }
                return;
            };
            let retry_at = Instant::now() + backoff;
            let stop_at = self.shared.lock().stop_at;
            if retry_at > give_up_at || stop_at.is_some_and(|s| retry_at > s) {
                tracing::error!(kind, attempts, error = %error, "mail not sent: giving up");
                counted("failed");
                return;
            }
            tracing::warn!(
                kind,
                attempts,
                retry_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "mail not sent: will retry"
            );
            counted("retried");
            self.pause_until(retry_at);
            backoff = (backoff * 2).min(policy.max_backoff);
        }
    }

    /// Waits until `at`, or until the mailer is dropped and its drain time
    /// is over, whichever comes first.
    fn pause_until(&self, at: Instant) {
        let mut state = self.shared.lock();
        loop {
            let until = state.stop_at.map_or(at, |s| s.min(at));
            let now = Instant::now();
            if now >= until {
                return;
            }
            state = self
                .shared
                .wake
                .wait_timeout(state, until - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::atomic::{AtomicU32, Ordering};

    use domain::{CodeKind, Email};
    use time::OffsetDateTime;

    use super::*;
    use crate::FileMailer;

    const CODE: &str = "s3cret-code-42";
    const TO: &str = "alice@example.com";

    fn mail(kind: CodeKind) -> Mail {
        Mail {
            to: Email::parse(TO).unwrap(),
            kind,
            code: SecretString::from(CODE),
            subject: "Your code".to_owned(),
            text: format!("Your code is {CODE}."),
            sent_at: OffsetDateTime::now_utc(),
        }
    }

    fn quick(retry_for: Duration) -> DeliveryPolicy {
        DeliveryPolicy {
            queue_capacity: 10,
            first_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(40),
            retry_for,
            drain_for: Duration::from_millis(200),
        }
    }

    /// Polls `done` every few milliseconds, for ten seconds at most.
    fn eventually(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A transport that fails its first `failures` sends, then records.
    struct Flaky {
        failures: u32,
        attempts: AtomicU32,
        sent: Mutex<Vec<CodeKind>>,
        /// Held by a test to keep a send from finishing.
        gate: Mutex<()>,
    }

    impl Flaky {
        fn new(failures: u32) -> Arc<Self> {
            Arc::new(Self {
                failures,
                attempts: AtomicU32::new(0),
                sent: Mutex::new(Vec::new()),
                gate: Mutex::new(()),
            })
        }

        fn sent(&self) -> Vec<CodeKind> {
            self.sent.lock().unwrap().clone()
        }
    }

    impl Mailer for Flaky {
        fn send(&self, mail: &Mail) -> Result<(), MailError> {
            let _gate = self.gate.lock().unwrap();
            if self.attempts.fetch_add(1, Ordering::SeqCst) < self.failures {
                return Err(MailError(Box::new(io::Error::other("server down"))));
            }
            self.sent.lock().unwrap().push(mail.kind);
            Ok(())
        }
    }

    /// Every log line written while `run` runs, the worker's included.
    fn logged(run: impl FnOnce(&Logs)) -> String {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .finish();
        tracing::subscriber::with_default(subscriber, || run(&logs));
        logs.text()
    }

    #[derive(Clone, Default)]
    struct Logs(Arc<Mutex<Vec<u8>>>);

    impl Logs {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    impl io::Write for Logs {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn assert_nothing_secret(logs: &str) {
        assert!(!logs.contains(CODE), "{logs}");
        assert!(!logs.contains(TO), "{logs}");
        assert!(!logs.contains("Your code"), "{logs}");
    }

    #[test]
    fn a_failed_send_is_retried_until_it_goes() {
        let transport = Flaky::new(3);
        let logs = logged(|_| {
            let mailer = QueuedMailer::start(transport.clone(), quick(Duration::from_secs(10)));
            mailer.send(&mail(CodeKind::ValidateEmail)).unwrap();
            eventually("the mail", || transport.sent().len() == 1);
        });
        assert_eq!(transport.attempts.load(Ordering::SeqCst), 4);
        assert_eq!(transport.sent(), [CodeKind::ValidateEmail]);
        assert_eq!(logs.matches("will retry").count(), 3, "{logs}");
        assert!(logs.contains("mail sent after retries"), "{logs}");
        assert!(logs.contains("validate-email"), "{logs}");
        assert_nothing_secret(&logs);
    }

    #[test]
    fn a_mail_is_given_up_after_the_retry_window_naming_kind_and_attempts() {
        let transport = Flaky::new(u32::MAX);
        let logs = logged(|logs| {
            let mailer = QueuedMailer::start(transport.clone(), quick(Duration::from_millis(60)));
            mailer.send(&mail(CodeKind::ResetPassword)).unwrap();
            eventually("giving up", || logs.text().contains("giving up"));
        });
        let attempts = transport.attempts.load(Ordering::SeqCst);
        assert!(attempts >= 2, "{attempts}");
        let line = logs.lines().find(|l| l.contains("giving up")).unwrap();
        assert!(line.contains("ERROR"), "{line}");
        assert!(line.contains("reset-password"), "{line}");
        assert!(line.contains(&format!("attempts={attempts}")), "{line}");
        assert!(transport.sent().is_empty());
        assert_nothing_secret(&logs);
    }

    #[test]
    fn send_returns_at_once_and_a_full_queue_drops_with_a_warning() {
        let transport = Flaky::new(0);
        let policy = DeliveryPolicy {
            queue_capacity: 2,
            ..quick(Duration::from_secs(10))
        };
        let logs = logged(|_| {
            let mailer = QueuedMailer::start(transport.clone(), policy);
            let gate = transport.gate.lock().unwrap();
            // The worker takes the first mail and waits on the transport.
            mailer.send(&mail(CodeKind::ValidateEmail)).unwrap();
            eventually("the worker to take the mail", || {
                mailer.shared.lock().mails.is_empty()
            });
            for _ in 0..2 {
                mailer.send(&mail(CodeKind::ValidateEmail)).unwrap();
            }
            // Full: accepted without waiting, but dropped.
            mailer.send(&mail(CodeKind::ResetPassword)).unwrap();
            assert_eq!(mailer.shared.lock().mails.len(), 2);
            drop(gate);
            eventually("the queued mails", || transport.sent().len() == 3);
        });
        assert_eq!(transport.sent(), [CodeKind::ValidateEmail; 3]);
        let line = logs.lines().find(|l| l.contains("queue full")).unwrap();
        assert!(line.contains("WARN"), "{line}");
        assert!(line.contains("reset-password"), "{line}");
        assert_nothing_secret(&logs);
    }

    #[test]
    fn a_file_mailbox_that_cannot_be_written_gets_the_mail_once_fixed() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("mail");
        std::fs::write(&blocker, "a file where a directory should be").unwrap();
        let path = blocker.join("mailbox.jsonl");
        let transport = Arc::new(FileMailer::new(&path));
        let logs = logged(|logs| {
            let mailer = QueuedMailer::start(transport, quick(Duration::from_secs(10)));
            mailer.send(&mail(CodeKind::ValidateEmail)).unwrap();
            eventually("a failed attempt", || logs.text().contains("will retry"));
            std::fs::remove_file(&blocker).unwrap();
            eventually("the mail", || path.exists());
        });
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains(CODE));
        assert!(logs.contains("mail sent after retries"), "{logs}");
        assert_nothing_secret(&logs);
    }

    #[test]
    fn dropping_the_mailer_delivers_what_is_queued() {
        let transport = Flaky::new(0);
        let mailer = QueuedMailer::start(transport.clone(), quick(Duration::from_secs(10)));
        for _ in 0..5 {
            mailer.send(&mail(CodeKind::Invite)).unwrap();
        }
        drop(mailer);
        assert_eq!(transport.sent().len(), 5);
    }

    #[test]
    fn dropping_the_mailer_gives_up_undeliverable_mails_after_the_drain_time() {
        let transport = Flaky::new(u32::MAX);
        let logs = logged(|_| {
            let mailer = QueuedMailer::start(transport.clone(), quick(Duration::from_secs(60)));
            for _ in 0..3 {
                mailer.send(&mail(CodeKind::ValidateEmail)).unwrap();
            }
            let started = Instant::now();
            drop(mailer);
            assert!(started.elapsed() < Duration::from_secs(5));
        });
        assert!(transport.sent().is_empty());
        // Each mail is given up once, whether it was being tried or waiting.
        let given_up = logs.lines().filter(|l| l.contains("ERROR")).count();
        assert_eq!(given_up, 3, "{logs}");
        assert_nothing_secret(&logs);
    }
}
