//! Organizations: the caller's, making, renaming and deleting one, and
//! managing its members' roles.

use domain::{
    Member, MemberChange, MemberRefusal, Organization, OrganizationAction, OrganizationId,
    OrganizationName, OrganizationRefusal, Role, Standing, UserId, may_administer,
};
use ports::{Change, OrganizationStore, StoreError, UserStore};

use crate::{
    authenticate::Principal,
    error::{Fault, faults_from},
    service::AuthService,
};

/// An organization as a caller sees it: with their role there (`None` for
/// a platform administrator who is no member).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationView {
    /// The organization.
    pub organization: Organization,
    /// The caller's role there.
    pub role: Option<Role>,
}

/// Why an organization could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CreateOrganizationError {
    /// The account behind a valid token no longer exists.
    #[error("invalid token")]
    InvalidToken,
    /// The store failed.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(CreateOrganizationError: StoreError);

/// Why an organization, or its members, could not be seen.
#[derive(Debug, thiserror::Error)]
pub enum ViewOrganizationError {
    /// No such organization, or the caller is not a member: one answer.
    #[error("not found")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(ViewOrganizationError: StoreError);

/// Why an organization (or its invitations) was not changed.
#[derive(Debug, thiserror::Error)]
pub enum ManageOrganizationError {
    /// No such organization (or invitation), or the caller is not a member.
    #[error("not found")]
    NotFound,
    /// The caller's role does not allow it.
    #[error("insufficient permissions")]
    InsufficientPermissions,
    /// The store failed.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(ManageOrganizationError: StoreError);

/// Why a membership was not changed.
#[derive(Debug, thiserror::Error)]
pub enum ChangeMemberError {
    /// No such organization or member, or the caller is not a member.
    #[error("not found")]
    NotFound,
    /// The caller's role does not allow it.
    #[error("insufficient permissions")]
    InsufficientPermissions,
    /// The change would leave the organization without an owner.
    #[error("last owner")]
    LastOwner,
    /// The store failed.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults_from!(ChangeMemberError: StoreError);

impl From<OrganizationRefusal> for ViewOrganizationError {
    fn from(refusal: OrganizationRefusal) -> Self {
        match refusal {
            // Every member may view; only a stranger is refused.
            OrganizationRefusal::NotFound | OrganizationRefusal::InsufficientPermissions => {
                Self::NotFound
            }
        }
    }
}

impl From<OrganizationRefusal> for ManageOrganizationError {
    fn from(refusal: OrganizationRefusal) -> Self {
        match refusal {
            OrganizationRefusal::NotFound => Self::NotFound,
            OrganizationRefusal::InsufficientPermissions => Self::InsufficientPermissions,
        }
    }
}

impl From<MemberRefusal> for ChangeMemberError {
    fn from(refusal: MemberRefusal) -> Self {
        match refusal {
            MemberRefusal::Organization(OrganizationRefusal::NotFound)
            | MemberRefusal::MemberNotFound => Self::NotFound,
            MemberRefusal::Organization(OrganizationRefusal::InsufficientPermissions) => {
                Self::InsufficientPermissions
            }
            MemberRefusal::LastOwner => Self::LastOwner,
        }
    }
}

/// An organization and how the caller stands there, read before acting.
pub(crate) struct Scope {
    pub(crate) organization: Organization,
    pub(crate) standing: Standing,
    /// The caller's account; `None` if it went away since its token was
    /// checked (a stranger, then, unless a member).
    pub(crate) caller: Option<domain::User>,
}

impl Scope {
    /// The organization, if the caller may do `action` there.
    pub(crate) fn allow(
        self,
        action: OrganizationAction,
    ) -> Result<OrganizationView, OrganizationRefusal> {
        Ok(self.allow_caller(action)?.0)
    }

    /// Like [`Scope::allow`], with the caller's account.
    pub(crate) fn allow_caller(
        self,
        action: OrganizationAction,
    ) -> Result<(OrganizationView, Option<domain::User>), OrganizationRefusal> {
        self.standing.may(action)?;
        let view = OrganizationView {
            organization: self.organization,
            role: self.standing.role,
        };
        Ok((view, self.caller))
    }
}

/// The organization `id` and how `who` stands there; a stranger's refusal
/// when there is no such organization.
pub(crate) fn scope(
    store: &(impl UserStore + OrganizationStore + ?Sized),
    who: &Principal,
    id: OrganizationId,
) -> Result<Result<Scope, OrganizationRefusal>, StoreError> {
    let Some((organization, role)) = store.organization_for(id, who.user_id)? else {
        return Ok(Err(OrganizationRefusal::NotFound));
    };
    let caller = store.user_by_id(who.user_id)?;
    let platform_admin = caller.as_ref().is_some_and(may_administer);
    Ok(Ok(Scope {
        organization,
        standing: Standing {
            role,
            platform_admin,
        },
        caller,
    }))
}

impl AuthService {
    /// The organizations the caller belongs to, with their role in each,
    /// the oldest membership first.
    ///
    /// # Errors
    /// A [`Fault`] if the store fails.
    pub fn my_organizations(&self, who: &Principal) -> Result<Vec<OrganizationView>, Fault> {
        let store: &dyn OrganizationStore = &*self.ports.store;
        Ok(store
            .organizations_of(who.user_id)?
            .into_iter()
            .map(|(organization, role)| OrganizationView {
                organization,
                role: Some(role),
            })
            .collect())
    }

    /// Makes an organization named `name` with the caller as its owner.
    ///
    /// # Errors
    /// See [`CreateOrganizationError`].
    pub fn create_organization(
        &self,
        who: &Principal,
        name: OrganizationName,
    ) -> Result<OrganizationView, CreateOrganizationError> {
        let store: &dyn OrganizationStore = &*self.ports.store;
        let organization = Organization::new(name, self.now());
        let created = store.create_organization(&organization, who.user_id);
        self.forget(who.user_id);
        created.map_err(|e| match e {
            StoreError::NotFound => CreateOrganizationError::InvalidToken,
            other => other.into(),
        })?;
        tracing::info!(user_id = %who.user_id, organization_id = %organization.id, "organization created");
        Ok(OrganizationView {
            organization,
            role: Some(Role::Owner),
        })
    }

    /// One organization, as the caller sees it.
    ///
    /// # Errors
    /// See [`ViewOrganizationError`].
    pub fn organization(
        &self,
        who: &Principal,
        id: OrganizationId,
    ) -> Result<OrganizationView, ViewOrganizationError> {
        Ok(scope(&*self.ports.store, who, id)??.allow(OrganizationAction::View)?)
    }

    /// The members of an organization the caller belongs to.
    ///
    /// # Errors
    /// See [`ViewOrganizationError`].
    pub fn members(
        &self,
        who: &Principal,
        id: OrganizationId,
    ) -> Result<Vec<Member>, ViewOrganizationError> {
        members(&*self.ports.store, who, id)
    }

    /// Renames an organization (owners and admins).
    ///
    /// # Errors
    /// See [`ManageOrganizationError`].
    pub fn rename_organization(
        &self,
        who: &Principal,
        id: OrganizationId,
        name: &OrganizationName,
    ) -> Result<OrganizationView, ManageOrganizationError> {
        rename(&*self.ports.store, who, id, name)
    }

    /// Deletes an organization with its memberships and invitations
    /// (owners only); its members' accounts stay.
    ///
    /// # Errors
    /// See [`ManageOrganizationError`].
    pub fn delete_organization(
        &self,
        who: &Principal,
        id: OrganizationId,
    ) -> Result<(), ManageOrganizationError> {
        let deleted = delete(&*self.ports.store, who, id);
        // Its members, and administrators who acted for it.
        self.recall.forget(Change::Everything);
        deleted
    }

    /// Gives a member another role, or ends a membership (a member may end
    /// their own: leaving), as [`domain::judge_member_change`] allows,
    /// judged by the store as it writes. Returns the member as changed;
    /// `None` once removed.
    ///
    /// # Errors
    /// See [`ChangeMemberError`].
    pub fn change_member(
        &self,
        who: &Principal,
        organization: OrganizationId,
        target: UserId,
        change: MemberChange,
    ) -> Result<Option<Member>, ChangeMemberError> {
        let changed = change_member(&*self.ports.store, who, organization, target, change);
        self.forget(target);
        changed
    }
}

fn members(
    store: &(impl UserStore + OrganizationStore + ?Sized),
    who: &Principal,
    id: OrganizationId,
) -> Result<Vec<Member>, ViewOrganizationError> {
    scope(store, who, id)??.allow(OrganizationAction::View)?;
    Ok(store.members_of(id)?)
}

fn rename(
    store: &(impl UserStore + OrganizationStore + ?Sized),
    who: &Principal,
    id: OrganizationId,
    name: &OrganizationName,
) -> Result<OrganizationView, ManageOrganizationError> {
    let view = scope(store, who, id)??.allow(OrganizationAction::Manage)?;
    let organization = store.rename_organization(id, name).map_err(not_found)?;
    tracing::info!(user_id = %who.user_id, organization_id = %id, "organization renamed");
    Ok(OrganizationView {
        organization,
        ..view
    })
}

fn delete(
    store: &(impl OrganizationStore + ?Sized),
    who: &Principal,
    id: OrganizationId,
) -> Result<(), ManageOrganizationError> {
    store.delete_organization(id, who.user_id)??;
    tracing::info!(user_id = %who.user_id, organization_id = %id, "organization deleted");
    Ok(())
}

fn change_member(
    store: &(impl OrganizationStore + ?Sized),
    who: &Principal,
    organization: OrganizationId,
    target: UserId,
    change: MemberChange,
) -> Result<Option<Member>, ChangeMemberError> {
    let member = store.change_member(organization, who.user_id, target, change)??;
    tracing::info!(
        user_id = %who.user_id,
        organization_id = %organization,
        member = %target,
        change = ?change,
        "membership changed"
    );
    Ok(member)
}

/// A row that went away between the check and the write is as good as
/// never found.
pub(crate) fn not_found(e: StoreError) -> ManageOrganizationError {
    match e {
        StoreError::NotFound => ManageOrganizationError::NotFound,
        other => other.into(),
    }
}
