//! Two-factor login with TOTP: enrolment, the second step of a login,
//! recovery codes, turning it off (by the user, or by an administrator).

use domain::{
    Email, Factors, LoginIdentifier, PasswordHash, RecoveryCode, SealedSecret, SecretDigest,
    TimeStep, TotpSecret, User, UserId, UserStatus,
};
use ports::{
    HasherError, MfaChallenge, MfaStore, PasswordCheck, SealError, StoreError, TotpEnrolment,
    TotpError, UserStore,
};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use crate::{
    admin::Admin,
    authenticate::InSession,
    error::{Fault, faults_from},
    login::{ClientInfo, Throttled, account_key, admit},
    service::AuthService,
    tokens::Tokens,
};

/// What proves the second factor at login.
#[derive(Debug)]
pub enum SecondFactor {
    /// A code from the authenticator app.
    Code(SecretString),
    /// One of the recovery codes.
    RecoveryCode(SecretString),
}

/// What proves the user before TOTP goes off.
#[derive(Debug)]
pub enum DisableProof {
    /// The account's password.
    Password(SecretString),
    /// A current code from the authenticator app.
    Code(SecretString),
}

/// Why TOTP could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupTotpError {
    /// TOTP is on already: turn it off first (with the password or a
    /// code), so that nobody holding only a session can swap the second
    /// factor.
    #[error("mfa already enabled")]
    AlreadyEnabled,
    /// The account behind a valid token no longer exists.
    #[error("invalid token")]
    InvalidToken,
    /// The enrolment could not be made.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(SetupTotpError: StoreError);

/// Why the setup was not confirmed.
#[derive(Debug, thiserror::Error)]
pub enum TotpCodeError {
    /// The code is wrong, used already, or there is nothing to confirm
    /// (nothing set up, or TOTP is on already).
    #[error("invalid code")]
    InvalidCode,
    /// Too many wrong codes or passwords for the account lately.
    #[error("too many attempts")]
    TooManyAttempts {
        /// Seconds until another try.
        retry_after: u64,
    },
    /// The account behind a valid token no longer exists.
    #[error("invalid token")]
    InvalidToken,
    /// The check could not be made.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(TotpCodeError: StoreError);

impl From<Throttled> for TotpCodeError {
    fn from(Throttled(retry_after): Throttled) -> Self {
        Self::TooManyAttempts { retry_after }
    }
}

/// Why no new recovery codes were made.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryCodesError {
    /// The code is wrong or used already, or TOTP is off.
    #[error("invalid mfa code")]
    InvalidMfaCode,
    /// Too many wrong codes or passwords for the account lately.
    #[error("too many attempts")]
    TooManyAttempts {
        /// Seconds until another try.
        retry_after: u64,
    },
    /// The account behind a valid token no longer exists.
    #[error("invalid token")]
    InvalidToken,
    /// The codes could not be made.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(RecoveryCodesError: StoreError);

impl From<Throttled> for RecoveryCodesError {
    fn from(Throttled(retry_after): Throttled) -> Self {
        Self::TooManyAttempts { retry_after }
    }
}

/// Why TOTP was not turned off.
#[derive(Debug, thiserror::Error)]
pub enum DisableTotpError {
    /// The password is wrong.
    #[error("bad credentials")]
    BadCredentials,
    /// The code is wrong or used already.
    #[error("invalid mfa code")]
    InvalidMfaCode,
    /// Too many wrong codes or passwords for the account lately.
    #[error("too many attempts")]
    TooManyAttempts {
        /// Seconds until another try.
        retry_after: u64,
    },
    /// The account behind a valid token no longer exists.
    #[error("invalid token")]
    InvalidToken,
    /// The change could not be made.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(DisableTotpError: StoreError, HasherError);

impl From<Throttled> for DisableTotpError {
    fn from(Throttled(retry_after): Throttled) -> Self {
        Self::TooManyAttempts { retry_after }
    }
}

/// Why the second step of a login did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum LoginMfaError {
    /// The challenge is unknown, spent or expired (or its account can no
    /// longer log in).
    #[error("invalid token")]
    InvalidToken,
    /// The code or recovery code is wrong, or used already.
    #[error("invalid mfa code")]
    InvalidMfaCode,
    /// Too many wrong passwords or codes for the account lately.
    #[error("too many attempts")]
    TooManyAttempts {
        /// Seconds until another try.
        retry_after: u64,
    },
    /// The login could not be completed.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(LoginMfaError: StoreError);

impl From<Throttled> for LoginMfaError {
    fn from(Throttled(retry_after): Throttled) -> Self {
        Self::TooManyAttempts { retry_after }
    }
}

/// Why an administrator could not turn a user's TOTP off.
#[derive(Debug, thiserror::Error)]
pub enum ResetMfaError {
    /// No account has this id (or e-mail address).
    #[error("not found")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(ResetMfaError: StoreError);

impl From<SealError> for Fault {
    fn from(e: SealError) -> Self {
        Self::Internal(Box::new(e))
    }
}

impl From<TotpError> for Fault {
    fn from(e: TotpError) -> Self {
        Self::Internal(Box::new(e))
    }
}

/// What a TOTP secret of `user` is sealed for: it opens for that user only.
fn purpose(user: UserId) -> Vec<u8> {
    format!("authd totp secret v1 {user}").into_bytes()
}

impl AuthService {
    /// Starts an enrolment: a new secret, pending until a code of it
    /// confirms it, replacing a pending one; TOTP in force stays so.
    ///
    /// # Errors
    /// See [`SetupTotpError`].
    pub fn setup_totp(&self, who: &InSession) -> Result<TotpEnrolment, SetupTotpError> {
        let store = &*self.ports.store;
        let user = store
            .user_by_id(who.user_id)?
            .ok_or(SetupTotpError::InvalidToken)?;
        if store.totp_state(user.id)?.active.is_some() {
            return Err(SetupTotpError::AlreadyEnabled);
        }
        let secret = self.ports.totp.new_secret();
        let enrolment = self
            .ports
            .totp
            .enrolment(&secret, user.email.as_str(), &self.app.name)
            .map_err(Fault::from)?;
        let sealed = self
            .ports
            .sealer
            .seal(secret.as_bytes(), &purpose(user.id))
            .map_err(Fault::from)?;
        store
            .set_pending_totp(user.id, &sealed, self.now())
            .map_err(|e| match e {
                StoreError::NotFound => SetupTotpError::InvalidToken,
                other => other.into(),
            })?;
        tracing::info!(user_id = %user.id, "TOTP set up, pending confirmation");
        Ok(enrolment)
    }

    /// Confirms the pending secret with a code of it: TOTP is required at
    /// login from now on. Returns the recovery codes, shown only here.
    /// Wrong codes count toward the account's login throttle, as every
    /// code does.
    ///
    /// # Errors
    /// See [`TotpCodeError`].
    pub fn confirm_totp(
        &self,
        who: &InSession,
        code: &SecretString,
        client: &ClientInfo,
    ) -> Result<Vec<RecoveryCode>, TotpCodeError> {
        let store = &*self.ports.store;
        let now = self.now();
        let user = store
            .user_by_id(who.user_id)?
            .ok_or(TotpCodeError::InvalidToken)?;
        let key = account_key(&user);
        admit::<TotpCodeError>(store, &self.policy, &key, &client.ip, now)?;
        let pending = store
            .totp_state(who.user_id)?
            .pending
            .ok_or(TotpCodeError::InvalidCode)?;
        let step = self
            .step_of(who.user_id, &pending, code.expose_secret(), now)?
            .ok_or(TotpCodeError::InvalidCode)?;
        let codes = self.recovery_codes();
        let digests: Vec<SecretDigest> = codes.iter().map(|c| c.digest(user.id)).collect();
        let confirmed = store.confirm_totp(who.user_id, &pending, step, &digests, now);
        self.forget(who.user_id);
        if !confirmed? {
            return Err(TotpCodeError::InvalidCode);
        }
        // A right code here proves no more than the session did: only a
        // login clears the account's failures.
        store.withdraw_attempt(&key, &client.ip, now)?;
        tracing::info!(user_id = %who.user_id, "TOTP confirmed: required at login");
        Ok(codes)
    }

    /// A fresh set of recovery codes, for a current code; the older set
    /// stops working. Wrong codes count toward the account's login
    /// throttle.
    ///
    /// # Errors
    /// See [`RecoveryCodesError`].
    pub fn new_recovery_codes(
        &self,
        who: &InSession,
        code: &SecretString,
        client: &ClientInfo,
    ) -> Result<Vec<RecoveryCode>, RecoveryCodesError> {
        let store = &*self.ports.store;
        let now = self.now();
        let user = store
            .user_by_id(who.user_id)?
            .ok_or(RecoveryCodesError::InvalidToken)?;
        let key = account_key(&user);
        admit::<RecoveryCodesError>(store, &self.policy, &key, &client.ip, now)?;
        if !self.accept_code(user.id, code.expose_secret(), now)? {
            return Err(RecoveryCodesError::InvalidMfaCode);
        }
        store.withdraw_attempt(&key, &client.ip, now)?;
        let codes = self.recovery_codes();
        let digests: Vec<SecretDigest> = codes.iter().map(|c| c.digest(user.id)).collect();
        store.replace_recovery_codes(user.id, &digests, now)?;
        tracing::info!(user_id = %user.id, "new recovery codes");
        Ok(codes)
    }

    /// Turns TOTP off, for the password or a current code: the secret and
    /// the recovery codes go, and every other session of the user ends.
    /// Wrong passwords and codes count toward the account's login throttle.
    ///
    /// # Errors
    /// See [`DisableTotpError`].
    pub fn disable_totp(
        &self,
        who: &InSession,
        proof: DisableProof,
        client: &ClientInfo,
    ) -> Result<(), DisableTotpError> {
        let store = &*self.ports.store;
        let now = self.now();
        let user = store
            .user_by_id(who.user_id)?
            .ok_or(DisableTotpError::InvalidToken)?;
        let key = account_key(&user);
        admit::<DisableTotpError>(store, &self.policy, &key, &client.ip, now)?;
        match proof {
            DisableProof::Password(password) => {
                if !self.password_matches(&password, &user.password_hash)? {
                    return Err(DisableTotpError::BadCredentials);
                }
            }
            DisableProof::Code(code) => {
                if !self.accept_code(user.id, code.expose_secret(), now)? {
                    return Err(DisableTotpError::InvalidMfaCode);
                }
            }
        }
        store.withdraw_attempt(&key, &client.ip, now)?;
        let disabled = store.disable_totp(user.id, Some(who.session_id), now);
        self.forget(user.id);
        disabled.map_err(|e| match e {
            StoreError::NotFound => DisableTotpError::InvalidToken,
            other => other.into(),
        })?;
        tracing::info!(user_id = %user.id, "TOTP turned off by the user");
        Ok(())
    }

    /// Turns a user's TOTP off as an administrator (a lost phone): the
    /// secret and recovery codes go, and every session of the user ends.
    ///
    /// # Errors
    /// See [`ResetMfaError`].
    pub fn reset_mfa(&self, admin: &Admin, user: UserId) -> Result<(), ResetMfaError> {
        let store: &dyn MfaStore = &*self.ports.store;
        let disabled = store.disable_totp(user, None, self.now());
        self.forget(user);
        disabled.map_err(|e| match e {
            StoreError::NotFound => ResetMfaError::NotFound,
            other => other.into(),
        })?;
        tracing::info!(user_id = %user, by = %admin.describe(), "TOTP turned off by an administrator");
        Ok(())
    }

    /// [`AuthService::reset_mfa`] for the account with this e-mail address.
    ///
    /// # Errors
    /// See [`ResetMfaError`].
    pub fn reset_mfa_by_email(
        &self,
        admin: &Admin,
        email: &Email,
    ) -> Result<UserId, ResetMfaError> {
        let users: &dyn UserStore = &*self.ports.store;
        let user = users
            .user_by_identifier(&LoginIdentifier::Email(email.clone()))?
            .ok_or(ResetMfaError::NotFound)?;
        self.reset_mfa(admin, user.id)?;
        Ok(user.id)
    }

    /// The second step of a login: the challenge of the first and a code
    /// (or a recovery code). Wrong codes count toward the account's login
    /// throttle; the challenge stays usable until it succeeds or expires.
    ///
    /// # Errors
    /// See [`LoginMfaError`].
    pub fn login_mfa(
        &self,
        mfa_token: &SecretString,
        proof: SecondFactor,
        client: ClientInfo,
    ) -> Result<Tokens, LoginMfaError> {
        let store = &*self.ports.store;
        let now = self.now();
        let digest = SecretDigest::of(mfa_token.expose_secret());
        let user_id = store
            .mfa_challenge_user(&digest, now)?
            .ok_or(LoginMfaError::InvalidToken)?;
        let user = match store.user_by_id(user_id)? {
            Some(user) if user.status == UserStatus::Active && user.mfa_enabled => user,
            _ => return Err(LoginMfaError::InvalidToken),
        };
        let key = account_key(&user);
        admit::<LoginMfaError>(store, &self.policy, &key, &client.ip, now)?;
        let proven = match &proof {
            SecondFactor::Code(code) => self.accept_code(user.id, code.expose_secret(), now)?,
            SecondFactor::RecoveryCode(typed) => {
                let digest = RecoveryCode::digest_for(user.id, typed.expose_secret());
                store.use_recovery_code(user.id, &digest, now)?
            }
        };
        if !proven {
            tracing::info!(user_id = %user.id, "login failed: wrong second factor");
            return Err(LoginMfaError::InvalidMfaCode);
        }
        if !store.spend_mfa_challenge(&digest, now)? {
            return Err(LoginMfaError::InvalidToken);
        }
        store.clear_failed_logins(&key, now - self.policy.lockout)?;
        if matches!(proof, SecondFactor::RecoveryCode(_)) {
            tracing::warn!(user_id = %user.id, "logged in with a recovery code");
        }
        let tokens = self.open_session(user, Factors::PasswordAndOtp, client, now, || {
            LoginMfaError::InvalidToken
        })?;
        tracing::info!(user_id = %tokens.user.id, "user logged in with a second factor");
        Ok(tokens)
    }

    /// Makes and stores a login challenge for `user`; returns its token.
    pub(crate) fn challenge(
        &self,
        user: &User,
        now: OffsetDateTime,
    ) -> Result<SecretString, StoreError> {
        let token = self.ports.secrets.secret();
        let challenge = MfaChallenge {
            digest: SecretDigest::of(token.expose_secret()),
            user_id: user.id,
            created_at: now,
            expires_at: now + self.policy.mfa_challenge_ttl,
        };
        self.ports.store.create_mfa_challenge(&challenge)?;
        Ok(token)
    }

    /// Whether `code` is a current code of the user's confirmed secret
    /// whose step was not accepted before; if so, it is accepted now.
    fn accept_code(&self, user: UserId, code: &str, now: OffsetDateTime) -> Result<bool, Fault> {
        let store = &*self.ports.store;
        let Some(active) = store.totp_state(user)?.active else {
            return Ok(false);
        };
        match self.step_of(user, &active, code, now)? {
            Some(step) => Ok(store.accept_totp_step(user, step)?),
            None => Ok(false),
        }
    }

    /// The step of `code` for the sealed secret of `user`, if it is a code
    /// of it near `now`.
    fn step_of(
        &self,
        user: UserId,
        sealed: &SealedSecret,
        code: &str,
        now: OffsetDateTime,
    ) -> Result<Option<TimeStep>, Fault> {
        let bytes = self.ports.sealer.open(sealed, &purpose(user))?;
        let secret = TotpSecret::from_bytes(bytes.expose_secret().to_vec())
            .ok_or_else(|| Fault::Internal("a sealed TOTP secret of the wrong length".into()))?;
        Ok(self.ports.totp.step_of(&secret, code, now))
    }

    /// A new set of recovery codes.
    fn recovery_codes(&self) -> Vec<RecoveryCode> {
        (0..RecoveryCode::PER_USER)
            .map(|_| {
                // 256 random bits, hashed to uniform bytes for the alphabet.
                let digest = SecretDigest::of(self.ports.secrets.secret().expose_secret());
                let mut bytes = [0_u8; 15];
                bytes.copy_from_slice(&digest.as_bytes()[..15]);
                RecoveryCode::from_random(bytes)
            })
            .collect()
    }

    fn password_matches(
        &self,
        password: &SecretString,
        hash: &PasswordHash,
    ) -> Result<bool, HasherError> {
        Ok(matches!(
            self.ports.hasher.verify(password, hash)?,
            PasswordCheck::Match | PasswordCheck::MatchNeedsRehash
        ))
    }
}
