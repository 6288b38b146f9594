//! Two-factor login: the TOTP time steps that make a code single-use, and
//! the values kept for it (a sealed secret, recovery codes).

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::{SecretDigest, UserId};

/// A TOTP time step (RFC 6238: Unix time divided by 30 s). A code is good
/// for one step; a step once used is never used again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeStep(pub u64);

impl TimeStep {
    /// Whether a code of this step may be accepted after `last`, the step
    /// of the code accepted before (if any): only a later one may, so no
    /// code works twice, nor an older code after a newer one.
    pub fn is_after(self, last: Option<TimeStep>) -> bool {
        last.is_none_or(|last| self > last)
    }
}

/// A TOTP shared secret (RFC 4226: 160 bits). Held only while a use case
/// needs it in clear: stored sealed ([`SealedSecret`]). Its `Debug` shows
/// nothing.
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    /// The length of a generated secret, in bytes.
    pub const LEN: usize = 20;

    /// A secret of these bytes; `None` unless [`TotpSecret::LEN`] of them.
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        (bytes.len() == Self::LEN).then_some(Self(bytes))
    }

    /// The secret's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for TotpSecret {
    fn drop(&mut self) {
        // Best effort without a dependency: overwrite before freeing.
        self.0.iter_mut().for_each(|b| *b = 0);
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(***)")
    }
}

/// A secret sealed for storage by an authenticated cipher: the id of the
/// key that sealed it (so the key can be rotated) and the ciphertext with
/// its nonce. Opening it needs that key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecret {
    /// Which key sealed it.
    pub key_id: String,
    /// Nonce and ciphertext, as the sealer lays them out.
    pub ciphertext: Vec<u8>,
}

/// A single-use recovery code: three groups of five lower-case letters
/// and digits (`k7f2q-9xw3m-p3zr8`, 75 bits), short enough to type from
/// paper. Online, every wrong try counts toward the account's login
/// throttle; offline, its digest is bound to its user, so a copy of the
/// database must be searched one user at a time, through 2⁷⁵ codes each.
pub struct RecoveryCode(SecretString);

impl RecoveryCode {
    /// How many a user gets at a time.
    pub const PER_USER: usize = 10;
    const ALPHABET: &'static [u8] = b"abcdefghijkmnpqrstuvwxyz23456789";

    /// A code from fifteen random bytes (each picks a character of a
    /// 32-letter alphabet without `l`, `o`, `0` and `1`; 256 is a multiple
    /// of 32, so no character is likelier than another).
    pub fn from_random(bytes: [u8; 15]) -> Self {
        let chars: String = bytes
            .iter()
            .map(|b| char::from(Self::ALPHABET[usize::from(*b) % Self::ALPHABET.len()]))
            .collect();
        let code = format!("{}-{}-{}", &chars[..5], &chars[5..10], &chars[10..]);
        Self(SecretString::from(code))
    }

    /// The digest a code as typed by `user` is stored and looked up by:
    /// lower-cased, without spaces or dashes (`K7F2Q 9XW3M P3ZR8` finds
    /// `k7f2q-9xw3m-p3zr8`), and bound to the user.
    pub fn digest_for(user: UserId, typed: &str) -> SecretDigest {
        let normalised: String = typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .flat_map(char::to_lowercase)
            .collect();
        SecretDigest::of(&format!("recovery code of {user}: {normalised}"))
    }

    /// This code's digest, as `user`'s.
    pub fn digest(&self, user: UserId) -> SecretDigest {
        Self::digest_for(user, self.0.expose_secret())
    }

    /// The code, for the one answer that shows it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_accepted_once_and_never_after_a_later_one() {
        assert!(TimeStep(5).is_after(None));
        assert!(TimeStep(6).is_after(Some(TimeStep(5))));
        assert!(!TimeStep(5).is_after(Some(TimeStep(5))), "never twice");
        assert!(
            !TimeStep(4).is_after(Some(TimeStep(5))),
            "never an older one"
        );
    }

    #[test]
    fn recovery_codes_are_typed_forgivingly_and_bound_to_their_user() {
        let bytes = [0, 1, 2, 3, 4, 31, 32, 33, 250, 255, 5, 6, 7, 8, 9];
        let code = RecoveryCode::from_random(bytes);
        assert_eq!(code.expose(), "abcde-9ab49-fghij");
        assert!(
            code.expose()
                .chars()
                .all(|c| c == '-' || RecoveryCode::ALPHABET.contains(&(c as u8)))
        );
        let (ada, eve) = (UserId::generate(), UserId::generate());
        let typed = |t: &str| RecoveryCode::digest_for(ada, t);
        assert_eq!(typed(" ABCDE 9AB49 FGHIJ "), code.digest(ada));
        assert_eq!(typed("abcde9ab49fghij"), code.digest(ada));
        assert_ne!(typed("abcde-9ab49-fghik"), code.digest(ada));
        assert_ne!(code.digest(eve), code.digest(ada), "each user's own digest");
        assert_eq!(format!("{code:?}"), "RecoveryCode(***)");
    }

    #[test]
    fn totp_secrets_are_160_bits_and_never_shown() {
        assert!(TotpSecret::from_bytes(vec![0; 19]).is_none());
        let secret = TotpSecret::from_bytes(vec![7; 20]).unwrap();
        assert_eq!(secret.as_bytes(), [7; 20]);
        assert_eq!(format!("{secret:?}"), "TotpSecret(***)");
    }
}
