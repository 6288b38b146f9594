//! The authd token issuer: JWT access tokens signed with `jsonwebtoken`,
//! key loading and generation, and the JSON Web Key Set.
//!
//! One key signs; that key and any extra public keys
//! ([`JwtSettings::verification_key_paths`]) verify, chosen by the token's
//! `kid`, which is the key's RFC 7638 thumbprint. Without a configured key,
//! one is generated at first start under `<data_dir>/keys/` and reused on
//! every later start.
//!
//! [`RefreshKey`] derives each refresh token's successor under a secret
//! kept with the signing keys; its documentation says why that is safe.
//! [`SealingKeys`] seal the secrets the server must read back (TOTP
//! secrets) before they are stored, under a key kept the same way.

mod algorithm;
mod error;
mod issuer;
mod jwk;
mod key_files;
mod keys;
mod refresh_key;
mod sealing;

pub use algorithm::{SigningAlgorithm, UnknownAlgorithm};
pub use error::KeyError;
pub use issuer::{JwtIssuer, JwtSettings, KeyEntry, generate_key_file};
pub use refresh_key::RefreshKey;
pub use sealing::SealingKeys;
