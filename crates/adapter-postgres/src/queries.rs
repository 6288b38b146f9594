//! Statements that more than one port runs, each inside the caller's
//! transaction: a user loaded for a domain rule and saved with what the rule
//! decided, a user's sessions revoked, a password hash replaced, a user's
//! codes of one kind spent, an organization stored with its owner and a
//! membership added.

use diesel::prelude::*;
use domain::{CodeKind, Organization, OrganizationId, PasswordHash, Role, SessionId, User, UserId};
use ports::{StoreError, UniqueField};
use time::OffsetDateTime;

use crate::{
    error::Failure,
    rows::{MembershipRow, OrganizationRow, UserChanges, UserRow},
    schema::{memberships, one_time_codes, organizations, sessions, users},
};

/// Stores `organization` with `owner` as its owner since its creation.
pub(crate) fn insert_organization(
    conn: &mut PgConnection,
    organization: &Organization,
    owner: UserId,
) -> Result<(), Failure> {
    diesel::insert_into(organizations::table)
        .values(OrganizationRow::from_domain(organization))
        .execute(conn)?;
    diesel::insert_into(memberships::table)
        .values(MembershipRow::new(
            organization.id,
            owner,
            Role::Owner,
            organization.created_at,
        ))
        .execute(conn)?;
    Ok(())
}

/// The role of `user` in `organization`, if a member.
pub(crate) fn role_in(
    conn: &mut PgConnection,
    organization: OrganizationId,
    user: UserId,
) -> Result<Option<Role>, Failure> {
    let role: Option<String> = memberships::table
        .find((organization.as_uuid(), user.as_uuid()))
        .select(memberships::role)
        .first(conn)
        .optional()?;
    Ok(role.as_deref().map(crate::rows::role).transpose()?)
}

/// Makes `user` a member of `organization` with `role` since `at`;
/// `Duplicate(Member)` if they are one already.
pub(crate) fn add_member(
    conn: &mut PgConnection,
    organization: OrganizationId,
    user: UserId,
    role: Role,
    at: OffsetDateTime,
) -> Result<(), Failure> {
    if role_in(conn, organization, user)?.is_some() {
        return Err(Failure(StoreError::Duplicate(UniqueField::Member)));
    }
    diesel::insert_into(memberships::table)
        .values(MembershipRow::new(organization, user, role, at))
        .execute(conn)?;
    Ok(())
}

/// The user with this id, its row locked until the transaction ends so that
/// the rule's decision is written over what it judged; `NotFound` if none.
pub(crate) fn lock_user(conn: &mut PgConnection, id: UserId) -> Result<User, Failure> {
    let row = users::table
        .find(id.as_uuid())
        .select(UserRow::as_select())
        .for_update()
        .first(conn)?;
    Ok(row.into_domain()?)
}

/// Writes what a rule changed in `user` and returns the user as stored.
pub(crate) fn save_user(conn: &mut PgConnection, user: &User) -> Result<User, Failure> {
    let row = diesel::update(users::table.find(user.id.as_uuid()))
        .set(UserChanges::from_domain(user))
        .returning(UserRow::as_returning())
        .get_result(conn)?;
    Ok(row.into_domain()?)
}

/// Revokes every unrevoked session of `user` except `keep`; returns how many.
pub(crate) fn revoke_sessions_of(
    conn: &mut PgConnection,
    user: UserId,
    keep: Option<SessionId>,
    now: OffsetDateTime,
) -> Result<usize, Failure> {
    let mut update = diesel::update(sessions::table)
        .filter(sessions::user_id.eq(user.as_uuid()))
        .filter(sessions::revoked_at.is_null())
        .set(sessions::revoked_at.eq(Some(now)))
        .into_boxed();
    if let Some(keep) = keep {
        update = update.filter(sessions::id.ne(keep.as_uuid()));
    }
    Ok(update.execute(conn)?)
}

/// Replaces `user`'s password hash, stamping `updated_at`; `NotFound` if
/// there is no such user.
pub(crate) fn save_password_hash(
    conn: &mut PgConnection,
    user: UserId,
    hash: &PasswordHash,
    now: OffsetDateTime,
) -> Result<(), Failure> {
    let updated = diesel::update(users::table.find(user.as_uuid()))
        .set((
            users::password_hash.eq(hash.as_str()),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        return Err(Failure(StoreError::NotFound));
    }
    Ok(())
}

/// Spends, at `now`, every unspent code of `kind` of `user`; returns how many.
pub(crate) fn spend_codes_of(
    conn: &mut PgConnection,
    user: UserId,
    kind: CodeKind,
    now: OffsetDateTime,
) -> Result<usize, Failure> {
    Ok(diesel::update(
        one_time_codes::table
            .filter(one_time_codes::user_id.eq(user.as_uuid()))
            .filter(one_time_codes::kind.eq(kind.as_str()))
            .filter(one_time_codes::used_at.is_null()),
    )
    .set(one_time_codes::used_at.eq(Some(now)))
    .execute(conn)?)
}

/// A `LIKE` pattern, with `\` as its escape character, that finds `text`
/// anywhere in a value: `%`, `_` and `\` in `text` stand for themselves.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}
