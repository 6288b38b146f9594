use domain::{ErrorCode, FieldError};
use ports::{BoxError, HasherError, MailError, StoreError, TokenError};
use secrecy::SecretString;

/// Why a use case did not succeed.
///
/// Client-caused failures carry an [`ErrorCode`]; infrastructure failures
/// carry their cause as a source, for the log only.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request was refused for the reason the code names.
    #[error("{0}")]
    Rejected(ErrorCode),
    /// Field values break rules.
    #[error("validation failed")]
    Invalid(Vec<FieldError>),
    /// The password was right but the e-mail address is not validated;
    /// `resend_code` lets the client ask for a new validation mail.
    #[error("account not validated")]
    NotValidated {
        /// A single-use code for `POST /auth/validate/resend`.
        resend_code: SecretString,
    },
    /// Too many failed logins; retry after this many seconds.
    #[error("too many attempts")]
    Throttled {
        /// Seconds until a login may be tried again.
        retry_after: u64,
    },
    /// A dependency is unreachable; retrying later may work.
    #[error("service unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl AppError {
    /// The contract's error code for this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Rejected(code) => *code,
            Self::Invalid(_) => ErrorCode::ValidationFailed,
            Self::NotValidated { .. } => ErrorCode::AccountNotValidated,
            Self::Throttled { .. } => ErrorCode::TooManyAttempts,
            Self::Unavailable(_) => ErrorCode::ServiceUnavailable,
            Self::Internal(_) => ErrorCode::InternalError,
        }
    }

    /// Maps a store's `NotFound` to `code`, and every other error as usual.
    pub(crate) fn not_found_as(code: ErrorCode) -> impl FnOnce(StoreError) -> Self {
        move |e| match e {
            StoreError::NotFound => Self::Rejected(code),
            other => other.into(),
        }
    }
}

impl From<ErrorCode> for AppError {
    fn from(code: ErrorCode) -> Self {
        Self::Rejected(code)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate(_) => Self::Rejected(ErrorCode::UserAlreadyExists),
            StoreError::NotFound => Self::Rejected(ErrorCode::NotFound),
            StoreError::Unavailable(source) => Self::Unavailable(source),
            StoreError::Internal(source) => Self::Internal(source),
        }
    }
}

impl From<HasherError> for AppError {
    fn from(e: HasherError) -> Self {
        Self::Internal(Box::new(e))
    }
}

impl From<MailError> for AppError {
    fn from(e: MailError) -> Self {
        Self::Internal(Box::new(e))
    }
}

impl From<TokenError> for AppError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Expired => Self::Rejected(ErrorCode::TokenExpired),
            TokenError::Invalid => Self::Rejected(ErrorCode::InvalidToken),
            TokenError::Signing(_) => Self::Internal(Box::new(e)),
        }
    }
}
