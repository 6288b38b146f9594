use std::fmt;

/// The stable, machine-readable error codes of the HTTP contract.
///
/// Each code has exactly one HTTP status, chosen at the HTTP edge; the
/// spelling returned by [`ErrorCode::as_str`] never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::EnumIter)]
pub enum ErrorCode {
    /// The body is not JSON, or a required field is missing or mistyped.
    BadRequest,
    /// A one-time code is unknown, used or expired.
    InvalidCode,
    /// Wrong identifier or password; the same answer for both.
    BadCredentials,
    /// Right password, but the e-mail address is not validated yet.
    AccountNotValidated,
    /// Right password, but an administrator disabled the account.
    InactiveAccount,
    /// A protected endpoint was called without credentials.
    MissingAuthorization,
    /// A token is malformed, forged, revoked or reused.
    InvalidToken,
    /// A token is past its expiry.
    TokenExpired,
    /// Authenticated, but not allowed.
    InsufficientPermissions,
    /// The resource is absent or not the caller's.
    NotFound,
    /// The method is not defined for this path.
    MethodNotAllowed,
    /// The e-mail address, username or phone is taken.
    UserAlreadyExists,
    /// The body is over the size limit.
    PayloadTooLarge,
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// Field values break a rule; the field errors say which.
    ValidationFailed,
    /// Too many failed logins; retry later.
    TooManyAttempts,
    /// A dependency (the database) cannot be reached; retry later.
    ServiceUnavailable,
    /// Anything else. Never carries details.
    InternalError,
    /// An administrator tried to deactivate or demote their own account.
    CannotChangeOwnAccount,
    /// The change would leave an organization without an owner.
    LastOwner,
    /// The person is already a member of the organization.
    AlreadyMember,
    /// The user holds as many API keys as allowed.
    TooManyKeys,
    /// The password was right; a second factor must follow.
    MfaRequired,
    /// A wrong, used or stale TOTP or recovery code.
    InvalidMfaCode,
    /// TOTP is on already: turn it off before setting it up again.
    MfaAlreadyEnabled,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub fn all() -> impl Iterator<Item = Self> {
        <Self as strum::IntoEnumIterator>::iter()
    }

    /// The code's stable spelling, as sent in `error_code`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad-request",
            Self::InvalidCode => "invalid-code",
            Self::BadCredentials => "bad-credentials",
            Self::AccountNotValidated => "account-not-validated",
            Self::InactiveAccount => "inactive-account",
            Self::MissingAuthorization => "missing-authorization",
            Self::InvalidToken => "invalid-token",
            Self::TokenExpired => "token-expired",
            Self::InsufficientPermissions => "insufficient-permissions",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::UserAlreadyExists => "user-already-exists",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::ValidationFailed => "validation-failed",
            Self::TooManyAttempts => "too-many-attempts",
            Self::ServiceUnavailable => "service-unavailable",
            Self::InternalError => "internal-error",
            Self::CannotChangeOwnAccount => "cannot-change-own-account",
            Self::LastOwner => "last-owner",
            Self::AlreadyMember => "already-member",
            Self::TooManyKeys => "too-many-keys",
            Self::MfaRequired => "mfa-required",
            Self::InvalidMfaCode => "invalid-mfa-code",
            Self::MfaAlreadyEnabled => "mfa-already-enabled",
        }
    }

    /// A human-readable default explanation, safe to show to any client.
    pub const fn default_detail(self) -> &'static str {
        match self {
            Self::BadRequest => "The request body is malformed",
            Self::InvalidCode => "The code is invalid, used or expired",
            Self::BadCredentials => "Invalid username or password",
            Self::AccountNotValidated => "The e-mail address has not been validated yet",
            Self::InactiveAccount => "The account is disabled",
            Self::MissingAuthorization => "Authentication is required",
            Self::InvalidToken => "The token is invalid",
            Self::TokenExpired => "The token has expired",
            Self::InsufficientPermissions => "You are not allowed to do this",
            Self::NotFound => "The resource does not exist",
            Self::MethodNotAllowed => "The method is not allowed for this resource",
            Self::UserAlreadyExists => "A user with this e-mail, username or phone already exists",
            Self::PayloadTooLarge => "The request body is too large",
            Self::UnsupportedMediaType => "The request body must be uncompressed application/json",
            Self::ValidationFailed => "One or more fields are invalid",
            Self::TooManyAttempts => "Too many failed attempts; retry later",
            Self::ServiceUnavailable => "The service is temporarily unavailable; retry later",
            Self::InternalError => "An internal error occurred",
            Self::CannotChangeOwnAccount => {
                "An administrator cannot deactivate or demote their own account"
            }
            Self::LastOwner => "The organization would have no owner left",
            Self::AlreadyMember => "This person is already a member of the organization",
            Self::TooManyKeys => "You hold as many API keys as allowed; delete one first",
            Self::MfaRequired => "A second factor is required: send a code to /auth/login/mfa",
            Self::InvalidMfaCode => "The code is wrong, used or expired",
            Self::MfaAlreadyEnabled => {
                "Two-factor login is on already; turn it off first to set it up again"
            }
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One broken rule on one input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's wire name, e.g. `password`.
    pub field: &'static str,
    /// What is wrong, for a human.
    pub message: String,
}

impl FieldError {
    /// A field error from anything that displays.
    pub fn new(field: &'static str, message: impl fmt::Display) -> Self {
        Self {
            field,
            message: message.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_kebab_case_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::all() {
            let s = code.as_str();
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{s}");
            assert!(seen.insert(s), "duplicate {s}");
            assert!(!code.default_detail().is_empty());
        }
    }
}
