//! Changing a password, and resetting a forgotten one with a mailed code.

use domain::{
    CodeKind, Email, LoginIdentifier, Password, PasswordError, SecretDigest, User, UserId,
};
use ports::{
    CodeStore, HasherError, LoginThrottleStore, OneTimeCode, PasswordCheck, PasswordHasher,
    PasswordStore, StoreError, UserStore,
};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use crate::{
    authenticate::InSession,
    error::{Fault, faults_from},
    login::{ClientInfo, Throttled, account_key, admit},
    mail,
    service::{AuthService, Policy},
};

/// A password change by a logged-in user.
#[derive(Debug)]
pub struct ChangePasswordRequest {
    /// The password now in force, as typed.
    pub current_password: SecretString,
    /// The password to set, as typed; the policy is checked against the account.
    pub new_password: SecretString,
    /// Where the request came from (the throttle counts per address too).
    pub client: ClientInfo,
}

/// Why a password was not changed.
#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    /// Too many failed logins or wrong current passwords for the account or
    /// the client address.
    #[error("too many attempts")]
    TooManyAttempts {
        /// Seconds until another attempt may be made.
        retry_after: u64,
    },
    /// The current password is wrong.
    #[error("bad credentials")]
    BadCredentials,
    /// The new password breaks the policy.
    #[error("invalid new password")]
    InvalidPassword {
        /// Which rule it breaks.
        reason: PasswordError,
    },
    /// The account behind a valid token no longer exists.
    #[error("invalid token")]
    InvalidToken,
    /// The change could not be made.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(ChangePasswordError: StoreError, HasherError);

impl From<Throttled> for ChangePasswordError {
    fn from(Throttled(retry_after): Throttled) -> Self {
        Self::TooManyAttempts { retry_after }
    }
}

/// Why a password was not reset.
#[derive(Debug, thiserror::Error)]
pub enum ResetPasswordError {
    /// The code is unknown, spent or expired.
    #[error("invalid code")]
    InvalidCode,
    /// The new password breaks the policy; the code stays usable.
    #[error("invalid new password")]
    InvalidPassword {
        /// Which rule it breaks.
        reason: PasswordError,
    },
    /// The reset could not be made.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(ResetPasswordError: StoreError, HasherError);

impl AuthService {
    /// Changes the caller's password. A wrong current password counts
    /// toward the login throttle of the account; on success every other
    /// session of the user is revoked and every reset code voided.
    ///
    /// # Errors
    /// See [`ChangePasswordError`].
    pub fn change_password(
        &self,
        who: &InSession,
        req: ChangePasswordRequest,
    ) -> Result<(), ChangePasswordError> {
        let (store, hasher) = (&*self.ports.store, &*self.ports.hasher);
        let changed = change_password(store, hasher, &self.policy, who, req, self.now());
        self.forget(who.user_id);
        changed
    }

    /// Mails a password-reset code to the account with this address, if
    /// there is one and the mail limits allow; older reset codes of the
    /// account stop working. Answers the same whether or not the account
    /// exists or a limit was reached.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub fn forgot_password(&self, email: Email, client: ClientInfo) -> Result<(), Fault> {
        let now = self.now();
        let Some(user) = self
            .ports
            .store
            .user_by_identifier(&LoginIdentifier::Email(email))?
        else {
            return Ok(());
        };
        if !self.admit_mail(&user.email, &client.ip, now, "reset")? {
            return Ok(());
        }
        let ttl = self.policy.reset_code_ttl;
        let secret = self.ports.secrets.secret();
        let code = reset_code(user.id, &secret, now, now + ttl);
        if !store_reset_code(&*self.ports.store, &code)? {
            return Ok(());
        }
        if let Err(e) = self.ports.mailer.send(&mail::compose(
            &self.app,
            &user,
            secret,
            ttl,
            now,
            mail::reset(&self.app),
        )) {
            tracing::error!(error = %e, user_id = %user.id, "reset mail not sent");
        }
        Ok(())
    }

    /// Sets a new password with a mailed reset code: the code is spent,
    /// every session of the user revoked, every other reset code voided,
    /// and a pending account validated. A new password that breaks the
    /// policy spends nothing.
    ///
    /// # Errors
    /// See [`ResetPasswordError`].
    pub fn reset_password(
        &self,
        code: &SecretString,
        new_password: SecretString,
    ) -> Result<(), ResetPasswordError> {
        let (store, hasher) = (&*self.ports.store, &*self.ports.hasher);
        let user = reset_password(store, hasher, code, new_password, self.now())?;
        self.forget(user);
        Ok(())
    }
}

fn change_password(
    store: &(impl UserStore + LoginThrottleStore + PasswordStore + ?Sized),
    hasher: &dyn PasswordHasher,
    policy: &Policy,
    who: &InSession,
    req: ChangePasswordRequest,
    now: OffsetDateTime,
) -> Result<(), ChangePasswordError> {
    let user = store
        .user_by_id(who.user_id)?
        .ok_or(ChangePasswordError::InvalidToken)?;
    check_current_password(store, hasher, policy, &user, &req, now)?;
    let password = new_password_for(req.new_password, &user)
        .map_err(|reason| ChangePasswordError::InvalidPassword { reason })?;
    let hash = hasher.hash(password.as_secret())?;
    store
        .change_password(user.id, &hash, who.session_id, now)
        .map_err(|e| match e {
            StoreError::NotFound => ChangePasswordError::InvalidToken,
            other => other.into(),
        })?;
    tracing::info!(user_id = %user.id, "password changed");
    Ok(())
}

/// Admits the attempt to the login throttle of the account, then checks
/// the current password: a wrong one stays counted as a failure, a right
/// one clears the account's failures as a login does.
fn check_current_password(
    store: &(impl LoginThrottleStore + ?Sized),
    hasher: &dyn PasswordHasher,
    policy: &Policy,
    user: &User,
    req: &ChangePasswordRequest,
    now: OffsetDateTime,
) -> Result<(), ChangePasswordError> {
    let key = account_key(user);
    admit::<ChangePasswordError>(store, policy, &key, &req.client.ip, now)?;
    match hasher.verify(&req.current_password, &user.password_hash)? {
        PasswordCheck::Match | PasswordCheck::MatchNeedsRehash => {}
        PasswordCheck::Mismatch => {
            tracing::info!(user_id = %user.id, "password change refused: bad credentials");
            return Err(ChangePasswordError::BadCredentials);
        }
    }
    store.clear_failed_logins(&key, now - policy.lockout)?;
    Ok(())
}

/// Stores a new reset code, voiding the older ones; `false` if the account
/// went away meanwhile (as if it never existed).
fn store_reset_code(
    store: &(impl CodeStore + ?Sized),
    code: &OneTimeCode,
) -> Result<bool, StoreError> {
    match store.store_newest_code(code) {
        Ok(()) => Ok(true),
        Err(StoreError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

fn reset_password(
    store: &(impl PasswordStore + ?Sized),
    hasher: &dyn PasswordHasher,
    code: &SecretString,
    new_password: SecretString,
    now: OffsetDateTime,
) -> Result<UserId, ResetPasswordError> {
    let digest = SecretDigest::of(code.expose_secret());
    // The policy needs the account; the code is spent only once the
    // password passes it, so a refused password can be tried again.
    let user = store
        .reset_code_user(&digest, now)?
        .ok_or(ResetPasswordError::InvalidCode)?;
    let password = new_password_for(new_password, &user)
        .map_err(|reason| ResetPasswordError::InvalidPassword { reason })?;
    let hash = hasher.hash(password.as_secret())?;
    let user = store
        .reset_password(&digest, &hash, now)
        .map_err(|e| match e {
            StoreError::NotFound => ResetPasswordError::InvalidCode,
            other => other.into(),
        })?;
    tracing::info!(user_id = %user.id, "password reset");
    Ok(user.id)
}

/// `candidate`, if it passes the policy for `user`'s account.
fn new_password_for(candidate: SecretString, user: &User) -> Result<Password, PasswordError> {
    Password::for_account(candidate, &user.email, user.username.as_ref())
}

/// A reset code for `user` with this secret, as stored (its digest).
fn reset_code(
    user: UserId,
    secret: &SecretString,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> OneTimeCode {
    OneTimeCode {
        digest: SecretDigest::of(secret.expose_secret()),
        kind: CodeKind::ResetPassword,
        user_id: user,
        created_at: now,
        expires_at,
    }
}
