use std::collections::BTreeMap;

use domain::AccessClaims;
use time::OffsetDateTime;

/// Why an access token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Well-formed and genuine, but `now >= exp`.
    #[error("token expired")]
    Expired,
    /// Malformed, forged, wrong algorithm, unknown `kid`, wrong `iss`/`aud`,
    /// or missing a claim.
    #[error("token invalid")]
    Invalid,
    /// Signing failed (misconfigured key).
    #[error("token signing failed: {0}")]
    Signing(String),
}

/// One public key of a JSON Web Key Set: its parameters (`kty`, `kid`,
/// `alg`, `use`, `crv`, `x`, `y`, `n`, `e`, …), all strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk(pub BTreeMap<String, String>);

/// Issues and verifies access tokens.
pub trait TokenIssuer: Send + Sync {
    /// Signs `claims` with the current signing key, adding `iss`, `aud`
    /// and the key's `kid`.
    ///
    /// # Errors
    /// [`TokenError::Signing`] if the key cannot sign.
    fn issue(&self, claims: &AccessClaims) -> Result<String, TokenError>;

    /// Verifies a token's signature (with any published key, chosen by
    /// `kid`), algorithm, `iss`, `aud` and claims, and its expiry against
    /// `now` exactly, with no leeway.
    ///
    /// # Errors
    /// [`TokenError::Expired`] if genuine but expired; otherwise
    /// [`TokenError::Invalid`].
    fn verify(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, TokenError>;

    /// The public keys that verify tokens (empty for a symmetric algorithm).
    fn public_keys(&self) -> Vec<PublicJwk>;
}
