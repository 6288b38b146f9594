use domain::PasswordHash;
use secrecy::SecretString;

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password is wrong.
    Mismatch,
    /// The password is right and the hash uses the current parameters.
    Match,
    /// The password is right, but the hash was made with other parameters
    /// and should be replaced by a fresh one.
    MatchNeedsRehash,
}

/// Why hashing or verifying failed (never "wrong password", which is
/// [`PasswordCheck::Mismatch`]).
#[derive(Debug, thiserror::Error)]
pub enum HasherError {
    /// The stored hash cannot be parsed.
    #[error("stored password hash is malformed")]
    MalformedHash,
    /// The hashing library failed.
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// Hashes and verifies passwords (argon2id in production).
pub trait PasswordHasher: Send + Sync {
    /// Hashes a password with the current parameters. The password policy
    /// is the caller's business (a new password is a `domain::Password`;
    /// an upgrade at login re-hashes the one the user just proved).
    ///
    /// # Errors
    /// [`HasherError::Internal`] if the library fails.
    fn hash(&self, password: &SecretString) -> Result<PasswordHash, HasherError>;

    /// Checks `candidate` against `hash`, in time independent of where the
    /// two differ.
    ///
    /// # Errors
    /// [`HasherError::MalformedHash`] if `hash` cannot be parsed.
    fn verify(
        &self,
        candidate: &SecretString,
        hash: &PasswordHash,
    ) -> Result<PasswordCheck, HasherError>;

    /// Spends the time a [`PasswordHasher::verify`] against a real hash with
    /// the current parameters would, and always fails. Used for unknown
    /// accounts, so their answer costs the same as a wrong password.
    fn verify_dummy(&self, candidate: &SecretString);
}
