//! Users, organizations and memberships.

use diesel::{pg::Pg, prelude::*, sql_types::Text};
use domain::{
    Email, LoginIdentifier, Organization, OrganizationId, OrganizationName, PasswordHash,
    PersonName, Phone, ProfilePatch, Role, User, UserId, UserStatus, Username,
};
use ports::{OrganizationStore, StoreError, UserStore};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    PgStore,
    error::{Failure, corrupt_with},
    schema::{memberships, organizations, users},
    sessions::revoke_sessions_of,
};

diesel::define_sql_function! {
    /// SQL `lower(text)`, as in the case-insensitive unique indexes.
    fn lower(x: Text) -> Text;
}

/// A row of `users`.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users, check_for_backend(Pg))]
pub(crate) struct UserRow {
    id: Uuid,
    email: String,
    username: Option<String>,
    phone: Option<String>,
    first_name: String,
    last_name: String,
    password_hash: String,
    status: String,
    email_verified: bool,
    is_admin: bool,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl UserRow {
    fn from_domain(user: &User) -> Self {
        Self {
            id: user.id.as_uuid(),
            email: user.email.as_str().to_owned(),
            username: user.username.as_ref().map(|u| u.as_str().to_owned()),
            phone: user.phone.as_ref().map(|p| p.as_str().to_owned()),
            first_name: user.first_name.as_str().to_owned(),
            last_name: user.last_name.as_str().to_owned(),
            password_hash: user.password_hash.as_str().to_owned(),
            status: user.status.as_str().to_owned(),
            email_verified: user.email_verified,
            is_admin: user.is_admin,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }

    pub(crate) fn into_domain(self) -> Result<User, StoreError> {
        Ok(User {
            id: UserId::from_uuid(self.id),
            email: Email::parse(&self.email).map_err(corrupt_with("users.email"))?,
            username: self
                .username
                .as_deref()
                .map(Username::parse)
                .transpose()
                .map_err(corrupt_with("users.username"))?,
            phone: self
                .phone
                .as_deref()
                .map(Phone::parse)
                .transpose()
                .map_err(corrupt_with("users.phone"))?,
            first_name: PersonName::parse(&self.first_name)
                .map_err(corrupt_with("users.first_name"))?,
            last_name: PersonName::parse(&self.last_name)
                .map_err(corrupt_with("users.last_name"))?,
            password_hash: PasswordHash::new(self.password_hash),
            status: UserStatus::parse(&self.status).map_err(corrupt_with("users.status"))?,
            email_verified: self.email_verified,
            is_admin: self.is_admin,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The columns a [`ProfilePatch`] may change; `None` leaves a column alone.
#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct ProfileChanges<'a> {
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
    username: Option<Option<&'a str>>,
    phone: Option<Option<&'a str>>,
    updated_at: OffsetDateTime,
}

impl<'a> ProfileChanges<'a> {
    fn new(patch: &'a ProfilePatch, now: OffsetDateTime) -> Self {
        Self {
            first_name: patch.first_name.as_ref().map(PersonName::as_str),
            last_name: patch.last_name.as_ref().map(PersonName::as_str),
            username: patch
                .username
                .as_ref()
                .map(|u| u.as_ref().map(Username::as_str)),
            phone: patch.phone.as_ref().map(|p| p.as_ref().map(Phone::as_str)),
            updated_at: now,
        }
    }
}

/// A row of `organizations`.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations, check_for_backend(Pg))]
struct OrganizationRow {
    id: Uuid,
    name: String,
    created_at: OffsetDateTime,
}

impl OrganizationRow {
    fn from_domain(organization: &Organization) -> Self {
        Self {
            id: organization.id.as_uuid(),
            name: organization.name.as_str().to_owned(),
            created_at: organization.created_at,
        }
    }

    fn into_domain(self) -> Result<Organization, StoreError> {
        Ok(Organization {
            id: OrganizationId::from_uuid(self.id),
            name: OrganizationName::parse(&self.name)
                .map_err(corrupt_with("organizations.name"))?,
            created_at: self.created_at,
        })
    }
}

/// A row of `memberships`.
#[derive(Insertable)]
#[diesel(table_name = memberships)]
struct MembershipRow<'a> {
    organization_id: Uuid,
    user_id: Uuid,
    role: &'a str,
    created_at: OffsetDateTime,
}

impl UserStore for PgStore {
    fn create_user(&self, user: &User, organization: &Organization) -> Result<(), StoreError> {
        self.transaction(|conn| {
            diesel::insert_into(users::table)
                .values(UserRow::from_domain(user))
                .execute(conn)?;
            diesel::insert_into(organizations::table)
                .values(OrganizationRow::from_domain(organization))
                .execute(conn)?;
            diesel::insert_into(memberships::table)
                .values(MembershipRow {
                    organization_id: organization.id.as_uuid(),
                    user_id: user.id.as_uuid(),
                    role: Role::Owner.as_str(),
                    created_at: user.created_at,
                })
                .execute(conn)?;
            Ok(())
        })
    }

    fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.with_conn(|conn| {
            let row = users::table
                .find(id.as_uuid())
                .select(UserRow::as_select())
                .first(conn)
                .optional()?;
            Ok(row.map(UserRow::into_domain).transpose()?)
        })
    }

    fn user_by_identifier(&self, identifier: &LoginIdentifier) -> Result<Option<User>, StoreError> {
        let query = users::table.select(UserRow::as_select()).into_boxed();
        // Filter as the unique indexes are defined, so that they serve the lookup.
        let query = match identifier {
            LoginIdentifier::Email(email) => {
                query.filter(lower(users::email).eq(lower(email.as_str())))
            }
            LoginIdentifier::Username(username) => {
                query.filter(lower(users::username.assume_not_null()).eq(lower(username.as_str())))
            }
            LoginIdentifier::Phone(phone) => query.filter(users::phone.eq(phone.as_str())),
        };
        self.with_conn(|conn| {
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
        self.with_conn(|conn| {
            let row = diesel::update(users::table.find(id.as_uuid()))
                .set(ProfileChanges::new(patch, now))
                .returning(UserRow::as_returning())
                .get_result(conn)?;
            Ok(row.into_domain()?)
        })
    }

    fn set_password_hash(
        &self,
        id: UserId,
        hash: &PasswordHash,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            let updated = diesel::update(users::table.find(id.as_uuid()))
                .set((
                    users::password_hash.eq(hash.as_str()),
                    users::updated_at.eq(now),
                ))
                .execute(conn)?;
            if updated == 0 {
                return Err(Failure(StoreError::NotFound));
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
        self.transaction(|conn| {
            let row = diesel::update(users::table.find(id.as_uuid()))
                .set((users::status.eq(status.as_str()), users::updated_at.eq(now)))
                .returning(UserRow::as_returning())
                .get_result(conn)?;
            if status == UserStatus::Inactive {
                revoke_sessions_of(conn, id, None, now)?;
            }
            Ok(row.into_domain()?)
        })
    }
}

impl OrganizationStore for PgStore {
    fn organizations_of(&self, user: UserId) -> Result<Vec<(Organization, Role)>, StoreError> {
        self.with_conn(|conn| {
            let rows: Vec<(OrganizationRow, String)> = memberships::table
                .inner_join(organizations::table)
                .filter(memberships::user_id.eq(user.as_uuid()))
                .order((organizations::created_at, organizations::id))
                .select((OrganizationRow::as_select(), memberships::role))
                .load(conn)?;
            let organizations = rows
                .into_iter()
                .map(|(organization, role)| {
                    let role = Role::parse(&role).map_err(corrupt_with("memberships.role"))?;
                    Ok((organization.into_domain()?, role))
                })
                .collect::<Result<_, StoreError>>()?;
            Ok(organizations)
        })
    }
}
