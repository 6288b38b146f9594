use domain::{
    CodeKind, Email, ErrorCode, LoginIdentifier, NewUser, Organization, OrganizationName, Password,
    PersonName, Phone, SecretDigest, User, UserStatus, Username,
};

use secrecy::{ExposeSecret, SecretString};

use crate::{AppError, AuthService};

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

/// How a client asks for a new validation mail.
#[derive(Debug)]
pub enum ResendBy {
    /// The `resend_code` a login answered with.
    Code(SecretString),
    /// The account's e-mail address.
    Email(Email),
}

impl AuthService {
    /// Creates a pending account and the organization it owns, and mails a
    /// validation code.
    ///
    /// # Errors
    /// `user-already-exists` if the e-mail address, username or phone is taken.
    pub fn signup(&self, req: SignupRequest) -> Result<User, AppError> {
        let user = self.create_user(
            NewUser {
                email: req.email,
                username: req.username,
                phone: req.phone,
                first_name: req.first_name,
                last_name: req.last_name,
                status: UserStatus::PendingValidation,
                email_verified: false,
                is_admin: false,
            },
            &req.password,
            req.organization_name,
        )?;
        self.send_validation_mail(&user)?;
        tracing::info!(user_id = %user.id, "user signed up");
        Ok(user)
    }

    /// Creates an account directly (the `user create` command): no mail.
    ///
    /// # Errors
    /// `user-already-exists` if the e-mail address, username or phone is taken.
    pub fn create_user(
        &self,
        new: NewUser,
        password: &Password,
        organization_name: Option<OrganizationName>,
    ) -> Result<User, AppError> {
        let hash = self.ports.hasher.hash(password.as_secret())?;
        let now = self.now();
        let org_name = match organization_name {
            Some(name) => name,
            None => default_organization_name(&new.first_name),
        };
        let user = User::new(new, hash, now);
        let organization = Organization::new(org_name, now);
        self.ports.store.create_user(&user, &organization)?;
        Ok(user)
    }

    /// Spends an e-mail validation code and activates its account.
    ///
    /// # Errors
    /// `invalid-code` if the code is unknown, spent or expired.
    pub fn validate_email(&self, code: &str) -> Result<User, AppError> {
        let user = self
            .ports
            .store
            .validate_email(&SecretDigest::of(code), self.now())
            .map_err(AppError::not_found_as(ErrorCode::InvalidCode))?;
        tracing::info!(user_id = %user.id, "e-mail validated");
        Ok(user)
    }

    /// Mails a new validation code to a pending account. Answers the same
    /// whether or not the account exists, is pending, or the code is valid.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub fn resend_validation(&self, by: ResendBy) -> Result<(), AppError> {
        let store = &self.ports.store;
        let user = match by {
            ResendBy::Code(code) => {
                match store.consume_code(
                    &SecretDigest::of(code.expose_secret()),
                    CodeKind::ResendValidation,
                    self.now(),
                ) {
                    Ok(c) => store.user_by_id(c.user_id)?,
                    Err(ports::StoreError::NotFound) => None,
                    Err(e) => return Err(e.into()),
                }
            }
            ResendBy::Email(email) => store.user_by_identifier(&LoginIdentifier::Email(email))?,
        };
        match user {
            Some(user) if user.status == UserStatus::PendingValidation => {
                self.send_validation_mail(&user)
            }
            _ => Ok(()),
        }
    }
}

fn default_organization_name(first_name: &PersonName) -> OrganizationName {
    let name = format!("{first_name}'s organization");
    OrganizationName::parse(&name)
        .or_else(|_| OrganizationName::parse("My organization"))
        .unwrap_or_else(|_| unreachable!("a constant name is valid"))
}
