use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::{Email, Username};

/// A new password that satisfies the password policy.
///
/// The plaintext is held in a [`SecretString`]: it cannot be printed by
/// accident and is zeroed when dropped.
pub struct Password(SecretString);

/// Why a new password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than [`Password::MIN_LEN`] characters.
    #[error("password must be at least 8 characters")]
    TooShort,
    /// More than [`Password::MAX_LEN`] characters.
    #[error("password must be at most 256 characters")]
    TooLong,
    /// Equal to, or containing, the account's e-mail address or username.
    #[error("password must not contain your e-mail address or username")]
    ContainsIdentity,
    /// Common, or easy to guess.
    #[error("password is too weak or too common; use a longer passphrase")]
    Weak,
}

impl Password {
    /// Shortest accepted password, in characters.
    pub const MIN_LEN: usize = 8;
    /// Longest accepted password, in characters.
    pub const MAX_LEN: usize = 256;
    /// Lowest accepted strength estimate (zxcvbn's 0–4 scale).
    const MIN_SCORE: u8 = 3;
    /// The estimator's cost grows quickly with length; a prefix this long
    /// already decides whether a password is guessable.
    const ESTIMATE_PREFIX: usize = 64;

    /// Checks a candidate password against the policy: 8–256 characters, no
    /// composition rules, not guessable, and not containing any of
    /// `identity` (the account's e-mail address, its local part, username).
    pub fn new(candidate: SecretString, identity: &[&str]) -> Result<Self, PasswordError> {
        let raw = candidate.expose_secret();
        let len = raw.chars().count();
        if len < Self::MIN_LEN {
            return Err(PasswordError::TooShort);
        }
        if len > Self::MAX_LEN {
            return Err(PasswordError::TooLong);
        }
        let lowered = raw.to_lowercase();
        let identity: Vec<String> = identity
            .iter()
            .map(|s| s.trim().to_lowercase())
            .filter(|s| s.chars().count() >= 3)
            .collect();
        if identity.iter().any(|id| lowered.contains(id.as_str())) {
            return Err(PasswordError::ContainsIdentity);
        }
        let prefix: String = raw.chars().take(Self::ESTIMATE_PREFIX).collect();
        let inputs: Vec<&str> = identity.iter().map(String::as_str).collect();
        let score = u8::from(zxcvbn::zxcvbn(&prefix, &inputs).score());
        if score < Self::MIN_SCORE {
            return Err(PasswordError::Weak);
        }
        Ok(Self(candidate))
    }

    /// Checks a new password for an account: the policy of [`Password::new`]
    /// with the account's e-mail address, its local part and its username
    /// as the identity it must not contain.
    pub fn for_account(
        candidate: SecretString,
        email: &Email,
        username: Option<&Username>,
    ) -> Result<Self, PasswordError> {
        let mut identity = vec![email.as_str(), email.local_part()];
        identity.extend(username.map(Username::as_str));
        Self::new(candidate, &identity)
    }

    /// The plaintext, for the hasher only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The wrapped secret, for the hasher only.
    pub fn as_secret(&self) -> &SecretString {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A password hash in PHC string format (`$argon2id$v=19$m=…`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string produced by a password hasher or read from storage.
    pub fn new(phc: impl Into<String>) -> Self {
        Self(phc.into())
    }

    /// The PHC string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(p: &str, id: &[&str]) -> Result<Password, PasswordError> {
        Password::new(SecretString::from(p.to_owned()), id)
    }

    #[test]
    fn policy() {
        assert_eq!(check("short", &[]).unwrap_err(), PasswordError::TooShort);
        assert_eq!(
            check(&"x".repeat(257), &[]).unwrap_err(),
            PasswordError::TooLong
        );
        assert_eq!(check("password", &[]).unwrap_err(), PasswordError::Weak);
        assert_eq!(check("12345678", &[]).unwrap_err(), PasswordError::Weak);
        assert_eq!(check("qwertyuiop", &[]).unwrap_err(), PasswordError::Weak);
        assert_eq!(
            check(
                "xx-alice@example.com-xx",
                &["alice@example.com", "alice", "wonder"]
            )
            .unwrap_err(),
            PasswordError::ContainsIdentity
        );
        assert_eq!(
            check("Wonderland-Zebra-42", &["a@b.co", "wonderland"]).unwrap_err(),
            PasswordError::ContainsIdentity
        );
        assert!(check("correct horse battery staple", &["alice@example.com"]).is_ok());
        assert!(check("Tr0ub4dor&3-plus-more", &[]).is_ok());
        // No composition rules: a long lower-case passphrase is fine.
        assert!(check("purple mountains drink quietly", &[]).is_ok());
        // The longest allowed password is accepted.
        let long: String = "correct horse battery staple "
            .repeat(9)
            .chars()
            .take(256)
            .collect();
        assert!(check(&long, &[]).is_ok());
    }

    #[test]
    fn account_identity_is_refused() {
        let email = Email::parse("zoe.quartz@example.com").unwrap();
        let user = Username::parse("zq-lantern").unwrap();
        let candidate = |p: &str| SecretString::from(p.to_owned());
        for bad in [
            "my zoe.quartz@example.com pw",
            "zoe.quartz rides again 9",
            "zq-lantern and more words",
        ] {
            assert_eq!(
                Password::for_account(candidate(bad), &email, Some(&user)).unwrap_err(),
                PasswordError::ContainsIdentity,
                "{bad}"
            );
        }
        assert!(
            Password::for_account(
                candidate("correct horse battery staple"),
                &email,
                Some(&user)
            )
            .is_ok()
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let p = check("correct horse battery staple", &[]).unwrap();
        assert!(!format!("{p:?}").contains("horse"));
        let h = PasswordHash::new("$argon2id$secret");
        assert!(!format!("{h:?}").contains("secret"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn length_bounds_hold(s in "\\PC{0,300}") {
            if let Ok(p) = check(&s, &[]) {
                let n = p.expose().chars().count();
                prop_assert!((8..=256).contains(&n));
            }
        }
    }
}
