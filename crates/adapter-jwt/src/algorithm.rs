use std::fmt;
use std::str::FromStr;

use jsonwebtoken::Algorithm;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The JWS algorithm that signs access tokens.
///
/// Written and parsed as its JOSE name (`"EdDSA"`, `"HS256"`, `"RS256"`,
/// `"ES256"`); parsing ignores case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SigningAlgorithm {
    /// Ed25519 signatures (`EdDSA`), the default: small keys, fast, no
    /// parameters to get wrong.
    #[default]
    EdDsa,
    /// HMAC-SHA-256 (`HS256`) with a shared secret; publishes no public key.
    Hs256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`RS256`).
    Rs256,
    /// ECDSA on P-256 with SHA-256 (`ES256`).
    Es256,
}

impl SigningAlgorithm {
    /// Every supported algorithm.
    pub const ALL: [SigningAlgorithm; 4] = [Self::EdDsa, Self::Hs256, Self::Rs256, Self::Es256];

    /// The JOSE name, as written in a token's `alg` header.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::EdDsa => "EdDSA",
            Self::Hs256 => "HS256",
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    /// The name of the key file generated under `<data_dir>/keys/` when no
    /// key is configured: `jwt-eddsa.pem`, `jwt-es256.pem`, `jwt-rs256.pem`
    /// (PKCS#8 PEM) or `jwt-hs256.secret` (a base64url secret).
    pub const fn generated_key_file_name(self) -> &'static str {
        match self {
            Self::EdDsa => "jwt-eddsa.pem",
            Self::Hs256 => "jwt-hs256.secret",
            Self::Rs256 => "jwt-rs256.pem",
            Self::Es256 => "jwt-es256.pem",
        }
    }

    pub(crate) const fn jwt_algorithm(self) -> Algorithm {
        match self {
            Self::EdDsa => Algorithm::EdDSA,
            Self::Hs256 => Algorithm::HS256,
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no supported signing algorithm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown JWT signing algorithm {0:?}: expected one of EdDSA, HS256, RS256, ES256")]
pub struct UnknownAlgorithm(pub String);

impl FromStr for SigningAlgorithm {
    type Err = UnknownAlgorithm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownAlgorithm(s.to_owned()))
    }
}

impl Serialize for SigningAlgorithm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SigningAlgorithm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_case_insensitively_and_displays_jose_names() {
        for alg in SigningAlgorithm::ALL {
            assert_eq!(alg.to_string().parse::<SigningAlgorithm>(), Ok(alg));
            assert_eq!(
                alg.to_string().to_lowercase().parse::<SigningAlgorithm>(),
                Ok(alg)
            );
            assert_eq!(
                alg.to_string().to_uppercase().parse::<SigningAlgorithm>(),
                Ok(alg)
            );
        }
        assert_eq!("eddsa".parse(), Ok(SigningAlgorithm::EdDsa));
        assert_eq!(" ES256 ".parse(), Ok(SigningAlgorithm::Es256));
        assert!("none".parse::<SigningAlgorithm>().is_err());
        assert!("HS512".parse::<SigningAlgorithm>().is_err());
        assert_eq!(SigningAlgorithm::default(), SigningAlgorithm::EdDsa);
    }

    #[test]
    fn serde_uses_the_jose_name() {
        let json = serde_json::to_string(&SigningAlgorithm::Rs256).unwrap_or_default();
        assert_eq!(json, "\"RS256\"");
        let parsed: Result<SigningAlgorithm, _> = serde_json::from_str("\"es256\"");
        assert_eq!(parsed.ok(), Some(SigningAlgorithm::Es256));
        assert!(serde_json::from_str::<SigningAlgorithm>("\"none\"").is_err());
    }
}
