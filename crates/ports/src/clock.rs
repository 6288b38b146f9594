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

/// Derives the successor of a refresh token.
///
/// The successor is a keyed one-way function of the presented token (HMAC
/// under a server secret that every instance shares), so presenting one
/// token twice yields the same successor while the server stores only
/// digests: a replay recomputes exactly the token whose digest was
/// recorded. Without the key and the presented token, a successor is as
/// unpredictable as a random secret.
pub trait RefreshTokenDeriver: Send + Sync {
    /// The successor of `presented`: URL-safe, 256 bits.
    fn successor(&self, presented: &str) -> SecretString;
}
