//! Integration tests of the JWT token issuer, with real keys and a
//! temporary data directory. One binary, one module per concern.

mod common;
mod jwks;
mod key_files;
mod persistence;
mod refresh_key;
mod rejection;
mod rotation;
mod round_trip;
