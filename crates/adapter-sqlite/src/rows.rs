//! Private row types, one per table, and their one conversion each way
//! between a row and a domain value. A stored value that does not parse as
//! its domain type makes the row corrupt ([`StoreError::corrupt`], [`StoreError::corrupt_with`]).
//!
//! Rows hold `OffsetDateTime` and `Uuid` as they are read (see `schema`);
//! they are written through [`Instant`] and [`Id`] (`serialize_as`).

use diesel::{prelude::*, sqlite::Sqlite};
use domain::{
    ApiKey, ApiKeyId, ApiKeyName, CodeKind, Email, Factors, Invite, InviteId, InviteRole, Member,
    Organization, OrganizationId, OrganizationName, PasswordHash, PersonName, Phone, Role,
    SealedSecret, SecretDigest, Session, SessionId, TimeStep, User, UserId, UserStatus, Username,
};
use ports::{MfaChallenge, NewRefreshToken, OneTimeCode, StoreError, TotpState};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::schema::{
    Id, Instant, api_keys, invites, memberships, mfa_challenges, one_time_codes, organizations,
    recovery_codes, refresh_tokens, sessions, throttle_records, totp_credentials, users,
};

/// A row of `users`.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users, check_for_backend(Sqlite))]
pub(crate) struct UserRow {
    #[diesel(serialize_as = Id, deserialize_as = Id)]
    id: Uuid,
    email: String,
    username: Option<String>,
    phone: Option<String>,
    first_name: String,
    last_name: String,
    password_hash: String,
    status: String,
    email_verified: bool,
    is_admin: bool,
    mfa_enabled: bool,
    #[diesel(serialize_as = Instant)]
    created_at: OffsetDateTime,
    #[diesel(serialize_as = Instant)]
    updated_at: OffsetDateTime,
}

impl UserRow {
    pub(crate) fn from_domain(user: &User) -> Self {
        Self {
            id: user.id.as_uuid(),
            email: user.email.as_str().to_owned(),
            username: user.username.as_ref().map(|u| u.as_str().to_owned()),
            phone: user.phone.as_ref().map(|p| p.as_str().to_owned()),
            first_name: user.first_name.as_str().to_owned(),
            last_name: user.last_name.as_str().to_owned(),
            password_hash: user.password_hash.as_str().to_owned(),
            status: user.status.as_str().to_owned(),
            email_verified: user.email_verified,
            is_admin: user.is_admin,
            mfa_enabled: user.mfa_enabled,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }

    pub(crate) fn into_domain(self) -> Result<User, StoreError> {
        Ok(User {
            id: UserId::from_uuid(self.id),
            email: Email::parse(&self.email).map_err(StoreError::corrupt_with("users.email"))?,
            username: self
                .username
                .as_deref()
                .map(Username::parse)
                .transpose()
                .map_err(StoreError::corrupt_with("users.username"))?,
            phone: self
                .phone
                .as_deref()
                .map(Phone::parse)
                .transpose()
                .map_err(StoreError::corrupt_with("users.phone"))?,
            first_name: PersonName::parse(&self.first_name)
                .map_err(StoreError::corrupt_with("users.first_name"))?,
            last_name: PersonName::parse(&self.last_name)
                .map_err(StoreError::corrupt_with("users.last_name"))?,
            password_hash: PasswordHash::new(self.password_hash),
            status: UserStatus::parse(&self.status)
                .map_err(StoreError::corrupt_with("users.status"))?,
            email_verified: self.email_verified,
            is_admin: self.is_admin,
            mfa_enabled: self.mfa_enabled,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The columns of `users` that a domain rule may change: all but the id,
/// the e-mail address, the password hash and the creation time.
#[derive(AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
pub(crate) struct UserChanges<'a> {
    username: Option<&'a str>,
    phone: Option<&'a str>,
    first_name: &'a str,
    last_name: &'a str,
    status: &'a str,
    email_verified: bool,
    #[diesel(serialize_as = Instant)]
    updated_at: OffsetDateTime,
    is_admin: bool,
}

impl<'a> UserChanges<'a> {
    pub(crate) fn from_domain(user: &'a User) -> Self {
        Self {
            username: user.username.as_ref().map(Username::as_str),
            phone: user.phone.as_ref().map(Phone::as_str),
            first_name: user.first_name.as_str(),
            last_name: user.last_name.as_str(),
            status: user.status.as_str(),
            email_verified: user.email_verified,
            updated_at: user.updated_at,
            is_admin: user.is_admin,
        }
    }
}

/// A row of `organizations`.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations, check_for_backend(Sqlite))]
pub(crate) struct OrganizationRow {
    #[diesel(serialize_as = Id, deserialize_as = Id)]
    id: Uuid,
    name: String,
    #[diesel(serialize_as = Instant)]
    created_at: OffsetDateTime,
}

impl OrganizationRow {
    pub(crate) fn from_domain(organization: &Organization) -> Self {
        Self {
            id: organization.id.as_uuid(),
            name: organization.name.as_str().to_owned(),
            created_at: organization.created_at,
        }
    }

    pub(crate) fn into_domain(self) -> Result<Organization, StoreError> {
        Ok(Organization {
            id: OrganizationId::from_uuid(self.id),
            name: OrganizationName::parse(&self.name)
                .map_err(StoreError::corrupt_with("organizations.name"))?,
            created_at: self.created_at,
        })
    }
}

/// A row of `memberships`. Read back only for its role ([`role`]).
#[derive(Insertable)]
#[diesel(table_name = memberships, check_for_backend(Sqlite))]
pub(crate) struct MembershipRow {
    #[diesel(serialize_as = Id, deserialize_as = Id)]
    organization_id: Uuid,
    #[diesel(serialize_as = Id, deserialize_as = Id)]
    user_id: Uuid,
    role: &'static str,
    #[diesel(serialize_as = Instant)]
    created_at: OffsetDateTime,
}

impl MembershipRow {
    /// `user`'s membership in `organization` with `role`, since `at`.
    pub(crate) fn new(
        organization: OrganizationId,
        user: UserId,
        role: Role,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            organization_id: organization.as_uuid(),
            user_id: user.as_uuid(),
            role: role.as_str(),
            created_at: at,
        }
    }
}

/// A stored `memberships.role`.
pub(crate) fn role(raw: &str) -> Result<Role, StoreError> {
    Role::parse(raw).map_err(StoreError::corrupt_with("memberships.role"))
}

/// A member as read: the account, the role and when they joined.
pub(crate) type MemberRow = (UserRow, String, OffsetDateTime);

/// The columns of a [`MemberRow`], from `memberships` joined with `users`.
pub(crate) fn member_columns() -> (
    diesel::dsl::AsSelect<UserRow, Sqlite>,
    memberships::role,
    memberships::created_at,
) {
    (
        UserRow::as_select(),
        memberships::role,
        memberships::created_at,
    )
}

/// The member a [`MemberRow`] holds.
pub(crate) fn member((user, role, joined_at): MemberRow) -> Result<Member, StoreError> {
    Ok(Member {
        user: user.into_domain()?,
        role: self::role(&role)?,
        joined_at,
    })
}

/// A row of `invites`, less what accepting or revoking it records.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = invites, check_for_backend(Sqlite))]
pub(crate) struct InviteRow {
    #[diesel(serialize_as = Id, deserialize_as = Id)]
    id: Uuid,
    #[diesel(serialize_as = Id, deserialize_as = Id)]
    organization_id: Uuid,
    email: String,
    role: String,
    digest: Vec<u8>,
    invited_by: Option<Id>,
    #[diesel(serialize_as = Instant)]
    created_at: OffsetDateTime,
    #[diesel(serialize_as = Instant)]
    expires_at: OffsetDateTime,
}

impl InviteRow {
    /// `invite`, whose code has `digest`.
    pub(crate) fn from_domain(invite: &Invite, digest: &SecretDigest) -> Self {
        Self {
            id: invite.id.as_uuid(),
            organization_id: invite.organization_id.as_uuid(),
            email: invite.email.as_str().to_owned(),
            role: invite.role.as_str().to_owned(),
            digest: digest.as_bytes().to_vec(),
            invited_by: invite.invited_by.map(|id| Id(id.as_uuid())),
            created_at: invite.created_at,
            expires_at: invite.expires_at,
        }
    }

    pub(crate) fn into_domain(self) -> Result<Invite, StoreError> {
        Ok(Invite {
            id: InviteId::from_uuid(self.id),
            organization_id: OrganizationId::from_uuid(self.organization_id),
            email: Email::parse(&self.email).map_err(StoreError::corrupt_with("invites.email"))?,
            role: InviteRole::parse(&self.role)
                .map_err(StoreError::corrupt_with("invites.role"))?,
            invited_by: self.invited_by.map(|Id(id)| UserId::from_uuid(id)),
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}

/// A row of `sessions`.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions, check_for_backend(Sqlite))]
pub(crate) struct SessionRow {
    #[diesel(serialize_as = Id, deserialize_as = Id)]
    id: Uuid,
    #[diesel(serialize_as = Id, deserialize_as = Id)]
    user_id: Uuid,
    #[diesel(serialize_as = Instant)]
    created_at: OffsetDateTime,
    #[diesel(serialize_as = Instant)]
    last_used_at: OffsetDateTime,
    #[diesel(serialize_as = Instant)]
    expires_at: OffsetDateTime,
    #[diesel(treat_none_as_default_value = false)]
    revoked_at: Option<OffsetDateTime>,
    user_agent: Option<String>,
    ip: Option<String>,
    factors: String,
}

impl SessionRow {
    pub(crate) fn from_domain(session: &Session) -> Self {
        Self {
            id: session.id.as_uuid(),
            user_id: session.user_id.as_uuid(),
            created_at: session.created_at,
            last_used_at: session.last_used_at,
            expires_at: session.expires_at,
            revoked_at: session.revoked_at,
            user_agent: session.user_agent.clone(),
            ip: session.ip.clone(),
            factors: session.factors.as_str().to_owned(),
        }
    }

    pub(crate) fn into_domain(self) -> Result<Session, StoreError> {
        Ok(Session {
            id: SessionId::from_uuid(self.id),
            user_id: UserId::from_uuid(self.user_id),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            user_agent: self.user_agent,
            ip: self.ip,
            factors: Factors::parse(&self.factors)
                .ok_or_else(|| StoreError::corrupt("sessions.factors"))?,
        })
    }
}

/// A row of `refresh_tokens`. Never a domain value: the ports expose
/// sessions, not tokens; `domain::judge_refresh` reads its fields.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens, check_for_backend(Sqlite))]
pub(crate) struct TokenRow {
    pub(crate) digest: Vec<u8>,
    #[diesel(serialize_as = Id, deserialize_as = Id)]
    pub(crate) session_id: Uuid,
    #[diesel(serialize_as = Instant)]
    issued_at: OffsetDateTime,
    #[diesel(serialize_as = Instant)]
    pub(crate) expires_at: OffsetDateTime,
    #[diesel(treat_none_as_default_value = false)]
    pub(crate) spent_at: Option<OffsetDateTime>,
}

impl TokenRow {
    /// `token`, unspent, in `session`, issued at `issued_at`.
    pub(crate) fn new(session: Uuid, token: &NewRefreshToken, issued_at: OffsetDateTime) -> Self {
        Self {
            digest: token.digest.as_bytes().to_vec(),
            session_id: session,
            issued_at,
            expires_at: token.expires_at,
            spent_at: None,
        }
    }
}

/// A row of `one_time_codes`, less `used_at`.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = one_time_codes, check_for_backend(Sqlite))]
pub(crate) struct CodeRow {
    digest: Vec<u8>,
    kind: String,
    #[diesel(serialize_as = Id, deserialize_as = Id)]
    user_id: Uuid,
    #[diesel(serialize_as = Instant)]
    created_at: OffsetDateTime,
    #[diesel(serialize_as = Instant)]
    expires_at: OffsetDateTime,
}

impl CodeRow {
    pub(crate) fn from_domain(code: &OneTimeCode) -> Self {
        Self {
            digest: code.digest.as_bytes().to_vec(),
            kind: code.kind.as_str().to_owned(),
            user_id: code.user_id.as_uuid(),
            created_at: code.created_at,
            expires_at: code.expires_at,
        }
    }

    pub(crate) fn into_domain(self) -> Result<OneTimeCode, StoreError> {
        Ok(OneTimeCode {
            digest: SecretDigest::from_bytes(&self.digest)
                .ok_or_else(|| StoreError::corrupt("one_time_codes.digest"))?,
            kind: CodeKind::parse(&self.kind)
                .ok_or_else(|| StoreError::corrupt("one_time_codes.kind"))?,
            user_id: UserId::from_uuid(self.user_id),
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}

/// A new row of `throttle_records`.
#[derive(Insertable)]
#[diesel(table_name = throttle_records, check_for_backend(Sqlite))]
pub(crate) struct ThrottleRow<'a> {
    purpose: &'a str,
    subject: &'a str,
    ip: &'a str,
    #[diesel(serialize_as = Instant)]
    at: OffsetDateTime,
}

impl<'a> ThrottleRow<'a> {
    /// A record of `purpose` (a failed login, a mail) for `subject` from
    /// `ip` at `at`.
    pub(crate) fn new(purpose: &'a str, subject: &'a str, ip: &'a str, at: OffsetDateTime) -> Self {
        Self {
            purpose,
            subject,
            ip,
            at,
        }
    }
}

/// A row of `api_keys`.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys, check_for_backend(Sqlite))]
pub(crate) struct ApiKeyRow {
    #[diesel(serialize_as = Id, deserialize_as = Id)]
    id: Uuid,
    #[diesel(serialize_as = Id, deserialize_as = Id)]
    user_id: Uuid,
    name: String,
    prefix: String,
    digest: Vec<u8>,
    #[diesel(serialize_as = Instant)]
    created_at: OffsetDateTime,
    #[diesel(treat_none_as_default_value = false)]
    last_used_at: Option<OffsetDateTime>,
    #[diesel(treat_none_as_default_value = false)]
    expires_at: Option<OffsetDateTime>,
}

impl ApiKeyRow {
    /// `key`, whose secret has `digest`.
    pub(crate) fn from_domain(key: &ApiKey, digest: &SecretDigest) -> Self {
        Self {
            id: key.id.as_uuid(),
            user_id: key.user_id.as_uuid(),
            name: key.name.as_str().to_owned(),
            prefix: key.prefix.clone(),
            digest: digest.as_bytes().to_vec(),
            created_at: key.created_at,
            last_used_at: key.last_used_at,
            expires_at: key.expires_at,
        }
    }

    pub(crate) fn into_domain(self) -> Result<ApiKey, StoreError> {
        Ok(ApiKey {
            id: ApiKeyId::from_uuid(self.id),
            user_id: UserId::from_uuid(self.user_id),
            name: ApiKeyName::parse(&self.name)
                .map_err(StoreError::corrupt_with("api_keys.name"))?,
            prefix: self.prefix,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            expires_at: self.expires_at,
        })
    }
}

/// A row of `totp_credentials`.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = totp_credentials, check_for_backend(Sqlite))]
pub(crate) struct TotpRow {
    #[diesel(serialize_as = Id, deserialize_as = Id)]
    user_id: Uuid,
    secret: Option<Vec<u8>>,
    secret_key_id: Option<String>,
    pending: Option<Vec<u8>>,
    pending_key_id: Option<String>,
    last_step: Option<i64>,
    #[diesel(serialize_as = Instant)]
    updated_at: OffsetDateTime,
}

impl TotpRow {
    /// A first row for `user`: `pending` set up, nothing confirmed.
    pub(crate) fn pending(user: UserId, pending: &SealedSecret, now: OffsetDateTime) -> Self {
        Self {
            user_id: user.as_uuid(),
            secret: None,
            secret_key_id: None,
            pending: Some(pending.ciphertext.clone()),
            pending_key_id: Some(pending.key_id.clone()),
            last_step: None,
            updated_at: now,
        }
    }

    pub(crate) fn into_state(self) -> Result<TotpState, StoreError> {
        let sealed =
            |ciphertext: Option<Vec<u8>>, key_id: Option<String>| match (ciphertext, key_id) {
                (Some(ciphertext), Some(key_id)) => Ok(Some(SealedSecret { key_id, ciphertext })),
                (None, None) => Ok(None),
                _ => Err(StoreError::corrupt("totp_credentials")),
            };
        Ok(TotpState {
            active: sealed(self.secret, self.secret_key_id)?,
            pending: sealed(self.pending, self.pending_key_id)?,
            last_step: self
                .last_step
                .map(|step| u64::try_from(step).map(TimeStep))
                .transpose()
                .map_err(StoreError::corrupt_with("totp_credentials.last_step"))?,
        })
    }
}

/// A time step as `totp_credentials.last_step` holds it.
pub(crate) fn step_column(step: TimeStep) -> Result<i64, StoreError> {
    i64::try_from(step.0).map_err(|e| StoreError::Internal(Box::new(e)))
}

/// A row of `recovery_codes`, less `used_at`.
#[derive(Insertable)]
#[diesel(table_name = recovery_codes, check_for_backend(Sqlite))]
pub(crate) struct RecoveryCodeRow {
    #[diesel(serialize_as = Id, deserialize_as = Id)]
    user_id: Uuid,
    digest: Vec<u8>,
    #[diesel(serialize_as = Instant)]
    created_at: OffsetDateTime,
}

impl RecoveryCodeRow {
    pub(crate) fn new(user: UserId, digest: &SecretDigest, now: OffsetDateTime) -> Self {
        Self {
            user_id: user.as_uuid(),
            digest: digest.as_bytes().to_vec(),
            created_at: now,
        }
    }
}

/// A row of `mfa_challenges`, less `used_at`.
#[derive(Insertable)]
#[diesel(table_name = mfa_challenges, check_for_backend(Sqlite))]
pub(crate) struct MfaChallengeRow {
    digest: Vec<u8>,
    #[diesel(serialize_as = Id, deserialize_as = Id)]
    user_id: Uuid,
    #[diesel(serialize_as = Instant)]
    created_at: OffsetDateTime,
    #[diesel(serialize_as = Instant)]
    expires_at: OffsetDateTime,
}

impl MfaChallengeRow {
    pub(crate) fn from_domain(challenge: &MfaChallenge) -> Self {
        Self {
            digest: challenge.digest.as_bytes().to_vec(),
            user_id: challenge.user_id.as_uuid(),
            created_at: challenge.created_at,
            expires_at: challenge.expires_at,
        }
    }
}
