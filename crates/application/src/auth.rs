use domain::{ErrorCode, ProfilePatch, SessionId, User, UserId};
use time::OffsetDateTime;

use crate::{AppError, AuthService};

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

impl AuthService {
    /// Checks a bearer access token: signature, claims, expiry, and that its
    /// session is still live (so a logout takes effect at once).
    ///
    /// # Errors
    /// `token-expired` or `invalid-token`.
    pub fn authenticate(&self, bearer: &str) -> Result<Principal, AppError> {
        let now = self.now();
        let claims = self.ports.tokens.verify(bearer, now)?;
        match self.ports.store.session(claims.session_id)? {
            Some(s) if s.user_id == claims.user_id && s.is_active(now) => Ok(Principal {
                user_id: claims.user_id,
                session_id: claims.session_id,
                expires_at: claims.expires_at,
            }),
            _ => Err(ErrorCode::InvalidToken.into()),
        }
    }

    /// The caller's account.
    ///
    /// # Errors
    /// `invalid-token` if the account no longer exists.
    pub fn me(&self, who: &Principal) -> Result<User, AppError> {
        self.ports
            .store
            .user_by_id(who.user_id)?
            .ok_or(AppError::Rejected(ErrorCode::InvalidToken))
    }

    /// Changes the caller's profile.
    ///
    /// # Errors
    /// `user-already-exists` if the new username or phone is taken.
    pub fn update_me(&self, who: &Principal, patch: &ProfilePatch) -> Result<User, AppError> {
        if patch.is_empty() {
            return self.me(who);
        }
        self.ports
            .store
            .update_profile(who.user_id, patch, self.now())
            .map_err(AppError::not_found_as(ErrorCode::InvalidToken))
    }

    /// Ends the caller's session, or all of the caller's sessions.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub fn logout(&self, who: &Principal, all_sessions: bool) -> Result<(), AppError> {
        let store = &self.ports.store;
        let now = self.now();
        if all_sessions {
            store.revoke_user_sessions(who.user_id, None, now)?;
        } else {
            store
                .revoke_session(who.user_id, who.session_id, now)
                .map_err(AppError::not_found_as(ErrorCode::InvalidToken))?;
        }
        tracing::info!(user_id = %who.user_id, all_sessions, "logged out");
        Ok(())
    }
}
