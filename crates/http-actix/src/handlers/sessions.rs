//! The caller's sessions: listing them and ending one.

use actix_web::{HttpResponse, web};
use application::{
    AuthenticateError, DeleteSessionError, ListSessionsError, SessionInfo, SessionRequired,
};
use domain::SessionId;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Service, get};
use crate::{
    blocking::blocking, dto::rfc3339, error::ApiError, extract::Caller, outcomes::operation_errors,
};

/// One of the caller's live sessions (a login and the refreshes since).
#[derive(Serialize, ToSchema)]
#[schema(as = Session)]
pub(crate) struct SessionDto {
    /// The session's id (the `sid` claim of its access tokens).
    #[schema(example = "0193a8a7-1f20-7b4c-a6e2-5d8f0c3b9e17")]
    id: Uuid,
    /// When the user logged in.
    #[schema(format = DateTime, example = "2026-03-01T10:30:00Z")]
    created_at: String,
    /// When the session was last refreshed (its login, if never).
    #[schema(format = DateTime, example = "2026-03-01T10:30:00Z")]
    last_used_at: String,
    /// When its refresh token expires, unless refreshed before. A refresh
    /// never moves it past `tokens.session_max_age_seconds` after login.
    #[schema(format = DateTime, example = "2026-03-31T10:30:00Z")]
    expires_at: String,
    /// The client's `User-Agent` at login or at the latest refresh.
    #[schema(example = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")]
    #[schema(required = true)]
    user_agent: Option<String>,
    /// The client's address at login or at the latest refresh, as the login
    /// throttle sees it (forwarded only by trusted proxies; IPv6 by /64).
    #[schema(example = "192.0.2.7")]
    #[schema(required = true)]
    ip: Option<String>,
    /// Whether this is the session of the access token presented.
    #[schema(example = true)]
    current: bool,
}

impl From<SessionInfo> for SessionDto {
    fn from(info: SessionInfo) -> Self {
        let s = info.session;
        Self {
            id: s.id.as_uuid(),
            created_at: rfc3339(s.created_at),
            last_used_at: rfc3339(s.last_used_at),
            expires_at: rfc3339(s.expires_at),
            user_agent: s.user_agent,
            ip: s.ip,
            current: info.current,
        }
    }
}

operation_errors!(ListSessionsErrors: Caller, AuthenticateError, SessionRequired, ListSessionsError);

/// The caller's live sessions.
///
/// Sessions neither revoked nor expired, the most recently used first;
/// `current` marks the one of the presented access token. Each shows the
/// client of its login or of its latest refresh.
#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<SessionDto>),
        ListSessionsErrors,
    ))]
pub(crate) async fn list_sessions(svc: Service, caller: Caller) -> Result<HttpResponse, ApiError> {
    let sessions = blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(ListSessionsErrors::fail)?
            .in_session()
            .map_err(ListSessionsErrors::fail)?;
        svc.list_sessions(&who).map_err(ListSessionsErrors::fail)
    })
    .await?;
    let body: Vec<SessionDto> = sessions.into_iter().map(SessionDto::from).collect();
    Ok(HttpResponse::Ok().json(body))
}

operation_errors!(DeleteSessionErrors: Caller, AuthenticateError, SessionRequired, DeleteSessionError);

/// End one of the caller's sessions.
///
/// Its access and refresh tokens are refused at once, on every instance.
/// Ending the current session is a logout. An id that is unknown,
/// malformed or another user's is `not-found` (one answer for all three);
/// ending a session of the caller's that has already ended (revoked or
/// expired) answers 204 again: deletion is idempotent.
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id")),
    responses(
        (status = 204, description = "The session has ended"),
        DeleteSessionErrors,
    ))]
pub(crate) async fn delete_session(
    svc: Service,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    blocking(move || -> Result<_, ApiError> {
        // Who is asking comes before what is wrong with the request.
        let who = svc
            .authenticate(&caller.0)
            .map_err(DeleteSessionErrors::fail)?
            .in_session()
            .map_err(DeleteSessionErrors::fail)?;
        let id: SessionId = id
            .parse()
            .map_err(|_| DeleteSessionErrors::fail(DeleteSessionError::NotFound))?;
        svc.delete_session(&who, id)
            .map_err(DeleteSessionErrors::fail)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Routes of this module.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    use super::system::resource;
    cfg.service(resource("/api/v1/auth/sessions", "GET, HEAD").route(get().to(list_sessions)))
        .service(
            resource("/api/v1/auth/sessions/{id}", "DELETE")
                .route(web::delete().to(delete_session)),
        );
}
