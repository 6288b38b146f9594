//! The use cases of authd. Each runs synchronously, start to finish, on the
//! caller's (blocking) thread, and speaks to the world only through ports.

mod auth;
mod error;
mod login;
mod mail;
mod service;
mod signup;
pub mod system;

pub use auth::Principal;
pub use error::AppError;
pub use login::{ClientInfo, LoginRequest, Tokens};
pub use service::{AuthService, Policy, Ports};
pub use signup::{ResendBy, SignupRequest};
