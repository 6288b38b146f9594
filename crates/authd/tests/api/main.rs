//! HTTP tests: the real application, booted on port 0, over each store.

mod helpers;

mod admin;
mod api_keys;
mod auth_flow;
mod change_feed;
mod cli;
mod compat;
mod delivery;
mod errors;
mod forward_auth;
mod ha;
mod key_rotation;
mod login;
mod mail_limits;
mod metrics;
mod mfa;
mod organizations;
mod outage;
mod passwords;
mod patroni;
mod pgbouncer;
mod private_postgres;
mod refresh_grace;
mod scale;
mod sessions;
mod shutdown;
mod signup;
mod system;
mod tokens;
