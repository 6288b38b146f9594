use domain::{SealedSecret, TimeStep, TotpSecret};
use secrecy::{SecretSlice, SecretString};
use time::OffsetDateTime;

/// What a user needs to add an account to an authenticator app: the secret
/// in base32, the `otpauth://` URI that carries it, and that URI as an SVG
/// QR code. All three reveal the secret. Its `Debug` shows none of them.
pub struct TotpEnrolment {
    /// The secret, base32 without padding, for typing in.
    pub secret: SecretString,
    /// `otpauth://totp/{issuer}:{account}?secret=…&issuer=…`.
    pub otpauth_uri: SecretString,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: SecretString,
}

impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrolment(***)")
    }
}

/// Why an enrolment could not be made.
#[derive(Debug, thiserror::Error)]
#[error("the TOTP enrolment could not be made: {0}")]
pub struct TotpError(pub String);

/// Time-based one-time passwords (RFC 6238: HMAC-SHA-1, 6 digits, 30 s
/// steps), as authenticator apps compute them.
pub trait TotpAuthenticator: Send + Sync {
    /// A new random secret of 160 bits.
    fn new_secret(&self) -> TotpSecret;

    /// What the user scans or types to add `account` (their e-mail
    /// address), named by `issuer` (the product), to an app.
    ///
    /// # Errors
    /// [`TotpError`] if the URI or the QR code cannot be made (an issuer
    /// or account an authenticator cannot carry).
    fn enrolment(
        &self,
        secret: &TotpSecret,
        account: &str,
        issuer: &str,
    ) -> Result<TotpEnrolment, TotpError>;

    /// The time step whose code `code` is, among the step of `now` and the
    /// one either side (clocks drift); `None` when it is none of them. Says
    /// nothing about whether the step was used before: the caller checks.
    fn step_of(&self, secret: &TotpSecret, code: &str, now: OffsetDateTime) -> Option<TimeStep>;
}

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The key the secret was sealed with is not among the keys known.
    #[error("no key {0} to open the secret with")]
    UnknownKey(String),
    /// The ciphertext does not open: it was altered, or sealed for another
    /// purpose.
    #[error("the sealed secret does not open")]
    Corrupt,
    /// The cipher failed.
    #[error("sealing failed")]
    Failed,
}

/// Seals secrets that the server must read back (a TOTP secret) for
/// storage, with an authenticated cipher under a server key: the store
/// sees only ciphertext. Each sealed value names its key, so keys can be
/// rotated: new values are sealed with the current key, old ones still
/// open with the keys kept beside it.
pub trait SecretSealer: Send + Sync {
    /// Seals `plaintext`, bound to `purpose` (authenticated, not secret:
    /// a value sealed for one purpose does not open for another).
    ///
    /// # Errors
    /// [`SealError::Failed`] if the cipher fails.
    fn seal(&self, plaintext: &[u8], purpose: &[u8]) -> Result<SealedSecret, SealError>;

    /// Opens a sealed value for `purpose`.
    ///
    /// # Errors
    /// [`SealError::UnknownKey`] or [`SealError::Corrupt`].
    fn open(&self, sealed: &SealedSecret, purpose: &[u8]) -> Result<SecretSlice<u8>, SealError>;
}
