//! Password changes and resets.

use diesel::prelude::*;
use domain::{CodeKind, PasswordHash, SecretDigest, SessionId, User, UserId};
use ports::{PasswordStore, StoreError};
use time::OffsetDateTime;

use crate::{
    codes::spend,
    error::Failure,
    queries::{lock_user, revoke_sessions_of, save_password_hash, save_user, spend_codes_of},
    rows::UserRow,
    schema::{Id, Instant, one_time_codes, users},
    store::SqliteStore,
};

/// The user a code was made for, whatever its state; `NotFound` if the
/// code is unknown.
fn code_holder(conn: &mut SqliteConnection, digest: &SecretDigest) -> Result<UserId, Failure> {
    let user = one_time_codes::table
        .find(digest.as_bytes().as_slice())
        .select(one_time_codes::user_id)
        .first::<Id>(conn)?;
    Ok(UserId::from_uuid(user.into()))
}

impl PasswordStore for SqliteStore {
    fn reset_code_user(
        &self,
        digest: &SecretDigest,
        now: OffsetDateTime,
    ) -> Result<Option<User>, StoreError> {
        self.with_conn(|conn| {
            let row = one_time_codes::table
                .find(digest.as_bytes().as_slice())
                .filter(one_time_codes::kind.eq(CodeKind::ResetPassword.as_str()))
                .filter(one_time_codes::used_at.is_null())
                .filter(one_time_codes::expires_at.gt(Instant(now)))
                .inner_join(users::table)
                .select(UserRow::as_select())
                .first(conn)
                .optional()?;
            Ok(row.map(UserRow::into_domain).transpose()?)
        })
    }

    fn change_password(
        &self,
        user: UserId,
        hash: &PasswordHash,
        keep: SessionId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.transaction(|conn| {
            save_password_hash(conn, user, hash, now)?;
            spend_codes_of(conn, user, CodeKind::ResetPassword, now)?;
            revoke_sessions_of(conn, user, Some(keep), now)?;
            Ok(())
        })
    }

    fn reset_password(
        &self,
        digest: &SecretDigest,
        hash: &PasswordHash,
        now: OffsetDateTime,
    ) -> Result<User, StoreError> {
        self.transaction(|conn| {
            // The user first, then its codes: the order in which every
            // other writer of a user's reset codes takes them.
            let holder = code_holder(conn, digest)?;
            let user = lock_user(conn, holder)?;
            spend(conn, digest, CodeKind::ResetPassword, now)?;
            spend_codes_of(conn, user.id, CodeKind::ResetPassword, now)?;
            let user = user.reset_password(hash.clone(), now);
            save_password_hash(conn, user.id, &user.password_hash, now)?;
            let user = save_user(conn, &user)?;
            revoke_sessions_of(conn, user.id, None, now)?;
            Ok(user)
        })
    }
}
