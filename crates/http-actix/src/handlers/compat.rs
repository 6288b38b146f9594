//! The compatibility profile routes: the paths and field names that
//! clients of other published auth APIs use, each a canonical operation's
//! use case under another name. The same rules apply on both; only the
//! shape of the answer differs. On unless `api.compat_routes = false`.

use actix_web::{HttpResponse, web};

use super::{
    Service,
    auth::{
        self, InviteSignupErrors, LoginErrors, RefreshErrors, SignupErrors, log_in, refreshed,
        signed_up_by_invite,
    },
    get,
    organizations::{self, ListOrganizationsErrors},
};
use crate::{
    dto::{
        LoginBody, RefreshBody, SignupBody, UserDto,
        compat::{
            InviteTokenSignupBody, InvitedUserResponse, JwtTokenResponse, ProfileLoginResponse,
        },
        organizations::OrganizationDto,
    },
    error::ApiError,
    extract::{Caller, Client, JsonBody},
};

/// The OpenAPI tag of every profile route.
pub(crate) const TAG: &str = "compatibility";

/// Log in with `username` (a username, e-mail address or phone) or
/// `email`, and `password`; the answer names the access token both
/// `token` and `access_token`. Like `POST /api/v1/auth/login`.
#[utoipa::path(post, path = "/api/auth/login", operation_id = "compat_api_login", tag = TAG,
    request_body = LoginBody,
    responses(
        (status = 200, body = ProfileLoginResponse),
        LoginErrors,
    ))]
pub(crate) async fn api_login(
    svc: Service,
    client: Client,
    body: JsonBody<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let tokens = log_in(svc, client, body.0).await?;
    Ok(HttpResponse::Ok().json(ProfileLoginResponse::from(tokens)))
}

/// The organizations the caller belongs to. Like `GET /api/v1/organizations`.
#[utoipa::path(get, path = "/api/organizations", operation_id = "compat_list_organizations", tag = TAG,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = Vec<OrganizationDto>),
        ListOrganizationsErrors,
    ))]
pub(crate) async fn api_organizations(
    svc: Service,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    organizations::list(svc, caller).await
}

/// Sign up, with an organization of one's own. Like `POST /api/v1/auth/signup`.
#[utoipa::path(post, path = "/api/auth/signup", operation_id = "compat_api_signup", tag = TAG,
    request_body = SignupBody,
    responses(
        (status = 201, description = "Account created, pending validation", body = UserDto),
        SignupErrors,
    ))]
pub(crate) async fn api_signup(
    svc: Service,
    client: Client,
    body: JsonBody<SignupBody>,
) -> Result<HttpResponse, ApiError> {
    auth::signup(svc, client, body).await
}

/// Sign up with the code of an invitation mail, as `invite_token`; the
/// answer is the new user with their tokens. Like
/// `POST /api/v1/auth/signup/invite`.
#[utoipa::path(post, path = "/api/auth/signup_invite", operation_id = "compat_api_signup_invite", tag = TAG,
    request_body = InviteTokenSignupBody,
    responses(
        (status = 201, body = InvitedUserResponse),
        InviteSignupErrors,
    ))]
pub(crate) async fn api_signup_invite(
    svc: Service,
    client: Client,
    body: JsonBody<InviteTokenSignupBody>,
) -> Result<HttpResponse, ApiError> {
    let tokens = signed_up_by_invite(svc, client, body.0.into()).await?;
    Ok(HttpResponse::Created().json(InvitedUserResponse::from(tokens)))
}

/// Log in with `username` (a username, e-mail address or phone) and
/// `password`; the answer names the access token `jwt_token` too. Like
/// `POST /api/v1/auth/login`.
#[utoipa::path(post, path = "/auth/login", operation_id = "compat_auth_login", tag = TAG,
    request_body = LoginBody,
    responses(
        (status = 200, body = JwtTokenResponse),
        LoginErrors,
    ))]
pub(crate) async fn auth_login(
    svc: Service,
    client: Client,
    body: JsonBody<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let tokens = log_in(svc, client, body.0).await?;
    Ok(HttpResponse::Ok().json(JwtTokenResponse::from(tokens)))
}

/// Exchange a refresh token (`refresh_token` or `refreshToken`) for new
/// tokens; the old one is spent. Like `POST /api/v1/auth/refresh`.
#[utoipa::path(post, path = "/auth/refresh-token", operation_id = "compat_auth_refresh_token", tag = TAG,
    request_body = RefreshBody,
    responses(
        (status = 200, body = JwtTokenResponse),
        RefreshErrors,
    ))]
pub(crate) async fn auth_refresh_token(
    svc: Service,
    client: Client,
    body: JsonBody<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let tokens = refreshed(svc, client, body.0).await?;
    Ok(HttpResponse::Ok().json(JwtTokenResponse::from(tokens)))
}

/// Routes of this module.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    use super::system::resource;
    cfg.service(resource("/api/auth/login", "POST").route(web::post().to(api_login)))
        .service(resource("/api/auth/signup", "POST").route(web::post().to(api_signup)))
        .service(
            resource("/api/auth/signup_invite", "POST").route(web::post().to(api_signup_invite)),
        )
        .service(resource("/api/organizations", "GET, HEAD").route(get().to(api_organizations)))
        .service(resource("/auth/login", "POST").route(web::post().to(auth_login)))
        .service(resource("/auth/refresh-token", "POST").route(web::post().to(auth_refresh_token)));
}
