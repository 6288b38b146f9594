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
pub(crate) mod rules;

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
    /// The account's e-mail address; unique.
    #[schema(value_type = rules::EmailAddress)]
    email: String,
    /// The password.
    #[schema(value_type = rules::NewPassword)]
    password: SecretString,
    /// Given name.
    #[schema(value_type = rules::Name, example = "Ada")]
    first_name: String,
    /// Family name.
    #[schema(value_type = rules::Name, example = "Lovelace")]
    last_name: String,
    /// A username to log in with; unique. `null`, absent or empty: none.
    #[schema(value_type = Option<rules::UsernameValue>)]
    username: Option<String>,
    /// A phone number to log in with; unique. `null`, absent or empty: none.
    #[schema(value_type = Option<rules::PhoneNumber>)]
    phone: Option<String>,
    /// Name of the organization created for the user. `null`, absent or
    /// empty: "{first name}'s organization".
    #[schema(value_type = Option<rules::OptionalName>, example = "Analytical Engines Ltd")]
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
    #[schema(example = "q3Xv9LmT2pR8sK4w")]
    pub code: String,
}

/// A request for a new validation mail, by `resend_code` or by `email`.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ResendBody {
    /// The `resend_code` from an `account-not-validated` answer; when it is
    /// given, `email` is not read.
    #[schema(example = "rc_7Hk2Qp9Lm4Xz")]
    resend_code: Option<String>,
    /// The account's e-mail address, read when `resend_code` is not given.
    #[schema(example = "ada@example.com")]
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
    #[schema(example = "ada@example.com")]
    username: Option<String>,
    /// Read when `username` is not given.
    #[schema(example = "ada@example.com")]
    email: Option<String>,
    /// The password.
    #[schema(value_type = String, required = true, format = Password, min_length = 1,
        example = "correct horse battery staple")]
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
    #[schema(example = "rt_5fQ2mY8kLw1xZc3vB9nR7tH4pS6dJ0aE")]
    refresh_token: Option<String>,
    /// Read when `refresh_token` is not given.
    #[serde(rename = "refreshToken")]
    #[schema(deprecated, example = "rt_5fQ2mY8kLw1xZc3vB9nR7tH4pS6dJ0aE")]
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
    #[schema(example = false)]
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
    /// Given name; `null` or absent: unchanged.
    #[schema(value_type = Option<rules::Name>, example = "Grace")]
    first_name: Option<String>,
    /// Family name; `null` or absent: unchanged.
    #[schema(value_type = Option<rules::Name>, example = "Hopper")]
    last_name: Option<String>,
    /// Absent: unchanged; `null` or empty: removed.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<rules::UsernameValue>)]
    username: Option<Option<String>>,
    /// Absent: unchanged; `null` or empty: removed.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<rules::PhoneNumber>)]
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
#[schema(as = User)]
pub(crate) struct UserDto {
    #[schema(example = "0193a8a6-7c9d-7c1e-9b0a-3f5e2d1c4b6a")]
    id: Uuid,
    #[schema(example = "ada@example.com")]
    email: String,
    #[schema(example = "ada")]
    #[schema(required = true)]
    username: Option<String>,
    #[schema(example = "+442071234567")]
    #[schema(required = true)]
    phone: Option<String>,
    #[schema(example = "Ada")]
    first_name: String,
    #[schema(example = "Lovelace")]
    last_name: String,
    /// Where the account stands.
    #[schema(value_type = admin::AccountStatus)]
    status: &'static str,
    #[schema(example = true)]
    email_verified: bool,
    #[schema(example = false)]
    is_admin: bool,
    /// Whether login asks for a TOTP code after the password.
    #[schema(example = false)]
    mfa_enabled: bool,
    #[schema(format = DateTime, example = "2026-03-01T10:30:00Z")]
    created_at: String,
    #[schema(format = DateTime, example = "2026-03-01T10:30:00Z")]
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
    #[schema(
        example = "eyJhbGciOiJFZERTQSIsImtpZCI6IjFiNmFlMWQwZjRjN2EyZTkifQ.eyJzdWIiOiIwMTkzYThhNiJ9.c2lnbmF0dXJl"
    )]
    access_token: String,
    /// The same JWT as `access_token`.
    #[schema(
        deprecated,
        example = "eyJhbGciOiJFZERTQSIsImtpZCI6IjFiNmFlMWQwZjRjN2EyZTkifQ.eyJzdWIiOiIwMTkzYThhNiJ9.c2lnbmF0dXJl"
    )]
    token: String,
    /// Always `Bearer`.
    #[schema(value_type = TokenType)]
    token_type: &'static str,
    /// Seconds until `access_token` expires.
    #[schema(example = 900)]
    expires_in: i64,
    /// Opaque; exchange it at `/api/v1/auth/refresh`. Single-use.
    #[schema(example = "rt_5fQ2mY8kLw1xZc3vB9nR7tH4pS6dJ0aE")]
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
#[schema(as = VerifiedCaller)]
pub(crate) struct VerifyResponse {
    #[schema(example = "0193a8a6-7c9d-7c1e-9b0a-3f5e2d1c4b6a")]
    pub user_id: Uuid,
    /// The session of the access token; `null` for an API key.
    #[schema(example = "0193a8a7-1f20-7b4c-a6e2-5d8f0c3b9e17")]
    #[schema(required = true)]
    pub session_id: Option<Uuid>,
    /// When the presented credential expires; `null` for an API key that
    /// never does.
    #[schema(format = DateTime, example = "2026-03-01T10:45:00Z")]
    #[schema(required = true)]
    pub expires_at: Option<String>,
    /// How the caller authenticated.
    #[schema(value_type = organizations::AuthMethod)]
    pub auth_method: &'static str,
    /// Whether the user gave a second factor at login (`amr` has `otp`);
    /// `false` for an API key.
    #[schema(example = false)]
    pub mfa: bool,
    /// The organization the caller acts for: the one named in
    /// `X-Organization-Id`, or else their oldest membership; `null` when
    /// they belong to none.
    #[schema(example = "0193a8a6-7c9e-7a31-8d4f-6b2c1e9a0f35")]
    #[schema(required = true)]
    pub organization_id: Option<Uuid>,
    /// The caller's role there; `null` without an organization, or for a
    /// platform administrator who is no member of the one named.
    #[schema(value_type = Option<organizations::RoleName>)]
    #[schema(required = true)]
    pub role: Option<&'static str>,
}

/// Liveness or readiness.
#[derive(Serialize, ToSchema)]
#[schema(as = Health)]
pub(crate) struct HealthResponse {
    /// Always `ok`: a failing check answers a problem instead.
    #[schema(value_type = HealthStatus)]
    pub status: &'static str,
}

/// A passing health check's status.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // a schema only
pub(crate) enum HealthStatus {
    Ok,
}

/// The kind of an access token: always `Bearer`.
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only: the value is written as a constant
pub(crate) enum TokenType {
    Bearer,
}

/// A JSON Web Key Set.
#[derive(Serialize, ToSchema)]
#[schema(as = Jwks)]
pub(crate) struct JwksResponse {
    /// The public keys that verify access tokens.
    #[schema(value_type = Vec<Jwk>)]
    pub keys: Vec<std::collections::BTreeMap<String, String>>,
}

/// A public key that verifies access tokens (RFC 7517): an Ed25519 key
/// (`OKP`: `crv`, `x`), a P-256 key (`EC`: `crv`, `x`, `y`) or an RSA key
/// (`RSA`: `n`, `e`). No key of an `HS256` deployment is published.
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only: the key set is written by the token adapter
pub(crate) struct Jwk {
    /// The key type.
    #[schema(value_type = KeyType)]
    kty: (),
    /// The key id, as in the `kid` header of the tokens it verifies.
    #[schema(example = "1b6ae1d0f4c7a2e9")]
    kid: String,
    /// The algorithm the key verifies.
    #[schema(value_type = KeyAlgorithm)]
    alg: (),
    /// Always `sig`.
    #[schema(value_type = KeyUse, rename = "use")]
    key_use: (),
    /// The curve, for `OKP` and `EC` keys.
    #[schema(value_type = Option<KeyCurve>, nullable = false)]
    crv: (),
    /// The public point's x coordinate (base64url), for `OKP` and `EC` keys.
    #[schema(
        nullable = false,
        example = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    )]
    x: Option<String>,
    /// The public point's y coordinate (base64url), for `EC` keys.
    #[schema(
        nullable = false,
        example = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"
    )]
    y: Option<String>,
    /// The modulus (base64url), for `RSA` keys.
    #[schema(
        nullable = false,
        example = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )]
    n: Option<String>,
    /// The exponent (base64url), for `RSA` keys.
    #[schema(nullable = false, example = "AQAB")]
    e: Option<String>,
}

/// A JWK's key type.
#[derive(ToSchema)]
#[allow(dead_code, clippy::upper_case_acronyms)] // a schema only
pub(crate) enum KeyType {
    OKP,
    EC,
    RSA,
}

/// The algorithm a JWK verifies.
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only
pub(crate) enum KeyAlgorithm {
    EdDSA,
    ES256,
    RS256,
}

/// What a JWK is for.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // a schema only
pub(crate) enum KeyUse {
    Sig,
}

/// A JWK's curve.
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only
pub(crate) enum KeyCurve {
    Ed25519,
    #[schema(rename = "P-256")]
    P256,
}

/// A password change: the password now in force, and the new one.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ChangePasswordBody {
    /// The password now in force.
    #[schema(value_type = String, format = Password, example = "correct horse battery staple")]
    pub current_password: SecretString,
    /// The new password.
    #[schema(value_type = rules::NewPassword, example = "purple mountains drink quietly")]
    pub new_password: SecretString,
}

/// A request for a password-reset mail.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ForgotPasswordBody {
    /// The account's e-mail address.
    #[schema(value_type = rules::EmailAddress)]
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
    #[schema(value_type = String, example = "q3Xv9LmT2pR8sK4w")]
    pub code: SecretString,
    /// The new password.
    #[schema(value_type = rules::NewPassword, example = "purple mountains drink quietly")]
    pub new_password: SecretString,
}
