//! Ending sessions.

use ports::{SessionStore, StoreError};
use time::OffsetDateTime;

use crate::{
    authenticate::InSession,
    error::{Fault, faults_from},
    service::AuthService,
};

/// Why a logout did not happen.
#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    /// The caller's session no longer exists.
    #[error("invalid token")]
    InvalidToken,
    /// The store failed.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(LogoutError: StoreError);

impl AuthService {
    /// Ends the caller's session, or all of the caller's sessions.
    ///
    /// # Errors
    /// See [`LogoutError`].
    pub fn logout(&self, who: &InSession, all_sessions: bool) -> Result<(), LogoutError> {
        let done = logout(&*self.ports.store, who, all_sessions, self.now());
        self.forget(who.user_id);
        done
    }
}

fn logout(
    sessions: &dyn SessionStore,
    who: &InSession,
    all_sessions: bool,
    now: OffsetDateTime,
) -> Result<(), LogoutError> {
    if all_sessions {
        sessions.revoke_user_sessions(who.user_id, None, now)?;
    } else {
        sessions
            .revoke_session(who.user_id, who.session_id, now)
            .map_err(|e| match e {
                StoreError::NotFound => LogoutError::InvalidToken,
                other => other.into(),
            })?;
    }
    tracing::info!(user_id = %who.user_id, all_sessions, "logged out");
    Ok(())
}
