use actix_web::{HttpRequest, HttpResponse, web};
use application::{AdminError, AuthenticateError, Fault, UpdateUserError};
use domain::{ErrorCode, UserId};

use super::{Service, get};
use crate::{
    blocking::blocking,
    dto::{
        FieldRules, UserDto,
        admin::{AdminPatchBody, ListUsersParams, QueryString, UserPageDto},
    },
    error::ApiError,
    extract::{Caller, JsonBody},
    outcomes::operation_errors,
};

operation_errors!(ListUsersErrors: Caller, AuthenticateError, AdminError, QueryString, FieldRules, Fault);

/// List users, oldest first (administrators only).
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", params(ListUsersParams),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = UserPageDto),
        ListUsersErrors,
    ))]
pub(crate) async fn list_users(
    svc: Service,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query_string = req.query_string().to_owned();
    let page = blocking(move || -> Result<_, ApiError> {
        let who = svc.authenticate(&caller.0).map_err(ListUsersErrors::fail)?;
        let admin = svc.admin(&who).map_err(ListUsersErrors::fail)?;
        let query = ListUsersParams::from_query_string(&query_string)?.try_into_domain()?;
        svc.list_users(&admin, &query)
            .map_err(ListUsersErrors::fail)
    })
    .await?;
    Ok(HttpResponse::Ok().json(UserPageDto::from(page)))
}

operation_errors!(UpdateUserErrors: Caller, JsonBody<AdminPatchBody>, FieldRules, AuthenticateError, AdminError, UpdateUserError);

/// Change an account (administrators only): switch it on or off, grant or
/// withdraw the administrator's rights.
///
/// Switching an account off ends every session of it at once: its access
/// tokens are refused from then on, on every instance. An administrator
/// cannot switch off or demote their own account (409
/// `cannot-change-own-account`). An id that names no account, or is not
/// an id, is 404 `not-found`.
#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "admin",
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    request_body = AdminPatchBody, security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = UserDto),
        UpdateUserErrors,
    ))]
pub(crate) async fn update_user(
    svc: Service,
    caller: Caller,
    id: web::Path<String>,
    body: JsonBody<AdminPatchBody>,
) -> Result<HttpResponse, ApiError> {
    let target = id.parse::<UserId>().ok();
    let user = blocking(move || -> Result<_, ApiError> {
        // Who is asking, and whether they may, come before what they ask.
        let who = svc
            .authenticate(&caller.0)
            .map_err(UpdateUserErrors::fail)?;
        let admin = svc.admin(&who).map_err(UpdateUserErrors::fail)?;
        let target = target.ok_or(ErrorCode::NotFound)?;
        let patch = body.0.try_into_domain()?;
        svc.update_user(&admin, target, &patch)
            .map_err(UpdateUserErrors::fail)
    })
    .await?;
    Ok(HttpResponse::Ok().json(UserDto::from(user)))
}

/// Routes of this module.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    use super::system::resource;
    cfg.service(resource("/api/v1/admin/users", "GET, HEAD").route(get().to(list_users)))
        .service(resource("/api/v1/admin/users/{id}", "PATCH").route(web::patch().to(update_user)));
}
