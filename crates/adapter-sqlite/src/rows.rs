//! Private row types, one per table, and their one conversion each way
//! between a row and a domain value. A row that does not convert is a
//! corrupt row ([`Error::corrupt`]).

use std::str::FromStr;

use diesel::prelude::*;
use diesel::sqlite::Sqlite;
use domain::{
    CodeKind, Email, Organization, OrganizationId, OrganizationName, PasswordHash, PersonName,
    Phone, Role, SecretDigest, Session, SessionId, User, UserId, UserStatus, Username,
};
use ports::OneTimeCode;
use time::OffsetDateTime;

use crate::error::Error;
use crate::schema::{
    login_failures, memberships, one_time_codes, organizations, refresh_tokens, sessions, users,
};

/// An instant as stored: whole microseconds since the Unix epoch, rounded
/// down (the precision of PostgreSQL's `timestamptz`).
pub(crate) fn micros(t: OffsetDateTime) -> Result<i64, Error> {
    let us = t.unix_timestamp_nanos().div_euclid(1_000);
    i64::try_from(us).map_err(|_| Error::corrupt("(any)", format!("instant {t} out of range")))
}

/// The inverse of [`micros`], in UTC.
pub(crate) fn instant_of(table: &'static str, us: i64) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .map_err(|e| Error::corrupt(table, format!("instant {us}: {e}")))
}

fn optional_instant(table: &'static str, us: Option<i64>) -> Result<Option<OffsetDateTime>, Error> {
    us.map(|us| instant_of(table, us)).transpose()
}

fn optional_micros(t: Option<OffsetDateTime>) -> Result<Option<i64>, Error> {
    t.map(micros).transpose()
}

/// Parses a stored id or other text column, naming the table on failure.
fn parse<T>(table: &'static str, column: &str, raw: &str) -> Result<T, Error>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    raw.parse()
        .map_err(|e| Error::corrupt(table, format!("{column} {raw:?}: {e}")))
}

fn digest(table: &'static str, bytes: &[u8]) -> Result<SecretDigest, Error> {
    SecretDigest::from_bytes(bytes)
        .ok_or_else(|| Error::corrupt(table, format!("digest of {} bytes", bytes.len())))
}

/// Checks a stored value with the domain's own parser (`Email::parse`, …).
fn checked<T, E: std::fmt::Display>(
    table: &'static str,
    column: &str,
    raw: &str,
    parser: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, Error> {
    parser(raw).map_err(|e| Error::corrupt(table, format!("{column} {raw:?}: {e}")))
}

/// A row of `users`.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = users, check_for_backend(Sqlite))]
pub(crate) struct UserRow {
    id: String,
    email: String,
    username: Option<String>,
    phone: Option<String>,
    first_name: String,
    last_name: String,
    password_hash: String,
    status: String,
    email_verified: bool,
    is_admin: bool,
    created_at: i64,
    updated_at: i64,
}

impl UserRow {
    /// The row that stores `user`.
    pub(crate) fn from_domain(user: &User) -> Result<Self, Error> {
        Ok(Self {
            id: user.id.to_string(),
            email: user.email.as_str().to_owned(),
            username: user.username.as_ref().map(|u| u.as_str().to_owned()),
            phone: user.phone.as_ref().map(|p| p.as_str().to_owned()),
            first_name: user.first_name.as_str().to_owned(),
            last_name: user.last_name.as_str().to_owned(),
            password_hash: user.password_hash.as_str().to_owned(),
            status: user.status.as_str().to_owned(),
            email_verified: user.email_verified,
            is_admin: user.is_admin,
            created_at: micros(user.created_at)?,
            updated_at: micros(user.updated_at)?,
        })
    }

    /// The user this row stores.
    pub(crate) fn into_domain(self) -> Result<User, Error> {
        const T: &str = "users";
        Ok(User {
            id: parse(T, "id", &self.id)?,
            email: checked(T, "email", &self.email, Email::parse)?,
            username: self
                .username
                .as_deref()
                .map(|u| checked(T, "username", u, Username::parse))
                .transpose()?,
            phone: self
                .phone
                .as_deref()
                .map(|p| checked(T, "phone", p, Phone::parse))
                .transpose()?,
            first_name: checked(T, "first_name", &self.first_name, PersonName::parse)?,
            last_name: checked(T, "last_name", &self.last_name, PersonName::parse)?,
            password_hash: PasswordHash::new(self.password_hash),
            status: checked(T, "status", &self.status, UserStatus::parse)?,
            email_verified: self.email_verified,
            is_admin: self.is_admin,
            created_at: instant_of(T, self.created_at)?,
            updated_at: instant_of(T, self.updated_at)?,
        })
    }
}

/// The columns of `users` a profile change or a validation may touch.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
pub(crate) struct UserChanges {
    username: Option<String>,
    phone: Option<String>,
    first_name: String,
    last_name: String,
    status: String,
    email_verified: bool,
    updated_at: i64,
}

impl UserChanges {
    /// The changes that make the stored row equal to `user` (whose id,
    /// e-mail, password hash and creation time stay as they are).
    pub(crate) fn from_domain(user: &User) -> Result<Self, Error> {
        Ok(Self {
            username: user.username.as_ref().map(|u| u.as_str().to_owned()),
            phone: user.phone.as_ref().map(|p| p.as_str().to_owned()),
            first_name: user.first_name.as_str().to_owned(),
            last_name: user.last_name.as_str().to_owned(),
            status: user.status.as_str().to_owned(),
            email_verified: user.email_verified,
            updated_at: micros(user.updated_at)?,
        })
    }
}

/// A row of `organizations`.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations, check_for_backend(Sqlite))]
pub(crate) struct OrganizationRow {
    id: String,
    name: String,
    created_at: i64,
}

impl OrganizationRow {
    /// The row that stores `org`.
    pub(crate) fn from_domain(org: &Organization) -> Result<Self, Error> {
        Ok(Self {
            id: org.id.to_string(),
            name: org.name.as_str().to_owned(),
            created_at: micros(org.created_at)?,
        })
    }

    /// The organization this row stores.
    pub(crate) fn into_domain(self) -> Result<Organization, Error> {
        const T: &str = "organizations";
        Ok(Organization {
            id: parse::<OrganizationId>(T, "id", &self.id)?,
            name: checked(T, "name", &self.name, OrganizationName::parse)?,
            created_at: instant_of(T, self.created_at)?,
        })
    }
}

/// A row of `memberships`.
#[derive(Debug, Insertable)]
#[diesel(table_name = memberships, check_for_backend(Sqlite))]
pub(crate) struct MembershipRow {
    organization_id: String,
    user_id: String,
    role: &'static str,
    created_at: i64,
}

impl MembershipRow {
    /// `user`'s membership in `org` with `role`, since `at`.
    pub(crate) fn new(
        org: OrganizationId,
        user: UserId,
        role: Role,
        at: OffsetDateTime,
    ) -> Result<Self, Error> {
        Ok(Self {
            organization_id: org.to_string(),
            user_id: user.to_string(),
            role: role.as_str(),
            created_at: micros(at)?,
        })
    }
}

/// A stored role, as read back next to its organization.
pub(crate) fn role(raw: &str) -> Result<Role, Error> {
    checked("memberships", "role", raw, Role::parse)
}

/// A row of `sessions`.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions, check_for_backend(Sqlite))]
pub(crate) struct SessionRow {
    id: String,
    user_id: String,
    created_at: i64,
    last_used_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    user_agent: Option<String>,
    ip: Option<String>,
}

impl SessionRow {
    /// The row that stores `session`.
    pub(crate) fn from_domain(session: &Session) -> Result<Self, Error> {
        Ok(Self {
            id: session.id.to_string(),
            user_id: session.user_id.to_string(),
            created_at: micros(session.created_at)?,
            last_used_at: micros(session.last_used_at)?,
            expires_at: micros(session.expires_at)?,
            revoked_at: optional_micros(session.revoked_at)?,
            user_agent: session.user_agent.clone(),
            ip: session.ip.clone(),
        })
    }

    /// The session this row stores.
    pub(crate) fn into_domain(self) -> Result<Session, Error> {
        const T: &str = "sessions";
        Ok(Session {
            id: parse::<SessionId>(T, "id", &self.id)?,
            user_id: parse::<UserId>(T, "user_id", &self.user_id)?,
            created_at: instant_of(T, self.created_at)?,
            last_used_at: instant_of(T, self.last_used_at)?,
            expires_at: instant_of(T, self.expires_at)?,
            revoked_at: optional_instant(T, self.revoked_at)?,
            user_agent: self.user_agent,
            ip: self.ip,
        })
    }
}

/// A row of `refresh_tokens`. Read only for its state, never turned into
/// a domain value: the port exposes sessions, not tokens.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens, check_for_backend(Sqlite))]
pub(crate) struct RefreshTokenRow {
    digest: Vec<u8>,
    /// The session the token belongs to.
    pub(crate) session_id: String,
    issued_at: i64,
    expires_at: i64,
    spent_at: Option<i64>,
}

impl RefreshTokenRow {
    /// A new, unspent token of `session`, issued and expiring at the given
    /// instants (in microseconds, see [`micros`]).
    pub(crate) fn new(
        digest: &SecretDigest,
        session_id: &str,
        issued_at: i64,
        expires_at: i64,
    ) -> Self {
        Self {
            digest: digest.as_bytes().to_vec(),
            session_id: session_id.to_owned(),
            issued_at,
            expires_at,
            spent_at: None,
        }
    }

    /// When the token stops working (exclusive).
    pub(crate) fn expires_at(&self) -> Result<OffsetDateTime, Error> {
        instant_of("refresh_tokens", self.expires_at)
    }

    /// When the token was first spent, if it was.
    pub(crate) fn spent_at(&self) -> Result<Option<OffsetDateTime>, Error> {
        optional_instant("refresh_tokens", self.spent_at)
    }
}

/// A row of `one_time_codes`.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = one_time_codes, check_for_backend(Sqlite))]
pub(crate) struct CodeRow {
    digest: Vec<u8>,
    kind: String,
    user_id: String,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

impl CodeRow {
    /// The row that stores `code`, unused.
    pub(crate) fn from_domain(code: &OneTimeCode) -> Result<Self, Error> {
        Ok(Self {
            digest: code.digest.as_bytes().to_vec(),
            kind: code.kind.as_str().to_owned(),
            user_id: code.user_id.to_string(),
            created_at: micros(code.created_at)?,
            expires_at: micros(code.expires_at)?,
            used_at: None,
        })
    }

    /// The code this row stores.
    pub(crate) fn into_domain(self) -> Result<OneTimeCode, Error> {
        const T: &str = "one_time_codes";
        Ok(OneTimeCode {
            digest: digest(T, &self.digest)?,
            kind: CodeKind::parse(&self.kind)
                .ok_or_else(|| Error::corrupt(T, format!("kind {:?}", self.kind)))?,
            user_id: parse::<UserId>(T, "user_id", &self.user_id)?,
            created_at: instant_of(T, self.created_at)?,
            expires_at: instant_of(T, self.expires_at)?,
        })
    }
}

/// A new row of `login_failures`.
#[derive(Debug, Insertable)]
#[diesel(table_name = login_failures, check_for_backend(Sqlite))]
pub(crate) struct NewLoginFailure<'a> {
    account: &'a str,
    ip: &'a str,
    at: i64,
}

impl<'a> NewLoginFailure<'a> {
    /// A failure for `account` from `ip` at `at`.
    pub(crate) fn new(account: &'a str, ip: &'a str, at: OffsetDateTime) -> Result<Self, Error> {
        Ok(Self {
            account,
            ip,
            at: micros(at)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn micros_round_down_and_sort() {
        let t = OffsetDateTime::UNIX_EPOCH + Duration::nanoseconds(1_999);
        assert_eq!(micros(t).unwrap(), 1);
        let before = OffsetDateTime::UNIX_EPOCH - Duration::nanoseconds(1);
        assert_eq!(micros(before).unwrap(), -1, "floor, not towards zero");
        let back = instant_of("t", micros(t).unwrap()).unwrap();
        assert_eq!(back, OffsetDateTime::UNIX_EPOCH + Duration::microseconds(1));
    }
}
