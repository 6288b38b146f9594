//! The authd store on PostgreSQL: diesel over an r2d2 connection pool.
//!
//! [`PgStore`] implements every storage port of [`ports::Store`]. It owns
//! its transactions; row types stay private and become domain values (or
//! [`ports::StoreError::Internal`] for a corrupt row) at this crate's edge.
//! The schema lives in `migrations/postgres` and is embedded into the binary.
//!
//! The `testing` feature adds `testing::TestDatabase`, a fresh migrated
//! database per test, for this crate's tests and those of the crates that
//! wire it in.

mod admin;
mod api_keys;
mod breaker;
mod changes;
mod codes;
mod error;
mod invites;
mod mfa;
mod organizations;
mod passwords;
mod pool;
mod prepared;
mod queries;
mod rows;
mod schema;
mod sessions;
mod store;
mod throttle;
mod users;

#[cfg(feature = "testing")]
pub mod testing;

pub use store::{MIGRATIONS, PgStore, PoolSettings};
