//! One-time codes: validation, resend, reset and invite.

use diesel::prelude::*;
use domain::{CodeKind, SecretDigest, User, UserStatus};
use ports::{CodeStore, OneTimeCode, StoreError};
use time::OffsetDateTime;

use crate::SqliteStore;
use crate::error::Error;
use crate::rows::{CodeRow, micros};
use crate::schema::one_time_codes;
use crate::users::{find_user, save_user, user_exists};

/// Spends the code if it is of `kind`, unused and unexpired at `now`, in
/// one statement, and returns it; `NotFound` otherwise.
fn spend(
    conn: &mut SqliteConnection,
    digest: &SecretDigest,
    kind: CodeKind,
    now: i64,
) -> Result<OneTimeCode, Error> {
    diesel::update(
        one_time_codes::table
            .find(digest.as_bytes().as_slice())
            .filter(one_time_codes::kind.eq(kind.as_str()))
            .filter(one_time_codes::used_at.is_null())
            .filter(one_time_codes::expires_at.gt(now)),
    )
    .set(one_time_codes::used_at.eq(now))
    .returning(CodeRow::as_returning())
    .get_result(conn)
    .optional()?
    .ok_or(Error::Store(StoreError::NotFound))?
    .into_domain()
}

/// Marks the e-mail verified and turns a pending account active (an
/// inactive one stays inactive), spends the user's other validation codes,
/// and returns the user as stored.
fn mark_validated(
    conn: &mut SqliteConnection,
    code: &OneTimeCode,
    now: OffsetDateTime,
) -> Result<User, Error> {
    let mut user = find_user(conn, code.user_id)?.ok_or(StoreError::NotFound)?;
    user.email_verified = true;
    if user.status == UserStatus::PendingValidation {
        user.status = UserStatus::Active;
    }
    user.updated_at = now;
    save_user(conn, &user)?;
    let at = micros(now)?;
    diesel::update(
        one_time_codes::table
            .filter(one_time_codes::user_id.eq(code.user_id.to_string()))
            .filter(one_time_codes::kind.eq(CodeKind::ValidateEmail.as_str()))
            .filter(one_time_codes::used_at.is_null()),
    )
    .set(one_time_codes::used_at.eq(at))
    .execute(conn)?;
    find_user(conn, code.user_id)?.ok_or_else(|| StoreError::NotFound.into())
}

impl CodeStore for SqliteStore {
    fn store_code(&self, code: &OneTimeCode) -> Result<(), StoreError> {
        let row = CodeRow::from_domain(code)?;
        self.write(|conn| {
            if !user_exists(conn, code.user_id)? {
                return Err(StoreError::NotFound.into());
            }
            diesel::insert_into(one_time_codes::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    fn consume_code(
        &self,
        digest: &SecretDigest,
        kind: CodeKind,
        now: OffsetDateTime,
    ) -> Result<OneTimeCode, StoreError> {
        let at = micros(now)?;
        self.write(|conn| spend(conn, digest, kind, at))
    }

    fn validate_email(
        &self,
        digest: &SecretDigest,
        now: OffsetDateTime,
    ) -> Result<User, StoreError> {
        let at = micros(now)?;
        self.write(|conn| {
            let code = spend(conn, digest, CodeKind::ValidateEmail, at)?;
            mark_validated(conn, &code, now)
        })
    }
}
