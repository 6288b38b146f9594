//! Administration of accounts: listing users, switching them on and off,
//! granting and withdrawing the administrator's rights.

use domain::{
    AdminPatch, Email, LoginIdentifier, User, UserId, UserPage, UserQuery, judge_admin_change,
    may_administer,
};
use ports::{StoreError, UserAdminStore, UserStore};
use time::OffsetDateTime;

use crate::{
    authenticate::Principal,
    error::{Fault, faults_from},
    service::AuthService,
};

/// Who administers: proof that the administration may be used, held by
/// the use cases that need it. Made by [`AuthService::admin`] for a caller
/// of the API, or by [`Admin::console`].
#[derive(Debug, Clone)]
pub struct Admin {
    /// The administrator's own account; `None` at the command line.
    actor: Option<UserId>,
}

impl Admin {
    /// The operator at the command line, who holds the settings and the
    /// database already, and has no account of their own to protect.
    pub fn console() -> Self {
        Self { actor: None }
    }

    /// Who administers, for the log: an account's id or the command line.
    pub(crate) fn describe(&self) -> String {
        self.actor
            .map_or_else(|| "the command line".to_owned(), |id| id.to_string())
    }
}

/// Why the caller may not administer.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The account behind a valid token no longer exists.
    #[error("invalid token")]
    InvalidToken,
    /// The caller is not an active administrator.
    #[error("insufficient permissions")]
    InsufficientPermissions,
    /// The store failed.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(AdminError: StoreError);

/// Why an account was not changed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateUserError {
    /// No account has this id (or e-mail address).
    #[error("not found")]
    NotFound,
    /// An administrator tried to switch off or demote their own account.
    #[error("cannot change own account")]
    CannotChangeOwnAccount,
    /// The store failed.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(UpdateUserError: StoreError);

impl AuthService {
    /// Checks that the caller is an active administrator.
    ///
    /// # Errors
    /// See [`AdminError`].
    pub fn admin(&self, who: &Principal) -> Result<Admin, AdminError> {
        let users: &dyn UserStore = &*self.ports.store;
        let actor = users
            .user_by_id(who.user_id)?
            .ok_or(AdminError::InvalidToken)?;
        if !may_administer(&actor) {
            tracing::info!(user_id = %actor.id, "administration refused");
            return Err(AdminError::InsufficientPermissions);
        }
        Ok(Admin {
            actor: Some(actor.id),
        })
    }

    /// The users `query` selects, one page of them, and how many there are.
    ///
    /// # Errors
    /// A [`Fault`] if the store fails.
    pub fn list_users(&self, _admin: &Admin, query: &UserQuery) -> Result<UserPage, Fault> {
        let users: &dyn UserAdminStore = &*self.ports.store;
        Ok(users.list_users(query)?)
    }

    /// Changes an account as an administrator: switches it on or off
    /// (off revokes every session of the user at once), grants or
    /// withdraws the administrator's rights. An empty patch changes
    /// nothing and answers the account as it is.
    ///
    /// # Errors
    /// See [`UpdateUserError`].
    pub fn update_user(
        &self,
        admin: &Admin,
        target: UserId,
        patch: &AdminPatch,
    ) -> Result<User, UpdateUserError> {
        let updated = update_user(&*self.ports.store, admin, target, patch, self.now());
        self.forget(target);
        updated
    }

    /// [`AuthService::update_user`] for the account with this e-mail address.
    ///
    /// # Errors
    /// See [`UpdateUserError`].
    pub fn update_user_by_email(
        &self,
        admin: &Admin,
        email: &Email,
        patch: &AdminPatch,
    ) -> Result<User, UpdateUserError> {
        let store = &*self.ports.store;
        let target = store
            .user_by_identifier(&LoginIdentifier::Email(email.clone()))?
            .ok_or(UpdateUserError::NotFound)?;
        let updated = update_user(store, admin, target.id, patch, self.now());
        self.forget(target.id);
        updated
    }
}

fn update_user(
    store: &(impl UserStore + UserAdminStore + ?Sized),
    admin: &Admin,
    target: UserId,
    patch: &AdminPatch,
    now: OffsetDateTime,
) -> Result<User, UpdateUserError> {
    if let Some(actor) = admin.actor {
        judge_admin_change(actor, target, patch)
            .map_err(|_| UpdateUserError::CannotChangeOwnAccount)?;
    }
    let user = if patch.is_empty() {
        store.user_by_id(target)?.ok_or(UpdateUserError::NotFound)?
    } else {
        store
            .apply_admin_patch(target, patch, now)
            .map_err(|e| match e {
                StoreError::NotFound => UpdateUserError::NotFound,
                other => other.into(),
            })?
    };
    tracing::info!(
        user_id = %user.id,
        by = %admin.describe(),
        status = user.status.as_str(),
        is_admin = user.is_admin,
        "account changed by an administrator"
    );
    Ok(user)
}
