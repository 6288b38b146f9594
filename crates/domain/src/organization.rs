//! Organizations, the roles of their members, and the rules of who may do
//! what there: view, rename, delete, invite, change a role, remove a member.

use time::OffsetDateTime;

use crate::{OrganizationId, OrganizationName, User, UserId};

/// A member's role in an organization: `owner` > `admin` > `member`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// May do everything, delete the organization and make owners too.
    Owner,
    /// May rename the organization, invite people, and manage the members
    /// who are not owners.
    Admin,
    /// May see the organization and its members.
    Member,
}

/// Why a string is not a [`Role`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("role must be one of owner, admin, member")]
pub struct RoleError;

impl Role {
    /// Stable spelling, as on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    /// The inverse of [`Role::as_str`].
    pub fn parse(s: &str) -> Result<Self, RoleError> {
        match s {
            "owner" => Ok(Self::Owner),
            "admin" => Ok(Self::Admin),
            "member" => Ok(Self::Member),
            _ => Err(RoleError),
        }
    }

    const fn rank(self) -> u8 {
        match self {
            Self::Owner => 3,
            Self::Admin => 2,
            Self::Member => 1,
        }
    }

    /// Whether this role may do what `needed` may.
    pub const fn includes(self, needed: Role) -> bool {
        self.rank() >= needed.rank()
    }
}

/// The role an invitation grants: never `owner` (an owner makes owners by
/// changing a member's role).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InviteRole {
    /// Joins as an [`Role::Admin`].
    Admin,
    /// Joins as a [`Role::Member`].
    Member,
}

/// Why a string is not an [`InviteRole`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("role must be admin or member")]
pub struct InviteRoleError;

impl InviteRole {
    /// `admin` or `member`, as on the wire and in storage.
    pub fn parse(s: &str) -> Result<Self, InviteRoleError> {
        match s {
            "admin" => Ok(Self::Admin),
            "member" => Ok(Self::Member),
            _ => Err(InviteRoleError),
        }
    }

    /// The role the invited person joins with.
    pub const fn role(self) -> Role {
        match self {
            Self::Admin => Role::Admin,
            Self::Member => Role::Member,
        }
    }

    /// Stable spelling, as on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        self.role().as_str()
    }
}

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// Its id.
    pub id: OrganizationId,
    /// Its display name.
    pub name: OrganizationName,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

impl Organization {
    /// A new organization named `name`, created at `now`.
    pub fn new(name: OrganizationName, now: OffsetDateTime) -> Self {
        Self {
            id: OrganizationId::generate(),
            name,
            created_at: now,
        }
    }
}

/// A user's membership in an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The organization.
    pub organization_id: OrganizationId,
    /// The member.
    pub user_id: UserId,
    /// The member's role there.
    pub role: Role,
    /// When the user joined.
    pub created_at: OffsetDateTime,
}

/// A member of an organization, with their account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's account.
    pub user: User,
    /// Their role in the organization.
    pub role: Role,
    /// When they joined.
    pub joined_at: OffsetDateTime,
}

/// How a caller stands in one organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// The caller's role there; `None` when not a member.
    pub role: Option<Role>,
    /// Whether the caller is a platform administrator (`is_admin`), who
    /// acts in every organization with an owner's rights.
    pub platform_admin: bool,
}

/// What an organization's rules can refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OrganizationRefusal {
    /// The caller is no member (nor a platform administrator), or the
    /// organization does not exist: one answer for both, so that nobody
    /// learns which organizations exist.
    #[error("organization not found")]
    NotFound,
    /// The caller is a member, but their role does not allow it.
    #[error("insufficient permissions")]
    InsufficientPermissions,
}

/// What a caller can do to an organization as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrganizationAction {
    /// See it and its members: any member.
    View,
    /// Rename it; invite people, list and revoke invitations: an admin.
    Manage,
    /// Delete it: an owner.
    Delete,
}

impl Standing {
    /// The rights the caller acts with there: their role, an owner's for a
    /// platform administrator, none for anyone else.
    pub fn authority(self) -> Option<Role> {
        if self.platform_admin {
            Some(Role::Owner)
        } else {
            self.role
        }
    }

    /// Whether the caller may do `action`.
    ///
    /// # Errors
    /// [`OrganizationRefusal::NotFound`] for a stranger,
    /// [`OrganizationRefusal::InsufficientPermissions`] for a member whose
    /// role is too low.
    pub fn may(self, action: OrganizationAction) -> Result<(), OrganizationRefusal> {
        let needed = match action {
            OrganizationAction::View => Role::Member,
            OrganizationAction::Manage => Role::Admin,
            OrganizationAction::Delete => Role::Owner,
        };
        match self.authority() {
            None => Err(OrganizationRefusal::NotFound),
            Some(role) if role.includes(needed) => Ok(()),
            Some(_) => Err(OrganizationRefusal::InsufficientPermissions),
        }
    }

    /// The role the caller acts with when they name this organization as
    /// the one they act for (`X-Organization-Id`): a member's role; `None`
    /// for a platform administrator who is no member.
    ///
    /// # Errors
    /// [`OrganizationRefusal::InsufficientPermissions`] for anyone else,
    /// whether or not the organization exists;
    /// [`OrganizationRefusal::NotFound`] for a platform administrator
    /// naming an organization that does not exist (`exists` false).
    pub fn select(self, exists: bool) -> Result<Option<Role>, OrganizationRefusal> {
        match (self.role, self.platform_admin, exists) {
            (Some(role), _, true) => Ok(Some(role)),
            (_, true, true) => Ok(None),
            (_, true, false) => Err(OrganizationRefusal::NotFound),
            (_, false, _) => Err(OrganizationRefusal::InsufficientPermissions),
        }
    }
}

/// A change to one membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    /// Give the member this role.
    SetRole(Role),
    /// End the membership (by the member: leaving).
    Remove,
}

/// Why a membership was not changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemberRefusal {
    /// See [`OrganizationRefusal`].
    #[error(transparent)]
    Organization(#[from] OrganizationRefusal),
    /// The target is not a member of the organization.
    #[error("member not found")]
    MemberNotFound,
    /// The change would leave the organization without an owner.
    #[error("the organization would have no owner left")]
    LastOwner,
}

/// Judges `actor`'s `change` to `target`'s membership, from what the
/// store holds when it is made: the actor's standing, the target's role
/// (`None`: no member) and how many owners the organization has.
///
/// Owners may do anything; admins may change and remove members who are
/// not owners, and never make owners; members may only leave. Nobody may
/// remove or demote the last owner.
///
/// # Errors
/// See [`MemberRefusal`], in the order a caller meets them: a stranger
/// learns nothing, a member without the right learns nothing of the
/// target, and the last-owner rule comes last.
pub fn judge_member_change(
    actor: UserId,
    standing: Standing,
    target: UserId,
    target_role: Option<Role>,
    change: MemberChange,
    owners: u64,
) -> Result<(), MemberRefusal> {
    let authority = standing.authority().ok_or(OrganizationRefusal::NotFound)?;
    let leaving = change == MemberChange::Remove && actor == target;
    if !leaving && !authority.includes(Role::Admin) {
        return Err(OrganizationRefusal::InsufficientPermissions.into());
    }
    let target_role = target_role.ok_or(MemberRefusal::MemberNotFound)?;
    let makes_owner = change == MemberChange::SetRole(Role::Owner);
    if !leaving && !authority.includes(Role::Owner) && (target_role == Role::Owner || makes_owner) {
        return Err(OrganizationRefusal::InsufficientPermissions.into());
    }
    if target_role == Role::Owner && !makes_owner && owners <= 1 {
        return Err(MemberRefusal::LastOwner);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: Standing = Standing {
        role: Some(Role::Owner),
        platform_admin: false,
    };
    const ADMIN: Standing = Standing {
        role: Some(Role::Admin),
        platform_admin: false,
    };
    const MEMBER: Standing = Standing {
        role: Some(Role::Member),
        platform_admin: false,
    };
    const STRANGER: Standing = Standing {
        role: None,
        platform_admin: false,
    };
    const PLATFORM_ADMIN: Standing = Standing {
        role: None,
        platform_admin: true,
    };

    #[test]
    fn roles_round_trip_and_rank() {
        for r in [Role::Owner, Role::Admin, Role::Member] {
            assert_eq!(Role::parse(r.as_str()), Ok(r));
            assert!(r.includes(r));
        }
        assert!(Role::parse("root").is_err());
        assert!(Role::Owner.includes(Role::Admin) && Role::Admin.includes(Role::Member));
        assert!(!Role::Member.includes(Role::Admin) && !Role::Admin.includes(Role::Owner));
        assert_eq!(
            InviteRole::parse("admin").map(InviteRole::role),
            Ok(Role::Admin)
        );
        assert_eq!(
            InviteRole::parse("member").map(InviteRole::as_str),
            Ok("member")
        );
        assert_eq!(InviteRole::parse("owner"), Err(InviteRoleError));
    }

    #[test]
    fn who_may_do_what_to_an_organization() {
        use OrganizationAction::{Delete, Manage, View};
        use OrganizationRefusal::{InsufficientPermissions as Forbidden, NotFound};
        let cases = [
            (OWNER, [Ok(()), Ok(()), Ok(())]),
            (ADMIN, [Ok(()), Ok(()), Err(Forbidden)]),
            (MEMBER, [Ok(()), Err(Forbidden), Err(Forbidden)]),
            (STRANGER, [Err(NotFound), Err(NotFound), Err(NotFound)]),
            (PLATFORM_ADMIN, [Ok(()), Ok(()), Ok(())]),
        ];
        for (standing, expected) in cases {
            for (action, expected) in [View, Manage, Delete].into_iter().zip(expected) {
                assert_eq!(standing.may(action), expected, "{standing:?} {action:?}");
            }
        }
    }

    #[test]
    fn selecting_an_organization_to_act_for() {
        use OrganizationRefusal::{InsufficientPermissions as Forbidden, NotFound};
        assert_eq!(ADMIN.select(true), Ok(Some(Role::Admin)));
        assert_eq!(STRANGER.select(true), Err(Forbidden));
        assert_eq!(
            STRANGER.select(false),
            Err(Forbidden),
            "existence is not told"
        );
        assert_eq!(PLATFORM_ADMIN.select(true), Ok(None));
        assert_eq!(PLATFORM_ADMIN.select(false), Err(NotFound));
        let admin_member = Standing {
            role: Some(Role::Member),
            platform_admin: true,
        };
        assert_eq!(admin_member.select(true), Ok(Some(Role::Member)));
    }

    /// Every actor × target × change, with two owners and with one.
    #[test]
    fn member_changes() {
        use MemberChange::{Remove, SetRole};
        use MemberRefusal::{LastOwner, MemberNotFound};
        let forbidden = Err(MemberRefusal::Organization(
            OrganizationRefusal::InsufficientPermissions,
        ));
        let hidden = Err(MemberRefusal::Organization(OrganizationRefusal::NotFound));
        let (me, other) = (UserId::generate(), UserId::generate());
        let judge = |standing, target, role, change, owners| {
            judge_member_change(me, standing, target, role, change, owners)
        };
        let owner = Some(Role::Owner);
        let admin = Some(Role::Admin);
        let member = Some(Role::Member);

        // Owners do anything but leave no owner behind.
        assert_eq!(judge(OWNER, other, owner, SetRole(Role::Member), 2), Ok(()));
        assert_eq!(judge(OWNER, other, member, SetRole(Role::Owner), 1), Ok(()));
        assert_eq!(judge(OWNER, other, owner, Remove, 2), Ok(()));
        assert_eq!(
            judge(OWNER, me, owner, SetRole(Role::Admin), 1),
            Err(LastOwner)
        );
        assert_eq!(judge(OWNER, me, owner, Remove, 1), Err(LastOwner));
        assert_eq!(judge(OWNER, me, owner, SetRole(Role::Owner), 1), Ok(()));
        assert_eq!(judge(OWNER, me, owner, Remove, 2), Ok(()));
        assert_eq!(judge(OWNER, other, None, Remove, 1), Err(MemberNotFound));

        // Admins manage the members who are not owners, and make no owner.
        assert_eq!(judge(ADMIN, other, member, SetRole(Role::Admin), 1), Ok(()));
        assert_eq!(judge(ADMIN, other, admin, Remove, 1), Ok(()));
        assert_eq!(
            judge(ADMIN, other, owner, SetRole(Role::Member), 2),
            forbidden
        );
        assert_eq!(judge(ADMIN, other, owner, Remove, 2), forbidden);
        assert_eq!(
            judge(ADMIN, other, member, SetRole(Role::Owner), 1),
            forbidden
        );
        assert_eq!(judge(ADMIN, me, admin, SetRole(Role::Owner), 1), forbidden);
        assert_eq!(judge(ADMIN, me, admin, SetRole(Role::Member), 1), Ok(()));
        assert_eq!(judge(ADMIN, other, None, Remove, 1), Err(MemberNotFound));

        // Members may only leave; they learn nothing of other targets.
        assert_eq!(judge(MEMBER, me, member, Remove, 1), Ok(()));
        assert_eq!(
            judge(MEMBER, me, member, SetRole(Role::Admin), 1),
            forbidden
        );
        assert_eq!(judge(MEMBER, other, member, Remove, 1), forbidden);
        assert_eq!(judge(MEMBER, other, None, Remove, 1), forbidden);

        // Strangers learn nothing; platform administrators act as owners.
        assert_eq!(judge(STRANGER, other, member, Remove, 1), hidden);
        assert_eq!(judge(STRANGER, me, None, Remove, 1), hidden);
        assert_eq!(judge(PLATFORM_ADMIN, other, owner, Remove, 2), Ok(()));
        assert_eq!(
            judge(PLATFORM_ADMIN, other, member, SetRole(Role::Owner), 1),
            Ok(())
        );
        assert_eq!(
            judge(PLATFORM_ADMIN, other, owner, Remove, 1),
            Err(LastOwner)
        );
        assert_eq!(
            judge(PLATFORM_ADMIN, me, None, Remove, 1),
            Err(MemberNotFound)
        );
    }
}
