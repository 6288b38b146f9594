//! The caller's API keys. Managing keys takes an access token: a key
//! cannot make, list or delete keys.

use actix_web::{HttpResponse, web};
use application::{
    AuthenticateError, CreateApiKeyError, DeleteApiKeyError, Fault, SessionRequired,
};
use domain::ApiKeyId;

use super::{Service, get};
use crate::{
    blocking::blocking,
    dto::{
        FieldRules,
        api_keys::{ApiKeyDto, CreateApiKeyBody, CreatedApiKeyDto},
    },
    error::ApiError,
    extract::{Caller, JsonBody},
    outcomes::operation_errors,
};

operation_errors!(CreateApiKeyErrors: Caller, JsonBody<CreateApiKeyBody>, FieldRules,
    AuthenticateError, SessionRequired, CreateApiKeyError);

/// Make an API key for scripts and servers: it acts as you on the other
/// endpoints, via `Authorization: Bearer <key>` or `X-API-Key: <key>`. The
/// secret is in this answer only. At most `security.max_api_keys_per_user`
/// keys (100) per user.
#[utoipa::path(post, path = "/api/v1/auth/keys", tag = "auth", operation_id = "create_api_key",
    request_body = CreateApiKeyBody, security(("bearer" = [])),
    responses(
        (status = 201, body = CreatedApiKeyDto),
        CreateApiKeyErrors,
    ))]
pub(crate) async fn create(
    svc: Service,
    caller: Caller,
    body: JsonBody<CreateApiKeyBody>,
) -> Result<HttpResponse, ApiError> {
    let created = blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(CreateApiKeyErrors::fail)?
            .in_session()
            .map_err(CreateApiKeyErrors::fail)?;
        let new = body.0.try_into_domain()?;
        svc.create_api_key(&who, new)
            .map_err(CreateApiKeyErrors::fail)
    })
    .await?;
    Ok(HttpResponse::Created().json(CreatedApiKeyDto::from(created)))
}

operation_errors!(ListApiKeysErrors: Caller, AuthenticateError, SessionRequired, Fault);

/// Your API keys, the newest first, expired ones too, without secrets.
#[utoipa::path(get, path = "/api/v1/auth/keys", tag = "auth", operation_id = "list_api_keys",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<ApiKeyDto>),
        ListApiKeysErrors,
    ))]
pub(crate) async fn list(svc: Service, caller: Caller) -> Result<HttpResponse, ApiError> {
    let keys = blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(ListApiKeysErrors::fail)?
            .in_session()
            .map_err(ListApiKeysErrors::fail)?;
        svc.api_keys(&who).map_err(ListApiKeysErrors::fail)
    })
    .await?;
    let body: Vec<ApiKeyDto> = keys.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(body))
}

operation_errors!(DeleteApiKeyErrors: Caller, AuthenticateError, SessionRequired,
    DeleteApiKeyError);

/// Delete one of your API keys: it is refused at once, on every instance.
/// An unknown, malformed or another user's id is `not-found`.
#[utoipa::path(delete, path = "/api/v1/auth/keys/{id}", tag = "auth", operation_id = "delete_api_key",
    params(("id" = Uuid, Path, description = "The key's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The key is gone"),
        DeleteApiKeyErrors,
    ))]
pub(crate) async fn delete(
    svc: Service,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.parse::<ApiKeyId>().ok();
    blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(DeleteApiKeyErrors::fail)?
            .in_session()
            .map_err(DeleteApiKeyErrors::fail)?;
        let id = id.ok_or(DeleteApiKeyError::NotFound)?;
        svc.delete_api_key(&who, id)
            .map_err(DeleteApiKeyErrors::fail)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Routes of this module.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    use super::system::resource;
    cfg.service(
        resource("/api/v1/auth/keys", "GET, HEAD, POST")
            .route(get().to(list))
            .route(web::post().to(create)),
    )
    .service(resource("/api/v1/auth/keys/{id}", "DELETE").route(web::delete().to(delete)));
}
