//! Forward-auth: who a caller is, and for which organization they act,
//! for a reverse proxy to tell the services behind it.

use domain::User;

use crate::{
    authenticate::{ActingFor, Credentials, Principal},
    profile::{MeError, me},
    recall::CallerReads,
    service::AuthService,
};

/// What a forward-auth check tells about a caller.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The caller's account.
    pub user: User,
    /// The organization they act for: the one they named, or else their
    /// oldest membership; `None` when they belong to none.
    pub acting_for: Option<ActingFor>,
}

impl AuthService {
    /// The caller's account and the organization they act for.
    ///
    /// # Errors
    /// See [`MeError`].
    pub fn verify(&self, who: &Principal) -> Result<Verified, MeError> {
        verify(&self.read_through(), who)
    }

    /// Who the caller is and what [`AuthService::verify`] tells of them,
    /// when this instance remembers all it takes: no store read, no
    /// signature check, nothing that blocks. `None` when it does not,
    /// whatever the reason (the caller may still be accepted, or refused,
    /// by [`AuthService::authenticate`] and [`AuthService::verify`]).
    pub fn remembered_verify(&self, credentials: &Credentials) -> Option<(Principal, Verified)> {
        let reads = self.remembered();
        let who = self.authenticate_with(&reads, credentials).ok()?;
        let verified = verify(&reads, &who).ok()?;
        Some((who, verified))
    }

    /// Who the caller is and their account, when this instance remembers
    /// all it takes, as [`AuthService::remembered_verify`].
    pub fn remembered_me(&self, credentials: &Credentials) -> Option<(Principal, User)> {
        let reads = self.remembered();
        let who = self.authenticate_with(&reads, credentials).ok()?;
        let user = me(&reads, &who).ok()?;
        Some((who, user))
    }
}

fn verify(reads: &impl CallerReads, who: &Principal) -> Result<Verified, MeError> {
    let user = reads.user(who.user_id)?.ok_or(MeError::InvalidToken)?;
    let acting_for = match who.acting_for {
        Some(named) => Some(named),
        None => reads
            .oldest_membership(who.user_id)?
            .map(|(organization_id, role)| ActingFor {
                organization_id,
                role: Some(role),
            }),
    };
    Ok(Verified { user, acting_for })
}
