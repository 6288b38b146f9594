//! Wire types: what clients send and receive. They exist only here, and
//! request types turn into parsed domain values at the edge.

use std::fmt::Display;

use application::{ResendBy, SignupRequest, Tokens};
use domain::{
    Email, ErrorCode, FieldError, OrganizationName, Password, PersonName, Phone, ProfilePatch,
    User, Username,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{error::ApiError, outcomes::Documented};

pub(crate) mod admin;
pub(crate) mod api_keys;
pub(crate) mod compat;
pub(crate) mod mfa;
pub(crate) mod organizations;

/// The field rules a request body's values must follow: breaking any is a
/// `validation-failed` that lists them all.
pub(crate) struct FieldRules;

impl Documented for FieldRules {
    const CODES: &'static [domain::ErrorCode] = &[domain::ErrorCode::ValidationFailed];
}

/// Collects every broken rule of a request, so a 422 lists them all.
#[derive(Default)]
struct Fields(Vec<FieldError>);

impl Fields {
    fn check<T, E: Display>(&mut self, field: &'static str, parsed: Result<T, E>) -> Option<T> {
        parsed
            .map_err(|e| self.0.push(FieldError::new(field, e)))
            .ok()
    }

    fn optional<T, E: Display>(
        &mut self,
        field: &'static str,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<Option<T>> {
        match raw {
            None => Some(None),
            Some(s) => self.check(field, parse(s)).map(Some),
        }
    }

    fn finish<T>(self, value: Option<T>) -> Result<T, ApiError> {
        match value {
            Some(v) if self.0.is_empty() => Ok(v),
            _ => Err(ApiError::invalid(self.0)),
        }
    }
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Treats an empty string like an absent optional field.
fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.trim().is_empty())
}

/// A sign-up.
#[derive(Deserialize, ToSchema)]
pub(crate) struct SignupBody {
    /// E-mail address; stored trimmed and lower-cased.
    #[schema(example = "ada@example.com")]
    email: String,
    /// 8–256 characters; not common, not containing the e-mail or username.
    #[schema(value_type = String, format = Password, example = "correct horse battery staple")]
    password: SecretString,
    /// Given name.
    #[schema(example = "Ada")]
    first_name: String,
    /// Family name.
    #[schema(example = "Lovelace")]
    last_name: String,
    /// 3–32 of `a-z 0-9 . _ -`; unique case-insensitively.
    #[schema(nullable = false, example = "ada")]
    username: Option<String>,
    /// E.164 (`+` and 8–15 digits); unique.
    #[schema(nullable = false, example = "+442071234567")]
    phone: Option<String>,
    /// Name of the organization created for the user.
    #[schema(nullable = false, example = "Analytical Engines Ltd")]
    organization_name: Option<String>,
}

impl SignupBody {
    pub(crate) fn try_into_domain(self) -> Result<SignupRequest, ApiError> {
        let mut f = Fields::default();
        let email = f.check("email", Email::parse(&self.email));
        let username = f.optional("username", non_empty(&self.username), Username::parse);
        let phone = f.optional("phone", non_empty(&self.phone), Phone::parse);
        let first_name = f.check("first_name", PersonName::parse(&self.first_name));
        let last_name = f.check("last_name", PersonName::parse(&self.last_name));
        let organization_name = f.optional(
            "organization_name",
            non_empty(&self.organization_name),
            OrganizationName::parse,
        );
        let password = match &email {
            Some(email) => {
                let username = username.as_ref().and_then(Option::as_ref);
                f.check(
                    "password",
                    Password::for_account(self.password, email, username),
                )
            }
            // Without a valid e-mail, check the rest of the policy.
            None => f.check("password", Password::new(self.password, &[])),
        };
        let request = (|| {
            Some(SignupRequest {
                email: email?,
                password: password?,
                first_name: first_name?,
                last_name: last_name?,
                username: username?,
                phone: phone?,
                organization_name: organization_name?,
            })
        })();
        f.finish(request)
    }
}

/// A validation code from the mail.
#[derive(Deserialize, ToSchema)]
pub(crate) struct CodeBody {
    /// The code.
    pub code: String,
}

/// A request for a new validation mail, by `resend_code` or by `email`.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ResendBody {
    /// The `resend_code` from an `account-not-validated` answer.
    #[schema(nullable = false)]
    resend_code: Option<String>,
    /// The account's e-mail address.
    #[schema(nullable = false)]
    email: Option<String>,
}

impl ResendBody {
    /// The request; `None` when neither field is given (a 400: a required
    /// field is missing), or the broken rules (a 422).
    pub(crate) fn try_into_domain(self) -> Option<Result<ResendBy, ApiError>> {
        let mut f = Fields::default();
        let by = match (non_empty(&self.resend_code), non_empty(&self.email)) {
            (Some(code), _) => Some(ResendBy::Code(SecretString::from(code.to_owned()))),
            (None, Some(email)) => f.check("email", Email::parse(email)).map(ResendBy::Email),
            (None, None) => return None,
        };
        Some(f.finish(by))
    }
}

/// Credentials. `username` may be a username, e-mail address or phone;
/// `email` is accepted in its place.
#[derive(Deserialize, ToSchema)]
pub(crate) struct LoginBody {
    /// Username, e-mail address or phone.
    #[schema(nullable = false, example = "ada@example.com")]
    username: Option<String>,
    /// Accepted instead of `username`.
    #[schema(nullable = false)]
    email: Option<String>,
    /// The password.
    #[schema(value_type = String, format = Password)]
    password: Option<SecretString>,
}

impl LoginBody {
    /// The identifier and password, or the contract's 400.
    pub(crate) fn credentials(self) -> Option<(String, SecretString)> {
        let given = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        let identifier = given(self.username).or_else(|| given(self.email))?;
        let password = self.password.filter(|p| !p.expose_secret().is_empty())?;
        Some((identifier, password))
    }
}

/// A refresh token to exchange: `refresh_token`, or `refreshToken` in its
/// place (one of them is required).
#[derive(Deserialize, ToSchema)]
pub(crate) struct RefreshBody {
    /// The refresh token from the last login or refresh.
    #[schema(nullable = false)]
    refresh_token: Option<String>,
    /// Accepted instead of `refresh_token`.
    #[serde(rename = "refreshToken")]
    #[schema(nullable = false, deprecated)]
    refresh_token_alias: Option<String>,
}

impl RefreshBody {
    /// The token, or the contract's 400 when neither field gives one.
    pub(crate) fn token(self) -> Result<String, ApiError> {
        let given = |s: Option<String>| s.filter(|s| !s.is_empty());
        given(self.refresh_token)
            .or_else(|| given(self.refresh_token_alias))
            .ok_or_else(|| {
                ApiError::with_detail(
                    ErrorCode::BadRequest,
                    "Missing required field `refresh_token`",
                )
            })
    }
}

/// Logout options.
#[derive(Deserialize, Default, ToSchema)]
pub(crate) struct LogoutBody {
    /// End every session of the user, not only this one.
    #[serde(default)]
    pub all_sessions: bool,
}

fn double_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Profile changes. Absent fields stay as they are; `null` (or `""`)
/// removes an optional `username` or `phone`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchMeBody {
    #[schema(nullable = false)]
    first_name: Option<String>,
    #[schema(nullable = false)]
    last_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    username: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    phone: Option<Option<String>>,
}

impl PatchMeBody {
    pub(crate) fn try_into_domain(self) -> Result<ProfilePatch, ApiError> {
        let mut f = Fields::default();
        let first_name = f.optional("first_name", self.first_name.as_deref(), PersonName::parse);
        let last_name = f.optional("last_name", self.last_name.as_deref(), PersonName::parse);
        let username = self
            .username
            .map(|u| f.optional("username", non_empty(&u), Username::parse));
        let phone = self
            .phone
            .map(|p| f.optional("phone", non_empty(&p), Phone::parse));
        let patch = (|| {
            Some(ProfilePatch {
                first_name: first_name?,
                last_name: last_name?,
                username: username.map_or(Some(None), |u| u.map(Some))?,
                phone: phone.map_or(Some(None), |p| p.map(Some))?,
            })
        })();
        f.finish(patch)
    }
}

/// A user account.
#[derive(Serialize, ToSchema)]
pub(crate) struct UserDto {
    id: Uuid,
    #[schema(example = "ada@example.com")]
    email: String,
    username: Option<String>,
    phone: Option<String>,
    first_name: String,
    last_name: String,
    /// `pending_validation`, `active` or `inactive`.
    #[schema(example = "active")]
    status: &'static str,
    email_verified: bool,
    is_admin: bool,
    /// Whether login asks for a TOTP code after the password.
    mfa_enabled: bool,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

impl From<User> for UserDto {
    fn from(u: User) -> Self {
        Self {
            id: u.id.as_uuid(),
            email: u.email.to_string(),
            username: u.username.map(|v| v.to_string()),
            phone: u.phone.map(|v| v.to_string()),
            first_name: u.first_name.to_string(),
            last_name: u.last_name.to_string(),
            status: u.status.as_str(),
            email_verified: u.email_verified,
            is_admin: u.is_admin,
            mfa_enabled: u.mfa_enabled,
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
        }
    }
}

/// Tokens for a logged-in user.
#[derive(Serialize, ToSchema)]
pub(crate) struct TokenResponse {
    /// A JWT to send as `Authorization: Bearer …`.
    access_token: String,
    /// The same JWT as `access_token`.
    #[schema(deprecated)]
    token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until `access_token` expires.
    #[schema(example = 900)]
    expires_in: i64,
    /// Opaque; exchange it at `/auth/refresh`. Single-use.
    refresh_token: String,
    /// Seconds until `refresh_token` expires.
    #[schema(example = 2_592_000)]
    refresh_expires_in: i64,
    /// The user.
    user: UserDto,
}

impl From<Tokens> for TokenResponse {
    fn from(t: Tokens) -> Self {
        Self {
            token: t.access_token.clone(),
            access_token: t.access_token,
            token_type: "Bearer",
            expires_in: t.expires_in,
            refresh_token: t.refresh_token.expose_secret().to_owned(),
            refresh_expires_in: t.refresh_expires_in,
            user: t.user.into(),
        }
    }
}

/// A short confirmation.
#[derive(Serialize, ToSchema)]
pub(crate) struct MessageResponse {
    #[schema(example = "Successfully logged out")]
    pub message: &'static str,
}

/// The result of a forward-auth check.
#[derive(Serialize, ToSchema)]
pub(crate) struct VerifyResponse {
    pub user_id: Uuid,
    /// The session of the access token; `null` for an API key.
    pub session_id: Option<Uuid>,
    /// When the presented credential expires; `null` for an API key that
    /// never does.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// How the caller authenticated.
    #[schema(value_type = organizations::AuthMethod)]
    pub auth_method: &'static str,
    /// Whether the user gave a second factor at login (`amr` has `otp`);
    /// `false` for an API key.
    pub mfa: bool,
    /// The organization the caller acts for: the one named in
    /// `X-Organization-Id`, or else their oldest membership; `null` when
    /// they belong to none.
    pub organization_id: Option<Uuid>,
    /// The caller's role there; `null` without an organization, or for a
    /// platform administrator who is no member of the one named.
    #[schema(value_type = Option<organizations::RoleName>)]
    pub role: Option<&'static str>,
}

/// Liveness or readiness.
#[derive(Serialize, ToSchema)]
pub(crate) struct HealthResponse {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// A JSON Web Key Set.
#[derive(Serialize, ToSchema)]
pub(crate) struct JwksResponse {
    /// The public keys that verify access tokens.
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<std::collections::BTreeMap<String, String>>,
}

/// A password change: the password now in force, and the new one.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ChangePasswordBody {
    /// The password now in force.
    #[schema(value_type = String, format = Password)]
    pub current_password: SecretString,
    /// 8–256 characters; not common, not containing the e-mail or username.
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 256,
        example = "purple mountains drink quietly")]
    pub new_password: SecretString,
}

/// A request for a password-reset mail.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ForgotPasswordBody {
    /// The account's e-mail address.
    #[schema(format = Email, max_length = 254, example = "ada@example.com")]
    email: String,
}

impl ForgotPasswordBody {
    pub(crate) fn try_into_domain(self) -> Result<Email, ApiError> {
        let mut f = Fields::default();
        let email = f.check("email", Email::parse(&self.email));
        f.finish(email)
    }
}

/// A new password, with the code from the reset mail.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ResetPasswordBody {
    /// The code from the reset mail.
    #[schema(value_type = String)]
    pub code: SecretString,
    /// 8–256 characters; not common, not containing the e-mail or username.
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 256,
        example = "purple mountains drink quietly")]
    pub new_password: SecretString,
}
