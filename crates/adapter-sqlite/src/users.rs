//! Users and their credentials.

use diesel::{prelude::*, sql_types::Text};
use domain::{LoginIdentifier, Organization, PasswordHash, ProfilePatch, User, UserId, UserStatus};
use ports::{OneTimeCode, StoreError, UserStore};
use time::OffsetDateTime;

use crate::{
    codes::insert_code,
    queries::{insert_organization, lock_user, revoke_sessions_of, save_password_hash, save_user},
    rows::UserRow,
    schema::{Id, users},
    store::SqliteStore,
};

diesel::define_sql_function! {
    /// SQLite's `lower(text)`, as in the case-insensitive unique indexes.
    fn lower(x: Text) -> Text;
}

impl UserStore for SqliteStore {
    fn create_user(
        &self,
        user: &User,
        organization: &Organization,
        code: Option<&OneTimeCode>,
    ) -> Result<(), StoreError> {
        if code.is_some_and(|code| code.user_id != user.id) {
            return Err(StoreError::Internal(
                "a new user's code is for another user".into(),
            ));
        }
        self.transaction(|conn| {
            diesel::insert_into(users::table)
                .values(UserRow::from_domain(user))
                .execute(conn)?;
            insert_organization(conn, organization, user.id)?;
            code.map_or(Ok(()), |code| insert_code(conn, code))
        })
    }

    fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.with_conn(|conn| {
            let row = users::table
                .find(Id(id.as_uuid()))
                .select(UserRow::as_select())
                .first(conn)
                .optional()?;
            Ok(row.map(UserRow::into_domain).transpose()?)
        })
    }

    fn user_by_identifier(&self, identifier: &LoginIdentifier) -> Result<Option<User>, StoreError> {
        self.with_conn(|conn| {
            let query = users::table.select(UserRow::as_select()).into_boxed();
            // Filter as the unique indexes are defined, so that they serve the lookup.
            let query = match identifier {
                LoginIdentifier::Email(email) => {
                    query.filter(lower(users::email).eq(lower(email.as_str())))
                }
                LoginIdentifier::Username(username) => query
                    .filter(lower(users::username.assume_not_null()).eq(lower(username.as_str()))),
                LoginIdentifier::Phone(phone) => query.filter(users::phone.eq(phone.as_str())),
            };
            let row = query.first(conn).optional()?;
            Ok(row.map(UserRow::into_domain).transpose()?)
        })
    }

    fn update_profile(
        &self,
        id: UserId,
        patch: &ProfilePatch,
        now: OffsetDateTime,
    ) -> Result<User, StoreError> {
        self.transaction(|conn| {
            let mut user = lock_user(conn, id)?;
            patch.apply(&mut user, now);
            save_user(conn, &user)
        })
    }

    fn set_password_hash(
        &self,
        id: UserId,
        hash: &PasswordHash,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.write(|conn| save_password_hash(conn, id, hash, now))
    }

    fn set_user_status(
        &self,
        id: UserId,
        status: UserStatus,
        now: OffsetDateTime,
    ) -> Result<User, StoreError> {
        self.transaction(|conn| {
            let change = lock_user(conn, id)?.change_status(status, now);
            let user = save_user(conn, &change.user)?;
            if change.revoke_sessions {
                revoke_sessions_of(conn, id, None, now)?;
            }
            Ok(user)
        })
    }
}
