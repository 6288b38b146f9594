//! The keys that seal secrets the server must read back (TOTP secrets)
//! before they are stored.

use std::path::Path;

use chacha20poly1305::{
    ChaCha20Poly1305, Key, Nonce,
    aead::{Aead, KeyInit, Payload},
};
use domain::SealedSecret;
use ports::{SealError, SecretSealer};
use rand::{RngCore as _, rngs::OsRng};
use secrecy::{ExposeSecret as _, SecretSlice, SecretString};
use sha2::{Digest as _, Sha256};

use crate::{error::KeyError, key_files};

/// The generated key's file in `<data_dir>/keys/`.
const GENERATED_FILE_NAME: &str = "sealing.key";
/// Random bytes in a generated key.
const GENERATED_BYTES: usize = 32;
/// The shortest configured key accepted, in bytes of its text.
const MIN_KEY_LEN: usize = 32;
/// The nonce's length: 96 bits, random for each value sealed.
const NONCE_LEN: usize = 12;

/// One key: its id and its cipher.
struct SealingKey {
    id: String,
    cipher: ChaCha20Poly1305,
}

impl SealingKey {
    /// The key a configured or generated secret stands for: its SHA-256,
    /// apart from any other use of the same text; the id is another hash of
    /// it, safe to store beside every value (it tells nothing of the key).
    fn from_secret(secret: &[u8]) -> Self {
        let key = Sha256::new()
            .chain_update(b"authd sealing key v1\0")
            .chain_update(secret)
            .finalize();
        let id = Sha256::new()
            .chain_update(b"authd sealing key id v1\0")
            .chain_update(secret)
            .finalize();
        Self {
            id: id[..8].iter().map(|b| format!("{b:02x}")).collect(),
            cipher: ChaCha20Poly1305::new(&Key::from(<[u8; 32]>::from(key))),
        }
    }
}

/// Seals with ChaCha20-Poly1305 (RFC 8439) under the current key, opens
/// with it or with any previous key, chosen by the id stored beside each
/// value. A sealed value is the 96-bit random nonce followed by the
/// ciphertext and its tag; the purpose it was sealed for is authenticated
/// too. Its `Debug` shows key ids only.
pub struct SealingKeys {
    current: SealingKey,
    previous: Vec<SealingKey>,
}

impl std::fmt::Debug for SealingKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let previous: Vec<&str> = self.previous.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("SealingKeys")
            .field("current", &self.current.id)
            .field("previous", &previous)
            .finish()
    }
}

impl SealingKeys {
    /// The current key from `configured` (at least 32 bytes of text), or,
    /// when `None`, the one generated once into `<data_dir>/keys/` and
    /// reused on every later start; and `previous` keys, which only open.
    /// A key generated before a key was configured keeps opening what it
    /// sealed, as a previous key.
    ///
    /// # Errors
    /// When a configured key is too short, or the generated key cannot be
    /// read or written.
    pub fn load(
        configured: Option<&SecretString>,
        previous: &[SecretString],
        data_dir: &Path,
    ) -> Result<Self, KeyError> {
        let short = |setting: &'static str| KeyError::SealingKeyTooShort {
            setting,
            min: MIN_KEY_LEN,
        };
        let current = match configured {
            Some(secret) => {
                let secret = secret.expose_secret().trim();
                if secret.len() < MIN_KEY_LEN {
                    return Err(short("security.encryption_key"));
                }
                SealingKey::from_secret(secret.as_bytes())
            }
            None => {
                let (text, _) = key_files::load_or_generate_secret(
                    GENERATED_FILE_NAME,
                    GENERATED_BYTES,
                    data_dir,
                )?;
                SealingKey::from_secret(text.trim().as_bytes())
            }
        };
        let mut previous: Vec<SealingKey> = previous
            .iter()
            .map(|secret| {
                let secret = secret.expose_secret().trim();
                if secret.len() < MIN_KEY_LEN {
                    return Err(short("security.previous_encryption_keys"));
                }
                Ok(SealingKey::from_secret(secret.as_bytes()))
            })
            .collect::<Result<_, _>>()?;
        let generated = data_dir.join("keys").join(GENERATED_FILE_NAME);
        if configured.is_some() && generated.exists() {
            let text = key_files::read_key_file(&generated)?;
            previous.push(SealingKey::from_secret(text.trim().as_bytes()));
        }
        Ok(Self { current, previous })
    }

    /// The id of the key that seals new values.
    pub fn current_key_id(&self) -> &str {
        &self.current.id
    }
}

impl SecretSealer for SealingKeys {
    fn seal(&self, plaintext: &[u8], purpose: &[u8]) -> Result<SealedSecret, SealError> {
        let mut nonce = [0_u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .current
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: purpose,
                },
            )
            .map_err(|_| SealError::Failed)?;
        let mut ciphertext = nonce.to_vec();
        ciphertext.extend_from_slice(&sealed);
        Ok(SealedSecret {
            key_id: self.current.id.clone(),
            ciphertext,
        })
    }

    fn open(&self, sealed: &SealedSecret, purpose: &[u8]) -> Result<SecretSlice<u8>, SealError> {
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| SealError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.ciphertext.len() < NONCE_LEN {
            return Err(SealError::Corrupt);
        }
        let (nonce, ciphertext) = sealed.ciphertext.split_at(NONCE_LEN);
        let nonce = <[u8; NONCE_LEN]>::try_from(nonce).map_err(|_| SealError::Corrupt)?;
        let plaintext = key
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: purpose,
                },
            )
            .map_err(|_| SealError::Corrupt)?;
        Ok(SecretSlice::from(plaintext))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(current: &str, previous: &[&str]) -> SealingKeys {
        let previous: Vec<SecretString> = previous.iter().map(|s| SecretString::from(*s)).collect();
        SealingKeys::load(
            Some(&SecretString::from(current)),
            &previous,
            Path::new("/nonexistent"),
        )
        .unwrap()
    }

    const A: &str = "a key of thirty-two bytes or more, for tests only";
    const B: &str = "another key of thirty-two bytes or more, for tests";

    #[test]
    fn a_sealed_value_opens_for_its_purpose_only() {
        let k = keys(A, &[]);
        let sealed = k.seal(b"JBSWY3DPEHPK3PXP", b"totp:ada").unwrap();
        assert_eq!(sealed.key_id, k.current_key_id());
        assert_eq!(sealed.ciphertext.len(), 12 + 16 + 16, "nonce, text, tag");
        assert!(
            !sealed
                .ciphertext
                .windows(16)
                .any(|w| w == b"JBSWY3DPEHPK3PXP"),
            "not in clear"
        );
        let opened = k.open(&sealed, b"totp:ada").unwrap();
        assert_eq!(opened.expose_secret(), b"JBSWY3DPEHPK3PXP");
        assert!(matches!(
            k.open(&sealed, b"totp:eve"),
            Err(SealError::Corrupt)
        ));
        let mut tampered = sealed.clone();
        tampered.ciphertext[20] ^= 1;
        assert!(matches!(
            k.open(&tampered, b"totp:ada"),
            Err(SealError::Corrupt)
        ));
        let again = k.seal(b"JBSWY3DPEHPK3PXP", b"totp:ada").unwrap();
        assert_ne!(
            again.ciphertext, sealed.ciphertext,
            "a fresh nonce each time"
        );
    }

    #[test]
    fn values_of_a_previous_key_still_open_and_new_ones_use_the_current() {
        let old = keys(A, &[]);
        let sealed = old.seal(b"secret", b"p").unwrap();
        let rotated = keys(B, &[A]);
        assert_ne!(rotated.current_key_id(), old.current_key_id());
        assert_eq!(
            rotated.open(&sealed, b"p").unwrap().expose_secret(),
            b"secret"
        );
        assert_eq!(
            rotated.seal(b"x", b"p").unwrap().key_id,
            rotated.current_key_id()
        );
        let forgotten = keys(B, &[]);
        assert!(
            matches!(forgotten.open(&sealed, b"p"), Err(SealError::UnknownKey(id)) if id == old.current_key_id())
        );
        assert!(!format!("{rotated:?}").contains("thirty-two"));
    }

    #[test]
    fn short_keys_are_refused_and_a_generated_one_is_kept() {
        let short = SealingKeys::load(Some(&SecretString::from("short")), &[], Path::new("."));
        assert!(matches!(short, Err(KeyError::SealingKeyTooShort { .. })));
        let dir = tempfile::tempdir().unwrap();
        let first = SealingKeys::load(None, &[], dir.path()).unwrap();
        let sealed = first.seal(b"kept", b"p").unwrap();
        let second = SealingKeys::load(None, &[], dir.path()).unwrap();
        assert_eq!(second.current_key_id(), first.current_key_id());
        assert_eq!(second.open(&sealed, b"p").unwrap().expose_secret(), b"kept");
        assert!(dir.path().join("keys/sealing.key").exists());

        // A key configured later seals anew, and the generated one still
        // opens what it sealed.
        let configured = SealingKeys::load(Some(&SecretString::from(A)), &[], dir.path()).unwrap();
        assert_ne!(configured.current_key_id(), first.current_key_id());
        assert_eq!(
            configured.open(&sealed, b"p").unwrap().expose_secret(),
            b"kept"
        );
    }
}
