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
    /// Whether login asks for a second factor (TOTP is confirmed).
    pub mfa_enabled: bool,
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
            mfa_enabled: false,
            created_at: now,
            updated_at: now,
        }
    }

    /// The user once the e-mail address is proven at `now`: verified, and a
    /// pending account turned active. An inactive account stays inactive:
    /// proving an address does not undo an administrator's decision.
    pub fn validate_email(self, now: OffsetDateTime) -> Self {
        let status = match self.status {
            UserStatus::PendingValidation => UserStatus::Active,
            other => other,
        };
        Self {
            status,
            email_verified: true,
            updated_at: now,
            ..self
        }
    }

    /// The user once a mailed password-reset code has set `password_hash`
    /// at `now`. The code proves the address as a validation code would
    /// ([`User::validate_email`]): a pending account turns active, an
    /// inactive one stays inactive with its new password.
    pub fn reset_password(self, password_hash: PasswordHash, now: OffsetDateTime) -> Self {
        Self {
            password_hash,
            ..self.validate_email(now)
        }
    }

    /// The user with `status` at `now`, and what else must change with it.
    pub fn change_status(self, status: UserStatus, now: OffsetDateTime) -> StatusChange {
        StatusChange {
            // An inactive user loses every session, also when the account
            // was inactive already: a session recorded since then goes too.
            revoke_sessions: status == UserStatus::Inactive,
            user: Self {
                status,
                updated_at: now,
                ..self
            },
        }
    }
}

/// What changing a user's status amounts to, decided before any write. A
/// store writes the user and, in the same transaction, revokes the user's
/// sessions if asked to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// The user as it must be stored.
    pub user: User,
    /// Whether every unrevoked session of the user must be revoked at the
    /// time of the change.
    pub revoke_sessions: bool,
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

    fn user(status: UserStatus, email_verified: bool) -> User {
        User::new(
            NewUser {
                email: Email::parse("a@b.co").unwrap(),
                username: None,
                phone: None,
                first_name: PersonName::parse("A").unwrap(),
                last_name: PersonName::parse("B").unwrap(),
                status,
                email_verified,
                is_admin: false,
            },
            PasswordHash::new("h"),
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn validating_the_email_activates_a_pending_account_only() {
        let later = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(5);
        let cases = [
            (UserStatus::PendingValidation, UserStatus::Active),
            (UserStatus::Active, UserStatus::Active),
            (UserStatus::Inactive, UserStatus::Inactive),
        ];
        for (before, after) in cases {
            let u = user(before, false);
            let validated = u.clone().validate_email(later);
            assert_eq!(validated.status, after, "{before:?}");
            assert!(validated.email_verified);
            assert_eq!(validated.updated_at, later);
            assert_eq!(
                User {
                    status: u.status,
                    email_verified: u.email_verified,
                    updated_at: u.updated_at,
                    ..validated
                },
                u,
                "nothing else changes"
            );
        }
    }

    #[test]
    fn a_reset_password_sets_the_hash_and_validates_as_a_mailed_code_does() {
        let later = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(5);
        let hash = PasswordHash::new("new");
        for before in [
            UserStatus::PendingValidation,
            UserStatus::Active,
            UserStatus::Inactive,
        ] {
            let u = user(before, false);
            assert_eq!(
                u.clone().reset_password(hash.clone(), later),
                User {
                    password_hash: hash.clone(),
                    ..u.validate_email(later)
                },
                "{before:?}"
            );
        }
    }

    #[test]
    fn an_inactive_user_loses_every_session() {
        let later = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(5);
        for before in [UserStatus::Active, UserStatus::Inactive] {
            let change = user(before, true).change_status(UserStatus::Inactive, later);
            assert!(change.revoke_sessions, "from {before:?}");
            assert_eq!(change.user.status, UserStatus::Inactive);
            assert_eq!(change.user.updated_at, later);
        }
        for status in [UserStatus::Active, UserStatus::PendingValidation] {
            let u = user(UserStatus::Inactive, true);
            let change = u.clone().change_status(status, later);
            assert!(!change.revoke_sessions, "to {status:?}");
            assert_eq!(change.user.status, status);
            assert_eq!(change.user.email_verified, u.email_verified);
            assert_eq!(change.user.updated_at, later);
        }
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
