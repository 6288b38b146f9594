//! The caller's own account: reading it and changing its profile.

use domain::{ProfilePatch, User};
use ports::{StoreError, UserStore};
use time::OffsetDateTime;

use crate::{
    authenticate::Principal,
    error::{Fault, faults_from},
    recall::CallerReads,
    service::AuthService,
};

/// Why the caller's account could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MeError {
    /// The account behind a valid token no longer exists.
    #[error("invalid token")]
    InvalidToken,
    /// The store failed.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(MeError: StoreError);

/// Why a profile change did not happen.
#[derive(Debug, thiserror::Error)]
pub enum UpdateProfileError {
    /// The account behind a valid token no longer exists.
    #[error("invalid token")]
    InvalidToken,
    /// The new username or phone belongs to another account.
    #[error("user already exists")]
    UserAlreadyExists,
    /// The store failed.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(UpdateProfileError: StoreError);

impl From<MeError> for UpdateProfileError {
    fn from(e: MeError) -> Self {
        match e {
            MeError::InvalidToken => Self::InvalidToken,
            MeError::Fault(f) => Self::Fault(f),
        }
    }
}

impl AuthService {
    /// The caller's account.
    ///
    /// # Errors
    /// See [`MeError`].
    pub fn me(&self, who: &Principal) -> Result<User, MeError> {
        me(&self.read_through(), who)
    }

    /// Changes the caller's profile.
    ///
    /// # Errors
    /// See [`UpdateProfileError`].
    pub fn update_me(
        &self,
        who: &Principal,
        patch: &ProfilePatch,
    ) -> Result<User, UpdateProfileError> {
        if patch.is_empty() {
            return Ok(self.me(who)?);
        }
        let updated = update_me(&*self.ports.store, who, patch, self.now());
        self.forget(who.user_id);
        updated
    }
}

pub(crate) fn me(reads: &impl CallerReads, who: &Principal) -> Result<User, MeError> {
    reads.user(who.user_id)?.ok_or(MeError::InvalidToken)
}

fn update_me(
    users: &dyn UserStore,
    who: &Principal,
    patch: &ProfilePatch,
    now: OffsetDateTime,
) -> Result<User, UpdateProfileError> {
    users
        .update_profile(who.user_id, patch, now)
        .map_err(|e| match e {
            StoreError::NotFound => UpdateProfileError::InvalidToken,
            StoreError::Duplicate(_) => UpdateProfileError::UserAlreadyExists,
            other => other.into(),
        })
}
