//! Wire types of the compatibility profile routes: the canonical values
//! under the names that clients of other published auth APIs read.

use application::Tokens;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    TokenResponse, UserDto,
    organizations::{InviteSignupBody, InvitedAccount},
};

/// `token_type` where a profile spells it in lower case.
const BEARER: &str = "bearer";

/// The kind of an access token, as the profiles spell it: `bearer`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // a schema only: the value is written as a constant
pub(crate) enum LowerCaseTokenType {
    Bearer,
}

/// The tokens of a login, as the profiles spell them.
#[derive(Serialize, ToSchema)]
pub(crate) struct ProfileTokens {
    /// The access token: send it as `Authorization: Bearer …`.
    #[schema(
        example = "eyJhbGciOiJFZERTQSIsImtpZCI6IjFiNmFlMWQwZjRjN2EyZTkifQ.eyJzdWIiOiIwMTkzYThhNiJ9.c2lnbmF0dXJl"
    )]
    access_token: String,
    /// Always `bearer`.
    #[schema(value_type = LowerCaseTokenType)]
    token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    expires_in: i64,
    /// Opaque and single-use: exchange it at `/api/v1/auth/refresh`.
    #[schema(example = "rt_5fQ2mY8kLw1xZc3vB9nR7tH4pS6dJ0aE")]
    refresh_token: String,
    /// Seconds until `refresh_token` expires.
    #[schema(example = 2_592_000)]
    refresh_expires_in: i64,
}

impl From<Tokens> for ProfileTokens {
    fn from(t: Tokens) -> Self {
        Self {
            access_token: t.access_token,
            token_type: BEARER,
            expires_in: t.expires_in,
            refresh_token: t.refresh_token.expose_secret().to_owned(),
            refresh_expires_in: t.refresh_expires_in,
        }
    }
}

/// The answer of `POST /api/auth/login`: the tokens under both names the
/// profiles of that path use.
#[derive(Serialize, ToSchema)]
pub(crate) struct ProfileLoginResponse {
    /// The access token (a JWT), the same as `access_token`.
    #[schema(
        example = "eyJhbGciOiJFZERTQSIsImtpZCI6IjFiNmFlMWQwZjRjN2EyZTkifQ.eyJzdWIiOiIwMTkzYThhNiJ9.c2lnbmF0dXJl"
    )]
    token: String,
    /// The user's id.
    #[serde(rename = "userId")]
    #[schema(example = "0193a8a6-7c9d-7c1e-9b0a-3f5e2d1c4b6a")]
    user_id: Uuid,
    /// The user's username, or their e-mail address when they have none.
    #[schema(example = "ada@example.com")]
    username: String,
    /// Seconds until the access token expires, the same as `expires_in`.
    #[serde(rename = "expiresIn")]
    #[schema(example = 900)]
    expires_in_alias: i64,
    #[serde(flatten)]
    tokens: ProfileTokens,
}

impl From<Tokens> for ProfileLoginResponse {
    fn from(t: Tokens) -> Self {
        let username = t
            .user
            .username
            .as_ref()
            .map_or_else(|| t.user.email.to_string(), ToString::to_string);
        Self {
            token: t.access_token.clone(),
            user_id: t.user.id.as_uuid(),
            username,
            expires_in_alias: t.expires_in,
            tokens: t.into(),
        }
    }
}

/// The answer of `POST /auth/login` and `POST /auth/refresh-token`: the
/// canonical token answer, and the access token again as `jwt_token`.
#[derive(Serialize, ToSchema)]
pub(crate) struct JwtTokenResponse {
    #[serde(flatten)]
    tokens: TokenResponse,
    /// The same JWT as `access_token`.
    #[schema(
        example = "eyJhbGciOiJFZERTQSIsImtpZCI6IjFiNmFlMWQwZjRjN2EyZTkifQ.eyJzdWIiOiIwMTkzYThhNiJ9.c2lnbmF0dXJl"
    )]
    jwt_token: String,
}

impl From<Tokens> for JwtTokenResponse {
    fn from(t: Tokens) -> Self {
        Self {
            jwt_token: t.access_token.clone(),
            tokens: t.into(),
        }
    }
}

/// A sign-up with an invitation, the code named `invite_token`.
#[derive(Deserialize, ToSchema)]
pub(crate) struct InviteTokenSignupBody {
    /// The code from the invitation mail.
    #[schema(value_type = String, example = "q3Xv9LmT2pR8sK4w")]
    invite_token: SecretString,
    #[serde(flatten)]
    account: InvitedAccount,
}

impl From<InviteTokenSignupBody> for InviteSignupBody {
    fn from(b: InviteTokenSignupBody) -> Self {
        Self {
            invite_code: b.invite_token,
            account: b.account,
        }
    }
}

/// The answer of `POST /api/auth/signup_invite`: the new user, and their
/// tokens.
#[derive(Serialize, ToSchema)]
pub(crate) struct InvitedUserResponse {
    #[serde(flatten)]
    user: UserDto,
    #[serde(flatten)]
    tokens: ProfileTokens,
}

impl From<Tokens> for InvitedUserResponse {
    fn from(t: Tokens) -> Self {
        Self {
            user: t.user.clone().into(),
            tokens: t.into(),
        }
    }
}
