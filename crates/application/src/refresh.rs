//! Exchanging a refresh token for new tokens.

use domain::{SecretDigest, SessionId, User, UserStatus};
use ports::{NewRefreshToken, Rotation, SessionStore, StoreError, TokenError, UserStore};
use time::{Duration, OffsetDateTime};

use crate::{
    error::{Fault, faults_from},
    service::AuthService,
    tokens::{Tokens, grant, new_refresh_token},
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
    /// Exchanges a refresh token for new tokens, spending it.
    ///
    /// # Errors
    /// See [`RefreshError`].
    pub fn refresh(&self, refresh_token: &str) -> Result<Tokens, RefreshError> {
        let now = self.now();
        let next = new_refresh_token(&*self.ports.secrets, now + self.policy.refresh_ttl);
        let grace = self.policy.refresh_reuse_grace;
        let (user, session) = rotate(&*self.ports.store, refresh_token, &next.1, grace, now)?;
        let access_ttl = self.policy.access_ttl;
        Ok(grant(
            &*self.ports.tokens,
            access_ttl,
            user,
            session,
            next,
            now,
        )?)
    }
}

/// Spends the presented token, recording `next` in its place, and returns
/// the session's user, who must still be active.
fn rotate(
    store: &(impl SessionStore + UserStore + ?Sized),
    presented: &str,
    next: &NewRefreshToken,
    grace: Duration,
    now: OffsetDateTime,
) -> Result<(User, SessionId), RefreshError> {
    let session = match store.rotate_refresh(&SecretDigest::of(presented), next, now, grace)? {
        Rotation::Rotated(session) => session,
        Rotation::Reused => {
            tracing::warn!("refresh token reuse detected; session revoked");
            return Err(RefreshError::InvalidToken);
        }
        Rotation::Expired => return Err(RefreshError::TokenExpired),
        Rotation::Invalid => return Err(RefreshError::InvalidToken),
    };
    match store.user_by_id(session.user_id)? {
        Some(user) if user.status == UserStatus::Active => Ok((user, session.id)),
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
