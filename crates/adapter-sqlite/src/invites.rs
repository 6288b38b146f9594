//! Invitations to organizations.

use diesel::{dsl, prelude::*, sqlite::Sqlite};
use domain::{
    Email, Invite, InviteId, Organization, OrganizationId, Role, SecretDigest, User, UserId,
};
use ports::{InviteStore, StoreError, UniqueField};
use time::OffsetDateTime;

use crate::{
    error::Failure,
    queries::{add_member, lock_user, save_user},
    rows::{InviteRow, OrganizationRow, UserRow},
    schema::{Id, Instant, invites, memberships, organizations, users},
    store::SqliteStore,
    users::lower,
};

/// The invitations that are open (neither accepted nor revoked) and
/// unexpired at `now`.
fn pending(now: OffsetDateTime) -> invites::BoxedQuery<'static, Sqlite> {
    invites::table
        .filter(invites::accepted_at.is_null())
        .filter(invites::revoked_at.is_null())
        .filter(invites::expires_at.gt(Instant(now)))
        .into_boxed()
}

/// Spends the pending invitation whose code has `digest` if it is for
/// `email`, as accepted by `user`, in one statement: of concurrent
/// spenders, exactly one sees the row. `NotFound` otherwise.
fn spend(
    conn: &mut SqliteConnection,
    digest: &SecretDigest,
    email: &Email,
    user: UserId,
    now: OffsetDateTime,
) -> Result<Invite, Failure> {
    let row = diesel::update(
        invites::table
            .filter(invites::digest.eq(digest.as_bytes().as_slice()))
            .filter(invites::email.eq(email.as_str()))
            .filter(invites::accepted_at.is_null())
            .filter(invites::revoked_at.is_null())
            .filter(invites::expires_at.gt(Instant(now))),
    )
    .set((
        invites::accepted_at.eq(Some(now)),
        invites::accepted_by.eq(Some(Id(user.as_uuid()))),
    ))
    .returning(InviteRow::as_returning())
    .get_result(conn)?;
    Ok(row.into_domain()?)
}

/// Makes `user` a member as `invite` says, and returns the organization
/// and the role joined with.
fn join(
    conn: &mut SqliteConnection,
    invite: &Invite,
    user: UserId,
    now: OffsetDateTime,
) -> Result<(Organization, Role), Failure> {
    let role = invite.role.role();
    add_member(conn, invite.organization_id, user, role, now)?;
    let organization = organizations::table
        .find(Id(invite.organization_id.as_uuid()))
        .select(OrganizationRow::as_select())
        .first(conn)?
        .into_domain()?;
    Ok((organization, role))
}

impl InviteStore for SqliteStore {
    fn create_invite(&self, invite: &Invite, digest: &SecretDigest) -> Result<(), StoreError> {
        let organization = Id(invite.organization_id.as_uuid());
        self.transaction(|conn| {
            // The `BEGIN IMMEDIATE` transaction holds the write lock:
            // invitations take turns, so exactly one stays open per address.
            organizations::table
                .find(organization)
                .select(organizations::id)
                .first::<Id>(conn)?;
            let is_member: bool = diesel::select(dsl::exists(
                memberships::table
                    .inner_join(users::table)
                    .filter(memberships::organization_id.eq(organization))
                    .filter(lower(users::email).eq(lower(invite.email.as_str()))),
            ))
            .get_result(conn)?;
            if is_member {
                return Err(Failure(StoreError::Duplicate(UniqueField::Member)));
            }
            diesel::update(
                invites::table
                    .filter(invites::organization_id.eq(organization))
                    .filter(invites::email.eq(invite.email.as_str()))
                    .filter(invites::accepted_at.is_null())
                    .filter(invites::revoked_at.is_null()),
            )
            .set(invites::revoked_at.eq(Some(invite.created_at)))
            .execute(conn)?;
            diesel::insert_into(invites::table)
                .values(InviteRow::from_domain(invite, digest))
                .execute(conn)?;
            Ok(())
        })
    }

    fn invites_of(
        &self,
        organization: OrganizationId,
        now: OffsetDateTime,
    ) -> Result<Vec<Invite>, StoreError> {
        self.with_conn(|conn| {
            let rows = pending(now)
                .filter(invites::organization_id.eq(Id(organization.as_uuid())))
                .order((invites::created_at, invites::id))
                .select(InviteRow::as_select())
                .load(conn)?;
            Ok(rows
                .into_iter()
                .map(InviteRow::into_domain)
                .collect::<Result<_, StoreError>>()?)
        })
    }

    fn revoke_invite(
        &self,
        organization: OrganizationId,
        id: InviteId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.write(|conn| {
            let revoked = diesel::update(
                invites::table
                    .find(Id(id.as_uuid()))
                    .filter(invites::organization_id.eq(Id(organization.as_uuid())))
                    .filter(invites::accepted_at.is_null())
                    .filter(invites::revoked_at.is_null())
                    .filter(invites::expires_at.gt(Instant(now))),
            )
            .set(invites::revoked_at.eq(Some(now)))
            .execute(conn)?;
            if revoked == 0 {
                return Err(Failure(StoreError::NotFound));
            }
            Ok(())
        })
    }

    fn invite_by_code(
        &self,
        digest: &SecretDigest,
        now: OffsetDateTime,
    ) -> Result<Option<Invite>, StoreError> {
        self.with_conn(|conn| {
            let row = pending(now)
                .filter(invites::digest.eq(digest.as_bytes().as_slice()))
                .select(InviteRow::as_select())
                .first(conn)
                .optional()?;
            Ok(row.map(InviteRow::into_domain).transpose()?)
        })
    }

    fn accept_invite(
        &self,
        digest: &SecretDigest,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<(Organization, Role), StoreError> {
        self.transaction(|conn| {
            let account = lock_user(conn, user)?;
            let invite = spend(conn, digest, &account.email, user, now)?;
            let joined = join(conn, &invite, user, now)?;
            if !account.email_verified {
                save_user(conn, &account.validate_email(now))?;
            }
            Ok(joined)
        })
    }

    fn sign_up_by_invite(
        &self,
        digest: &SecretDigest,
        user: &User,
        now: OffsetDateTime,
    ) -> Result<(Organization, Role), StoreError> {
        self.transaction(|conn| {
            // The user first: the invitation records who accepted it.
            diesel::insert_into(users::table)
                .values(UserRow::from_domain(user))
                .execute(conn)?;
            let invite = spend(conn, digest, &user.email, user.id, now)?;
            join(conn, &invite, user.id, now)
        })
    }
}
