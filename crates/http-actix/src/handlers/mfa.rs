//! Two-factor login: enrolment (access tokens only, not API keys), the
//! second step of a login, and an administrator's reset.

use actix_web::{HttpResponse, web};
use application::{
    AdminError, AuthenticateError, DisableTotpError, LoginMfaError, RecoveryCodesError,
    ResetMfaError, SessionRequired, SetupTotpError, TotpCodeError,
};
use domain::UserId;

use super::Service;
use crate::{
    blocking::blocking,
    dto::{
        TokenResponse,
        mfa::{DisableTotpBody, LoginMfaBody, RecoveryCodesDto, TotpCodeBody, TotpSetupDto},
    },
    error::ApiError,
    extract::{Caller, Client, JsonBody},
    outcomes::operation_errors,
};

operation_errors!(SetupTotpErrors: Caller, AuthenticateError, SessionRequired, SetupTotpError);

/// Set up TOTP: a new secret, as base32, as an `otpauth://` URI and as a
/// QR code, for an authenticator app. Nothing is required at login until
/// a code confirms it; a second setup replaces an unconfirmed one. With
/// TOTP on already, 409 `mfa-already-enabled`: turn it off first (with
/// the password or a code), so that a session alone cannot swap the
/// second factor.
#[utoipa::path(post, path = "/api/v1/auth/mfa/totp/setup", tag = "auth", operation_id = "setup_totp",
    security(("bearer" = [])),
    responses(
        (status = 200, body = TotpSetupDto),
        SetupTotpErrors,
    ))]
pub(crate) async fn setup(svc: Service, caller: Caller) -> Result<HttpResponse, ApiError> {
    let enrolment = blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(SetupTotpErrors::fail)?
            .in_session()
            .map_err(SetupTotpErrors::fail)?;
        svc.setup_totp(&who).map_err(SetupTotpErrors::fail)
    })
    .await?;
    Ok(HttpResponse::Ok().json(TotpSetupDto::from(enrolment)))
}

operation_errors!(TotpCodeErrors: Caller, JsonBody<TotpCodeBody>, AuthenticateError,
    SessionRequired, TotpCodeError);

/// Confirm TOTP with a code of the new secret: from now on login asks for
/// a code. Answers the ten recovery codes, shown only here. A wrong code
/// enables nothing (422) and counts toward the account's login throttle.
#[utoipa::path(post, path = "/api/v1/auth/mfa/totp/confirm", tag = "auth", operation_id = "confirm_totp",
    request_body = TotpCodeBody, security(("bearer" = [])),
    responses(
        (status = 200, body = RecoveryCodesDto),
        TotpCodeErrors,
    ))]
pub(crate) async fn confirm(
    svc: Service,
    caller: Caller,
    client: Client,
    body: JsonBody<TotpCodeBody>,
) -> Result<HttpResponse, ApiError> {
    let code = body.0.code;
    let codes = blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(TotpCodeErrors::fail)?
            .in_session()
            .map_err(TotpCodeErrors::fail)?;
        svc.confirm_totp(&who, &code, &client.0)
            .map_err(TotpCodeErrors::fail)
    })
    .await?;
    Ok(HttpResponse::Ok().json(RecoveryCodesDto::from(codes)))
}

operation_errors!(RecoveryCodesErrors: Caller, JsonBody<TotpCodeBody>, AuthenticateError,
    SessionRequired, RecoveryCodesError);

/// A fresh set of ten recovery codes, for a current code not used before;
/// the old set stops working. Wrong codes count toward the account's login
/// throttle.
#[utoipa::path(post, path = "/api/v1/auth/mfa/recovery-codes", tag = "auth", operation_id = "new_recovery_codes",
    request_body = TotpCodeBody, security(("bearer" = [])),
    responses(
        (status = 200, body = RecoveryCodesDto),
        RecoveryCodesErrors,
    ))]
pub(crate) async fn recovery_codes(
    svc: Service,
    caller: Caller,
    client: Client,
    body: JsonBody<TotpCodeBody>,
) -> Result<HttpResponse, ApiError> {
    let code = body.0.code;
    let codes = blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(RecoveryCodesErrors::fail)?
            .in_session()
            .map_err(RecoveryCodesErrors::fail)?;
        svc.new_recovery_codes(&who, &code, &client.0)
            .map_err(RecoveryCodesErrors::fail)
    })
    .await?;
    Ok(HttpResponse::Ok().json(RecoveryCodesDto::from(codes)))
}

operation_errors!(DisableTotpErrors: Caller, JsonBody<DisableTotpBody>, AuthenticateError,
    SessionRequired, DisableTotpError);

/// Turn TOTP off, with the password or a current code (one of them): the
/// secret and the recovery codes go, and every other session ends. Wrong
/// passwords and codes count toward the account's login throttle.
#[utoipa::path(delete, path = "/api/v1/auth/mfa/totp", tag = "auth", operation_id = "disable_totp",
    request_body = DisableTotpBody, security(("bearer" = [])),
    responses(
        (status = 204, description = "TOTP is off"),
        DisableTotpErrors,
    ))]
pub(crate) async fn disable(
    svc: Service,
    caller: Caller,
    client: Client,
    body: JsonBody<DisableTotpBody>,
) -> Result<HttpResponse, ApiError> {
    blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(DisableTotpErrors::fail)?
            .in_session()
            .map_err(DisableTotpErrors::fail)?;
        let proof = body.0.into_proof()?;
        svc.disable_totp(&who, proof, &client.0)
            .map_err(DisableTotpErrors::fail)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

operation_errors!(LoginMfaErrors: JsonBody<LoginMfaBody>, LoginMfaError);

/// The second step of a login with TOTP on: the `mfa_token` of the
/// `mfa-required` answer, and a current code or a recovery code. A code
/// works once, on every instance; a recovery code once. Wrong codes count
/// toward the account's login throttle (429 past it); the `mfa_token`
/// stays usable for 5 minutes or until a login succeeds with it. The
/// access tokens say `amr: ["pwd", "otp"]`.
#[utoipa::path(post, path = "/api/v1/auth/login/mfa", tag = "auth", operation_id = "login_mfa",
    request_body = LoginMfaBody,
    responses(
        (status = 200, body = TokenResponse),
        LoginMfaErrors,
    ))]
pub(crate) async fn login_mfa(
    svc: Service,
    client: Client,
    body: JsonBody<LoginMfaBody>,
) -> Result<HttpResponse, ApiError> {
    let (mfa_token, proof) = body.0.into_parts()?;
    let result = blocking(move || {
        svc.login_mfa(&mfa_token, proof, client.0)
            .map_err(LoginMfaErrors::fail)
    })
    .await;
    crate::metrics::login_outcome("mfa", &result);
    let tokens = result?;
    Ok(HttpResponse::Ok().json(TokenResponse::from(tokens)))
}

operation_errors!(ResetMfaErrors: Caller, AuthenticateError, AdminError, ResetMfaError);

/// Turn a user's TOTP off (administrators only), when they lost their
/// phone and their recovery codes: every session of theirs ends too.
#[utoipa::path(delete, path = "/api/v1/admin/users/{id}/mfa", tag = "admin", operation_id = "reset_user_mfa",
    params(("id" = Uuid, Path, description = "The user's id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 204, description = "TOTP is off for the user"),
        ResetMfaErrors,
    ))]
pub(crate) async fn reset(
    svc: Service,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let target = id.parse::<UserId>().ok();
    blocking(move || -> Result<_, ApiError> {
        let who = svc.authenticate(&caller.0).map_err(ResetMfaErrors::fail)?;
        let admin = svc.admin(&who).map_err(ResetMfaErrors::fail)?;
        let target = target.ok_or(ResetMfaError::NotFound)?;
        svc.reset_mfa(&admin, target).map_err(ResetMfaErrors::fail)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Routes of this module.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    use super::system::resource;
    cfg.service(resource("/api/v1/auth/mfa/totp/setup", "POST").route(web::post().to(setup)))
        .service(resource("/api/v1/auth/mfa/totp/confirm", "POST").route(web::post().to(confirm)))
        .service(
            resource("/api/v1/auth/mfa/recovery-codes", "POST")
                .route(web::post().to(recovery_codes)),
        )
        .service(resource("/api/v1/auth/mfa/totp", "DELETE").route(web::delete().to(disable)))
        .service(resource("/api/v1/auth/login/mfa", "POST").route(web::post().to(login_mfa)))
        .service(resource("/api/v1/admin/users/{id}/mfa", "DELETE").route(web::delete().to(reset)));
}
