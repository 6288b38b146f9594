//! API keys.

use diesel::prelude::*;
use domain::{ApiKey, ApiKeyId, SecretDigest, User, UserId};
use ports::{ApiKeyStore, StoreError, TooManyKeys};
use time::OffsetDateTime;

use crate::{
    error::Failure,
    queries::lock_user,
    rows::{ApiKeyRow, UserRow},
    schema::{Id, Instant, api_keys, users},
    store::SqliteStore,
};

impl ApiKeyStore for SqliteStore {
    fn create_api_key(
        &self,
        key: &ApiKey,
        digest: &SecretDigest,
        limit: u32,
    ) -> Result<Result<(), TooManyKeys>, StoreError> {
        self.transaction(|conn| {
            // The `BEGIN IMMEDIATE` transaction holds the write lock:
            // concurrent creations count in turn. The owner must exist.
            lock_user(conn, key.user_id)?;
            let held: i64 = api_keys::table
                .filter(api_keys::user_id.eq(Id(key.user_id.as_uuid())))
                .count()
                .get_result(conn)?;
            if held >= i64::from(limit) {
                return Ok(Err(TooManyKeys));
            }
            diesel::insert_into(api_keys::table)
                .values(ApiKeyRow::from_domain(key, digest))
                .execute(conn)?;
            Ok(Ok(()))
        })
    }

    fn api_keys_of(&self, user: UserId) -> Result<Vec<ApiKey>, StoreError> {
        self.with_conn(|conn| {
            let rows = api_keys::table
                .filter(api_keys::user_id.eq(Id(user.as_uuid())))
                .order((api_keys::created_at.desc(), api_keys::id.desc()))
                .select(ApiKeyRow::as_select())
                .load(conn)?;
            Ok(rows
                .into_iter()
                .map(ApiKeyRow::into_domain)
                .collect::<Result<_, StoreError>>()?)
        })
    }

    fn delete_api_key(&self, user: UserId, id: ApiKeyId) -> Result<(), StoreError> {
        self.write(|conn| {
            let deleted = diesel::delete(
                api_keys::table
                    .find(Id(id.as_uuid()))
                    .filter(api_keys::user_id.eq(Id(user.as_uuid()))),
            )
            .execute(conn)?;
            if deleted == 0 {
                return Err(Failure(StoreError::NotFound));
            }
            Ok(())
        })
    }

    fn api_key_by_digest(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<(ApiKey, User)>, StoreError> {
        self.with_conn(|conn| {
            let row: Option<(ApiKeyRow, UserRow)> = api_keys::table
                .inner_join(users::table)
                .filter(api_keys::digest.eq(digest.as_bytes().as_slice()))
                .select((ApiKeyRow::as_select(), UserRow::as_select()))
                .first(conn)
                .optional()?;
            let Some((key, owner)) = row else {
                return Ok(None);
            };
            Ok(Some((key.into_domain()?, owner.into_domain()?)))
        })
    }

    fn record_api_key_use(
        &self,
        id: ApiKeyId,
        now: OffsetDateTime,
        since: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.write(|conn| {
            // One statement: of concurrent recorders, the first writes and
            // the others find the use recorded.
            diesel::update(
                api_keys::table.find(Id(id.as_uuid())).filter(
                    api_keys::last_used_at
                        .is_null()
                        .or(api_keys::last_used_at.lt(Instant(since))),
                ),
            )
            .set(api_keys::last_used_at.eq(Some(now)))
            .execute(conn)?;
            Ok(())
        })
    }
}
