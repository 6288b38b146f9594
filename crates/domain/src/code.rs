use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a one-time code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeKind {
    /// Proves ownership of the e-mail address given at sign-up.
    ValidateEmail,
    /// Lets a not-yet-validated user ask for a new validation mail.
    ResendValidation,
    /// Lets a user who forgot their password set a new one.
    ResetPassword,
    /// Lets an invited person join an organization.
    Invite,
}

impl CodeKind {
    /// Stable spelling, used in storage and in mail.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ValidateEmail => "validate-email",
            Self::ResendValidation => "resend-validation",
            Self::ResetPassword => "reset-password",
            Self::Invite => "invite",
        }
    }

    /// The inverse of [`CodeKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::ValidateEmail,
            Self::ResendValidation,
            Self::ResetPassword,
            Self::Invite,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// The SHA-256 digest of a high-entropy secret (refresh token, API key,
/// one-time code). Only digests are ever stored.
#[derive(Clone, Copy, Eq)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    /// Digests a secret as presented by a client.
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// Rebuilds a digest read from storage; `None` unless exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for SecretDigest {
    /// Constant-time, so comparing digests leaks nothing through timing.
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::hash::Hash for SecretDigest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigest(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_sha256() {
        let d = SecretDigest::of("abc");
        assert_eq!(
            d.as_bytes()[..4],
            [0xba, 0x78, 0x16, 0xbf],
            "SHA-256(\"abc\") starts with ba7816bf"
        );
        assert_eq!(SecretDigest::from_bytes(d.as_bytes()), Some(d));
        assert_eq!(SecretDigest::from_bytes(&[1, 2, 3]), None);
        assert_ne!(SecretDigest::of("abd"), d);
    }

    #[test]
    fn kinds_round_trip() {
        for k in [
            CodeKind::ValidateEmail,
            CodeKind::ResendValidation,
            CodeKind::ResetPassword,
            CodeKind::Invite,
        ] {
            assert_eq!(CodeKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(CodeKind::parse("other"), None);
    }
}
