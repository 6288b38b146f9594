//! The authd domain: pure types and rules.
//!
//! Every value here is valid by construction: once an [`Email`] exists it is
//! a trimmed, lower-cased, well-formed address. Nothing in this crate does
//! I/O, knows a framework, a database or a wire format.

mod admin;
mod api_key;
mod code;
mod email;
mod error;
mod factors;
mod ids;
mod invite;
mod lifetime;
mod login;
mod mfa;
mod name;
mod organization;
mod password;
mod phone;
mod refresh;
mod session;
mod token;
mod user;
mod username;

pub use admin::{
    AdminPatch, AdminStatus, AdminStatusError, OwnAccountChange, PageLimit, PageLimitError,
    UserPage, UserQuery, UserSearch, UserSearchError, judge_admin_change, may_administer,
};
pub use api_key::{ApiKey, ApiKeyRefusal, ApiKeySecret};
pub use code::{CodeKind, SecretDigest};
pub use email::{Email, EmailError};
pub use error::{ErrorCode, FieldError};
pub use factors::Factors;
pub use ids::{ApiKeyId, InviteId, OrganizationId, SessionId, UserId};
pub use invite::Invite;
pub use lifetime::SessionLifetime;
pub use login::LoginIdentifier;
pub use mfa::{RecoveryCode, SealedSecret, TimeStep, TotpSecret};
pub use name::{ApiKeyName, NameError, OrganizationName, PersonName};
pub use organization::{
    InviteRole, InviteRoleError, Member, MemberChange, MemberRefusal, Membership, Organization,
    OrganizationAction, OrganizationRefusal, Role, RoleError, Standing, judge_member_change,
};
pub use password::{Password, PasswordError, PasswordHash};
pub use phone::{Phone, PhoneError};
pub use refresh::{RefreshVerdict, judge_refresh};
pub use session::Session;
pub use token::AccessClaims;
pub use user::{NewUser, ProfilePatch, StatusChange, User, UserStatus, UserStatusError};
pub use username::{Username, UsernameError};
