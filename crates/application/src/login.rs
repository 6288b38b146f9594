use domain::{
    AccessClaims, CodeKind, ErrorCode, LoginIdentifier, SecretDigest, Session, SessionId, User,
    UserStatus,
};
use ports::{Admission, NewRefreshToken, PasswordCheck, Rotation, ThrottleLimits};
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::{AppError, AuthService};

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

/// What a successful login or refresh hands to the client. Its `Debug`
/// shows no token.
pub struct Tokens {
    /// The signed access token.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The opaque refresh token (only its digest is stored).
    pub refresh_token: SecretString,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: i64,
    /// The user the tokens are for.
    pub user: User,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_in", &self.expires_in)
            .field("refresh_expires_in", &self.refresh_expires_in)
            .field("user", &self.user.id)
            .finish_non_exhaustive()
    }
}

impl AuthService {
    /// Logs a user in by username, e-mail address or phone.
    ///
    /// The password is checked before the account's status is revealed, and
    /// an unknown identifier costs one full password verification too.
    ///
    /// # Errors
    /// `too-many-attempts` when throttled; `bad-credentials` for a wrong
    /// identifier or password; `account-not-validated` (with a resend code)
    /// or `inactive-account` for a right password on such an account.
    pub fn login(&self, req: LoginRequest) -> Result<Tokens, AppError> {
        let store = &self.ports.store;
        let now = self.now();
        let identifier = LoginIdentifier::parse(&req.identifier);
        let user = match &identifier {
            Some(identifier) => store.user_by_identifier(identifier)?,
            None => None,
        };
        let account_key = throttle_key(user.as_ref(), &req.identifier);
        self.admit(&account_key, &req.client.ip, now)?;

        let check = match &user {
            Some(user) => self
                .ports
                .hasher
                .verify(&req.password, &user.password_hash)?,
            None => {
                self.ports.hasher.verify_dummy(&req.password);
                PasswordCheck::Mismatch
            }
        };
        let user = match (user, check) {
            (Some(user), PasswordCheck::Match | PasswordCheck::MatchNeedsRehash) => user,
            // The attempt was recorded as a failure when it was admitted.
            _ => {
                tracing::info!("login failed: bad credentials");
                return Err(ErrorCode::BadCredentials.into());
            }
        };
        store.clear_failed_logins(&account_key, now - self.policy.lockout)?;
        match user.status {
            UserStatus::Active => {}
            UserStatus::PendingValidation => {
                let resend_code = self.new_code(
                    user.id,
                    CodeKind::ResendValidation,
                    self.policy.validation_code_ttl,
                )?;
                return Err(AppError::NotValidated { resend_code });
            }
            UserStatus::Inactive => return Err(ErrorCode::InactiveAccount.into()),
        }
        if check == PasswordCheck::MatchNeedsRehash {
            let hash = self.ports.hasher.hash(&req.password)?;
            store.set_password_hash(user.id, &hash, now)?;
        }
        let tokens = self.open_session(user, req.client, now)?;
        tracing::info!(user_id = %tokens.user.id, "user logged in");
        Ok(tokens)
    }

    /// Exchanges a refresh token for new tokens, spending it.
    ///
    /// # Errors
    /// `token-expired` for an expired token; `invalid-token` for an unknown,
    /// revoked or reused one (reuse revokes the whole session).
    pub fn refresh(&self, refresh_token: &str) -> Result<Tokens, AppError> {
        let store = &self.ports.store;
        let now = self.now();
        let secret = self.ports.secrets.secret();
        let next = NewRefreshToken {
            digest: SecretDigest::of(secret.expose_secret()),
            expires_at: now + self.policy.refresh_ttl,
        };
        let grace = self.policy.refresh_reuse_grace;
        let session =
            match store.rotate_refresh(&SecretDigest::of(refresh_token), &next, now, grace)? {
                Rotation::Rotated(session) => session,
                Rotation::Reused => {
                    tracing::warn!("refresh token reuse detected; session revoked");
                    return Err(ErrorCode::InvalidToken.into());
                }
                Rotation::Expired => return Err(ErrorCode::TokenExpired.into()),
                Rotation::Invalid => return Err(ErrorCode::InvalidToken.into()),
            };
        let user = match store.user_by_id(session.user_id)? {
            Some(user) if user.status == UserStatus::Active => user,
            _ => {
                store.revoke_session(session.user_id, session.id, now)?;
                return Err(ErrorCode::InvalidToken.into());
            }
        };
        self.tokens_for(user, session.id, secret, next.expires_at, now)
    }

    /// Admits a login attempt, or refuses it with the seconds until the
    /// limit that was reached frees a slot.
    fn admit(&self, account: &str, ip: &str, now: OffsetDateTime) -> Result<(), AppError> {
        let window = self.policy.lockout;
        let limits = ThrottleLimits {
            per_account: self.policy.max_failed_logins,
            per_ip: self.policy.max_failed_logins_per_ip,
        };
        match self
            .ports
            .store
            .admit_login(account, ip, now, now - window, limits)?
        {
            Admission::Admitted => Ok(()),
            Admission::Refused { frees_at } => {
                // A failure counts while it is at most `window` old, so it
                // stops counting one second after that, in whole seconds.
                let wait = (frees_at + window - now).whole_seconds().max(0) + 1;
                tracing::warn!(retry_after = wait, "login throttled");
                Err(AppError::Throttled {
                    retry_after: u64::try_from(wait).unwrap_or(1),
                })
            }
        }
    }

    fn open_session(
        &self,
        user: User,
        client: ClientInfo,
        now: OffsetDateTime,
    ) -> Result<Tokens, AppError> {
        let secret = self.ports.secrets.secret();
        let session = Session {
            id: SessionId::generate(),
            user_id: user.id,
            created_at: now,
            last_used_at: now,
            expires_at: now + self.policy.refresh_ttl,
            revoked_at: None,
            user_agent: client.user_agent,
            ip: Some(client.ip),
        };
        let first = NewRefreshToken {
            digest: SecretDigest::of(secret.expose_secret()),
            expires_at: session.expires_at,
        };
        self.ports.store.create_session(&session, &first)?;
        self.tokens_for(user, session.id, secret, session.expires_at, now)
    }

    fn tokens_for(
        &self,
        user: User,
        session_id: SessionId,
        refresh_token: SecretString,
        refresh_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Tokens, AppError> {
        let issued_at = now.replace_nanosecond(0).unwrap_or(now);
        let claims = AccessClaims {
            user_id: user.id,
            session_id,
            token_id: Uuid::now_v7(),
            issued_at,
            expires_at: issued_at + self.policy.access_ttl,
        };
        let access_token = self.ports.tokens.issue(&claims)?;
        Ok(Tokens {
            access_token,
            expires_in: self.policy.access_ttl.whole_seconds(),
            refresh_token,
            refresh_expires_in: seconds_between(now, refresh_expires_at),
            user,
        })
    }
}

/// The throttling key of an attempt: the account when the identifier names
/// one (so its e-mail, username and phone share one counter), otherwise a
/// digest of the identifier as typed (bounded, whatever its length).
fn throttle_key(user: Option<&User>, identifier: &str) -> String {
    match user {
        Some(user) => format!("user:{}", user.id),
        None => {
            let digest = SecretDigest::of(&identifier.trim().to_lowercase());
            let hex: String = digest
                .as_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!("unknown:{hex}")
        }
    }
}

fn seconds_between(from: OffsetDateTime, to: OffsetDateTime) -> i64 {
    (to - from).max(Duration::ZERO).whole_seconds()
}
