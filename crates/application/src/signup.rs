//! Creating accounts.

use domain::{
    CodeKind, Email, NewUser, Organization, OrganizationName, Password, PersonName, Phone, User,
    UserStatus, Username,
};
use ports::{HasherError, OneTimeCode, PasswordHasher, StoreError, UserStore};
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
        // The mail is admitted first, so that the code it carries is stored
        // with the account or not at all. Past the mail limits the account
        // is created without one; the user can ask for the mail later.
        let mailed = self.admit_mail(&new.email, &client.ip, now, "validation")?;
        let codes = self.codes(now);
        let ttl = self.policy.validation_code_ttl;
        let account = Account::new(&*self.ports.hasher, new, &req.password, now)?;
        let first = mailed.then(|| codes.make(account.user.id, CodeKind::ValidateEmail, ttl));
        let user = account.store(
            &*self.ports.store,
            req.organization_name,
            first.as_ref().map(|(_, code)| code),
        )?;
        if let Some((secret, _)) = first {
            codes.mail_validation_code(&*self.ports.mailer, &user, secret, ttl);
        }
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
        Account::new(&*self.ports.hasher, new, password, self.now())?.store(
            &*self.ports.store,
            organization_name,
            None,
        )
    }
}

/// A user about to be stored, its password hashed.
struct Account {
    user: User,
    created_at: OffsetDateTime,
}

impl Account {
    fn new(
        hasher: &dyn PasswordHasher,
        new: NewUser,
        password: &Password,
        now: OffsetDateTime,
    ) -> Result<Self, SignupError> {
        let hash = hasher.hash(password.as_secret())?;
        Ok(Self {
            user: User::new(new, hash, now),
            created_at: now,
        })
    }

    /// Stores the user, the organization it owns (named after the user
    /// unless `organization_name` is given) and its first `code`, all or
    /// nothing.
    fn store(
        self,
        users: &dyn UserStore,
        organization_name: Option<OrganizationName>,
        code: Option<&OneTimeCode>,
    ) -> Result<User, SignupError> {
        let name =
            organization_name.unwrap_or_else(|| default_organization_name(&self.user.first_name));
        let organization = Organization::new(name, self.created_at);
        users
            .create_user(&self.user, &organization, code)
            .map_err(|e| match e {
                StoreError::Duplicate(_) => SignupError::UserAlreadyExists,
                other => other.into(),
            })?;
        Ok(self.user)
    }
}

fn default_organization_name(first_name: &PersonName) -> OrganizationName {
    let name = format!("{first_name}'s organization");
    OrganizationName::parse(&name)
        .or_else(|_| OrganizationName::parse("My organization"))
        .unwrap_or_else(|_| unreachable!("a constant name is valid"))
}
