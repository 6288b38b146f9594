use time::OffsetDateTime;

use crate::{Email, PasswordHash, PersonName, Phone, UserId, Username};

/// Where an account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserStatus {
    /// Signed up; the e-mail address is not validated yet.
    PendingValidation,
    /// May log in.
    Active,
    /// Disabled by an administrator.
    Inactive,
}

/// Why a string is not a [`UserStatus`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("status must be one of pending_validation, active, inactive")]
pub struct UserStatusError;

impl UserStatus {
    /// Stable spelling, as on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PendingValidation => "pending_validation",
            Self::Active => "active",
            Self::Inactive => "inactive",
        }
    }

    /// The inverse of [`UserStatus::as_str`].
    pub fn parse(s: &str) -> Result<Self, UserStatusError> {
        match s {
            "pending_validation" => Ok(Self::PendingValidation),
            "active" => Ok(Self::Active),
            "inactive" => Ok(Self::Inactive),
            _ => Err(UserStatusError),
        }
    }
}

/// A user account, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The account's id.
    pub id: UserId,
    /// Unique, case-insensitively.
    pub email: Email,
    /// Unique, case-insensitively, when present.
    pub username: Option<Username>,
    /// Unique when present.
    pub phone: Option<Phone>,
    /// Given name.
    pub first_name: PersonName,
    /// Family name.
    pub last_name: PersonName,
    /// Argon2id PHC string.
    pub password_hash: PasswordHash,
    /// Whether the account may log in.
    pub status: UserStatus,
    /// Whether the e-mail address was proven.
    pub email_verified: bool,
    /// Whether the user may call the admin endpoints.
    pub is_admin: bool,
    /// When the account was created.
    pub created_at: OffsetDateTime,
    /// When the account last changed.
    pub updated_at: OffsetDateTime,
}

impl User {
    /// Builds a new account from its parts, stamped at `now`.
    pub fn new(new: NewUser, password_hash: PasswordHash, now: OffsetDateTime) -> Self {
        Self {
            id: UserId::generate(),
            email: new.email,
            username: new.username,
            phone: new.phone,
            first_name: new.first_name,
            last_name: new.last_name,
            password_hash,
            status: new.status,
            email_verified: new.status == UserStatus::Active && new.email_verified,
            is_admin: new.is_admin,
            created_at: now,
            updated_at: now,
        }
    }
}

/// The parsed fields of a new account.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// E-mail address.
    pub email: Email,
    /// Optional username.
    pub username: Option<Username>,
    /// Optional phone.
    pub phone: Option<Phone>,
    /// Given name.
    pub first_name: PersonName,
    /// Family name.
    pub last_name: PersonName,
    /// Starting status (sign-up starts as pending validation).
    pub status: UserStatus,
    /// Whether the e-mail address is already proven (e.g. by invitation).
    pub email_verified: bool,
    /// Whether the user is an administrator.
    pub is_admin: bool,
}

/// A change to a user's own profile. `None` leaves a field as it is;
/// `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfilePatch {
    /// New given name.
    pub first_name: Option<PersonName>,
    /// New family name.
    pub last_name: Option<PersonName>,
    /// New username, or `Some(None)` to remove it.
    pub username: Option<Option<Username>>,
    /// New phone, or `Some(None)` to remove it.
    pub phone: Option<Option<Phone>>,
}

impl ProfilePatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Applies the patch to `user`, stamping `updated_at`.
    pub fn apply(&self, user: &mut User, now: OffsetDateTime) {
        if let Some(v) = &self.first_name {
            user.first_name = v.clone();
        }
        if let Some(v) = &self.last_name {
            user.last_name = v.clone();
        }
        if let Some(v) = &self.username {
            user.username = v.clone();
        }
        if let Some(v) = &self.phone {
            user.phone = v.clone();
        }
        user.updated_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trip() {
        for s in [
            UserStatus::PendingValidation,
            UserStatus::Active,
            UserStatus::Inactive,
        ] {
            assert_eq!(UserStatus::parse(s.as_str()), Ok(s));
        }
        assert_eq!(UserStatus::parse("ACTIVE"), Err(UserStatusError));
    }

    #[test]
    fn patch_applies() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut u = User::new(
            NewUser {
                email: Email::parse("a@b.co").unwrap(),
                username: Some(Username::parse("abc").unwrap()),
                phone: None,
                first_name: PersonName::parse("A").unwrap(),
                last_name: PersonName::parse("B").unwrap(),
                status: UserStatus::PendingValidation,
                email_verified: true,
                is_admin: false,
            },
            PasswordHash::new("h"),
            now,
        );
        assert!(!u.email_verified, "a pending account is never verified");
        let later = now + time::Duration::seconds(5);
        let patch = ProfilePatch {
            first_name: Some(PersonName::parse("Z").unwrap()),
            username: Some(None),
            ..ProfilePatch::default()
        };
        assert!(!patch.is_empty());
        patch.apply(&mut u, later);
        assert_eq!(u.first_name.as_str(), "Z");
        assert_eq!(u.username, None);
        assert_eq!(u.last_name.as_str(), "B");
        assert_eq!(u.updated_at, later);
        assert!(ProfilePatch::default().is_empty());
    }
}
