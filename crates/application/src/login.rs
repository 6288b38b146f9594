//! Logging in, with throttling of failed attempts.

use domain::{CodeKind, Factors, LoginIdentifier, Session, SessionId, User, UserStatus};
use ports::{
    Admission, HasherError, LoginThrottleStore, PasswordCheck, PasswordHasher, SessionStore,
    StoreError, ThrottleLimits, TokenError, UserStore,
};
use secrecy::SecretString;
use time::{Duration, OffsetDateTime};

use crate::{
    error::{Fault, faults_from},
    mail_limits::digest_hex,
    service::{AuthService, Policy},
    tokens::{Tokens, grant, new_refresh_token},
};

/// Where a request came from.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The client's address (the peer's, or the one a trusted proxy forwarded).
    pub ip: String,
    /// The client's `User-Agent`, if it sent one.
    pub user_agent: Option<String>,
}

/// A login attempt.
#[derive(Debug)]
pub struct LoginRequest {
    /// Username, e-mail address or phone, as typed.
    pub identifier: String,
    /// The password, as typed.
    pub password: SecretString,
    /// Where the attempt came from.
    pub client: ClientInfo,
}

/// Why a login did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Too many failed logins for the account or the client address.
    #[error("too many attempts")]
    TooManyAttempts {
        /// Seconds until a login may be tried again.
        retry_after: u64,
    },
    /// Wrong identifier or password: one answer for both.
    #[error("bad credentials")]
    BadCredentials,
    /// The password was right but the e-mail address is not validated.
    #[error("account not validated")]
    NotValidated {
        /// A single-use code for asking for a new validation mail.
        resend_code: SecretString,
    },
    /// The password was right but the account is disabled.
    #[error("inactive account")]
    InactiveAccount,
    /// The password was right; a second factor must follow, at
    /// `/login/mfa` with this challenge.
    #[error("mfa required")]
    MfaRequired {
        /// The single-use challenge that stands for the right password.
        mfa_token: SecretString,
    },
    /// The attempt could not be judged.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(LoginError: StoreError, HasherError, TokenError);

impl AuthService {
    /// Logs a user in by username, e-mail address or phone.
    ///
    /// The password is checked before the account's status is revealed, and
    /// an unknown identifier costs one full password verification too.
    ///
    /// # Errors
    /// See [`LoginError`].
    pub fn login(&self, req: LoginRequest) -> Result<Tokens, LoginError> {
        let now = self.now();
        let user = check_credentials(
            &*self.ports.store,
            &*self.ports.hasher,
            &self.policy,
            &req,
            now,
        )?;
        let user = match user.status {
            UserStatus::Active if second_factor_follows(&user) => {
                let mfa_token = self.challenge(&user, now)?;
                tracing::info!(user_id = %user.id, "password right; second factor required");
                return Err(LoginError::MfaRequired { mfa_token });
            }
            UserStatus::Active => user,
            UserStatus::PendingValidation => {
                let resend_code = self.codes(now).issue(
                    user.id,
                    CodeKind::ResendValidation,
                    self.policy.validation_code_ttl,
                )?;
                return Err(LoginError::NotValidated { resend_code });
            }
            UserStatus::Inactive => return Err(LoginError::InactiveAccount),
        };
        let tokens = self.open_session(user, Factors::Password, req.client, now, || {
            LoginError::BadCredentials
        })?;
        tracing::info!(user_id = %tokens.user.id, "user logged in");
        Ok(tokens)
    }

    /// Opens a session for `user`, who logged in with `factors`, and grants
    /// its first tokens; `gone` is the failure when the account no longer
    /// exists.
    pub(crate) fn open_session<E>(
        &self,
        user: User,
        factors: Factors,
        client: ClientInfo,
        now: OffsetDateTime,
        gone: impl FnOnce() -> E,
    ) -> Result<Tokens, E>
    where
        E: From<StoreError> + From<Fault>,
    {
        let sessions: &dyn SessionStore = &*self.ports.store;
        let expires_at = self.policy.session_lifetime().next_refresh_expiry(now, now);
        let first = new_refresh_token(&*self.ports.secrets, expires_at);
        let session = Session {
            id: SessionId::generate(),
            user_id: user.id,
            created_at: now,
            last_used_at: now,
            expires_at: first.1.expires_at,
            revoked_at: None,
            user_agent: client.user_agent,
            ip: Some(client.ip),
            factors,
        };
        sessions
            .create_session(&session, &first.1)
            .map_err(|e| match e {
                StoreError::NotFound => gone(),
                other => other.into(),
            })?;
        let access_ttl = self.policy.access_ttl;
        Ok(grant(
            &*self.ports.tokens,
            access_ttl,
            user,
            &session,
            first,
            now,
        )?)
    }
}

/// The account an identifier and password name, after throttling: a user
/// of any status, for a right password only.
fn check_credentials(
    store: &(impl UserStore + LoginThrottleStore + ?Sized),
    hasher: &dyn PasswordHasher,
    policy: &Policy,
    req: &LoginRequest,
    now: OffsetDateTime,
) -> Result<User, LoginError> {
    let user = match LoginIdentifier::parse(&req.identifier) {
        Some(identifier) => store.user_by_identifier(&identifier)?,
        None => None,
    };
    let account_key = throttle_key(user.as_ref(), &req.identifier);
    admit::<LoginError>(store, policy, &account_key, &req.client.ip, now)?;
    judge_admitted(store, hasher, policy, user, req, &account_key, now).inspect_err(|e| {
        if matches!(e, LoginError::Fault(_)) {
            withdraw_after_fault(store, &account_key, &req.client.ip, now);
        }
    })
}

/// An attempt that ended in a fault (the database lost, the hasher
/// failing) was not judged: its record, made as a failure when it was
/// admitted, goes, or a database hiccup would count against the user's
/// right password. If the database is still away the record stays, and
/// is logged.
fn withdraw_after_fault(
    store: &(impl LoginThrottleStore + ?Sized),
    account_key: &str,
    ip: &str,
    now: OffsetDateTime,
) {
    if let Err(error) = store.withdraw_attempt(account_key, ip, now) {
        tracing::warn!(%error, "an attempt that ended in a fault stays counted as a failure");
    }
}

/// The rest of [`check_credentials`], once the attempt is admitted (and
/// recorded as a failure).
fn judge_admitted(
    store: &(impl UserStore + LoginThrottleStore + ?Sized),
    hasher: &dyn PasswordHasher,
    policy: &Policy,
    user: Option<User>,
    req: &LoginRequest,
    account_key: &str,
    now: OffsetDateTime,
) -> Result<User, LoginError> {
    let check = match &user {
        Some(user) => hasher.verify(&req.password, &user.password_hash)?,
        None => {
            hasher.verify_dummy(&req.password);
            PasswordCheck::Mismatch
        }
    };
    let user = match (user, check) {
        (Some(user), PasswordCheck::Match | PasswordCheck::MatchNeedsRehash) => user,
        // The attempt was recorded as a failure when it was admitted.
        _ => {
            tracing::info!("login failed: bad credentials");
            return Err(LoginError::BadCredentials);
        }
    };
    if second_factor_follows(&user) {
        // Neither a failure nor a success: the attempt's record goes, and
        // the failures before it (wrong codes too) stay counted.
        store.withdraw_attempt(account_key, &req.client.ip, now)?;
    } else {
        store.clear_failed_logins(account_key, now - policy.lockout)?;
    }
    if check == PasswordCheck::MatchNeedsRehash && user.status == UserStatus::Active {
        let hash = hasher.hash(&req.password)?;
        store
            .set_password_hash(user.id, &hash, now)
            .map_err(account_gone)?;
    }
    Ok(user)
}

/// Whether a right password for `user` must be followed by a second
/// factor before the login succeeds.
fn second_factor_follows(user: &User) -> bool {
    user.status == UserStatus::Active && user.mfa_enabled
}

/// An account that vanished in the middle of a login is as good as unknown.
fn account_gone(e: StoreError) -> LoginError {
    match e {
        StoreError::NotFound => LoginError::BadCredentials,
        other => other.into(),
    }
}

/// A login attempt refused by the throttle: seconds until a slot frees.
pub(crate) struct Throttled(pub(crate) u64);

impl From<Throttled> for LoginError {
    fn from(Throttled(retry_after): Throttled) -> Self {
        Self::TooManyAttempts { retry_after }
    }
}

/// Admits a login attempt, or refuses it with the seconds until the
/// limit that was reached frees a slot.
pub(crate) fn admit<E: From<StoreError> + From<Throttled>>(
    throttle: &(impl LoginThrottleStore + ?Sized),
    policy: &Policy,
    account: &str,
    ip: &str,
    now: OffsetDateTime,
) -> Result<(), E> {
    let window = policy.lockout;
    let limits = ThrottleLimits {
        per_account: policy.max_failed_logins,
        per_ip: policy.max_failed_logins_per_ip,
    };
    match throttle.admit_login(account, ip, now, now - window, limits)? {
        Admission::Admitted => Ok(()),
        Admission::Refused { frees_at } => {
            let wait = retry_after(frees_at, window, now);
            tracing::warn!(retry_after = wait, "login throttled");
            metrics::counter!("authd_throttle_rejections_total", "kind" => "login").increment(1);
            Err(Throttled(wait).into())
        }
    }
}

/// Seconds from `now` until a record made at `frees_at` leaves a window
/// of `window`: it counts while at most `window` old, so it stops counting
/// one second after that, in whole seconds.
pub(crate) fn retry_after(frees_at: OffsetDateTime, window: Duration, now: OffsetDateTime) -> u64 {
    let wait = (frees_at + window - now).whole_seconds().max(0) + 1;
    u64::try_from(wait).unwrap_or(1)
}

/// The throttling key of an attempt: the account when the identifier names
/// one (so its e-mail, username and phone share one counter), otherwise a
/// digest of the identifier as typed (bounded, whatever its length).
fn throttle_key(user: Option<&User>, identifier: &str) -> String {
    match user {
        Some(user) => account_key(user),
        None => format!("unknown:{}", digest_hex(&identifier.trim().to_lowercase())),
    }
}

/// The throttling key of an account.
pub(crate) fn account_key(user: &User) -> String {
    format!("user:{}", user.id)
}
