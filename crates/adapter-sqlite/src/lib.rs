//! The embedded store of authd: every storage port on one SQLite file,
//! through diesel and an r2d2 pool. It needs no server, which makes it the
//! zero-setup default (`sqlite://data/authd.db`).
//!
//! ```no_run
//! use adapter_sqlite::SqliteStore;
//! use ports::Store;
//!
//! # fn main() -> Result<(), ports::StoreError> {
//! let store = SqliteStore::connect("sqlite://data/authd.db", 8)?;
//! store.migrate()?;
//! store.ping()?;
//! # Ok(())
//! # }
//! ```
//!
//! The schema lives in `migrations/sqlite` and is compiled into the crate.
//! Instants are stored as microseconds since the Unix epoch, so values read
//! back are rounded down to the microsecond, as with PostgreSQL.

mod admin;
mod api_keys;
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
mod url;
mod users;

pub use store::SqliteStore;
