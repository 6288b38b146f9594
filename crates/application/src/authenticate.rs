//! Who is calling: checking a bearer access token.

use domain::{SessionId, UserId};
use ports::{SessionStore, StoreError, TokenError, TokenIssuer};
use time::OffsetDateTime;

use crate::{
    error::{Fault, faults_from},
    service::AuthService,
};

/// Who is calling: the result of checking an access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user.
    pub user_id: UserId,
    /// The session the token belongs to.
    pub session_id: SessionId,
    /// When the presented access token expires.
    pub expires_at: OffsetDateTime,
}

/// Why an access token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    /// Malformed, forged, or its session is revoked, expired or another
    /// user's.
    #[error("invalid token")]
    InvalidToken,
    /// Genuine, but past its expiry.
    #[error("token expired")]
    TokenExpired,
    /// The check could not be made.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(AuthenticateError: StoreError);

impl AuthService {
    /// Checks a bearer access token: signature, claims, expiry, and that its
    /// session is still live (so a logout takes effect at once).
    ///
    /// # Errors
    /// See [`AuthenticateError`].
    pub fn authenticate(&self, bearer: &str) -> Result<Principal, AuthenticateError> {
        authenticate(&*self.ports.tokens, &*self.ports.store, bearer, self.now())
    }
}

fn authenticate(
    tokens: &dyn TokenIssuer,
    sessions: &dyn SessionStore,
    bearer: &str,
    now: OffsetDateTime,
) -> Result<Principal, AuthenticateError> {
    let claims = tokens.verify(bearer, now).map_err(|e| match e {
        TokenError::Expired => AuthenticateError::TokenExpired,
        TokenError::Invalid => AuthenticateError::InvalidToken,
        TokenError::Signing(_) => AuthenticateError::Fault(e.into()),
    })?;
    match sessions.session(claims.session_id)? {
        Some(s) if s.user_id == claims.user_id && s.is_active(now) => Ok(Principal {
            user_id: claims.user_id,
            session_id: claims.session_id,
            expires_at: claims.expires_at,
        }),
        _ => Err(AuthenticateError::InvalidToken),
    }
}
