use std::io;
use std::path::PathBuf;

use crate::algorithm::SigningAlgorithm;

/// Why the token keys could not be loaded or generated.
///
/// Messages name the file and what is wrong with it; they never contain key
/// material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file exists (or was configured) but could not be read.
    #[error("cannot read key file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A key file was read but does not hold a usable key.
    #[error("invalid key file {}: {reason}", path.display())]
    InvalidKey {
        /// The file.
        path: PathBuf,
        /// What is wrong, e.g. "not a PKCS#8 PEM Ed25519 private key".
        reason: String,
    },
    /// The directory for a generated key could not be created.
    #[error("cannot create key directory {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A generated key could not be written.
    #[error("cannot write generated key file {}: {source}", path.display())]
    Write {
        /// The file being written (the temporary file or its final name).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A new key could not be generated or encoded.
    #[error("cannot generate a {algorithm} key: {reason}")]
    Generate {
        /// The algorithm of the key.
        algorithm: SigningAlgorithm,
        /// What failed.
        reason: String,
    },
    /// The configured HMAC secret is too short to be safe.
    #[error("the HS256 secret is {len} bytes long; at least {min} bytes are required")]
    HmacSecretTooShort {
        /// Its length in bytes.
        len: usize,
        /// The minimum length in bytes.
        min: usize,
    },
    /// A configured sealing key is too short to be safe.
    #[error("{setting} must be at least {min} bytes long")]
    SealingKeyTooShort {
        /// The setting.
        setting: &'static str,
        /// The minimum length in bytes.
        min: usize,
    },
    /// A setting was given that the configured algorithm cannot use
    /// (a private key file with HS256, an HMAC secret with an asymmetric
    /// algorithm, verification keys with HS256).
    #[error("{setting} cannot be used with the {algorithm} signing algorithm")]
    NotApplicable {
        /// The setting's name.
        setting: &'static str,
        /// The configured algorithm.
        algorithm: SigningAlgorithm,
    },
}
