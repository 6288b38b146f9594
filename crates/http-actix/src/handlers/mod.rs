//! Request handlers: each maps a request to one use case run on the
//! blocking pool, and its result to a response.

pub(crate) mod admin;
pub(crate) mod api_keys;
pub(crate) mod auth;
pub(crate) mod compat;
pub(crate) mod mfa;
pub(crate) mod organizations;
pub(crate) mod passwords;
pub(crate) mod sessions;
pub(crate) mod system;

use actix_web::{Route, guard, web};
use application::AuthService;

/// The shared state handlers receive.
pub(crate) type Service = web::Data<AuthService>;

/// A GET route that answers HEAD too (the same answer without its body).
pub(crate) fn get() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}
