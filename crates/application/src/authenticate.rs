//! Who is calling: checking a bearer access token or an API key, and the
//! organization the caller acts for.

use domain::{
    ApiKeyId, ApiKeySecret, Factors, OrganizationId, OrganizationRefusal, Role, SessionId,
    Standing, UserId, may_administer,
};
use ports::{StoreError, TokenError};
use time::{Duration, OffsetDateTime};

use crate::{
    error::{Fault, faults_from},
    recall::{CallerReads, is_not_remembered},
    service::AuthService,
};

/// What a caller presents: a bearer credential and, optionally, the
/// organization they act for (`X-Organization-Id`). Its `Debug` shows no
/// credential.
#[derive(Clone)]
pub struct Credentials {
    /// The access token or API key, unchecked.
    pub bearer: String,
    /// The organization the caller names to act for, if any.
    pub organization: Option<OrganizationId>,
}

impl Credentials {
    /// A bearer credential naming no organization.
    pub fn bearer(token: impl Into<String>) -> Self {
        Self {
            bearer: token.into(),
            organization: None,
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("organization", &self.organization)
            .finish_non_exhaustive()
    }
}

/// The organization a caller acts for, and with which role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActingFor {
    /// The organization.
    pub organization_id: OrganizationId,
    /// The caller's role there; `None` for a platform administrator who is
    /// no member.
    pub role: Option<Role>,
}

/// What a caller proved who they are with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// An access token of this session.
    Session(SessionId),
    /// This API key, named by its prefix.
    ApiKey {
        /// The key.
        id: ApiKeyId,
        /// Its first characters, for logs.
        prefix: String,
    },
}

/// Who is calling: the result of checking an access token or an API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user.
    pub user_id: UserId,
    /// The credential presented.
    pub via: Via,
    /// When the presented credential expires; never, for an API key
    /// without an expiry.
    pub expires_at: Option<OffsetDateTime>,
    /// How the user logged in to the token's session; a password only, as
    /// far as anyone can tell, for an API key.
    pub factors: Factors,
    /// The organization the caller named to act for, checked; `None` when
    /// they named none.
    pub acting_for: Option<ActingFor>,
}

/// A caller in a session of their own, who presented an access token:
/// what managing keys, sessions and the password takes, which an API key
/// may not do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InSession {
    /// The user.
    pub user_id: UserId,
    /// The session of the access token.
    pub session_id: SessionId,
}

/// The caller presented an API key where only an access token will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an API key cannot do this")]
pub struct SessionRequired;

impl Principal {
    /// The caller, if they presented an access token.
    ///
    /// # Errors
    /// [`SessionRequired`] for an API key.
    pub fn in_session(&self) -> Result<InSession, SessionRequired> {
        match &self.via {
            Via::Session(session_id) => Ok(InSession {
                user_id: self.user_id,
                session_id: *session_id,
            }),
            Via::ApiKey { prefix, .. } => {
                tracing::info!(user_id = %self.user_id, key = %prefix, "refused to an API key");
                Err(SessionRequired)
            }
        }
    }

    /// The session of the access token presented, if one was.
    pub fn session_id(&self) -> Option<SessionId> {
        match self.via {
            Via::Session(id) => Some(id),
            Via::ApiKey { .. } => None,
        }
    }
}

/// Why a caller was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    /// Malformed, forged, or its session is revoked, expired or another
    /// user's; an API key that is malformed, unknown, deleted or expired,
    /// or whose owner is not active.
    #[error("invalid token")]
    InvalidToken,
    /// An access token, genuine, but past its expiry.
    #[error("token expired")]
    TokenExpired,
    /// The caller named an organization to act for that they are not a
    /// member of (and they are no platform administrator).
    #[error("insufficient permissions")]
    InsufficientPermissions,
    /// A platform administrator named an organization that does not exist.
    #[error("organization not found")]
    OrganizationNotFound,
    /// The check could not be made.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(AuthenticateError: StoreError);

impl From<OrganizationRefusal> for AuthenticateError {
    fn from(refusal: OrganizationRefusal) -> Self {
        match refusal {
            OrganizationRefusal::NotFound => Self::OrganizationNotFound,
            OrganizationRefusal::InsufficientPermissions => Self::InsufficientPermissions,
        }
    }
}

impl AuthService {
    /// Checks a caller: an access token's signature, claims and expiry and
    /// that its session is still live (so a logout takes effect at once),
    /// or an API key (`ak_…`) and its owner; and, when they name one, the
    /// organization they act for.
    ///
    /// # Errors
    /// See [`AuthenticateError`].
    pub fn authenticate(&self, credentials: &Credentials) -> Result<Principal, AuthenticateError> {
        self.authenticate_with(&self.read_through(), credentials)
    }

    /// [`AuthService::authenticate`], reading through `reads`.
    pub(crate) fn authenticate_with(
        &self,
        reads: &impl CallerReads,
        credentials: &Credentials,
    ) -> Result<Principal, AuthenticateError> {
        let now = self.now();
        let presented = &credentials.bearer;
        let mut principal = if ApiKeySecret::is_claimed_by(presented) {
            let interval = self.policy.api_key_use_interval;
            authenticate_key(reads, presented, now, interval)?
        } else {
            authenticate_token(reads, presented, now)?
        };
        if let Some(organization) = credentials.organization {
            principal.acting_for = Some(acting_for(reads, principal.user_id, organization)?);
        }
        Ok(principal)
    }
}

fn authenticate_token(
    reads: &impl CallerReads,
    bearer: &str,
    now: OffsetDateTime,
) -> Result<Principal, AuthenticateError> {
    let claims = reads.claims(bearer, now).map_err(|e| match e {
        TokenError::Expired => AuthenticateError::TokenExpired,
        TokenError::Invalid => AuthenticateError::InvalidToken,
        TokenError::Signing(_) => AuthenticateError::Fault(e.into()),
    })?;
    match reads.session(claims.user_id, claims.session_id, now)? {
        Some(s) if s.user_id == claims.user_id && s.is_active(now) => Ok(Principal {
            user_id: claims.user_id,
            via: Via::Session(claims.session_id),
            expires_at: Some(claims.expires_at),
            factors: claims.factors,
            acting_for: None,
        }),
        _ => Err(AuthenticateError::InvalidToken),
    }
}

/// Checks an API key: its checksum first (a mistyped key costs no
/// lookup), then the stored key and its owner as they are now, so a
/// deleted key or a disabled owner is refused at once on every instance.
/// A use is recorded at most once an `interval`.
fn authenticate_key(
    reads: &impl CallerReads,
    presented: &str,
    now: OffsetDateTime,
    interval: Duration,
) -> Result<Principal, AuthenticateError> {
    let Some(secret) = ApiKeySecret::parse(presented) else {
        tracing::info!("API key refused: malformed or mistyped");
        return Err(AuthenticateError::InvalidToken);
    };
    let digest = secret.digest();
    let Some((key, owner)) = reads.api_key(&digest)? else {
        tracing::info!(key = %secret.prefix(), "API key refused: unknown or deleted");
        return Err(AuthenticateError::InvalidToken);
    };
    if let Err(refusal) = key.admits(&owner, now) {
        tracing::info!(key = %key.prefix, reason = %refusal, "API key refused");
        return Err(AuthenticateError::InvalidToken);
    }
    if key.use_is_due(now, interval) {
        // Best effort: a lost record of a use must not fail the request;
        // but only the store may say it was lost.
        match reads.record_key_use(&key, &digest, now, now - interval) {
            Err(e) if is_not_remembered(&e) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(key = %key.prefix, error = %e, "the API key's use was not recorded");
            }
            Ok(()) => {}
        }
    }
    Ok(Principal {
        user_id: owner.id,
        via: Via::ApiKey {
            id: key.id,
            prefix: key.prefix,
        },
        expires_at: key.expires_at,
        factors: Factors::Password,
        acting_for: None,
    })
}

/// The organization `user` names to act for, as [`Standing::select`]
/// judges it.
fn acting_for(
    reads: &impl CallerReads,
    user: UserId,
    organization: OrganizationId,
) -> Result<ActingFor, AuthenticateError> {
    let found = reads.membership(organization, user)?;
    let role = found.flatten();
    // Only a non-member needs to be a platform administrator.
    let platform_admin = role.is_none()
        && reads
            .user(user)?
            .ok_or(AuthenticateError::InvalidToken)
            .map(|u| may_administer(&u))?;
    let role = Standing {
        role,
        platform_admin,
    }
    .select(found.is_some())?;
    Ok(ActingFor {
        organization_id: organization,
        role,
    })
}
