//! Organizations and their memberships.

use diesel::prelude::*;
use domain::{
    Member, MemberChange, MemberRefusal, Organization, OrganizationAction, OrganizationId,
    OrganizationName, OrganizationRefusal, Role, Standing, UserId, judge_member_change,
    may_administer,
};
use ports::{OrganizationStore, StoreError};

use crate::{
    error::Failure,
    queries::{insert_organization, role_in},
    rows::{self, OrganizationRow, UserRow, member, member_columns},
    schema::{Id, memberships, organizations, users},
    store::SqliteStore,
};

/// How `user` stands in `organization`.
fn standing(
    conn: &mut SqliteConnection,
    organization: OrganizationId,
    user: UserId,
) -> Result<Standing, Failure> {
    let account = users::table
        .find(Id(user.as_uuid()))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .map(UserRow::into_domain)
        .transpose()?;
    let platform_admin = account.as_ref().is_some_and(may_administer);
    Ok(Standing {
        role: role_in(conn, organization, user)?,
        platform_admin,
    })
}

/// The member `user` of `organization`, if one.
fn load_member(
    conn: &mut SqliteConnection,
    organization: OrganizationId,
    user: UserId,
) -> Result<Option<Member>, Failure> {
    let row = memberships::table
        .inner_join(users::table)
        .filter(memberships::organization_id.eq(Id(organization.as_uuid())))
        .filter(memberships::user_id.eq(Id(user.as_uuid())))
        .select(member_columns())
        .first(conn)
        .optional()?;
    Ok(row.map(member).transpose()?)
}

impl OrganizationStore for SqliteStore {
    fn organizations_of(&self, user: UserId) -> Result<Vec<(Organization, Role)>, StoreError> {
        self.with_conn(|conn| {
            let rows: Vec<(OrganizationRow, String)> = memberships::table
                .inner_join(organizations::table)
                .filter(memberships::user_id.eq(Id(user.as_uuid())))
                .order((memberships::created_at, organizations::id))
                .select((OrganizationRow::as_select(), memberships::role))
                .load(conn)?;
            let organizations = rows
                .into_iter()
                .map(|(organization, role)| Ok((organization.into_domain()?, rows::role(&role)?)))
                .collect::<Result<_, StoreError>>()?;
            Ok(organizations)
        })
    }

    fn organization_for(
        &self,
        id: OrganizationId,
        user: UserId,
    ) -> Result<Option<(Organization, Option<Role>)>, StoreError> {
        self.with_conn(|conn| {
            let row: Option<(OrganizationRow, Option<String>)> = organizations::table
                .left_join(
                    memberships::table.on(memberships::organization_id
                        .eq(organizations::id)
                        .and(memberships::user_id.eq(Id(user.as_uuid())))),
                )
                .filter(organizations::id.eq(Id(id.as_uuid())))
                .select((OrganizationRow::as_select(), memberships::role.nullable()))
                .first(conn)
                .optional()?;
            let Some((organization, role)) = row else {
                return Ok(None);
            };
            let role = role.as_deref().map(rows::role).transpose()?;
            Ok(Some((organization.into_domain()?, role)))
        })
    }

    fn create_organization(
        &self,
        organization: &Organization,
        owner: UserId,
    ) -> Result<(), StoreError> {
        self.transaction(|conn| insert_organization(conn, organization, owner))
    }

    fn rename_organization(
        &self,
        id: OrganizationId,
        name: &OrganizationName,
    ) -> Result<Organization, StoreError> {
        self.write(|conn| {
            let row = diesel::update(organizations::table.find(Id(id.as_uuid())))
                .set(organizations::name.eq(name.as_str()))
                .returning(OrganizationRow::as_returning())
                .get_result(conn)?;
            Ok(row.into_domain()?)
        })
    }

    fn delete_organization(
        &self,
        id: OrganizationId,
        actor: UserId,
    ) -> Result<Result<(), OrganizationRefusal>, StoreError> {
        self.transaction(|conn| {
            // The `BEGIN IMMEDIATE` transaction holds the write lock.
            let exists: Option<Id> = organizations::table
                .find(Id(id.as_uuid()))
                .select(organizations::id)
                .first(conn)
                .optional()?;
            if exists.is_none() {
                return Ok(Err(OrganizationRefusal::NotFound));
            }
            if let Err(refusal) = standing(conn, id, actor)?.may(OrganizationAction::Delete) {
                return Ok(Err(refusal));
            }
            // Memberships and invitations go with it (ON DELETE CASCADE).
            diesel::delete(organizations::table.find(Id(id.as_uuid()))).execute(conn)?;
            Ok(Ok(()))
        })
    }

    fn members_of(&self, id: OrganizationId) -> Result<Vec<Member>, StoreError> {
        self.with_conn(|conn| {
            let rows = memberships::table
                .inner_join(users::table)
                .filter(memberships::organization_id.eq(Id(id.as_uuid())))
                .order((memberships::created_at, memberships::user_id))
                .select(member_columns())
                .load(conn)?;
            Ok(rows
                .into_iter()
                .map(member)
                .collect::<Result<_, StoreError>>()?)
        })
    }

    fn change_member(
        &self,
        organization: OrganizationId,
        actor: UserId,
        target: UserId,
        change: MemberChange,
    ) -> Result<Result<Option<Member>, MemberRefusal>, StoreError> {
        self.transaction(|conn| {
            // The `BEGIN IMMEDIATE` transaction holds the write lock: the
            // changes to memberships take turns, each counting the owners
            // the one before it left.
            let exists: Option<Id> = organizations::table
                .find(Id(organization.as_uuid()))
                .select(organizations::id)
                .first(conn)
                .optional()?;
            if exists.is_none() {
                return Ok(Err(OrganizationRefusal::NotFound.into()));
            }
            let standing = standing(conn, organization, actor)?;
            let target_role = role_in(conn, organization, target)?;
            let owners: i64 = memberships::table
                .filter(memberships::organization_id.eq(Id(organization.as_uuid())))
                .filter(memberships::role.eq(Role::Owner.as_str()))
                .count()
                .get_result(conn)?;
            let owners = u64::try_from(owners).unwrap_or_default();
            if let Err(refusal) =
                judge_member_change(actor, standing, target, target_role, change, owners)
            {
                return Ok(Err(refusal));
            }
            let membership =
                memberships::table.find((Id(organization.as_uuid()), Id(target.as_uuid())));
            match change {
                MemberChange::SetRole(role) => {
                    diesel::update(membership)
                        .set(memberships::role.eq(role.as_str()))
                        .execute(conn)?;
                    Ok(Ok(load_member(conn, organization, target)?))
                }
                MemberChange::Remove => {
                    diesel::delete(membership).execute(conn)?;
                    Ok(Ok(None))
                }
            }
        })
    }
}
