//! Organizations, their members and invitations.

use actix_web::{HttpResponse, web};
use application::{
    AcceptInviteError, AuthenticateError, ChangeMemberError, CreateOrganizationError, Fault,
    InviteError, ManageOrganizationError, ViewOrganizationError,
};
use domain::{InviteId, MemberChange, OrganizationId, UserId};

use super::{Service, get};
use crate::{
    blocking::blocking,
    dto::{
        FieldRules,
        organizations::{
            AcceptInviteBody, ChangeRoleBody, CreateOrganizationBody, InviteBody, InviteDto,
            MemberDto, OrganizationDto, RenameOrganizationBody,
        },
    },
    error::ApiError,
    extract::{Caller, Client, JsonBody},
    outcomes::operation_errors,
};

/// An id from the path; `None` when it is not one (answered as not found).
fn path_id<T: std::str::FromStr>(raw: &str) -> Option<T> {
    raw.parse().ok()
}

operation_errors!(ListOrganizationsErrors: Caller, AuthenticateError, Fault);

/// The organizations the caller belongs to, with their role in each, the
/// oldest membership first.
#[utoipa::path(get, path = "/api/v1/organizations", operation_id = "list_organizations", tag = "organizations",
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = Vec<OrganizationDto>),
        ListOrganizationsErrors,
    ))]
pub(crate) async fn list(svc: Service, caller: Caller) -> Result<HttpResponse, ApiError> {
    let organizations = blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(ListOrganizationsErrors::fail)?;
        svc.my_organizations(&who)
            .map_err(ListOrganizationsErrors::fail)
    })
    .await?;
    let body: Vec<OrganizationDto> = organizations.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(body))
}

operation_errors!(CreateOrganizationErrors: Caller, JsonBody<CreateOrganizationBody>, FieldRules,
    AuthenticateError, CreateOrganizationError);

/// Make an organization; the caller becomes its owner.
#[utoipa::path(post, path = "/api/v1/organizations", operation_id = "create_organization", tag = "organizations",
    request_body = CreateOrganizationBody, security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 201, body = OrganizationDto),
        CreateOrganizationErrors,
    ))]
pub(crate) async fn create(
    svc: Service,
    caller: Caller,
    body: JsonBody<CreateOrganizationBody>,
) -> Result<HttpResponse, ApiError> {
    let organization = blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(CreateOrganizationErrors::fail)?;
        let name = body.0.try_into_domain()?;
        svc.create_organization(&who, name)
            .map_err(CreateOrganizationErrors::fail)
    })
    .await?;
    Ok(HttpResponse::Created().json(OrganizationDto::from(organization)))
}

operation_errors!(ViewOrganizationErrors: Caller, AuthenticateError, ViewOrganizationError);

/// One organization the caller belongs to (any member; a platform
/// administrator sees every one). For anyone else it is `not-found`: an
/// organization's existence is not revealed.
#[utoipa::path(get, path = "/api/v1/organizations/{id}", operation_id = "get_organization", tag = "organizations",
    params(("id" = Uuid, Path, description = "The organization's id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = OrganizationDto),
        ViewOrganizationErrors,
    ))]
pub(crate) async fn show(
    svc: Service,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<OrganizationId>(&id);
    let organization = blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(ViewOrganizationErrors::fail)?;
        let id = id.ok_or(ViewOrganizationError::NotFound)?;
        svc.organization(&who, id)
            .map_err(ViewOrganizationErrors::fail)
    })
    .await?;
    Ok(HttpResponse::Ok().json(OrganizationDto::from(organization)))
}

operation_errors!(RenameOrganizationErrors: Caller, JsonBody<RenameOrganizationBody>, FieldRules,
    AuthenticateError, ManageOrganizationError);

/// Rename an organization (owners and admins).
#[utoipa::path(patch, path = "/api/v1/organizations/{id}", operation_id = "rename_organization", tag = "organizations",
    params(("id" = Uuid, Path, description = "The organization's id")),
    request_body = RenameOrganizationBody, security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = OrganizationDto),
        RenameOrganizationErrors,
    ))]
pub(crate) async fn rename(
    svc: Service,
    caller: Caller,
    id: web::Path<String>,
    body: JsonBody<RenameOrganizationBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<OrganizationId>(&id);
    let organization = blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(RenameOrganizationErrors::fail)?;
        let id = id.ok_or(ManageOrganizationError::NotFound)?;
        let name = body.0.try_into_domain()?;
        svc.rename_organization(&who, id, &name)
            .map_err(RenameOrganizationErrors::fail)
    })
    .await?;
    Ok(HttpResponse::Ok().json(OrganizationDto::from(organization)))
}

operation_errors!(DeleteOrganizationErrors: Caller, AuthenticateError, ManageOrganizationError);

/// Delete an organization (owners only): its memberships and invitations
/// go, its members' accounts stay.
#[utoipa::path(delete, path = "/api/v1/organizations/{id}", operation_id = "delete_organization", tag = "organizations",
    params(("id" = Uuid, Path, description = "The organization's id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 204, description = "The organization is gone"),
        DeleteOrganizationErrors,
    ))]
pub(crate) async fn delete(
    svc: Service,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<OrganizationId>(&id);
    blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(DeleteOrganizationErrors::fail)?;
        let id = id.ok_or(ManageOrganizationError::NotFound)?;
        svc.delete_organization(&who, id)
            .map_err(DeleteOrganizationErrors::fail)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The members of an organization the caller belongs to, the earliest to
/// join first.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/members", operation_id = "list_members", tag = "organizations",
    params(("id" = Uuid, Path, description = "The organization's id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = Vec<MemberDto>),
        ViewOrganizationErrors,
    ))]
pub(crate) async fn members(
    svc: Service,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<OrganizationId>(&id);
    let members = blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(ViewOrganizationErrors::fail)?;
        let id = id.ok_or(ViewOrganizationError::NotFound)?;
        svc.members(&who, id).map_err(ViewOrganizationErrors::fail)
    })
    .await?;
    let body: Vec<MemberDto> = members.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// The organization and member ids of a membership path; `None` for
/// either when it is not an id.
type MemberPath = web::Path<(String, String)>;

fn member_ids(path: &MemberPath) -> Option<(OrganizationId, UserId)> {
    Some((path_id(&path.0)?, path_id(&path.1)?))
}

operation_errors!(ChangeRoleErrors: Caller, JsonBody<ChangeRoleBody>, FieldRules,
    AuthenticateError, ChangeMemberError);

/// Give a member another role. Owners may change anyone's; admins those of
/// members who are not owners, and make no owner; nobody may demote the
/// last owner (409 `last-owner`).
#[utoipa::path(patch, path = "/api/v1/organizations/{id}/members/{user_id}", operation_id = "change_member_role", tag = "organizations",
    params(
        ("id" = Uuid, Path, description = "The organization's id"),
        ("user_id" = Uuid, Path, description = "The member's user id"),
    ),
    request_body = ChangeRoleBody, security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = MemberDto),
        ChangeRoleErrors,
    ))]
pub(crate) async fn change_role(
    svc: Service,
    caller: Caller,
    path: MemberPath,
    body: JsonBody<ChangeRoleBody>,
) -> Result<HttpResponse, ApiError> {
    let ids = member_ids(&path);
    let member = blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(ChangeRoleErrors::fail)?;
        let (id, user) = ids.ok_or(ChangeMemberError::NotFound)?;
        let role = body.0.try_into_domain()?;
        svc.change_member(&who, id, user, MemberChange::SetRole(role))
            .map_err(ChangeRoleErrors::fail)?
            .ok_or_else(|| ApiError::internal(ChangeMemberError::NotFound))
    })
    .await?;
    Ok(HttpResponse::Ok().json(MemberDto::from(member)))
}

operation_errors!(RemoveMemberErrors: Caller, AuthenticateError, ChangeMemberError);

/// End a membership. Owners may remove anyone; admins members who are not
/// owners; every member may leave (their own id); nobody may remove the
/// last owner (409 `last-owner`).
#[utoipa::path(delete, path = "/api/v1/organizations/{id}/members/{user_id}", operation_id = "remove_member", tag = "organizations",
    params(
        ("id" = Uuid, Path, description = "The organization's id"),
        ("user_id" = Uuid, Path, description = "The member's user id"),
    ),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 204, description = "The membership has ended"),
        RemoveMemberErrors,
    ))]
pub(crate) async fn remove_member(
    svc: Service,
    caller: Caller,
    path: MemberPath,
) -> Result<HttpResponse, ApiError> {
    let ids = member_ids(&path);
    blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(RemoveMemberErrors::fail)?;
        let (id, user) = ids.ok_or(ChangeMemberError::NotFound)?;
        svc.change_member(&who, id, user, MemberChange::Remove)
            .map_err(RemoveMemberErrors::fail)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

operation_errors!(InviteErrors: Caller, JsonBody<InviteBody>, FieldRules, AuthenticateError,
    InviteError);

/// Invite someone by e-mail (owners and admins). The mail carries a
/// single-use code, valid `tokens.invite_code_ttl_seconds` (7 days); with
/// it a new person signs up (`/auth/signup/invite`) and an existing
/// account accepts (`/organizations/invites/accept`). Re-inviting an
/// address replaces its older invitation. Invitations count toward the
/// mail limits of the address and of the client (429 past them).
#[utoipa::path(post, path = "/api/v1/organizations/{id}/invites", operation_id = "create_invite", tag = "organizations",
    params(("id" = Uuid, Path, description = "The organization's id")),
    request_body = InviteBody, security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 201, body = InviteDto),
        InviteErrors,
    ))]
pub(crate) async fn invite(
    svc: Service,
    caller: Caller,
    client: Client,
    id: web::Path<String>,
    body: JsonBody<InviteBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<OrganizationId>(&id);
    let invite = blocking(move || -> Result<_, ApiError> {
        let who = svc.authenticate(&caller.0).map_err(InviteErrors::fail)?;
        let id = id.ok_or(InviteError::NotFound)?;
        let request = body.0.try_into_domain()?;
        svc.invite(&who, id, request, &client.0)
            .map_err(InviteErrors::fail)
    })
    .await?;
    Ok(HttpResponse::Created().json(InviteDto::from(invite)))
}

operation_errors!(ManageInvitesErrors: Caller, AuthenticateError, ManageOrganizationError);

/// The pending invitations of an organization (owners and admins), oldest
/// first: neither accepted, revoked nor expired.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/invites", operation_id = "list_invites", tag = "organizations",
    params(("id" = Uuid, Path, description = "The organization's id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = Vec<InviteDto>),
        ManageInvitesErrors,
    ))]
pub(crate) async fn invites(
    svc: Service,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<OrganizationId>(&id);
    let invites = blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(ManageInvitesErrors::fail)?;
        let id = id.ok_or(ManageOrganizationError::NotFound)?;
        svc.invites(&who, id).map_err(ManageInvitesErrors::fail)
    })
    .await?;
    let body: Vec<InviteDto> = invites.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// Revoke a pending invitation (owners and admins): its code stops
/// working at once. An invitation that is not pending here is `not-found`.
#[utoipa::path(delete, path = "/api/v1/organizations/{id}/invites/{invite_id}", operation_id = "revoke_invite", tag = "organizations",
    params(
        ("id" = Uuid, Path, description = "The organization's id"),
        ("invite_id" = Uuid, Path, description = "The invitation's id"),
    ),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 204, description = "The invitation is revoked"),
        ManageInvitesErrors,
    ))]
pub(crate) async fn revoke_invite(
    svc: Service,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let ids = path_id::<OrganizationId>(&path.0).zip(path_id::<InviteId>(&path.1));
    blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(ManageInvitesErrors::fail)?;
        let (id, invite) = ids.ok_or(ManageOrganizationError::NotFound)?;
        svc.revoke_invite(&who, id, invite)
            .map_err(ManageInvitesErrors::fail)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

operation_errors!(AcceptInviteErrors: Caller, JsonBody<AcceptInviteBody>, AuthenticateError,
    AcceptInviteError);

/// Accept an invitation with the caller's account, which must have the
/// invited address (403 otherwise, and the code stays usable): the caller
/// joins with the invited role. Of concurrent acceptances of one code,
/// exactly one succeeds.
#[utoipa::path(post, path = "/api/v1/organizations/invites/accept", operation_id = "accept_invite", tag = "organizations",
    request_body = AcceptInviteBody, security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = OrganizationDto),
        AcceptInviteErrors,
    ))]
pub(crate) async fn accept_invite(
    svc: Service,
    caller: Caller,
    body: JsonBody<AcceptInviteBody>,
) -> Result<HttpResponse, ApiError> {
    let code = body.0.invite_code;
    let organization = blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(AcceptInviteErrors::fail)?;
        svc.accept_invite(&who, &code)
            .map_err(AcceptInviteErrors::fail)
    })
    .await?;
    Ok(HttpResponse::Ok().json(OrganizationDto::from(organization)))
}

/// Routes of this module.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    use super::system::resource;
    cfg.service(
        resource("/api/v1/organizations", "GET, HEAD, POST")
            .route(get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        resource("/api/v1/organizations/invites/accept", "POST")
            .route(web::post().to(accept_invite)),
    )
    .service(
        resource("/api/v1/organizations/{id}", "GET, HEAD, PATCH, DELETE")
            .route(get().to(show))
            .route(web::patch().to(rename))
            .route(web::delete().to(delete)),
    )
    .service(resource("/api/v1/organizations/{id}/members", "GET, HEAD").route(get().to(members)))
    .service(
        resource(
            "/api/v1/organizations/{id}/members/{user_id}",
            "PATCH, DELETE",
        )
        .route(web::patch().to(change_role))
        .route(web::delete().to(remove_member)),
    )
    .service(
        resource("/api/v1/organizations/{id}/invites", "GET, HEAD, POST")
            .route(get().to(invites))
            .route(web::post().to(invite)),
    )
    .service(
        resource("/api/v1/organizations/{id}/invites/{invite_id}", "DELETE")
            .route(web::delete().to(revoke_invite)),
    );
}
