//! One-time codes.

use diesel::prelude::*;
use domain::{CodeKind, SecretDigest, User};
use ports::{CodeStore, OneTimeCode, StoreError};
use time::OffsetDateTime;

use crate::{
    error::Failure,
    queries::{lock_user, save_user, spend_codes_of},
    rows::CodeRow,
    schema::{Instant, one_time_codes},
    store::SqliteStore,
};

/// Spends the code if it is of `kind`, unused and unexpired at `now`, in
/// one statement: of concurrent spenders, exactly one sees the row.
pub(crate) fn spend(
    conn: &mut SqliteConnection,
    digest: &SecretDigest,
    kind: CodeKind,
    now: OffsetDateTime,
) -> Result<OneTimeCode, Failure> {
    let row = diesel::update(
        one_time_codes::table
            .find(digest.as_bytes().as_slice())
            .filter(one_time_codes::kind.eq(kind.as_str()))
            .filter(one_time_codes::used_at.is_null())
            .filter(one_time_codes::expires_at.gt(Instant(now))),
    )
    .set(one_time_codes::used_at.eq(Some(now)))
    .returning(CodeRow::as_returning())
    .get_result(conn)?;
    Ok(row.into_domain()?)
}

/// Inserts `code`.
pub(crate) fn insert_code(conn: &mut SqliteConnection, code: &OneTimeCode) -> Result<(), Failure> {
    diesel::insert_into(one_time_codes::table)
        .values(CodeRow::from_domain(code))
        .execute(conn)?;
    Ok(())
}

impl CodeStore for SqliteStore {
    fn store_code(&self, code: &OneTimeCode) -> Result<(), StoreError> {
        self.write(|conn| insert_code(conn, code))
    }

    fn consume_code(
        &self,
        digest: &SecretDigest,
        kind: CodeKind,
        now: OffsetDateTime,
    ) -> Result<OneTimeCode, StoreError> {
        self.write(|conn| spend(conn, digest, kind, now))
    }

    fn validate_email(
        &self,
        digest: &SecretDigest,
        now: OffsetDateTime,
    ) -> Result<User, StoreError> {
        self.transaction(|conn| {
            let code = spend(conn, digest, CodeKind::ValidateEmail, now)?;
            spend_codes_of(conn, code.user_id, CodeKind::ValidateEmail, now)?;
            let user = lock_user(conn, code.user_id)?.validate_email(now);
            save_user(conn, &user)
        })
    }

    fn store_newest_code(&self, code: &OneTimeCode) -> Result<(), StoreError> {
        self.transaction(|conn| {
            // The transaction's write lock makes concurrent requests take
            // turns, so exactly one code, the newest, stays usable.
            lock_user(conn, code.user_id)?;
            spend_codes_of(conn, code.user_id, code.kind, code.created_at)?;
            insert_code(conn, code)
        })
    }
}
