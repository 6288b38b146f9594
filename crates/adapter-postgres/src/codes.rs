//! One-time codes.

use diesel::{dsl::case_when, pg::Pg, prelude::*, sql_types::Text};
use domain::{CodeKind, SecretDigest, User, UserId, UserStatus};
use ports::{CodeStore, OneTimeCode, StoreError};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    PgStore,
    error::{Failure, corrupt},
    schema::{one_time_codes, users},
    users::UserRow,
};

/// A row of `one_time_codes`, less `used_at`.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = one_time_codes, check_for_backend(Pg))]
struct CodeRow {
    digest: Vec<u8>,
    kind: String,
    user_id: Uuid,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
}

impl CodeRow {
    fn from_domain(code: &OneTimeCode) -> Self {
        Self {
            digest: code.digest.as_bytes().to_vec(),
            kind: code.kind.as_str().to_owned(),
            user_id: code.user_id.as_uuid(),
            created_at: code.created_at,
            expires_at: code.expires_at,
        }
    }

    fn into_domain(self) -> Result<OneTimeCode, StoreError> {
        Ok(OneTimeCode {
            digest: SecretDigest::from_bytes(&self.digest)
                .ok_or_else(|| corrupt("one_time_codes.digest"))?,
            kind: CodeKind::parse(&self.kind).ok_or_else(|| corrupt("one_time_codes.kind"))?,
            user_id: UserId::from_uuid(self.user_id),
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}

/// Spends the code if it is of `kind`, unused and unexpired at `now`, in
/// one statement: of concurrent spenders, exactly one sees the row.
fn spend(
    conn: &mut PgConnection,
    digest: &SecretDigest,
    kind: CodeKind,
    now: OffsetDateTime,
) -> Result<OneTimeCode, Failure> {
    let row = diesel::update(
        one_time_codes::table
            .find(digest.as_bytes().as_slice())
            .filter(one_time_codes::kind.eq(kind.as_str()))
            .filter(one_time_codes::used_at.is_null())
            .filter(one_time_codes::expires_at.gt(now)),
    )
    .set(one_time_codes::used_at.eq(now))
    .returning(CodeRow::as_returning())
    .get_result(conn)?;
    Ok(row.into_domain()?)
}

impl CodeStore for PgStore {
    fn store_code(&self, code: &OneTimeCode) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            diesel::insert_into(one_time_codes::table)
                .values(CodeRow::from_domain(code))
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
        self.with_conn(|conn| spend(conn, digest, kind, now))
    }

    fn validate_email(
        &self,
        digest: &SecretDigest,
        now: OffsetDateTime,
    ) -> Result<User, StoreError> {
        self.transaction(|conn| {
            let code = spend(conn, digest, CodeKind::ValidateEmail, now)?;
            let user_id = code.user_id.as_uuid();
            diesel::update(
                one_time_codes::table
                    .filter(one_time_codes::user_id.eq(user_id))
                    .filter(one_time_codes::kind.eq(CodeKind::ValidateEmail.as_str()))
                    .filter(one_time_codes::used_at.is_null()),
            )
            .set(one_time_codes::used_at.eq(now))
            .execute(conn)?;
            let activated = case_when::<_, _, Text>(
                users::status.eq(UserStatus::PendingValidation.as_str()),
                UserStatus::Active.as_str(),
            )
            .otherwise(users::status);
            let row = diesel::update(users::table.find(user_id))
                .set((
                    users::email_verified.eq(true),
                    users::status.eq(activated),
                    users::updated_at.eq(now),
                ))
                .returning(UserRow::as_returning())
                .get_result(conn)?;
            Ok(row.into_domain()?)
        })
    }
}
