//! Password change, and reset of a forgotten password by a mailed code.

use actix_web::{HttpResponse, web};
use application::{
    AuthenticateError, ChangePasswordError, ChangePasswordRequest, ResetPasswordError,
    SessionRequired,
};

use super::Service;
use crate::{
    background::Background,
    blocking::blocking,
    dto::{ChangePasswordBody, FieldRules, ForgotPasswordBody, MessageResponse, ResetPasswordBody},
    error::ApiError,
    extract::{Caller, Client, JsonBody},
    outcomes::operation_errors,
};

operation_errors!(ChangePasswordErrors: Caller, JsonBody<ChangePasswordBody>, AuthenticateError, SessionRequired, ChangePasswordError);

/// Change the caller's password. Every other session of the user ends at
/// once; this one stays. A wrong current password counts toward the login
/// throttle of the account.
#[utoipa::path(post, path = "/api/v1/auth/password/change", tag = "auth",
    request_body = ChangePasswordBody, security(("bearer" = [])),
    responses(
        (status = 204, description = "Password changed; other sessions revoked"),
        ChangePasswordErrors,
    ))]
pub(crate) async fn change_password(
    svc: Service,
    client: Client,
    caller: Caller,
    body: JsonBody<ChangePasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let request = ChangePasswordRequest {
        current_password: body.0.current_password,
        new_password: body.0.new_password,
        client: client.0,
    };
    blocking(move || -> Result<_, ApiError> {
        let who = svc
            .authenticate(&caller.0)
            .map_err(ChangePasswordErrors::fail)?
            .in_session()
            .map_err(ChangePasswordErrors::fail)?;
        svc.change_password(&who, request)
            .map_err(ChangePasswordErrors::fail)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

// The mail goes out after the answer: its failures are logged, not answered.
operation_errors!(ForgotPasswordErrors: JsonBody<ForgotPasswordBody>, FieldRules);

/// Ask for a password-reset mail. Answers 202 whether or not the account
/// exists, and past the mail limits (which send nothing); the mailed code
/// works for `tokens.reset_code_ttl_seconds` and voids the codes mailed
/// before it.
#[utoipa::path(post, path = "/api/v1/auth/password/forgot", tag = "auth",
    request_body = ForgotPasswordBody,
    responses(
        (status = 202, description = "The same answer whether or not the address has an account",
            body = MessageResponse, example = json!({ "message": FORGOT_ACCEPTED })),
        ForgotPasswordErrors,
    ))]
pub(crate) async fn forgot_password(
    svc: Service,
    background: web::Data<Background>,
    client: Client,
    body: JsonBody<ForgotPasswordBody>,
) -> Result<HttpResponse, ApiError> {
    // A malformed address is refused for its shape alone, before any lookup.
    let email = body.0.try_into_domain()?;
    // Answer before doing the work: how long a lookup and a mail take
    // would otherwise tell whether the address has an account.
    background.spawn("reset mail", move || svc.forgot_password(email, client.0));
    Ok(HttpResponse::Accepted().json(MessageResponse {
        message: FORGOT_ACCEPTED,
    }))
}

/// The answer to every forgotten password: it never tells whether the
/// address has an account.
const FORGOT_ACCEPTED: &str = "If an account has this address, a reset mail is on its way";

operation_errors!(ResetPasswordErrors: JsonBody<ResetPasswordBody>, ResetPasswordError);

/// Set a new password with the code from the reset mail. The code is
/// single-use; every session of the user ends; a pending account is
/// thereby validated. A refused new password spends nothing.
#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "auth",
    request_body = ResetPasswordBody,
    responses(
        (status = 204, description = "Password reset; every session revoked"),
        ResetPasswordErrors,
    ))]
pub(crate) async fn reset_password(
    svc: Service,
    body: JsonBody<ResetPasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let ResetPasswordBody { code, new_password } = body.0;
    blocking(move || {
        svc.reset_password(&code, new_password)
            .map_err(ResetPasswordErrors::fail)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Routes of this module.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    use super::system::resource;
    cfg.service(
        resource("/api/v1/auth/password/change", "POST").route(web::post().to(change_password)),
    )
    .service(
        resource("/api/v1/auth/password/forgot", "POST").route(web::post().to(forgot_password)),
    )
    .service(resource("/api/v1/auth/password/reset", "POST").route(web::post().to(reset_password)));
}
