use std::{net::IpAddr, time::Duration};

use secrecy::SecretString;

/// HTTP-layer settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Worker threads (0: one per core).
    pub workers: usize,
    /// Blocking threads per worker, where use cases run; size them with the
    /// connection pool so threads do not pile up waiting for connections.
    pub blocking_threads_per_worker: usize,
    /// Jobs per worker that may wait for a blocking thread; a request past
    /// them is answered `service-unavailable` at once (load shedding).
    pub blocking_queue_per_worker: usize,
    /// On SIGTERM or SIGINT, how long requests under way may take to
    /// finish before the server stops anyway.
    pub shutdown_timeout: Duration,
    /// When set, `GET /metrics` answers only requests that carry it as a
    /// bearer token.
    pub metrics_token: Option<SecretString>,
    /// Whether the compatibility profile routes are served (and
    /// documented) beside the canonical `/api/v1` ones.
    pub compat_routes: bool,
    /// Whether a request answered below 400 gets an access-log line (one
    /// with an error always does).
    pub log_successes: bool,
}

impl HttpSettings {
    /// The contract's default body limit: 64 KiB.
    pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            body_limit: Self::DEFAULT_BODY_LIMIT,
            trusted_proxies: Vec::new(),
            workers: 0,
            blocking_threads_per_worker: 8,
            blocking_queue_per_worker: 64,
            shutdown_timeout: Duration::from_secs(30),
            metrics_token: None,
            compat_routes: true,
            log_successes: true,
        }
    }
}
