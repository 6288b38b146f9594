//! The one mapping from use case outcomes to `error_code` (and so to HTTP
//! status, through [`status_of`]), and the documented error responses of
//! each operation, made from the same tables.
//!
//! Each use case error type has one table row per variant. The table is an
//! exhaustive `match`, so a new variant does not compile until it has a
//! row, and the rows are what the operation's OpenAPI responses list.

use std::collections::BTreeMap;

use application::{
    AcceptInviteError, ChangeMemberError, CreateOrganizationError, InviteError, InviteSignupError,
    ManageOrganizationError, ViewOrganizationError,
};
use application::{
    AdminError, AuthenticateError, DeleteSessionError, Fault, ListSessionsError, LoginError,
    LogoutError, MeError, RefreshError, SignupError, UpdateProfileError, UpdateUserError,
    ValidateError,
};
use application::{ChangePasswordError, ResetPasswordError};
use application::{CreateApiKeyError, DeleteApiKeyError, NotReady, SessionRequired};
use application::{
    DisableTotpError, LoginMfaError, RecoveryCodesError, ResetMfaError, SetupTotpError,
    TotpCodeError,
};
use domain::{ErrorCode, FieldError};
use utoipa::openapi::{
    ContentBuilder, Ref, RefOr, Response, ResponseBuilder,
    header::HeaderBuilder,
    schema::{ObjectBuilder, Schema, Type},
};

use crate::error::{ApiError, Extra, status_of};

/// Something an operation is made of that can fail: an extractor or a use
/// case error type, with every `error_code` it can end in.
pub(crate) trait Documented {
    /// The codes, in the order a reader should meet them.
    const CODES: &'static [ErrorCode];
}

impl Documented for Fault {
    const CODES: &'static [ErrorCode] = &[ErrorCode::ServiceUnavailable, ErrorCode::InternalError];
}

impl From<Fault> for ApiError {
    fn from(fault: Fault) -> Self {
        let code = match fault {
            Fault::Unavailable(_) => ErrorCode::ServiceUnavailable,
            Fault::Internal(_) => ErrorCode::InternalError,
        };
        ApiError::new(code).with_cause(fault)
    }
}

impl Documented for NotReady {
    const CODES: &'static [ErrorCode] = &[ErrorCode::ServiceUnavailable];
}

impl From<NotReady> for ApiError {
    fn from(why: NotReady) -> Self {
        ApiError::new(ErrorCode::ServiceUnavailable).with_extra(Extra::ServerDetail(why.reason()))
    }
}

impl Documented for SessionRequired {
    const CODES: &'static [ErrorCode] = &[ErrorCode::InsufficientPermissions];
}

impl From<SessionRequired> for ApiError {
    fn from(_: SessionRequired) -> Self {
        ApiError::with_detail(
            ErrorCode::InsufficientPermissions,
            "An API key cannot do this; use an access token",
        )
    }
}

/// One use case error type's table: each variant's `error_code` and,
/// where it has one, what the problem carries beyond it. The type's
/// `Fault` variant is mapped by [`Fault`]'s own table above (whose codes
/// each `CODES` repeats: a const slice cannot be spliced into another).
macro_rules! error_codes {
    ($error:ident {
        $($variant:ident $({ $($field:ident),+ })? => $code:ident $(with $extra:expr)?;)*
    }) => {
        impl Documented for $error {
            const CODES: &'static [ErrorCode] = &[
                $(ErrorCode::$code,)*
                ErrorCode::ServiceUnavailable,
                ErrorCode::InternalError,
            ];
        }

        impl From<$error> for ApiError {
            fn from(e: $error) -> Self {
                match e {
                    $($error::$variant $({ $($field),+ })? => {
                        ApiError::new(ErrorCode::$code) $(.with_extra($extra))?
                    })*
                    $error::Fault(fault) => fault.into(),
                }
            }
        }
    };
}

error_codes!(SignupError {
    UserAlreadyExists => UserAlreadyExists;
});

error_codes!(ValidateError {
    InvalidCode => InvalidCode;
});

error_codes!(LoginError {
    TooManyAttempts { retry_after } => TooManyAttempts with Extra::RetryAfter(retry_after);
    BadCredentials => BadCredentials;
    NotValidated { resend_code } => AccountNotValidated with Extra::ResendCode(resend_code);
    InactiveAccount => InactiveAccount;
    MfaRequired { mfa_token } => MfaRequired with Extra::MfaToken(mfa_token);
});

error_codes!(SetupTotpError {
    AlreadyEnabled => MfaAlreadyEnabled;
    InvalidToken => InvalidToken;
});

error_codes!(RecoveryCodesError {
    InvalidMfaCode => InvalidMfaCode;
    TooManyAttempts { retry_after } => TooManyAttempts with Extra::RetryAfter(retry_after);
    InvalidToken => InvalidToken;
});

error_codes!(TotpCodeError {
    InvalidCode => ValidationFailed
        with Extra::Fields(vec![FieldError::new("code", "is not a current code of the authenticator")]);
    TooManyAttempts { retry_after } => TooManyAttempts with Extra::RetryAfter(retry_after);
    InvalidToken => InvalidToken;
});

error_codes!(DisableTotpError {
    BadCredentials => BadCredentials;
    InvalidMfaCode => InvalidMfaCode;
    TooManyAttempts { retry_after } => TooManyAttempts with Extra::RetryAfter(retry_after);
    InvalidToken => InvalidToken;
});

error_codes!(LoginMfaError {
    InvalidToken => InvalidToken;
    InvalidMfaCode => InvalidMfaCode;
    TooManyAttempts { retry_after } => TooManyAttempts with Extra::RetryAfter(retry_after);
});

error_codes!(ResetMfaError {
    NotFound => NotFound;
});

error_codes!(RefreshError {
    InvalidToken => InvalidToken;
    TokenExpired => TokenExpired;
});

error_codes!(AuthenticateError {
    InvalidToken => InvalidToken;
    TokenExpired => TokenExpired;
    InsufficientPermissions => InsufficientPermissions;
    OrganizationNotFound => NotFound;
});

error_codes!(MeError {
    InvalidToken => InvalidToken;
});

error_codes!(UpdateProfileError {
    InvalidToken => InvalidToken;
    UserAlreadyExists => UserAlreadyExists;
});

error_codes!(LogoutError {
    InvalidToken => InvalidToken;
});

// Only its `Fault`: the caller is known, and so are their sessions.
error_codes!(ListSessionsError {});

error_codes!(DeleteSessionError {
    NotFound => NotFound;
});

error_codes!(ChangePasswordError {
    TooManyAttempts { retry_after } => TooManyAttempts with Extra::RetryAfter(retry_after);
    BadCredentials => BadCredentials;
    InvalidPassword { reason } => ValidationFailed
        with Extra::Fields(vec![FieldError::new("new_password", reason)]);
    InvalidToken => InvalidToken;
});

error_codes!(ResetPasswordError {
    InvalidCode => InvalidCode;
    InvalidPassword { reason } => ValidationFailed
        with Extra::Fields(vec![FieldError::new("new_password", reason)]);
});

error_codes!(AdminError {
    InvalidToken => InvalidToken;
    InsufficientPermissions => InsufficientPermissions;
});

error_codes!(UpdateUserError {
    NotFound => NotFound;
    CannotChangeOwnAccount => CannotChangeOwnAccount;
});

error_codes!(CreateOrganizationError {
    InvalidToken => InvalidToken;
});

error_codes!(ViewOrganizationError {
    NotFound => NotFound;
});

error_codes!(ManageOrganizationError {
    NotFound => NotFound;
    InsufficientPermissions => InsufficientPermissions;
});

error_codes!(ChangeMemberError {
    NotFound => NotFound;
    InsufficientPermissions => InsufficientPermissions;
    LastOwner => LastOwner;
});

error_codes!(InviteError {
    NotFound => NotFound;
    InsufficientPermissions => InsufficientPermissions;
    AlreadyMember => AlreadyMember;
    TooManyAttempts { retry_after } => TooManyAttempts with Extra::RetryAfter(retry_after);
});

error_codes!(AcceptInviteError {
    InvalidCode => InvalidCode;
    InsufficientPermissions => InsufficientPermissions;
    AlreadyMember => AlreadyMember;
    InvalidToken => InvalidToken;
});

error_codes!(InviteSignupError {
    InvalidCode => InvalidCode;
    UserAlreadyExists => UserAlreadyExists;
    InvalidPassword { reason } => ValidationFailed
        with Extra::Fields(vec![FieldError::new("password", reason)]);
});

error_codes!(CreateApiKeyError {
    ExpiryInThePast => ValidationFailed
        with Extra::Fields(vec![FieldError::new("expires_at", "must be in the future")]);
    TooManyKeys => TooManyKeys;
    InvalidToken => InvalidToken;
});

error_codes!(DeleteApiKeyError {
    NotFound => NotFound;
});

/// An operation whose documented responses include every code of `E`.
pub(crate) trait Covers<E> {}

/// The documented error responses of one operation: a type for its
/// `#[utoipa::path(responses(...))]`, listing what the operation is made
/// of (its extractors and the use cases it runs). Its handler passes each
/// use case failure through `fail`, so a handler that calls a use case its
/// list lacks does not compile.
macro_rules! operation_errors {
    ($(#[$doc:meta])* $name:ident: $($part:ty),+ $(,)?) => {
        $(#[$doc])*
        pub(crate) struct $name;

        impl $name {
            /// Every `error_code` the operation can answer with.
            pub(crate) fn codes() -> Vec<domain::ErrorCode> {
                let mut codes = Vec::new();
                $(codes.extend_from_slice(<$part as $crate::outcomes::Documented>::CODES);)+
                codes
            }

            /// Answers with a failure of one of the operation's parts; a
            /// failure of any other type does not compile.
            #[allow(dead_code)]
            pub(crate) fn fail<E>(e: E) -> $crate::error::ApiError
            where
                Self: $crate::outcomes::Covers<E>,
                E: Into<$crate::error::ApiError>,
            {
                e.into()
            }
        }

        $(impl $crate::outcomes::Covers<$part> for $name {})+

        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<
                String,
                utoipa::openapi::RefOr<utoipa::openapi::Response>,
            > {
                $crate::outcomes::error_responses(&Self::codes())
            }
        }
    };
}
pub(crate) use operation_errors;

/// A note on a code whose problem carries more than the code.
const fn note(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::AccountNotValidated => " (with `extra_attributes.resend_code`)",
        ErrorCode::MfaRequired => " (with `extra_attributes.mfa_token`)",
        ErrorCode::TooManyAttempts | ErrorCode::ServiceUnavailable => " (see `Retry-After`)",
        ErrorCode::ValidationFailed => " (with `errors`)",
        _ => "",
    }
}

/// "`a`", "`a` or `b`", "`a`, `b` or `c`".
fn list(codes: &[ErrorCode]) -> String {
    let items: Vec<String> = codes
        .iter()
        .map(|c| format!("`{}`{}", c.as_str(), note(*c)))
        .collect();
    match items.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

fn header(kind: Type, description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Schema::Object(
            ObjectBuilder::new().schema_type(kind).build(),
        ))
        .description(Some(description))
        .build()
}

/// The problem+json responses for `codes`, one per HTTP status, each
/// naming its codes.
pub(crate) fn error_responses(codes: &[ErrorCode]) -> BTreeMap<String, RefOr<Response>> {
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for &code in codes {
        let same = by_status.entry(status_of(code).as_u16()).or_default();
        if !same.contains(&code) {
            same.push(code);
        }
    }
    by_status
        .into_iter()
        .map(|(status, codes)| {
            let mut response = ResponseBuilder::new().description(list(&codes)).content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            );
            if codes.contains(&ErrorCode::TooManyAttempts) {
                response = response.header(
                    "Retry-After",
                    header(Type::Integer, "Seconds until the attempt may be made again"),
                );
            }
            if codes.contains(&ErrorCode::ServiceUnavailable) {
                response = response.header(
                    "Retry-After",
                    header(Type::Integer, "Seconds to wait before retrying"),
                );
            }
            if status == 401 {
                response = response.header(
                    "WWW-Authenticate",
                    header(Type::String, "The bearer challenge (RFC 6750)"),
                );
            }
            (status.to_string(), RefOr::T(response.build()))
        })
        .collect()
}
