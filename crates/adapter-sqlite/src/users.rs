//! Users, their organizations and memberships.

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use domain::{
    LoginIdentifier, Organization, PasswordHash, ProfilePatch, Role, User, UserId, UserStatus,
};
use ports::{OrganizationStore, StoreError, UserStore};
use time::OffsetDateTime;

use crate::SqliteStore;
use crate::error::Error;
use crate::rows::{self, MembershipRow, OrganizationRow, UserChanges, UserRow, micros};
use crate::schema::{memberships, organizations, users};
use crate::sessions::revoke_all;

diesel::define_sql_function! {
    /// SQLite's `lower()`, as used by the unique indexes on e-mail and username.
    fn lower(x: Text) -> Text;
}

diesel::define_sql_function! {
    /// SQLite's `lower()` on a nullable column.
    #[sql_name = "lower"]
    fn lower_nullable(x: Nullable<Text>) -> Nullable<Text>;
}

/// The user with this id, if any, on `conn`.
pub(crate) fn find_user(conn: &mut SqliteConnection, id: UserId) -> Result<Option<User>, Error> {
    users::table
        .find(id.to_string())
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .map(UserRow::into_domain)
        .transpose()
}

/// Whether a user with this id exists, on `conn`.
pub(crate) fn user_exists(conn: &mut SqliteConnection, id: UserId) -> Result<bool, Error> {
    let found =
        diesel::select(diesel::dsl::exists(users::table.find(id.to_string()))).get_result(conn)?;
    Ok(found)
}

/// Writes the mutable columns of `user` back to its row.
pub(crate) fn save_user(conn: &mut SqliteConnection, user: &User) -> Result<(), Error> {
    diesel::update(users::table.find(user.id.to_string()))
        .set(UserChanges::from_domain(user)?)
        .execute(conn)?;
    Ok(())
}

impl UserStore for SqliteStore {
    fn create_user(&self, user: &User, organization: &Organization) -> Result<(), StoreError> {
        let user_row = UserRow::from_domain(user)?;
        let org_row = OrganizationRow::from_domain(organization)?;
        let owner = MembershipRow::new(
            organization.id,
            user.id,
            Role::Owner,
            organization.created_at,
        )?;
        self.write(|conn| {
            diesel::insert_into(users::table)
                .values(&user_row)
                .execute(conn)?;
            diesel::insert_into(organizations::table)
                .values(&org_row)
                .execute(conn)?;
            diesel::insert_into(memberships::table)
                .values(&owner)
                .execute(conn)?;
            Ok(())
        })
    }

    fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.read(|conn| find_user(conn, id))
    }

    fn user_by_identifier(&self, identifier: &LoginIdentifier) -> Result<Option<User>, StoreError> {
        self.read(|conn| {
            // Each filter matches its unique index, so the lookup is a seek.
            let query = users::table.select(UserRow::as_select()).into_boxed();
            let query = match identifier {
                LoginIdentifier::Email(email) => {
                    query.filter(lower(users::email).eq(email.as_str()))
                }
                LoginIdentifier::Username(name) => {
                    query.filter(lower_nullable(users::username).eq(name.as_str()))
                }
                LoginIdentifier::Phone(phone) => query.filter(users::phone.eq(phone.as_str())),
            };
            query
                .first(conn)
                .optional()?
                .map(UserRow::into_domain)
                .transpose()
        })
    }

    fn update_profile(
        &self,
        id: UserId,
        patch: &ProfilePatch,
        now: OffsetDateTime,
    ) -> Result<User, StoreError> {
        self.write(|conn| {
            let mut user = find_user(conn, id)?.ok_or(StoreError::NotFound)?;
            patch.apply(&mut user, now);
            save_user(conn, &user)?;
            // Read back, so the answer is what is stored (instants to the µs).
            Ok(find_user(conn, id)?.ok_or(StoreError::NotFound)?)
        })
    }

    fn set_password_hash(
        &self,
        id: UserId,
        hash: &PasswordHash,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let updated_at = micros(now)?;
        self.write(|conn| {
            let changed = diesel::update(users::table.find(id.to_string()))
                .set((
                    users::password_hash.eq(hash.as_str()),
                    users::updated_at.eq(updated_at),
                ))
                .execute(conn)?;
            if changed == 0 {
                return Err(StoreError::NotFound.into());
            }
            Ok(())
        })
    }

    fn set_user_status(
        &self,
        id: UserId,
        status: UserStatus,
        now: OffsetDateTime,
    ) -> Result<User, StoreError> {
        let at = micros(now)?;
        self.write(|conn| {
            let mut user = find_user(conn, id)?.ok_or(StoreError::NotFound)?;
            user.status = status;
            user.updated_at = now;
            save_user(conn, &user)?;
            if status == UserStatus::Inactive {
                revoke_all(conn, id, None, at)?;
            }
            Ok(find_user(conn, id)?.ok_or(StoreError::NotFound)?)
        })
    }
}

impl OrganizationStore for SqliteStore {
    fn organizations_of(&self, user: UserId) -> Result<Vec<(Organization, Role)>, StoreError> {
        self.read(|conn| {
            memberships::table
                .inner_join(organizations::table)
                .filter(memberships::user_id.eq(user.to_string()))
                .order((organizations::created_at.asc(), organizations::id.asc()))
                .select((OrganizationRow::as_select(), memberships::role))
                .load::<(OrganizationRow, String)>(conn)?
                .into_iter()
                .map(|(org, role)| Ok((org.into_domain()?, rows::role(&role)?)))
                .collect()
        })
    }
}
