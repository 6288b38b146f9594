//! Statements that more than one port runs, each inside the caller's
//! transaction: a user loaded for a domain rule and saved with what the rule
//! decided, a user's sessions revoked, a password hash replaced and a
//! user's codes of one kind spent.

use diesel::prelude::*;
use domain::{CodeKind, PasswordHash, SessionId, User, UserId};
use ports::StoreError;
use time::OffsetDateTime;

use crate::{
    error::Failure,
    rows::{UserChanges, UserRow},
    schema::{one_time_codes, sessions, users},
};

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
