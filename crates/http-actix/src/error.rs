use std::borrow::Cow;

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header},
};
use domain::{ErrorCode, FieldError};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use utoipa::{
    ToSchema,
    openapi::{ObjectBuilder, RefOr, Schema, Type},
};

use crate::request_id;

/// A cause kept for the log, never shown to a client.
type Cause = Box<dyn std::error::Error + Send + Sync>;

/// The one error type of the HTTP layer: every failure leaves as an RFC
/// 9457 problem+json body through [`ResponseError`]. Use case errors turn
/// into it through the tables in [`crate::outcomes`].
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    detail: Option<String>,
    extra: Extra,
    cause: Option<Cause>,
}

/// What a problem carries beyond its code.
#[derive(Debug)]
pub(crate) enum Extra {
    /// Nothing more.
    None,
    /// `extra_attributes.resend_code`, on `account-not-validated`.
    ResendCode(SecretString),
    /// `extra_attributes.mfa_token`, on `mfa-required`.
    MfaToken(SecretString),
    /// The `Retry-After` header, on `too-many-attempts`.
    RetryAfter(u64),
    /// `errors`, on `validation-failed`.
    Fields(Vec<FieldError>),
    /// A fixed explanation that a server error may show as its `detail`
    /// (a server error's own detail never leaves): only `'static` text, so
    /// nothing found at run time can reach the client.
    ServerDetail(&'static str),
}

impl ApiError {
    /// Its `error_code`.
    pub(crate) fn code(&self) -> ErrorCode {
        self.code
    }

    /// A failure with this code and nothing more.
    pub(crate) fn new(code: ErrorCode) -> Self {
        Self {
            code,
            detail: None,
            extra: Extra::None,
            cause: None,
        }
    }

    /// A client error with a specific explanation.
    pub(crate) fn with_detail(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            detail: Some(detail.into()),
            ..Self::new(code)
        }
    }

    /// This failure, carrying `extra` too.
    pub(crate) fn with_extra(self, extra: Extra) -> Self {
        Self { extra, ..self }
    }

    /// Field values that break rules: a `validation-failed` listing them.
    pub(crate) fn invalid(fields: Vec<FieldError>) -> Self {
        Self::new(ErrorCode::ValidationFailed).with_extra(Extra::Fields(fields))
    }

    /// This failure, caused by `cause`, which goes to the log, never to
    /// the client.
    pub(crate) fn with_cause(self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self {
            cause: Some(Box::new(cause)),
            ..self
        }
    }

    /// An internal failure caused by `source`.
    pub(crate) fn internal(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::new(ErrorCode::InternalError).with_cause(source)
    }

    /// The whole cause chain, for the log only.
    pub(crate) fn chain(&self) -> String {
        match &self.cause {
            Some(cause) => error_chain(cause.as_ref()),
            None => self.code.to_string(),
        }
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.code.fmt(f)
    }
}

/// The HTTP status of each error code.
pub(crate) const fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadRequest | ErrorCode::InvalidCode => StatusCode::BAD_REQUEST,
        ErrorCode::BadCredentials
        | ErrorCode::AccountNotValidated
        | ErrorCode::InactiveAccount
        | ErrorCode::MissingAuthorization
        | ErrorCode::InvalidToken
        | ErrorCode::TokenExpired
        | ErrorCode::MfaRequired
        | ErrorCode::InvalidMfaCode => StatusCode::UNAUTHORIZED,
        ErrorCode::InsufficientPermissions => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::UserAlreadyExists => StatusCode::CONFLICT,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::CannotChangeOwnAccount
        | ErrorCode::LastOwner
        | ErrorCode::AlreadyMember
        | ErrorCode::TooManyKeys
        | ErrorCode::MfaAlreadyEnabled => StatusCode::CONFLICT,
    }
}

/// Seconds a client waits before retrying a `service-unavailable`.
pub(crate) const UNAVAILABLE_RETRY_AFTER: u64 = 1;

/// An RFC 9457 problem details body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status and `error_code` say it all.
    #[schema(example = "about:blank")]
    pub r#type: &'static str,
    /// The status's reason phrase.
    #[schema(example = "Unauthorized")]
    pub title: &'static str,
    /// The HTTP status code.
    #[schema(example = 401)]
    pub status: u16,
    /// A human-readable explanation.
    #[schema(example = "Invalid username or password")]
    pub detail: String,
    /// The stable, machine-readable error code.
    #[schema(value_type = ErrorCodeName, example = "bad-credentials")]
    pub error_code: &'static str,
    /// The same text as `title`, for clients that read `error`.
    #[schema(example = "Unauthorized")]
    pub error: &'static str,
    /// The same text as `detail`, for clients that read `message`.
    #[schema(example = "Invalid username or password")]
    pub message: String,
    /// Equals the response's `X-Request-Id`.
    #[schema(example = "9f2c4b7a1e3d5f60")]
    pub trace_id: String,
    /// When the error happened (RFC 3339, UTC).
    #[schema(example = "2026-03-01T10:30:00Z")]
    pub timestamp: String,
    /// Extra facts: on `account-not-validated` and `mfa-required` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ProblemExtras>, nullable = false)]
    pub extra_attributes: Option<serde_json::Map<String, serde_json::Value>>,
    /// The broken rules, on `validation-failed` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub errors: Option<Vec<FieldProblem>>,
}

/// The extra facts a problem may carry.
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only: the facts are written by `Extra`
pub struct ProblemExtras {
    /// On `account-not-validated`: send it to `/api/v1/auth/validate/resend`
    /// for a new validation mail.
    #[schema(nullable = false, example = "rc_7Hk2Qp9Lm4Xz")]
    resend_code: Option<String>,
    /// On `mfa-required`: send it with a code to `/api/v1/auth/login/mfa`.
    #[schema(nullable = false, example = "mt_8Kd2Lq9Zx4Wc7Vb1")]
    mfa_token: Option<String>,
}

/// The closed set of `error_code`s, for clients to switch on.
pub struct ErrorCodeName;

impl utoipa::PartialSchema for ErrorCodeName {
    fn schema() -> RefOr<Schema> {
        let meanings: Vec<String> = ErrorCode::all()
            .map(|c| {
                format!(
                    "- `{}` ({}): {}",
                    c.as_str(),
                    status_of(c).as_u16(),
                    c.default_detail()
                )
            })
            .collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(ErrorCode::all().map(ErrorCode::as_str)))
            .description(Some(format!(
                "A stable, machine-readable error code; each has one HTTP status:\n{}",
                meanings.join("\n")
            )))
            .into()
    }
}

impl ToSchema for ErrorCodeName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ErrorCode")
    }
}

/// One broken rule on one field.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field's name in the request body.
    #[schema(example = "password")]
    pub field: &'static str,
    /// What is wrong.
    #[schema(example = "must be at least 8 characters")]
    pub message: String,
}

impl From<&FieldError> for FieldProblem {
    fn from(e: &FieldError) -> Self {
        Self {
            field: e.field,
            message: e.message.clone(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        status_of(self.code)
    }

    fn error_response(&self) -> HttpResponse {
        let code = self.code;
        let status = status_of(code);
        let trace_id = request_id::current();
        if code == ErrorCode::ServiceUnavailable {
            // An outage answers every request so: the database watch logs
            // the outage once, and each answer only at debug level.
            let chain = self.chain();
            tracing::debug!(trace_id = %trace_id, error_code = %code, error = %chain, "request failed");
        } else if status.is_server_error() {
            let chain = self.chain();
            tracing::error!(trace_id = %trace_id, error_code = %code, error = %chain, "request failed");
        }
        let mut extra = None;
        let mut errors = None;
        let mut builder = HttpResponse::build(status);
        match &self.extra {
            Extra::ResendCode(resend_code) => {
                let mut map = serde_json::Map::new();
                map.insert("resend_code".into(), resend_code.expose_secret().into());
                extra = Some(map);
            }
            Extra::MfaToken(mfa_token) => {
                let mut map = serde_json::Map::new();
                map.insert("mfa_token".into(), mfa_token.expose_secret().into());
                extra = Some(map);
            }
            Extra::Fields(list) => errors = Some(list.iter().map(FieldProblem::from).collect()),
            Extra::ServerDetail(_) => {}
            Extra::RetryAfter(retry_after) => {
                builder.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            Extra::None => {}
        }
        if status == StatusCode::UNAUTHORIZED {
            builder.insert_header((header::WWW_AUTHENTICATE, challenge(code)));
        }
        if code == ErrorCode::ServiceUnavailable {
            builder.insert_header((header::RETRY_AFTER, UNAVAILABLE_RETRY_AFTER.to_string()));
        }
        let detail = match (&self.detail, status.is_server_error(), &self.extra) {
            (Some(d), false, _) => d.clone(),
            (_, true, Extra::ServerDetail(d)) => (*d).to_owned(),
            _ => code.default_detail().to_owned(),
        };
        let title = status.canonical_reason().unwrap_or("Error");
        let problem = Problem {
            r#type: "about:blank",
            title,
            status: status.as_u16(),
            message: detail.clone(),
            detail,
            error_code: code.as_str(),
            error: title,
            trace_id,
            timestamp: OffsetDateTime::now_utc()
                .replace_nanosecond(0)
                .unwrap_or_else(|_| OffsetDateTime::now_utc())
                .format(&Rfc3339)
                .unwrap_or_default(),
            extra_attributes: extra,
            errors,
        };
        builder
            .content_type("application/problem+json")
            .body(serde_json::to_string(&problem).unwrap_or_default())
    }
}

/// The `WWW-Authenticate` challenge of a 401: RFC 9110 wants one on every
/// 401, RFC 6750 says which.
pub(crate) const fn challenge(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::InvalidToken | ErrorCode::TokenExpired => r#"Bearer error="invalid_token""#,
        _ => "Bearer",
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
