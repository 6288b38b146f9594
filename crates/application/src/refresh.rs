//! Exchanging a refresh token for new tokens.

use domain::{SecretDigest, SessionId, User, UserStatus};
use ports::{NewRefreshToken, Rotation, SessionStore, StoreError, TokenError, UserStore};
use secrecy::ExposeSecret;
use time::{Duration, OffsetDateTime};

use crate::{
    error::{Fault, faults_from},
    service::AuthService,
    tokens::{Tokens, grant},
};

/// Why a refresh token was not exchanged.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Unknown, revoked or reused (reuse revokes the whole session), or
    /// its account is gone or no longer active.
    #[error("invalid token")]
    InvalidToken,
    /// The token or its session is past its expiry.
    #[error("token expired")]
    TokenExpired,
    /// The exchange could not be made.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(RefreshError: StoreError, TokenError);

impl AuthService {
    /// Exchanges a refresh token for new tokens, spending it. Its successor
    /// is derived from it, so presenting it again within the grace period
    /// answers with the same successor (and a fresh access token) instead
    /// of branching the session.
    ///
    /// # Errors
    /// See [`RefreshError`].
    pub fn refresh(&self, refresh_token: &str) -> Result<Tokens, RefreshError> {
        let now = self.now();
        let successor = self.ports.refresh_tokens.successor(refresh_token);
        let next = NewRefreshToken {
            digest: SecretDigest::of(successor.expose_secret()),
            expires_at: now + self.policy.refresh_ttl,
        };
        let grace = self.policy.refresh_reuse_grace;
        let (user, session, expires_at) =
            rotate(&*self.ports.store, refresh_token, &next, grace, now)?;
        let next = NewRefreshToken { expires_at, ..next };
        let access_ttl = self.policy.access_ttl;
        Ok(grant(
            &*self.ports.tokens,
            access_ttl,
            user,
            session,
            (successor, next),
            now,
        )?)
    }
}

/// Spends the presented token, recording `next` in its place (or finds
/// `next` recorded by a spending within the grace period), and returns the
/// session's user, who must still be active, the session, and when `next`
/// expires.
fn rotate(
    store: &(impl SessionStore + UserStore + ?Sized),
    presented: &str,
    next: &NewRefreshToken,
    grace: Duration,
    now: OffsetDateTime,
) -> Result<(User, SessionId, OffsetDateTime), RefreshError> {
    let (session, expires_at) =
        match store.rotate_refresh(&SecretDigest::of(presented), next, now, grace)? {
            Rotation::Rotated(session) => (session, next.expires_at),
            Rotation::Replayed {
                session,
                expires_at,
            } => {
                tracing::info!(session_id = %session.id, "refresh token replayed within grace");
                (session, expires_at)
            }
            Rotation::Reused => {
                tracing::warn!("refresh token reuse detected; session revoked");
                return Err(RefreshError::InvalidToken);
            }
            Rotation::Expired => return Err(RefreshError::TokenExpired),
            Rotation::Invalid => return Err(RefreshError::InvalidToken),
        };
    match store.user_by_id(session.user_id)? {
        Some(user) if user.status == UserStatus::Active => Ok((user, session.id, expires_at)),
        _ => {
            match store.revoke_session(session.user_id, session.id, now) {
                // Revoked meanwhile: the token is no good either way.
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
            Err(RefreshError::InvalidToken)
        }
    }
}
