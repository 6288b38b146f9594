//! The caller's own sessions: listing them and ending one.

use domain::{Session, SessionId};
use ports::{SessionStore, StoreError};
use time::OffsetDateTime;

use crate::{
    authenticate::InSession,
    error::{Fault, faults_from},
    service::AuthService,
};

/// One of the caller's live sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session, with the client seen at its login or latest refresh.
    pub session: Session,
    /// Whether it is the session of the access token the caller presented.
    pub current: bool,
}

/// Why the caller's sessions could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum ListSessionsError {
    /// The store failed.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(ListSessionsError: StoreError);

/// Why a session was not ended.
#[derive(Debug, thiserror::Error)]
pub enum DeleteSessionError {
    /// The caller has no session with this id: it is unknown, malformed,
    /// or another user's (one answer for all three).
    #[error("not found")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl AuthService {
    /// The caller's live sessions (neither revoked nor expired), the most
    /// recently used first, the caller's own marked `current`.
    ///
    /// # Errors
    /// See [`ListSessionsError`].
    pub fn list_sessions(&self, who: &InSession) -> Result<Vec<SessionInfo>, ListSessionsError> {
        list_sessions(&*self.ports.store, who, self.now())
    }

    /// Ends one of the caller's sessions at once: its access tokens are
    /// refused from then on and its refresh tokens are worth nothing. The
    /// caller's own session may be ended too (a logout). Ending a session
    /// of the caller's that has already ended succeeds again.
    ///
    /// # Errors
    /// See [`DeleteSessionError`].
    pub fn delete_session(&self, who: &InSession, id: SessionId) -> Result<(), DeleteSessionError> {
        let deleted = delete_session(&*self.ports.store, who, id, self.now());
        self.forget(who.user_id);
        deleted
    }
}

fn list_sessions(
    sessions: &(impl SessionStore + ?Sized),
    who: &InSession,
    now: OffsetDateTime,
) -> Result<Vec<SessionInfo>, ListSessionsError> {
    Ok(sessions
        .sessions_of(who.user_id, now)?
        .into_iter()
        .map(|session| SessionInfo {
            current: session.id == who.session_id,
            session,
        })
        .collect())
}

fn delete_session(
    sessions: &(impl SessionStore + ?Sized),
    who: &InSession,
    id: SessionId,
    now: OffsetDateTime,
) -> Result<(), DeleteSessionError> {
    sessions
        .revoke_session(who.user_id, id, now)
        .map_err(|e| match e {
            StoreError::NotFound => DeleteSessionError::NotFound,
            other => DeleteSessionError::Fault(other.into()),
        })?;
    tracing::info!(user_id = %who.user_id, session_id = %id, "session ended");
    Ok(())
}
