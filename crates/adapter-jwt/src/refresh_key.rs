//! The key that derives each refresh token's successor.

use std::path::{Path, PathBuf};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac as _};
use ports::RefreshTokenDeriver;
use secrecy::SecretString;
use sha2::Sha256;

use crate::{error::KeyError, key_files, keys::MIN_HMAC_SECRET_LEN};

/// The generated key's file in `<data_dir>/keys/`.
const GENERATED_FILE_NAME: &str = "refresh-successor.key";

/// Random bytes in a generated key.
const GENERATED_BYTES: usize = 32;

/// Separates this use of the key from any other.
const LABEL: &[u8] = b"authd refresh-token successor v1\0";

/// Derives refresh-token successors under a server secret that every
/// instance shares. Its `Debug` shows no key.
///
/// A successor is `base64url(HMAC-SHA-256(key, LABEL || presented))`. HMAC
/// is a pseudorandom function: to anyone without the key, the successor of
/// a token is as unpredictable as 256 random bits, even knowing the token;
/// and a successor tells nothing of the key or of the token it came from.
/// Presenting one token twice yields one successor, so a replay recomputes
/// exactly the token whose digest the store recorded, and the server keeps
/// no token in clear.
#[derive(Clone)]
pub struct RefreshKey {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for RefreshKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshKey(..)")
    }
}

impl RefreshKey {
    /// The key in `file` (its text, trimmed, at least 32 bytes), or, when
    /// `file` is `None`, the one generated once into `<data_dir>/keys/`
    /// and reused on every later start, like a generated signing key.
    ///
    /// # Errors
    /// When the file cannot be read or written, or holds too short a key.
    pub fn load(file: Option<&Path>, data_dir: &Path) -> Result<Self, KeyError> {
        let (text, path): (_, PathBuf) = match file {
            Some(path) => (key_files::read_key_file(path)?, path.to_owned()),
            None => {
                key_files::load_or_generate_secret(GENERATED_FILE_NAME, GENERATED_BYTES, data_dir)?
            }
        };
        let secret = text.trim().as_bytes();
        if secret.len() < MIN_HMAC_SECRET_LEN {
            return Err(KeyError::InvalidKey {
                path,
                reason: format!("the refresh key is shorter than {MIN_HMAC_SECRET_LEN} bytes"),
            });
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        Ok(Self { mac })
    }
}

impl RefreshTokenDeriver for RefreshKey {
    fn successor(&self, presented: &str) -> SecretString {
        let mut mac = self.mac.clone();
        mac.update(LABEL);
        mac.update(presented.as_bytes());
        SecretString::from(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }
}
