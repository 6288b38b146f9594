//! Invitations to join an organization.

use time::{Duration, OffsetDateTime};

use crate::{Email, InviteId, InviteRole, OrganizationId, UserId};

/// An invitation to join an organization, as stored: the code that the
/// mail carries is kept only as its digest, beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// Its id.
    pub id: InviteId,
    /// The organization to join.
    pub organization_id: OrganizationId,
    /// Who is invited: only the account with this address may accept.
    pub email: Email,
    /// The role the invited person joins with.
    pub role: InviteRole,
    /// Who invited them, while that account exists.
    pub invited_by: Option<UserId>,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it stops working (exclusive).
    pub expires_at: OffsetDateTime,
}

impl Invite {
    /// A new invitation of `email` to `organization` with `role`, made by
    /// `invited_by` at `now`, valid for `ttl`.
    pub fn new(
        organization: OrganizationId,
        email: Email,
        role: InviteRole,
        invited_by: UserId,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Self {
        Self {
            id: InviteId::generate(),
            organization_id: organization,
            email,
            role,
            invited_by: Some(invited_by),
            created_at: now,
            expires_at: now + ttl,
        }
    }

    /// Whether the account with `email` is the one invited. Addresses are
    /// normalised, so this is an exact comparison.
    pub fn is_for(&self, email: &Email) -> bool {
        &self.email == email
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invite_is_for_its_address_only() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let invite = Invite::new(
            OrganizationId::generate(),
            Email::parse("Grace@Example.com").unwrap(),
            InviteRole::Member,
            UserId::generate(),
            now,
            Duration::days(7),
        );
        assert!(invite.is_for(&Email::parse("grace@example.com").unwrap()));
        assert!(!invite.is_for(&Email::parse("ada@example.com").unwrap()));
        assert_eq!(invite.expires_at, now + Duration::days(7));
    }
}
