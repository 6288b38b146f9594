use actix_web::{HttpResponse, web};
use application::{
    AuthenticateError, InviteSignupError, LoginError, LogoutError, MeError, RefreshError,
    SessionRequired, SignupError, Tokens, UpdateProfileError, ValidateError, Via,
};
use domain::{ErrorCode, Role};

use super::{Service, get};
use crate::{
    background::Background,
    blocking::blocking,
    dto::{
        CodeBody, FieldRules, LoginBody, LogoutBody, MessageResponse, PatchMeBody, RefreshBody,
        ResendBody, SignupBody, TokenResponse, UserDto, VerifyResponse,
        organizations::InviteSignupBody, rfc3339,
    },
    error::ApiError,
    extract::{Caller, Client, JsonBody, OptionalJsonBody},
    outcomes::operation_errors,
};

operation_errors!(SignupErrors: JsonBody<SignupBody>, FieldRules, SignupError);

/// Sign up: creates a pending account and its organization, mails a
/// validation code. Past the mail limits (per recipient and per client
/// address, `security.max_mails_*`) the account is still created and the
/// answer is the same; only the mail is skipped.
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth", request_body = SignupBody,
    responses(
        (status = 201, description = "Account created, pending validation", body = UserDto),
        SignupErrors,
    ))]
pub(crate) async fn signup(
    svc: Service,
    client: Client,
    body: JsonBody<SignupBody>,
) -> Result<HttpResponse, ApiError> {
    // The password strength estimate is CPU work: off the worker, too.
    let user = blocking(move || -> Result<_, ApiError> {
        let request = body.0.try_into_domain()?;
        svc.signup(request, client.0).map_err(SignupErrors::fail)
    })
    .await?;
    Ok(HttpResponse::Created().json(UserDto::from(user)))
}

operation_errors!(ValidateErrors: JsonBody<CodeBody>, ValidateError);

/// Validate an e-mail address with the code from the mail.
#[utoipa::path(post, path = "/api/v1/auth/validate", tag = "auth", request_body = CodeBody,
    responses(
        (status = 200, description = "Account active", body = UserDto),
        ValidateErrors,
    ))]
pub(crate) async fn validate(
    svc: Service,
    body: JsonBody<CodeBody>,
) -> Result<HttpResponse, ApiError> {
    let code = body.0.code;
    let user = blocking(move || svc.validate_email(&code).map_err(ValidateErrors::fail)).await?;
    Ok(HttpResponse::Ok().json(UserDto::from(user)))
}

// The mail goes out after the answer: its failures are logged, not answered.
operation_errors!(ResendErrors: JsonBody<ResendBody>, FieldRules);

/// Ask for a new validation mail; the older validation codes stop working.
/// Answers 202 whether or not the account exists, and past the mail limits
/// (which send nothing).
#[utoipa::path(post, path = "/api/v1/auth/validate/resend", tag = "auth", request_body = ResendBody,
    responses(
        (status = 202, description = "The same answer whether or not a mail goes out",
            body = MessageResponse, example = json!({ "message": RESEND_ACCEPTED })),
        ResendErrors,
    ))]
pub(crate) async fn resend(
    svc: Service,
    background: web::Data<Background>,
    client: Client,
    body: JsonBody<ResendBody>,
) -> Result<HttpResponse, ApiError> {
    let by = body.0.try_into_domain().ok_or_else(|| {
        ApiError::with_detail(ErrorCode::BadRequest, "resend_code or email is required")
    })??;
    // Answer before doing the work: how long a lookup and a mail take
    // would otherwise tell whether the address has a pending account.
    background.spawn("validation mail", move || {
        svc.resend_validation(by, client.0)
    });
    Ok(HttpResponse::Accepted().json(MessageResponse {
        message: RESEND_ACCEPTED,
    }))
}

/// The answer to every resend: it never tells whether a mail goes out.
const RESEND_ACCEPTED: &str = "If the account awaits validation, a new mail is on its way";

operation_errors!(LoginErrors: JsonBody<LoginBody>, LoginError);

/// Log in with a username, e-mail address or phone, and a password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses(
        (status = 200, body = TokenResponse),
        LoginErrors,
    ))]
pub(crate) async fn login(
    svc: Service,
    client: Client,
    body: JsonBody<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let tokens = log_in(svc, client, body.0).await?;
    Ok(HttpResponse::Ok().json(TokenResponse::from(tokens)))
}

/// Logs in with `body`'s credentials: the tokens, for each route that
/// logs in to answer with in its own shape.
pub(super) async fn log_in(
    svc: Service,
    client: Client,
    body: LoginBody,
) -> Result<Tokens, ApiError> {
    let (identifier, password) = body.credentials().ok_or_else(|| {
        ApiError::with_detail(ErrorCode::BadRequest, "Username and password are required")
    })?;
    let request = application::LoginRequest {
        identifier,
        password,
        client: client.0,
    };
    let result = blocking(move || svc.login(request).map_err(LoginErrors::fail)).await;
    crate::metrics::login_outcome("password", &result);
    result
}

operation_errors!(RefreshErrors: JsonBody<RefreshBody>, RefreshError);

/// Exchange a refresh token for new tokens; the old one is spent.
///
/// Presenting it again within `tokens.refresh_reuse_grace_seconds` of its
/// first spending (concurrent tabs, a retried request) answers with the
/// same next refresh token and a fresh access token. Presenting it after
/// that is reuse: the whole session is revoked.
///
/// Each refresh token lives `tokens.refresh_ttl_seconds`, but never past
/// `tokens.session_max_age_seconds` after the session's login
/// (`refresh_expires_in` says when); past that the session is
/// `token-expired`, however often it was refreshed. A rotation records the
/// client's `User-Agent` and address on the session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses(
        (status = 200, body = TokenResponse),
        RefreshErrors,
    ))]
pub(crate) async fn refresh(
    svc: Service,
    client: Client,
    body: JsonBody<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let tokens = refreshed(svc, client, body.0).await?;
    Ok(HttpResponse::Ok().json(TokenResponse::from(tokens)))
}

/// Exchanges `body`'s refresh token: the tokens, for each route that
/// refreshes to answer with in its own shape.
pub(super) async fn refreshed(
    svc: Service,
    client: Client,
    body: RefreshBody,
) -> Result<Tokens, ApiError> {
    let token = body.token()?;
    blocking(move || svc.refresh(&token, client.0).map_err(RefreshErrors::fail)).await
}

operation_errors!(LogoutErrors: OptionalJsonBody<LogoutBody>, Caller, AuthenticateError, SessionRequired, LogoutError);

/// End this session, or every session of the user.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body(content = Option<LogoutBody>),
    security(("bearer" = [])),
    responses(
        (status = 200, body = MessageResponse),
        LogoutErrors,
    ))]
pub(crate) async fn logout(
    svc: Service,
    caller: Caller,
    body: OptionalJsonBody<LogoutBody>,
) -> Result<HttpResponse, ApiError> {
    let all = body.0.all_sessions;
    blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(LogoutErrors::fail)?
            .in_session()
            .map_err(LogoutErrors::fail)?;
        svc.logout(&who, all).map_err(LogoutErrors::fail)
    })
    .await?;
    Ok(HttpResponse::Ok().json(MessageResponse {
        message: "Successfully logged out",
    }))
}

operation_errors!(MeErrors: Caller, AuthenticateError, MeError);

/// The caller's account.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = UserDto),
        MeErrors,
    ))]
pub(crate) async fn me(svc: Service, caller: Caller) -> Result<HttpResponse, ApiError> {
    let user = match svc.remembered_me(&caller.0) {
        Some((_, user)) => user,
        None => {
            blocking(move || -> Result<_, ApiError> {
                let who = svc.authenticate(&caller.0).map_err(MeErrors::fail)?;
                svc.me(&who).map_err(MeErrors::fail)
            })
            .await?
        }
    };
    answer::json(&mut HttpResponse::Ok(), &UserDto::from(user))
}

operation_errors!(UpdateMeErrors: Caller, JsonBody<PatchMeBody>, FieldRules, AuthenticateError, UpdateProfileError);

/// Change the caller's profile.
#[utoipa::path(patch, path = "/api/v1/auth/me", tag = "auth", request_body = PatchMeBody, security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = UserDto),
        UpdateMeErrors,
    ))]
pub(crate) async fn update_me(
    svc: Service,
    caller: Caller,
    body: JsonBody<PatchMeBody>,
) -> Result<HttpResponse, ApiError> {
    let user = blocking(move || -> Result<_, ApiError> {
        // Who is asking comes before what is wrong with the request.
        let who = svc.authenticate(&caller.0).map_err(UpdateMeErrors::fail)?;
        let patch = body.0.try_into_domain()?;
        svc.update_me(&who, &patch).map_err(UpdateMeErrors::fail)
    })
    .await?;
    Ok(HttpResponse::Ok().json(UserDto::from(user)))
}

operation_errors!(VerifyErrors: Caller, AuthenticateError, MeError);

/// Forward-auth check for reverse proxies: 200 with who the caller is, and
/// for which organization they act, in headers and body; or 401. An
/// access token or an API key will do.
///
/// The organization is the one named in `X-Organization-Id` (a member's,
/// or any for a platform administrator), or else the caller's oldest
/// membership. Roles are read at each call: a membership change takes
/// effect on the next request.
#[utoipa::path(get, path = "/api/v1/auth/verify", tag = "auth", security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = VerifyResponse, headers(
            ("X-User-Id" = String, description = "The user's id"),
            ("X-User-Email" = String, description = "The user's e-mail address"),
            ("X-Session-Id" = String, description = "The session of the access token (absent for an API key)"),
            ("X-Auth-Method" = String, description = "How the caller authenticated: `jwt` or `api_key`"),
            ("X-Auth-Mfa" = String, description = "`true` if the user gave a second factor at login, else `false` (always for an API key)"),
            ("X-Organization-Id" = String, description = "The organization the caller acts for, when there is one"),
            ("X-Organization-Role" = String, description = "The caller's role there, when they have one"))),
        VerifyErrors,
    ))]
pub(crate) async fn verify(svc: Service, caller: Caller) -> Result<HttpResponse, ApiError> {
    // A caller this instance remembers costs nothing that blocks.
    let (who, verified) = match svc.remembered_verify(&caller.0) {
        Some(known) => known,
        None => {
            blocking(move || -> Result<_, ApiError> {
                let who = svc.authenticate(&caller.0).map_err(VerifyErrors::fail)?;
                let verified = svc.verify(&who).map_err(VerifyErrors::fail)?;
                Ok((who, verified))
            })
            .await?
        }
    };
    let mut response = HttpResponse::Ok();
    response
        .insert_header((answer::USER_ID, answer::uuid(who.user_id.as_uuid())))
        .insert_header((answer::USER_EMAIL, verified.user.email.as_str()))
        .insert_header((answer::AUTH_METHOD, auth_method(&who.via)))
        .insert_header((answer::AUTH_MFA, mfa_value(who.factors.includes_otp())));
    if let Some(session) = who.session_id() {
        response.insert_header((answer::SESSION_ID, answer::uuid(session.as_uuid())));
    }
    let acting = verified.acting_for;
    if let Some(acting) = acting {
        response.insert_header((
            answer::ORGANIZATION_ID,
            answer::uuid(acting.organization_id.as_uuid()),
        ));
        if let Some(role) = acting.role {
            response.insert_header((answer::ORGANIZATION_ROLE, role.as_str()));
        }
    }
    answer::json(
        &mut response,
        &VerifyResponse {
            user_id: who.user_id.as_uuid(),
            session_id: who.session_id().map(|s| s.as_uuid()),
            expires_at: who.expires_at.map(rfc3339),
            auth_method: auth_method(&who.via),
            mfa: who.factors.includes_otp(),
            organization_id: acting.map(|a| a.organization_id.as_uuid()),
            role: acting.and_then(|a| a.role).map(Role::as_str),
        },
    )
}

/// What verify (and me) answer with: verify's headers, named once rather
/// than parsed from a string on every answer, their values, and the body.
mod answer {
    use actix_web::{
        HttpResponse, HttpResponseBuilder,
        http::header::{ContentType, HeaderName, HeaderValue},
    };
    use serde::Serialize;
    use uuid::Uuid;

    use crate::error::ApiError;

    pub(super) const USER_ID: HeaderName = HeaderName::from_static("x-user-id");
    pub(super) const USER_EMAIL: HeaderName = HeaderName::from_static("x-user-email");
    pub(super) const AUTH_METHOD: HeaderName = HeaderName::from_static("x-auth-method");
    pub(super) const AUTH_MFA: HeaderName = HeaderName::from_static("x-auth-mfa");
    pub(super) const SESSION_ID: HeaderName = HeaderName::from_static("x-session-id");
    pub(super) const ORGANIZATION_ID: HeaderName = HeaderName::from_static("x-organization-id");
    pub(super) const ORGANIZATION_ROLE: HeaderName = HeaderName::from_static("x-organization-role");

    /// A UUID as a header value, written without the formatting machinery.
    pub(super) fn uuid(id: Uuid) -> HeaderValue {
        HeaderValue::from_str(id.hyphenated().encode_lower(&mut Uuid::encode_buffer()))
            .expect("a hyphenated UUID is a valid header value")
    }

    /// `body` as JSON, written into a buffer sized for it at once.
    pub(super) fn json(
        response: &mut HttpResponseBuilder,
        body: &impl Serialize,
    ) -> Result<HttpResponse, ApiError> {
        let mut bytes = Vec::with_capacity(512);
        serde_json::to_writer(&mut bytes, body).map_err(ApiError::internal)?;
        Ok(response.content_type(ContentType::json()).body(bytes))
    }
}

/// `X-Auth-Mfa`'s value.
const fn mfa_value(otp: bool) -> &'static str {
    if otp { "true" } else { "false" }
}

/// `jwt` or `api_key`, as verify tells it.
fn auth_method(via: &Via) -> &'static str {
    match via {
        Via::Session(_) => "jwt",
        Via::ApiKey { .. } => "api_key",
    }
}

operation_errors!(InviteSignupErrors: JsonBody<InviteSignupBody>, FieldRules, InviteSignupError);

/// Sign up with the code from an invitation mail: the account is active
/// with the invited address verified, joins the inviting organization
/// with the invited role (it owns no organization of its own), and is
/// logged in. An address that already has an account is 409
/// `user-already-exists` and spends nothing: its owner logs in and
/// accepts the invitation instead.
#[utoipa::path(post, path = "/api/v1/auth/signup/invite", operation_id = "signup_invite", tag = "auth", request_body = InviteSignupBody,
    responses(
        (status = 201, body = TokenResponse),
        InviteSignupErrors,
    ))]
pub(crate) async fn signup_invite(
    svc: Service,
    client: Client,
    body: JsonBody<InviteSignupBody>,
) -> Result<HttpResponse, ApiError> {
    let tokens = signed_up_by_invite(svc, client, body.0).await?;
    Ok(HttpResponse::Created().json(TokenResponse::from(tokens)))
}

/// Signs up with an invitation: the new account's tokens, for each route
/// that does so to answer with in its own shape.
pub(super) async fn signed_up_by_invite(
    svc: Service,
    client: Client,
    body: InviteSignupBody,
) -> Result<Tokens, ApiError> {
    blocking(move || -> Result<_, ApiError> {
        let request = body.try_into_domain()?;
        svc.sign_up_by_invite(request, client.0)
            .map_err(InviteSignupErrors::fail)
    })
    .await
}

/// Routes of this module.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    use super::system::resource;
    cfg.service(resource("/api/v1/auth/signup", "POST").route(web::post().to(signup)))
        .service(
            resource("/api/v1/auth/signup/invite", "POST").route(web::post().to(signup_invite)),
        )
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
