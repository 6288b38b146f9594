//! Wire types of organizations, their members and invitations.

use application::{InviteRequest, InviteSignupRequest, OrganizationView};
use domain::{
    Email, Invite, InviteRole, Member, OrganizationName, PersonName, Phone, Role, Username,
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Fields, non_empty, rfc3339};
use crate::error::ApiError;

/// A member's role: `owner` > `admin` > `member`.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // a schema only: the value is parsed as a domain value
pub(crate) enum RoleName {
    Owner,
    Admin,
    Member,
}

/// How a caller authenticated.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // a schema only: the value is written as a constant
pub(crate) enum AuthMethod {
    Jwt,
    ApiKey,
}

/// The role an invitation grants (owners are made by changing a role).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // a schema only: the value is parsed as a domain value
pub(crate) enum InvitedRole {
    Admin,
    Member,
}

/// An organization, as the caller sees it.
#[derive(Serialize, ToSchema)]
#[schema(as = Organization)]
pub(crate) struct OrganizationDto {
    #[schema(example = "0193a8a6-7c9e-7a31-8d4f-6b2c1e9a0f35")]
    id: Uuid,
    #[schema(example = "Analytical Engines")]
    name: String,
    /// The caller's role there; `null` for a platform administrator who is
    /// no member.
    #[schema(value_type = Option<RoleName>)]
    #[schema(required = true)]
    role: Option<&'static str>,
    #[schema(format = DateTime, example = "2026-03-01T10:30:00Z")]
    created_at: String,
}

impl From<OrganizationView> for OrganizationDto {
    fn from(view: OrganizationView) -> Self {
        let o = view.organization;
        Self {
            id: o.id.as_uuid(),
            name: o.name.to_string(),
            role: view.role.map(Role::as_str),
            created_at: rfc3339(o.created_at),
        }
    }
}

/// A new organization; the caller becomes its owner.
#[derive(Deserialize, ToSchema)]
pub(crate) struct CreateOrganizationBody {
    /// The organization's name.
    #[schema(value_type = super::rules::Name, example = "Analytical Engines")]
    name: String,
}

impl CreateOrganizationBody {
    pub(crate) fn try_into_domain(self) -> Result<OrganizationName, ApiError> {
        organization_name(&self.name)
    }
}

/// A new name for an organization.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RenameOrganizationBody {
    /// The organization's new name.
    #[schema(value_type = super::rules::Name, example = "Analytical Engines Ltd")]
    name: String,
}

impl RenameOrganizationBody {
    pub(crate) fn try_into_domain(self) -> Result<OrganizationName, ApiError> {
        organization_name(&self.name)
    }
}

fn organization_name(raw: &str) -> Result<OrganizationName, ApiError> {
    let mut f = Fields::default();
    let name = f.check("name", OrganizationName::parse(raw));
    f.finish(name)
}

/// A member of an organization.
#[derive(Serialize, ToSchema)]
#[schema(as = Member)]
pub(crate) struct MemberDto {
    #[schema(example = "0193a8c4-5a7e-7f13-8c2d-1e9b4f6a3d78")]
    user_id: Uuid,
    #[schema(example = "grace@example.com")]
    email: String,
    #[schema(example = "Grace")]
    first_name: String,
    #[schema(example = "Hopper")]
    last_name: String,
    #[schema(value_type = RoleName)]
    role: &'static str,
    /// The account's status.
    #[schema(value_type = super::admin::AccountStatus)]
    status: &'static str,
    /// When they joined.
    #[schema(format = DateTime, example = "2026-03-02T09:15:00Z")]
    joined_at: String,
}

impl From<Member> for MemberDto {
    fn from(m: Member) -> Self {
        Self {
            user_id: m.user.id.as_uuid(),
            email: m.user.email.to_string(),
            first_name: m.user.first_name.to_string(),
            last_name: m.user.last_name.to_string(),
            role: m.role.as_str(),
            status: m.user.status.as_str(),
            joined_at: rfc3339(m.joined_at),
        }
    }
}

/// A member's new role.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeRoleBody {
    #[schema(value_type = RoleName)]
    role: String,
}

impl ChangeRoleBody {
    pub(crate) fn try_into_domain(self) -> Result<Role, ApiError> {
        let mut f = Fields::default();
        let role = f.check("role", Role::parse(&self.role));
        f.finish(role)
    }
}

/// Whom to invite, and with which role.
#[derive(Deserialize, ToSchema)]
pub(crate) struct InviteBody {
    /// The address the invitation is mailed to; only the account with it
    /// may accept.
    #[schema(format = Email, max_length = 254, example = "grace@example.com")]
    email: String,
    #[schema(value_type = InvitedRole)]
    role: String,
}

impl InviteBody {
    pub(crate) fn try_into_domain(self) -> Result<InviteRequest, ApiError> {
        let mut f = Fields::default();
        let email = f.check("email", Email::parse(&self.email));
        let role = f.check("role", InviteRole::parse(&self.role));
        let request = (|| {
            Some(InviteRequest {
                email: email?,
                role: role?,
            })
        })();
        f.finish(request)
    }
}

/// A pending invitation.
#[derive(Serialize, ToSchema)]
#[schema(as = Invite)]
pub(crate) struct InviteDto {
    #[schema(example = "0193a8b9-0c3d-7e52-9a1f-4b6d8e2c7a05")]
    id: Uuid,
    #[schema(example = "grace@example.com")]
    email: String,
    #[schema(value_type = InvitedRole)]
    role: &'static str,
    #[schema(example = "0193a8a6-7c9e-7a31-8d4f-6b2c1e9a0f35")]
    organization_id: Uuid,
    #[schema(format = DateTime, example = "2026-03-01T10:30:00Z")]
    created_at: String,
    /// When the code stops working.
    #[schema(format = DateTime, example = "2026-03-08T10:30:00Z")]
    expires_at: String,
}

impl From<Invite> for InviteDto {
    fn from(i: Invite) -> Self {
        Self {
            id: i.id.as_uuid(),
            email: i.email.to_string(),
            role: i.role.as_str(),
            organization_id: i.organization_id.as_uuid(),
            created_at: rfc3339(i.created_at),
            expires_at: rfc3339(i.expires_at),
        }
    }
}

/// An invitation code from the mail.
#[derive(Deserialize, ToSchema)]
pub(crate) struct AcceptInviteBody {
    /// The code from the invitation mail.
    #[schema(value_type = String, example = "q3Xv9LmT2pR8sK4w")]
    pub invite_code: SecretString,
}

/// A sign-up with the code from an invitation mail: the invited address
/// becomes the account's, already verified.
#[derive(Deserialize, ToSchema)]
pub(crate) struct InviteSignupBody {
    /// The code from the invitation mail.
    #[schema(value_type = String, example = "q3Xv9LmT2pR8sK4w")]
    pub(super) invite_code: SecretString,
    #[serde(flatten)]
    pub(super) account: InvitedAccount,
}

/// The new account of a sign-up by invitation, whose address is the
/// invited one.
#[derive(Deserialize, ToSchema)]
pub(crate) struct InvitedAccount {
    /// The password.
    #[schema(value_type = super::rules::NewPassword)]
    password: SecretString,
    /// Given name.
    #[schema(value_type = super::rules::Name, example = "Grace")]
    first_name: String,
    /// Family name.
    #[schema(value_type = super::rules::Name, example = "Hopper")]
    last_name: String,
    /// A username to log in with; unique. `null`, absent or empty: none.
    #[schema(value_type = Option<super::rules::UsernameValue>, example = "grace")]
    username: Option<String>,
    /// A phone number to log in with; unique. `null`, absent or empty: none.
    #[schema(value_type = Option<super::rules::PhoneNumber>)]
    phone: Option<String>,
}

impl InviteSignupBody {
    /// The request; the password's policy is checked against the invited
    /// address by the use case.
    pub(crate) fn try_into_domain(self) -> Result<InviteSignupRequest, ApiError> {
        let a = self.account;
        let mut f = Fields::default();
        let first_name = f.check("first_name", PersonName::parse(&a.first_name));
        let last_name = f.check("last_name", PersonName::parse(&a.last_name));
        let username = f.optional("username", non_empty(&a.username), Username::parse);
        let phone = f.optional("phone", non_empty(&a.phone), Phone::parse);
        let request = (|| {
            Some(InviteSignupRequest {
                code: self.invite_code,
                password: a.password,
                first_name: first_name?,
                last_name: last_name?,
                username: username?,
                phone: phone?,
            })
        })();
        f.finish(request)
    }
}
