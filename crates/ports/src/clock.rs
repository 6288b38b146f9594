use secrecy::SecretString;
use time::OffsetDateTime;

/// The current time. Real in production, fixed in tests that need it.
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// Makes unguessable secrets: refresh tokens, one-time codes, API keys.
pub trait SecretGenerator: Send + Sync {
    /// A new secret with at least 256 bits of entropy, URL-safe.
    fn secret(&self) -> SecretString;
}
