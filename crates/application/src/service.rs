use std::sync::Arc;

use domain::{CodeKind, SecretDigest, User, UserId};
use ports::{
    Clock, Mailer, OneTimeCode, PasswordHasher, PublicJwk, SecretGenerator, Store, TokenIssuer,
};
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};

use crate::{AppError, mail};

/// The adapters a service works through.
#[derive(Clone)]
pub struct Ports {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Access-token signing and verification.
    pub tokens: Arc<dyn TokenIssuer>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Outgoing mail.
    pub mailer: Arc<dyn Mailer>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Secret generation.
    pub secrets: Arc<dyn SecretGenerator>,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ports")
    }
}

/// The tunable rules of the service.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Access-token lifetime.
    pub access_ttl: Duration,
    /// Refresh-token (and idle session) lifetime.
    pub refresh_ttl: Duration,
    /// How long a just-spent refresh token may be replayed.
    pub refresh_reuse_grace: Duration,
    /// Lifetime of e-mail validation codes.
    pub validation_code_ttl: Duration,
    /// Lifetime of password reset codes.
    pub reset_code_ttl: Duration,
    /// Failed logins per account within `lockout` before throttling.
    pub max_failed_logins: u32,
    /// Failed logins per client address within `lockout` before throttling.
    pub max_failed_logins_per_ip: u32,
    /// The throttling window.
    pub lockout: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            access_ttl: Duration::seconds(900),
            refresh_ttl: Duration::days(30),
            refresh_reuse_grace: Duration::ZERO,
            validation_code_ttl: Duration::hours(24),
            reset_code_ttl: Duration::minutes(30),
            max_failed_logins: 5,
            max_failed_logins_per_ip: 20,
            lockout: Duration::minutes(15),
        }
    }
}

/// The authentication service: every use case, over its ports.
#[derive(Debug, Clone)]
pub struct AuthService {
    pub(crate) ports: Ports,
    pub(crate) policy: Policy,
}

impl AuthService {
    /// A service over `ports`, following `policy`.
    pub fn new(ports: Ports, policy: Policy) -> Self {
        Self { ports, policy }
    }

    /// The service's policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The public keys that verify access tokens, for the JWKS.
    pub fn public_keys(&self) -> Vec<PublicJwk> {
        self.ports.tokens.public_keys()
    }

    /// Whether storage answers.
    ///
    /// # Errors
    /// [`AppError::Unavailable`] when it does not.
    pub fn ready(&self) -> Result<(), AppError> {
        Ok(self.ports.store.ping()?)
    }

    /// Now, at the microsecond precision every store keeps, so a value
    /// answered at once reads back the same later.
    pub(crate) fn now(&self) -> OffsetDateTime {
        let now = self.ports.clock.now();
        now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .unwrap_or(now)
    }

    /// Makes, stores and returns a new one-time code for `user`.
    pub(crate) fn new_code(
        &self,
        user: UserId,
        kind: CodeKind,
        ttl: Duration,
    ) -> Result<SecretString, AppError> {
        let secret = self.ports.secrets.secret();
        let now = self.now();
        self.ports.store.store_code(&OneTimeCode {
            digest: SecretDigest::of(secret.expose_secret()),
            kind,
            user_id: user,
            created_at: now,
            expires_at: now + ttl,
        })?;
        Ok(secret)
    }

    /// Mails `user` a fresh e-mail validation code. A mail failure is logged,
    /// not returned: the account exists and the user can ask again.
    pub(crate) fn send_validation_mail(&self, user: &User) -> Result<(), AppError> {
        let ttl = self.policy.validation_code_ttl;
        let code = self.new_code(user.id, CodeKind::ValidateEmail, ttl)?;
        let mail = mail::validation(user, code, ttl, self.now());
        if let Err(e) = self.ports.mailer.send(&mail) {
            tracing::error!(error = %e, user_id = %user.id, "validation mail not sent");
        }
        Ok(())
    }
}
