//! Exchanging a refresh token for new tokens.

use domain::{SecretDigest, Session, User, UserStatus};
use ports::{
    Change, NewRefreshToken, Rotation, SessionStore, StoreError, Successor, TokenError, UserStore,
};
use secrecy::ExposeSecret;
use time::{Duration, OffsetDateTime};

use crate::{
    error::{Fault, faults_from},
    login::ClientInfo,
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
    /// The token or its session is past its expiry, or the session is past
    /// its absolute lifetime.
    #[error("token expired")]
    TokenExpired,
    /// The exchange could not be made.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(RefreshError: StoreError, TokenError);

impl AuthService {
    /// Exchanges a refresh token for new tokens, spending it, and records
    /// `client` on the session. Its successor is derived from it, so
    /// presenting it again within the grace period answers with the same
    /// successor (and a fresh access token) instead of branching the
    /// session; such a replay records nothing. The successor lives the
    /// refresh lifetime, but never past the session's absolute end.
    ///
    /// # Errors
    /// See [`RefreshError`].
    pub fn refresh(&self, refresh_token: &str, client: ClientInfo) -> Result<Tokens, RefreshError> {
        let now = self.now();
        let successor = self.ports.refresh_tokens.successor(refresh_token);
        let next = Successor {
            digest: SecretDigest::of(successor.expose_secret()),
            lifetime: self.policy.session_lifetime(),
            user_agent: client.user_agent,
            ip: Some(client.ip),
        };
        let grace = self.policy.refresh_reuse_grace;
        let (user, session, expires_at) = rotate(
            &*self.ports.store,
            refresh_token,
            &next,
            grace,
            now,
            &|change| {
                self.recall.forget(change);
            },
        )?;
        let next = NewRefreshToken {
            digest: next.digest,
            expires_at,
        };
        let access_ttl = self.policy.access_ttl;
        Ok(grant(
            &*self.ports.tokens,
            access_ttl,
            user,
            &session,
            (successor, next),
            now,
        )?)
    }
}

/// Spends the presented token, recording `next` in its place (or finds
/// `next` recorded by a spending within the grace period), and returns the
/// session's user, who must still be active, the session, and when `next`
/// expires. What it revokes, it tells `forget`.
fn rotate(
    store: &(impl SessionStore + UserStore + ?Sized),
    presented: &str,
    next: &Successor,
    grace: Duration,
    now: OffsetDateTime,
    forget: &dyn Fn(Change),
) -> Result<(User, Session, OffsetDateTime), RefreshError> {
    let (session, expires_at) =
        match store.rotate_refresh(&SecretDigest::of(presented), next, now, grace)? {
            // The session expires with the token that was just recorded.
            Rotation::Rotated(session) => {
                let expires_at = session.expires_at;
                (session, expires_at)
            }
            Rotation::Replayed {
                session,
                expires_at,
            } => {
                tracing::info!(session_id = %session.id, "refresh token replayed within grace");
                (session, expires_at)
            }
            Rotation::Reused(owner) => {
                tracing::warn!("refresh token reuse detected; session revoked");
                metrics::counter!("authd_refresh_reuse_detected_total").increment(1);
                forget(Change::Account(owner));
                return Err(RefreshError::InvalidToken);
            }
            Rotation::Expired => return Err(RefreshError::TokenExpired),
            Rotation::Invalid => return Err(RefreshError::InvalidToken),
        };
    match store.user_by_id(session.user_id)? {
        Some(user) if user.status == UserStatus::Active => Ok((user, session, expires_at)),
        _ => {
            let revoked = store.revoke_session(session.user_id, session.id, now);
            forget(Change::Account(session.user_id));
            match revoked {
                // Revoked meanwhile: the token is no good either way.
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
            Err(RefreshError::InvalidToken)
        }
    }
}
