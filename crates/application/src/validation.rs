//! E-mail validation: the codes that prove an address, and the mails that
//! carry them.

use domain::{CodeKind, Email, LoginIdentifier, SecretDigest, User, UserId, UserStatus};
use ports::{CodeStore, Mailer, OneTimeCode, SecretGenerator, StoreError, UserStore};
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};

use crate::{
    ClientInfo,
    error::{Fault, faults_from},
    mail,
    service::AuthService,
};

/// How a client asks for a new validation mail.
#[derive(Debug)]
pub enum ResendBy {
    /// The `resend_code` a login answered with.
    Code(SecretString),
    /// The account's e-mail address.
    Email(Email),
}

/// Why an e-mail address was not validated.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// The code is unknown, spent or expired.
    #[error("invalid code")]
    InvalidCode,
    /// The store failed.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(ValidateError: StoreError);

/// Hands out one-time codes: only their digests are stored.
pub(crate) struct Codes<'a> {
    pub(crate) store: &'a dyn CodeStore,
    pub(crate) secrets: &'a dyn SecretGenerator,
    pub(crate) now: OffsetDateTime,
    /// What the mails say about the product.
    pub(crate) app: &'a mail::AppInfo,
}

impl Codes<'_> {
    /// A new secret, and the code that stores its digest, of `kind` for
    /// `user`, living `ttl` from now.
    pub(crate) fn make(
        &self,
        user: UserId,
        kind: CodeKind,
        ttl: Duration,
    ) -> (SecretString, OneTimeCode) {
        let secret = self.secrets.secret();
        let code = OneTimeCode {
            digest: SecretDigest::of(secret.expose_secret()),
            kind,
            user_id: user,
            created_at: self.now,
            expires_at: self.now + ttl,
        };
        (secret, code)
    }

    /// Makes, stores and returns a new code of `kind` for `user`.
    pub(crate) fn issue(
        &self,
        user: UserId,
        kind: CodeKind,
        ttl: Duration,
    ) -> Result<SecretString, StoreError> {
        let (secret, code) = self.make(user, kind, ttl);
        self.store.store_code(&code)?;
        Ok(secret)
    }

    /// Mails `user` a fresh validation code that lives `ttl`; the user's
    /// older validation codes stop working. A mail failure is logged, not
    /// returned: the account exists and the user can ask again.
    pub(crate) fn mail_validation(
        &self,
        mailer: &dyn Mailer,
        user: &User,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let (code, stored) = self.make(user.id, CodeKind::ValidateEmail, ttl);
        self.store.store_newest_code(&stored)?;
        self.mail_validation_code(mailer, user, code, ttl);
        Ok(())
    }

    /// Mails `user` the validation `code`, which lives `ttl`. A mail
    /// failure is logged, not returned: the account exists and the user can
    /// ask again.
    pub(crate) fn mail_validation_code(
        &self,
        mailer: &dyn Mailer,
        user: &User,
        code: SecretString,
        ttl: Duration,
    ) {
        if let Err(e) = mailer.send(&mail::compose(
            self.app,
            user,
            code,
            ttl,
            self.now,
            mail::validation(self.app),
        )) {
            tracing::error!(error = %e, user_id = %user.id, "validation mail not sent");
        }
    }
}

impl AuthService {
    /// The code maker of a use case running at `now`.
    pub(crate) fn codes(&self, now: OffsetDateTime) -> Codes<'_> {
        Codes {
            store: &*self.ports.store,
            secrets: &*self.ports.secrets,
            now,
            app: &self.app,
        }
    }

    /// Spends an e-mail validation code and activates its account.
    ///
    /// # Errors
    /// See [`ValidateError`].
    pub fn validate_email(&self, code: &str) -> Result<User, ValidateError> {
        let user = validate_email(&*self.ports.store, code, self.now())?;
        self.forget(user.id);
        Ok(user)
    }

    /// Mails a new validation code to a pending account, within the mail
    /// limits; the older codes stop working. Answers the same whether or
    /// not the account exists, is pending, the code is valid, or a limit
    /// was reached.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub fn resend_validation(&self, by: ResendBy, client: ClientInfo) -> Result<(), Fault> {
        let now = self.now();
        let Some(user) = pending_user(&*self.ports.store, by, now)? else {
            return Ok(());
        };
        Ok(self.send_validation(&user, &client.ip, now)?)
    }
}

fn validate_email(
    codes: &dyn CodeStore,
    code: &str,
    now: OffsetDateTime,
) -> Result<User, ValidateError> {
    let user = codes
        .validate_email(&SecretDigest::of(code), now)
        .map_err(|e| match e {
            StoreError::NotFound => ValidateError::InvalidCode,
            other => other.into(),
        })?;
    tracing::info!(user_id = %user.id, "e-mail validated");
    Ok(user)
}

/// The pending account a resend request names, if there is one.
fn pending_user(
    store: &(impl UserStore + CodeStore + ?Sized),
    by: ResendBy,
    now: OffsetDateTime,
) -> Result<Option<User>, StoreError> {
    let user = match by {
        ResendBy::Code(code) => {
            let digest = SecretDigest::of(code.expose_secret());
            match store.consume_code(&digest, CodeKind::ResendValidation, now) {
                Ok(c) => store.user_by_id(c.user_id)?,
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e),
            }
        }
        ResendBy::Email(email) => store.user_by_identifier(&LoginIdentifier::Email(email))?,
    };
    Ok(user.filter(|u| u.status == UserStatus::PendingValidation))
}
