//! The authd service: settings, command line, and the wiring of every
//! adapter into the use cases and the HTTP server.

pub mod cli;
pub mod commands;
pub mod settings;
mod telemetry;
mod wiring;

pub use settings::Settings;
pub use telemetry::{flush_logs, init_tracing};
pub use wiring::{Application, build_service, open_store, open_store_patiently};
