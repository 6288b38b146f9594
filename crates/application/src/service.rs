use std::sync::Arc;

use domain::{SessionLifetime, UserId};
use ports::{
    Change, ChangeFeed, ChangeListener, Clock, Mailer, PasswordHasher, PublicJwk,
    RefreshTokenDeriver, SecretGenerator, SecretSealer, Store, TokenIssuer, TotpAuthenticator,
};
use time::{Duration, OffsetDateTime};

use crate::{
    error::Fault,
    mail::AppInfo,
    readiness::DatabaseWatch,
    recall::{ReadThrough, Recall, Remembered},
};

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
    /// Refresh-token successors.
    pub refresh_tokens: Arc<dyn RefreshTokenDeriver>,
    /// One-time passwords (TOTP).
    pub totp: Arc<dyn TotpAuthenticator>,
    /// Sealing of the secrets stored that the server must read back.
    pub sealer: Arc<dyn SecretSealer>,
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
    /// How long after its first spending a refresh token may be presented
    /// again and get the same successor (zero: never).
    pub refresh_reuse_grace: Duration,
    /// Lifetime of e-mail validation codes.
    pub validation_code_ttl: Duration,
    /// Lifetime of password reset codes.
    pub reset_code_ttl: Duration,
    /// Lifetime of invitation codes.
    pub invite_code_ttl: Duration,
    /// Failed logins per account within `lockout` before throttling.
    pub max_failed_logins: u32,
    /// Failed logins per client address within `lockout` before throttling.
    pub max_failed_logins_per_ip: u32,
    /// The throttling window.
    pub lockout: Duration,
    /// How long a session may live from its login, however often it is
    /// refreshed.
    pub session_max_age: Duration,
    /// Mails (sign-up, resend, forgot) one recipient may be sent within
    /// `mail_window`; past it they are skipped.
    pub max_mails_per_recipient: u32,
    /// Mails one client address may cause within `mail_window`.
    pub max_mails_per_ip: u32,
    /// The mail-limit window.
    pub mail_window: Duration,
    /// API keys one user may hold.
    pub max_api_keys: u32,
    /// How often a busy API key's use is recorded, at most.
    pub api_key_use_interval: Duration,
    /// How long the challenge of a login that a second factor must follow
    /// stays usable.
    pub mfa_challenge_ttl: Duration,
}

impl Policy {
    /// The lifetimes of a session and its refresh tokens.
    pub fn session_lifetime(&self) -> SessionLifetime {
        SessionLifetime {
            refresh_ttl: self.refresh_ttl,
            max_age: self.session_max_age,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            access_ttl: Duration::seconds(900),
            refresh_ttl: Duration::days(30),
            refresh_reuse_grace: Duration::seconds(10),
            validation_code_ttl: Duration::hours(24),
            reset_code_ttl: Duration::minutes(30),
            invite_code_ttl: Duration::days(7),
            max_failed_logins: 5,
            max_failed_logins_per_ip: 20,
            lockout: Duration::minutes(15),
            session_max_age: Duration::days(90),
            max_mails_per_recipient: 5,
            max_mails_per_ip: 20,
            mail_window: Duration::hours(1),
            max_api_keys: 100,
            api_key_use_interval: Duration::minutes(1),
            mfa_challenge_ttl: Duration::minutes(5),
        }
    }
}

/// The authentication service: every use case, over its ports.
#[derive(Debug, Clone)]
pub struct AuthService {
    pub(crate) ports: Ports,
    pub(crate) policy: Policy,
    /// What the mails say about the product.
    pub(crate) app: AppInfo,
    /// The database watch readiness reads, if started.
    pub(crate) watch: Option<Arc<DatabaseWatch>>,
    /// What this instance remembers of the callers it checked.
    pub(crate) recall: Arc<Recall>,
    /// The store's change feed, if started: it runs for as long as the
    /// service (and its clones) live.
    pub(crate) feed: Option<Arc<ChangeFeed>>,
}

impl AuthService {
    /// A service over `ports`, following `policy`.
    /// Its mails name the product [`AppInfo::default`]; see
    /// [`AuthService::with_app`].
    pub fn new(ports: Ports, policy: Policy) -> Self {
        Self {
            ports,
            policy,
            app: AppInfo::default(),
            watch: None,
            recall: Arc::default(),
            feed: None,
        }
    }

    /// The same service, its mails naming the product `app`.
    #[must_use]
    pub fn with_app(self, app: AppInfo) -> Self {
        Self { app, ..self }
    }

    /// The service's policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The same service, remembering what the store says of the callers
    /// it checks while the store's change feed tells it what other
    /// instances change (see [`ports::Store::watch_changes`]). Without a
    /// feed, a service remembers only verified access tokens.
    ///
    /// # Errors
    /// The feed could not be started.
    pub fn with_change_feed(self) -> Result<Self, Fault> {
        let listener = Arc::clone(&self.recall) as Arc<dyn ChangeListener>;
        let feed = self.ports.store.watch_changes(listener)?;
        Ok(Self {
            feed: Some(Arc::new(feed)),
            ..self
        })
    }

    /// Forgets, on this instance, what it remembers of `user`: for a use
    /// case that changed their sessions, keys, standing or memberships.
    /// Other instances learn of it from the store's change feed.
    pub(crate) fn forget(&self, user: UserId) {
        self.recall.forget(Change::Account(user));
    }

    /// What this instance remembers, once the change feed has told every
    /// change that has arrived.
    pub(crate) fn remembered(&self) -> Remembered<'_> {
        Remembered {
            recall: &self.recall,
            caught_up: self.feed.as_ref().is_some_and(|feed| feed.catch_up()),
        }
    }

    /// Caller reads that remember what the store answers.
    pub(crate) fn read_through(&self) -> ReadThrough<'_> {
        ReadThrough::new(self.remembered(), &*self.ports.store, &*self.ports.tokens)
    }

    /// The public keys that verify access tokens, for the JWKS.
    pub fn public_keys(&self) -> Vec<PublicJwk> {
        self.ports.tokens.public_keys()
    }

    /// Now, at the microsecond precision every store keeps, so a value
    /// answered at once reads back the same later.
    pub(crate) fn now(&self) -> OffsetDateTime {
        let now = self.ports.clock.now();
        now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .unwrap_or(now)
    }
}
