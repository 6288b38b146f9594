//! Creating accounts.

use domain::{
    Email, NewUser, Organization, OrganizationName, Password, PersonName, Phone, User, UserStatus,
    Username,
};
use ports::{HasherError, PasswordHasher, StoreError, UserStore};
use time::OffsetDateTime;

use crate::{
    ClientInfo,
    error::{Fault, faults_from},
    service::AuthService,
};

/// A sign-up, made only of parsed values.
#[derive(Debug)]
pub struct SignupRequest {
    /// E-mail address (the validation mail goes there).
    pub email: Email,
    /// A password that passed the policy.
    pub password: Password,
    /// Given name.
    pub first_name: PersonName,
    /// Family name.
    pub last_name: PersonName,
    /// Optional username.
    pub username: Option<Username>,
    /// Optional phone.
    pub phone: Option<Phone>,
    /// Name of the organization to create; defaults to one after the user.
    pub organization_name: Option<OrganizationName>,
}

/// Why an account was not created.
#[derive(Debug, thiserror::Error)]
pub enum SignupError {
    /// The e-mail address, username or phone belongs to another account.
    #[error("user already exists")]
    UserAlreadyExists,
    /// The account could not be stored.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(SignupError: StoreError, HasherError);

impl AuthService {
    /// Creates a pending account and the organization it owns, and mails a
    /// validation code.
    ///
    /// # Errors
    /// See [`SignupError`].
    pub fn signup(&self, req: SignupRequest, client: ClientInfo) -> Result<User, SignupError> {
        let new = NewUser {
            email: req.email,
            username: req.username,
            phone: req.phone,
            first_name: req.first_name,
            last_name: req.last_name,
            status: UserStatus::PendingValidation,
            email_verified: false,
            is_admin: false,
        };
        let now = self.now();
        let user = create_user(
            &*self.ports.store,
            &*self.ports.hasher,
            new,
            &req.password,
            req.organization_name,
            now,
        )?;
        // Past the mail limits the account is still created; the user can
        // ask for the mail again later.
        self.send_validation(&user, &client.ip, now)?;
        tracing::info!(user_id = %user.id, "user signed up");
        Ok(user)
    }

    /// Creates an account directly (the `user create` command): no mail.
    ///
    /// # Errors
    /// See [`SignupError`].
    pub fn create_user(
        &self,
        new: NewUser,
        password: &Password,
        organization_name: Option<OrganizationName>,
    ) -> Result<User, SignupError> {
        let (users, hasher) = (&*self.ports.store, &*self.ports.hasher);
        create_user(users, hasher, new, password, organization_name, self.now())
    }
}

fn create_user(
    users: &dyn UserStore,
    hasher: &dyn PasswordHasher,
    new: NewUser,
    password: &Password,
    organization_name: Option<OrganizationName>,
    now: OffsetDateTime,
) -> Result<User, SignupError> {
    let hash = hasher.hash(password.as_secret())?;
    let org_name = match organization_name {
        Some(name) => name,
        None => default_organization_name(&new.first_name),
    };
    let user = User::new(new, hash, now);
    let organization = Organization::new(org_name, now);
    users
        .create_user(&user, &organization)
        .map_err(|e| match e {
            StoreError::Duplicate(_) => SignupError::UserAlreadyExists,
            other => other.into(),
        })?;
    Ok(user)
}

fn default_organization_name(first_name: &PersonName) -> OrganizationName {
    let name = format!("{first_name}'s organization");
    OrganizationName::parse(&name)
        .or_else(|_| OrganizationName::parse("My organization"))
        .unwrap_or_else(|_| unreachable!("a constant name is valid"))
}
