use actix_web::{HttpResponse, http::header, web};
use domain::ErrorCode;

use super::{Service, get};
use crate::{
    background::Background,
    blocking::blocking,
    dto::{
        CodeBody, LoginBody, LogoutBody, MessageResponse, PatchMeBody, RefreshBody, ResendBody,
        SignupBody, TokenResponse, UserDto, VerifyResponse, rfc3339,
    },
    error::{ApiError, Problem},
    extract::{BearerToken, Client, JsonBody, OptionalJsonBody},
};

/// Sign up: creates a pending account and its organization, mails a
/// validation code.
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth", request_body = SignupBody,
    responses(
        (status = 201, description = "Account created, pending validation", body = UserDto),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`user-already-exists`", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation-failed`, with `errors`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn signup(
    svc: Service,
    body: JsonBody<SignupBody>,
) -> Result<HttpResponse, ApiError> {
    // The password strength estimate is CPU work: off the worker, too.
    let user = blocking(move || svc.signup(body.0.try_into_domain()?)).await?;
    Ok(HttpResponse::Created().json(UserDto::from(user)))
}

/// Validate an e-mail address with the code from the mail.
#[utoipa::path(post, path = "/api/v1/auth/validate", tag = "auth", request_body = CodeBody,
    responses(
        (status = 200, description = "Account active", body = UserDto),
        (status = 400, description = "`invalid-code` or malformed body", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn validate(
    svc: Service,
    body: JsonBody<CodeBody>,
) -> Result<HttpResponse, ApiError> {
    let code = body.0.code;
    let user = blocking(move || svc.validate_email(&code)).await?;
    Ok(HttpResponse::Ok().json(UserDto::from(user)))
}

/// Ask for a new validation mail. Answers 202 whether or not the account exists.
#[utoipa::path(post, path = "/api/v1/auth/validate/resend", tag = "auth", request_body = ResendBody,
    responses(
        (status = 202, description = "Accepted"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn resend(
    svc: Service,
    background: web::Data<Background>,
    body: JsonBody<ResendBody>,
) -> Result<HttpResponse, ApiError> {
    let by = body.0.try_into_domain().ok_or_else(|| {
        ApiError::with_detail(ErrorCode::BadRequest, "resend_code or email is required")
    })??;
    // Answer before doing the work: how long a lookup and a mail take
    // would otherwise tell whether the address has a pending account.
    background.spawn("validation mail", move || svc.resend_validation(by));
    Ok(HttpResponse::Accepted().finish())
}

/// Log in with a username, e-mail address or phone, and a password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, description = "Username and password are required", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`bad-credentials`, `account-not-validated` (with `extra_attributes.resend_code`) or `inactive-account`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too-many-attempts`; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn login(
    svc: Service,
    client: Client,
    body: JsonBody<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let (identifier, password) = body.0.credentials().ok_or_else(|| {
        ApiError::with_detail(ErrorCode::BadRequest, "Username and password are required")
    })?;
    let request = application::LoginRequest {
        identifier,
        password,
        client: client.0,
    };
    let tokens = blocking(move || svc.login(request)).await?;
    Ok(no_store(HttpResponse::Ok()).json(TokenResponse::from(tokens)))
}

/// Exchange a refresh token for new tokens; the old one is spent.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, description = "`invalid-token` (unknown, revoked or reused) or `token-expired`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn refresh(
    svc: Service,
    body: JsonBody<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let token = body.0.refresh_token;
    let tokens = blocking(move || svc.refresh(&token)).await?;
    Ok(no_store(HttpResponse::Ok()).json(TokenResponse::from(tokens)))
}

/// End this session, or every session of the user.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body(content = Option<LogoutBody>),
    security(("bearer" = [])),
    responses(
        (status = 200, body = MessageResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn logout(
    svc: Service,
    token: BearerToken,
    body: OptionalJsonBody<LogoutBody>,
) -> Result<HttpResponse, ApiError> {
    let all = body.0.all_sessions;
    blocking(move || {
        let who = svc.authenticate(&token.0)?;
        svc.logout(&who, all)
    })
    .await?;
    Ok(HttpResponse::Ok().json(MessageResponse {
        message: "Successfully logged out",
    }))
}

/// The caller's account.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, body = UserDto),
        (status = 401, description = "`missing-authorization`, `invalid-token` or `token-expired`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn me(svc: Service, token: BearerToken) -> Result<HttpResponse, ApiError> {
    let user = blocking(move || {
        let who = svc.authenticate(&token.0)?;
        svc.me(&who)
    })
    .await?;
    Ok(HttpResponse::Ok().json(UserDto::from(user)))
}

/// Change the caller's profile.
#[utoipa::path(patch, path = "/api/v1/auth/me", tag = "auth", request_body = PatchMeBody, security(("bearer" = [])),
    responses(
        (status = 200, body = UserDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`user-already-exists`", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn update_me(
    svc: Service,
    token: BearerToken,
    body: JsonBody<PatchMeBody>,
) -> Result<HttpResponse, ApiError> {
    let user = blocking(move || {
        // Who is asking comes before what is wrong with the request.
        let who = svc.authenticate(&token.0)?;
        svc.update_me(&who, &body.0.try_into_domain()?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(UserDto::from(user)))
}

/// Forward-auth check for reverse proxies: 200 with the caller's ids in
/// headers and body, or 401.
#[utoipa::path(get, path = "/api/v1/auth/verify", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, body = VerifyResponse, headers(
            ("X-User-Id" = String, description = "The user's id"),
            ("X-User-Email" = String, description = "The user's e-mail address"))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn verify(svc: Service, token: BearerToken) -> Result<HttpResponse, ApiError> {
    let (who, user) = blocking(move || {
        let who = svc.authenticate(&token.0)?;
        let user = svc.me(&who)?;
        Ok((who, user))
    })
    .await?;
    Ok(no_store(HttpResponse::Ok())
        .insert_header(("X-User-Id", who.user_id.to_string()))
        .insert_header(("X-User-Email", user.email.to_string()))
        .json(VerifyResponse {
            user_id: who.user_id.as_uuid(),
            session_id: who.session_id.as_uuid(),
            expires_at: rfc3339(who.expires_at),
        }))
}

fn no_store(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder.insert_header((header::CACHE_CONTROL, "no-store"));
    builder
}

/// Routes of this module.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    use super::system::resource;
    cfg.service(resource("/api/v1/auth/signup", "POST").route(web::post().to(signup)))
        .service(resource("/api/v1/auth/validate", "POST").route(web::post().to(validate)))
        .service(resource("/api/v1/auth/validate/resend", "POST").route(web::post().to(resend)))
        .service(resource("/api/v1/auth/login", "POST").route(web::post().to(login)))
        .service(resource("/api/v1/auth/refresh", "POST").route(web::post().to(refresh)))
        .service(resource("/api/v1/auth/logout", "POST").route(web::post().to(logout)))
        .service(
            resource("/api/v1/auth/me", "GET, HEAD, PATCH")
                .route(get().to(me))
                .route(web::patch().to(update_me)),
        )
        .service(resource("/api/v1/auth/verify", "GET, HEAD").route(get().to(verify)));
}
