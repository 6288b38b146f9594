//! The authd HTTP API on actix-web: routes, extractors, the problem+json
//! error mapping, and the OpenAPI document derived from the same types.

mod background;
mod blocking;
mod dto;
mod error;
mod extract;
mod handlers;
mod metrics;
mod openapi;
mod outcomes;
mod request_id;
mod server;
mod settings;

pub use openapi::ApiDoc;
pub use server::build_server;
pub use settings::HttpSettings;
