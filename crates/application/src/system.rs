//! The production implementations of the clock and the secret generator.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ports::{Clock, SecretGenerator};
use rand::{RngCore, rngs::OsRng};
use secrecy::SecretString;
use time::OffsetDateTime;

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// 256-bit secrets from the operating system's CSPRNG, base64url-encoded.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsSecrets;

impl SecretGenerator for OsSecrets {
    fn secret(&self) -> SecretString {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        SecretString::from(URL_SAFE_NO_PAD.encode(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn secrets_are_long_urlsafe_and_distinct() {
        let a = OsSecrets.secret();
        let b = OsSecrets.secret();
        assert_eq!(a.expose_secret().len(), 43);
        assert!(
            a.expose_secret()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(a.expose_secret(), b.expose_secret());
    }
}
