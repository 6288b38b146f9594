//! The tokens a login or a refresh hands out.

use domain::{AccessClaims, SecretDigest, Session, User};
use ports::{NewRefreshToken, SecretGenerator, TokenIssuer};
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::Fault;

/// What a successful login or refresh hands to the client. Its `Debug`
/// shows no token.
pub struct Tokens {
    /// The signed access token.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The opaque refresh token (only its digest is stored).
    pub refresh_token: SecretString,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: i64,
    /// The user the tokens are for.
    pub user: User,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_in", &self.expires_in)
            .field("refresh_expires_in", &self.refresh_expires_in)
            .field("user", &self.user.id)
            .finish_non_exhaustive()
    }
}

/// A new refresh token: the secret for the client, the digest for the store.
pub(crate) fn new_refresh_token(
    secrets: &dyn SecretGenerator,
    expires_at: OffsetDateTime,
) -> (SecretString, NewRefreshToken) {
    let secret = secrets.secret();
    let digest = SecretDigest::of(secret.expose_secret());
    (secret, NewRefreshToken { digest, expires_at })
}

/// Signs an access token for `user` in `session` and bundles it with the
/// session's refresh token.
pub(crate) fn grant(
    issuer: &dyn TokenIssuer,
    access_ttl: Duration,
    user: User,
    session: &Session,
    (refresh_token, refresh): (SecretString, NewRefreshToken),
    now: OffsetDateTime,
) -> Result<Tokens, Fault> {
    let issued_at = now.replace_nanosecond(0).unwrap_or(now);
    let claims = AccessClaims {
        user_id: user.id,
        session_id: session.id,
        token_id: Uuid::now_v7(),
        issued_at,
        expires_at: issued_at + access_ttl,
        factors: session.factors,
    };
    let access_token = issuer.issue(&claims)?;
    Ok(Tokens {
        access_token,
        expires_in: access_ttl.whole_seconds(),
        refresh_token,
        refresh_expires_in: (refresh.expires_at - now)
            .max(Duration::ZERO)
            .whole_seconds(),
        user,
    })
}
