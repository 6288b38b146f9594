//! Request handlers: each maps a request to one use case run on the
//! blocking pool, and its result to a response.

pub(crate) mod auth;
pub(crate) mod system;

use actix_web::web;
use application::AuthService;

/// The shared state handlers receive.
pub(crate) type Service = web::Data<AuthService>;
