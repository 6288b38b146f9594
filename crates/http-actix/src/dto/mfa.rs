//! Wire types of two-factor login.

use application::{DisableProof, SecondFactor, TotpEnrolment};
use domain::{ErrorCode, RecoveryCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// What to add to an authenticator app: the same secret three ways.
#[derive(Serialize, ToSchema)]
#[schema(as = TotpSetup)]
pub(crate) struct TotpSetupDto {
    /// The secret, base32, for typing in.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    secret: String,
    /// `otpauth://totp/…`, naming the product and the account.
    #[schema(
        example = "otpauth://totp/authd:ada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=authd"
    )]
    otpauth_uri: String,
    /// The URI as a QR code: an SVG document.
    #[schema(
        example = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 41 41\"><path d=\"M4 4h7v7H4z\"/></svg>"
    )]
    qr_svg: String,
}

impl From<TotpEnrolment> for TotpSetupDto {
    fn from(e: TotpEnrolment) -> Self {
        Self {
            secret: e.secret.expose_secret().to_owned(),
            otpauth_uri: e.otpauth_uri.expose_secret().to_owned(),
            qr_svg: e.qr_svg.expose_secret().to_owned(),
        }
    }
}

/// A code from the authenticator app.
#[derive(Deserialize, ToSchema)]
pub(crate) struct TotpCodeBody {
    /// Six digits; white space around and between them is ignored.
    #[schema(value_type = String, pattern = "^[\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*([0-9][\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*){6}$", example = "492039")]
    pub code: SecretString,
}

/// Recovery codes: each works once, in place of a code from the app.
#[derive(Serialize, ToSchema)]
#[schema(as = RecoveryCodes)]
pub(crate) struct RecoveryCodesDto {
    /// Ten codes, shown only here.
    #[schema(example = json!(["k7f2q-9xw3m-p3zr8", "e2hvn-4tq8w-mbc9k"]))]
    recovery_codes: Vec<String>,
}

impl From<Vec<RecoveryCode>> for RecoveryCodesDto {
    fn from(codes: Vec<RecoveryCode>) -> Self {
        Self {
            recovery_codes: codes.iter().map(|c| c.expose().to_owned()).collect(),
        }
    }
}

/// What proves it is you before TOTP goes off: the password or a current
/// code, one of them.
#[derive(Deserialize, ToSchema)]
pub(crate) struct DisableTotpBody {
    /// The account's password.
    #[schema(value_type = Option<String>, format = Password,
        example = "correct horse battery staple")]
    password: Option<SecretString>,
    /// A current code from the app; empty or blank: not given.
    #[schema(value_type = Option<String>, pattern = "^[\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*(([0-9][\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*){6})?$",
        example = "492039")]
    code: Option<SecretString>,
}

impl DisableTotpBody {
    pub(crate) fn into_proof(self) -> Result<DisableProof, ApiError> {
        match (given(self.password), given(self.code)) {
            (Some(password), None) => Ok(DisableProof::Password(password)),
            (None, Some(code)) => Ok(DisableProof::Code(code)),
            (None, None) => Err(one_of("password or code is required")),
            (Some(_), Some(_)) => Err(one_of("send password or code, not both")),
        }
    }
}

/// The second step of a login: the challenge of the first, and a code or
/// a recovery code (one of them).
#[derive(Deserialize, ToSchema)]
pub(crate) struct LoginMfaBody {
    /// `extra_attributes.mfa_token` of the `mfa-required` answer.
    #[schema(value_type = String, max_length = 256, example = "mt_8Kd2Lq9Zx4Wc7Vb1")]
    pub mfa_token: SecretString,
    /// A current code from the app; empty or blank: not given.
    #[schema(value_type = Option<String>, pattern = "^[\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*(([0-9][\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*){6})?$",
        example = "492039")]
    code: Option<SecretString>,
    /// One of the recovery codes (dashes, spaces and case do not matter).
    #[schema(value_type = Option<String>, max_length = 64,
        example = "k7f2q-9xw3m-p3zr8")]
    recovery_code: Option<SecretString>,
}

impl LoginMfaBody {
    /// The challenge and the second factor, or the contract's 400.
    pub(crate) fn into_parts(self) -> Result<(SecretString, SecondFactor), ApiError> {
        let proof = match (given(self.code), given(self.recovery_code)) {
            (Some(code), None) => SecondFactor::Code(code),
            (None, Some(recovery)) => SecondFactor::RecoveryCode(recovery),
            (None, None) => return Err(one_of("code or recovery_code is required")),
            (Some(_), Some(_)) => return Err(one_of("send code or recovery_code, not both")),
        };
        Ok((self.mfa_token, proof))
    }
}

/// A secret field that was sent and is not blank.
fn given(field: Option<SecretString>) -> Option<SecretString> {
    field.filter(|s| !s.expose_secret().trim().is_empty())
}

fn one_of(detail: &str) -> ApiError {
    ApiError::with_detail(ErrorCode::BadRequest, detail)
}
