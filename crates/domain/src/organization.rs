use time::OffsetDateTime;

use crate::{OrganizationId, OrganizationName, UserId};

/// A member's role in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Created the organization; may do everything.
    Owner,
    /// May invite and remove members.
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

    /// Whether this role may invite and remove members.
    pub const fn can_manage_members(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        for r in [Role::Owner, Role::Admin, Role::Member] {
            assert_eq!(Role::parse(r.as_str()), Ok(r));
        }
        assert!(Role::parse("root").is_err());
        assert!(Role::Owner.can_manage_members() && Role::Admin.can_manage_members());
        assert!(!Role::Member.can_manage_members());
    }
}
