//! Integration tests of the SQLite store, each on a file of its own in a
//! temporary directory. One binary, one module per concern.

mod contract;
mod sqlite;

use adapter_sqlite::SqliteStore;

/// A migrated store on a new file in a new temporary directory, which is
/// removed when the returned guard drops.
fn fresh_store() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("authd.db").display());
    let store = SqliteStore::connect(&url, 4).expect("connect");
    store.migrate().expect("migrate");
    (store, dir)
}
