use std::net::IpAddr;

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
    /// Whether the compatibility profile routes are served (and
    /// documented) beside the canonical `/api/v1` ones.
    pub compat_routes: bool,
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
            compat_routes: true,
        }
    }
}
