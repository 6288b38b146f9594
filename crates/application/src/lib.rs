//! The use cases of authd, one module each. Each runs synchronously, start
//! to finish, on the caller's (blocking) thread, speaks to the world only
//! through the ports it names, and fails with its own error type that
//! names exactly the outcomes it can produce.

mod admin;
mod api_keys;
mod authenticate;
mod error;
mod invites;
mod login;
mod logout;
mod mail;
mod mail_limits;
mod mfa;
mod organizations;
mod passwords;
mod profile;
mod readiness;
mod recall;
mod refresh;
mod service;
mod sessions;
mod signup;
pub mod system;
mod tokens;
mod validation;
mod verify;

pub use admin::{Admin, AdminError, UpdateUserError};
pub use api_keys::{CreateApiKeyError, DeleteApiKeyError, NewApiKey};
pub use authenticate::{
    ActingFor, AuthenticateError, Credentials, InSession, Principal, SessionRequired, Via,
};
pub use error::Fault;
pub use invites::{
    AcceptInviteError, InviteError, InviteRequest, InviteSignupError, InviteSignupRequest,
};
pub use login::{ClientInfo, LoginError, LoginRequest};
pub use logout::LogoutError;
pub use mail::AppInfo;
pub use mfa::{
    DisableProof, DisableTotpError, LoginMfaError, RecoveryCodesError, ResetMfaError, SecondFactor,
    SetupTotpError, TotpCodeError,
};
pub use organizations::{
    ChangeMemberError, CreateOrganizationError, ManageOrganizationError, OrganizationView,
    ViewOrganizationError,
};
pub use passwords::{ChangePasswordError, ChangePasswordRequest, ResetPasswordError};
/// What a user adds to an authenticator app, as the setup answers it.
pub use ports::TotpEnrolment;
pub use profile::{MeError, UpdateProfileError};
pub use readiness::NotReady;
pub use refresh::RefreshError;
pub use service::{AuthService, Policy, Ports};
pub use sessions::{DeleteSessionError, ListSessionsError, SessionInfo};
pub use signup::{SignupError, SignupRequest};
pub use tokens::Tokens;
pub use validation::{ResendBy, ValidateError};
pub use verify::Verified;
