//! Who is calling: checking a bearer access token, and the organization the
//! caller acts for.

use domain::{
    OrganizationId, OrganizationRefusal, Role, SessionId, Standing, UserId, may_administer,
};
use ports::{OrganizationStore, SessionStore, StoreError, TokenError, TokenIssuer, UserStore};
use time::OffsetDateTime;

use crate::{
    error::{Fault, faults_from},
    service::AuthService,
};

/// What a caller presents: a bearer credential and, optionally, the
/// organization they act for (`X-Organization-Id`). Its `Debug` shows no
/// credential.
#[derive(Clone)]
pub struct Credentials {
    /// The bearer access token, unchecked.
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

/// Who is calling: the result of checking an access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user.
    pub user_id: UserId,
    /// The session the token belongs to.
    pub session_id: SessionId,
    /// When the presented access token expires.
    pub expires_at: OffsetDateTime,
    /// The organization the caller named to act for, checked; `None` when
    /// they named none.
    pub acting_for: Option<ActingFor>,
}

/// Why a caller was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    /// Malformed, forged, or its session is revoked, expired or another
    /// user's.
    #[error("invalid token")]
    InvalidToken,
    /// Genuine, but past its expiry.
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
    /// Checks a caller: the access token's signature, claims and expiry,
    /// that its session is still live (so a logout takes effect at once),
    /// and, when they name one, the organization they act for.
    ///
    /// # Errors
    /// See [`AuthenticateError`].
    pub fn authenticate(&self, credentials: &Credentials) -> Result<Principal, AuthenticateError> {
        let store = &*self.ports.store;
        let now = self.now();
        let mut principal = authenticate(&*self.ports.tokens, store, &credentials.bearer, now)?;
        if let Some(organization) = credentials.organization {
            principal.acting_for = Some(acting_for(store, principal.user_id, organization)?);
        }
        Ok(principal)
    }
}

fn authenticate(
    tokens: &dyn TokenIssuer,
    sessions: &(impl SessionStore + ?Sized),
    bearer: &str,
    now: OffsetDateTime,
) -> Result<Principal, AuthenticateError> {
    let claims = tokens.verify(bearer, now).map_err(|e| match e {
        TokenError::Expired => AuthenticateError::TokenExpired,
        TokenError::Invalid => AuthenticateError::InvalidToken,
        TokenError::Signing(_) => AuthenticateError::Fault(e.into()),
    })?;
    match sessions.session(claims.session_id)? {
        Some(s) if s.user_id == claims.user_id && s.is_active(now) => Ok(Principal {
            user_id: claims.user_id,
            session_id: claims.session_id,
            expires_at: claims.expires_at,
            acting_for: None,
        }),
        _ => Err(AuthenticateError::InvalidToken),
    }
}

/// The organization `user` names to act for, as [`Standing::select`]
/// judges it.
fn acting_for(
    store: &(impl UserStore + OrganizationStore + ?Sized),
    user: UserId,
    organization: OrganizationId,
) -> Result<ActingFor, AuthenticateError> {
    let found = store.organization_for(organization, user)?;
    let role = found.as_ref().and_then(|(_, role)| *role);
    // Only a non-member needs to be a platform administrator.
    let platform_admin = role.is_none()
        && store
            .user_by_id(user)?
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
