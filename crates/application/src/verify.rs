//! Forward-auth: who a caller is, and for which organization they act,
//! for a reverse proxy to tell the services behind it.

use domain::User;
use ports::{OrganizationStore, StoreError, UserStore};

use crate::{
    authenticate::{ActingFor, Principal},
    profile::MeError,
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
        verify(&*self.ports.store, who)
    }
}

fn verify(
    store: &(impl UserStore + OrganizationStore + ?Sized),
    who: &Principal,
) -> Result<Verified, MeError> {
    let user = store
        .user_by_id(who.user_id)?
        .ok_or(MeError::InvalidToken)?;
    let acting_for = match who.acting_for {
        Some(named) => Some(named),
        None => oldest_membership(store, who)?,
    };
    Ok(Verified { user, acting_for })
}

fn oldest_membership(
    store: &(impl OrganizationStore + ?Sized),
    who: &Principal,
) -> Result<Option<ActingFor>, StoreError> {
    let oldest = store.organizations_of(who.user_id)?.into_iter().next();
    Ok(oldest.map(|(organization, role)| ActingFor {
        organization_id: organization.id,
        role: Some(role),
    }))
}
