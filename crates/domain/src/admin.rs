//! Administration of accounts: which users an administrator sees, page by
//! page, and the changes an administrator may make to an account.

use time::OffsetDateTime;

use crate::{StatusChange, User, UserId, UserStatus};

/// The statuses an administrator may set. Pending validation is not one:
/// only proving the e-mail address leads out of it, or an administrator
/// activating the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdminStatus {
    /// The account may log in (a pending account too, its e-mail address
    /// still unverified).
    Active,
    /// The account may not log in; every session of it ends.
    Inactive,
}

/// Why a string is not an [`AdminStatus`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("status must be active or inactive")]
pub struct AdminStatusError;

impl AdminStatus {
    /// `active` or `inactive`, as on the wire.
    pub fn parse(s: &str) -> Result<Self, AdminStatusError> {
        match s {
            "active" => Ok(Self::Active),
            "inactive" => Ok(Self::Inactive),
            _ => Err(AdminStatusError),
        }
    }

    /// The account status this stands for.
    pub const fn user_status(self) -> UserStatus {
        match self {
            Self::Active => UserStatus::Active,
            Self::Inactive => UserStatus::Inactive,
        }
    }
}

/// What an administrator changes in an account. `None` leaves a field as
/// it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdminPatch {
    /// Switch the account on or off.
    pub status: Option<AdminStatus>,
    /// Grant or withdraw the administrator's rights.
    pub is_admin: Option<bool>,
}

impl AdminPatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Whether the patch takes an account out of administration: switches
    /// it off or withdraws its rights.
    pub fn demotes(&self) -> bool {
        self.status == Some(AdminStatus::Inactive) || self.is_admin == Some(false)
    }

    /// The user once the patch is applied at `now`, and whether every
    /// session of the user must be revoked (when it is switched off, as
    /// [`User::change_status`] decides). The e-mail address's verification
    /// is left as it is: an administrator activating a pending account
    /// lets it log in without proving the address.
    pub fn apply(&self, user: User, now: OffsetDateTime) -> StatusChange {
        let mut change = match self.status {
            Some(status) => user.change_status(status.user_status(), now),
            None => StatusChange {
                user: User {
                    updated_at: now,
                    ..user
                },
                revoke_sessions: false,
            },
        };
        if let Some(is_admin) = self.is_admin {
            change.user.is_admin = is_admin;
        }
        change
    }
}

/// An administrator tried to switch off or demote their own account,
/// which would lock them out, and perhaps everyone out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an administrator cannot deactivate or demote their own account")]
pub struct OwnAccountChange;

/// Whether `actor` may use the administration at all: an active account
/// with the administrator's rights.
pub fn may_administer(actor: &User) -> bool {
    actor.is_admin && actor.status == UserStatus::Active
}

/// May the administrator `actor` make `patch` to the account `target`:
/// anything, except switching off or demoting their own account. Granting
/// oneself what one has, or an empty patch, is allowed.
///
/// # Errors
/// [`OwnAccountChange`] for a change that takes `actor` out of
/// administration.
pub fn judge_admin_change(
    actor: UserId,
    target: UserId,
    patch: &AdminPatch,
) -> Result<(), OwnAccountChange> {
    if actor == target && patch.demotes() {
        return Err(OwnAccountChange);
    }
    Ok(())
}

/// Text to find in users' e-mail addresses, usernames and names: trimmed,
/// lower-cased, 1 to [`UserSearch::MAX_CHARS`] characters. It is matched
/// as a plain substring: `%` and `_` are characters like any other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSearch(String);

/// Why a string is not a [`UserSearch`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("search text must be at most {} characters", UserSearch::MAX_CHARS)]
pub struct UserSearchError;

impl UserSearch {
    /// The longest search text, in characters.
    pub const MAX_CHARS: usize = 100;

    /// The search for `s`; `None` for blank text (which finds everyone).
    ///
    /// # Errors
    /// [`UserSearchError`] if `s` is longer than [`UserSearch::MAX_CHARS`].
    pub fn parse(s: &str) -> Result<Option<Self>, UserSearchError> {
        let s = s.trim();
        if s.chars().count() > Self::MAX_CHARS {
            return Err(UserSearchError);
        }
        Ok((!s.is_empty()).then(|| Self(s.to_lowercase())))
    }

    /// The lower-cased text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many users one page holds: 1 to [`PageLimit::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u32);

/// Why a number is not a [`PageLimit`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("limit must be an integer from 1 to {}", PageLimit::MAX)]
pub struct PageLimitError;

impl PageLimit {
    /// The largest page.
    pub const MAX: u32 = 200;
    /// The page size when none is asked for.
    pub const DEFAULT: Self = Self(50);

    /// A page of `n` users.
    ///
    /// # Errors
    /// [`PageLimitError`] unless `1 <= n <= MAX`.
    pub fn new(n: u32) -> Result<Self, PageLimitError> {
        if (1..=Self::MAX).contains(&n) {
            Ok(Self(n))
        } else {
            Err(PageLimitError)
        }
    }

    /// The number of users.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl Default for PageLimit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Which users to list, and which page of them: made of parsed values
/// only. Users are ordered by creation time, then id, so pages do not
/// overlap or skip while no user is added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Only users with this status.
    pub status: Option<UserStatus>,
    /// Only users whose e-mail address, username, first or last name
    /// contains this text, whatever its case.
    pub search: Option<UserSearch>,
    /// At most this many users.
    pub limit: PageLimit,
    /// After skipping this many matching users.
    pub offset: u64,
}

/// One page of a user listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPage {
    /// The users of the page, in the listing's order.
    pub items: Vec<User>,
    /// How many users match the query, on every page together.
    pub total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Email, NewUser, PasswordHash, PersonName};

    fn user(status: UserStatus, is_admin: bool) -> User {
        User::new(
            NewUser {
                email: Email::parse("root@example.com").unwrap(),
                username: None,
                phone: None,
                first_name: PersonName::parse("R").unwrap(),
                last_name: PersonName::parse("T").unwrap(),
                status,
                email_verified: status == UserStatus::Active,
                is_admin,
            },
            PasswordHash::new("h"),
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    fn patch(status: Option<AdminStatus>, is_admin: Option<bool>) -> AdminPatch {
        AdminPatch { status, is_admin }
    }

    #[test]
    fn only_active_admins_administer() {
        assert!(may_administer(&user(UserStatus::Active, true)));
        for (status, is_admin) in [
            (UserStatus::Active, false),
            (UserStatus::Inactive, true),
            (UserStatus::PendingValidation, true),
        ] {
            assert!(
                !may_administer(&user(status, is_admin)),
                "{status:?} admin={is_admin}"
            );
        }
    }

    #[test]
    fn an_admin_may_change_anyone_else() {
        let (admin, other) = (UserId::generate(), UserId::generate());
        for status in [None, Some(AdminStatus::Active), Some(AdminStatus::Inactive)] {
            for is_admin in [None, Some(true), Some(false)] {
                assert_eq!(
                    judge_admin_change(admin, other, &patch(status, is_admin)),
                    Ok(())
                );
            }
        }
    }

    #[test]
    fn an_admin_cannot_switch_off_or_demote_themselves() {
        let admin = UserId::generate();
        let refused = [
            patch(Some(AdminStatus::Inactive), None),
            patch(None, Some(false)),
            patch(Some(AdminStatus::Inactive), Some(true)),
            patch(Some(AdminStatus::Active), Some(false)),
        ];
        for p in refused {
            assert_eq!(
                judge_admin_change(admin, admin, &p),
                Err(OwnAccountChange),
                "{p:?}"
            );
        }
        let allowed = [
            AdminPatch::default(),
            patch(Some(AdminStatus::Active), None),
            patch(None, Some(true)),
            patch(Some(AdminStatus::Active), Some(true)),
        ];
        for p in allowed {
            assert_eq!(judge_admin_change(admin, admin, &p), Ok(()), "{p:?}");
        }
    }

    #[test]
    fn applying_a_patch() {
        let later = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(5);
        let pending = user(UserStatus::PendingValidation, false);

        let change = patch(Some(AdminStatus::Active), Some(true)).apply(pending.clone(), later);
        assert_eq!(change.user.status, UserStatus::Active);
        assert!(change.user.is_admin);
        assert!(!change.user.email_verified, "activation proves no address");
        assert_eq!(change.user.updated_at, later);
        assert!(!change.revoke_sessions);

        let change = patch(Some(AdminStatus::Inactive), None).apply(pending.clone(), later);
        assert_eq!(change.user.status, UserStatus::Inactive);
        assert!(!change.user.is_admin);
        assert!(change.revoke_sessions);

        let change = patch(None, Some(true)).apply(pending.clone(), later);
        assert_eq!(change.user.status, UserStatus::PendingValidation);
        assert!(change.user.is_admin);
        assert!(!change.revoke_sessions);
        assert_eq!(
            User {
                is_admin: false,
                updated_at: pending.updated_at,
                ..change.user
            },
            pending,
            "nothing else changes"
        );
    }

    #[test]
    fn statuses_an_admin_may_set() {
        assert_eq!(AdminStatus::parse("active"), Ok(AdminStatus::Active));
        assert_eq!(AdminStatus::parse("inactive"), Ok(AdminStatus::Inactive));
        for bad in ["pending_validation", "Active", ""] {
            assert_eq!(AdminStatus::parse(bad), Err(AdminStatusError));
        }
    }

    #[test]
    fn search_text_is_trimmed_lowered_and_bounded() {
        assert_eq!(
            UserSearch::parse("  AdA%_ ").unwrap().unwrap().as_str(),
            "ada%_"
        );
        assert_eq!(UserSearch::parse("   "), Ok(None));
        let longest = "é".repeat(UserSearch::MAX_CHARS);
        assert!(UserSearch::parse(&longest).unwrap().is_some());
        assert_eq!(
            UserSearch::parse(&format!("{longest}x")),
            Err(UserSearchError)
        );
    }

    #[test]
    fn page_limits() {
        assert_eq!(PageLimit::default().get(), 50);
        assert_eq!(PageLimit::new(1).unwrap().get(), 1);
        assert_eq!(PageLimit::new(200).unwrap().get(), 200);
        assert_eq!(PageLimit::new(0), Err(PageLimitError));
        assert_eq!(PageLimit::new(201), Err(PageLimitError));
    }
}
