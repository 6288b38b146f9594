//! JWK parameters and RFC 7638 thumbprints.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Unpadded base64url, as JOSE writes every binary value.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The RFC 7638 thumbprint (SHA-256, base64url) of a key given by its
/// required members only (e.g. `crv`, `kty`, `x` for an OKP key).
///
/// The canonical form is the JSON object of those members, sorted by name,
/// without whitespace; a `BTreeMap` serialised by `serde_json` is exactly
/// that, since every name and value here is plain ASCII.
pub(crate) fn thumbprint(required: &BTreeMap<&str, &str>) -> String {
    // Serialising a map of strings cannot fail.
    let canonical = serde_json::to_string(required).unwrap_or_default();
    b64url(&Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of RFC 7638, section 3.1.
    #[test]
    fn rfc7638_example() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxu\
                 hDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6C\
                 f0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91\
                 CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-c\
                 sFCur-kEgU8awapJzKnqDKgw";
        let members = BTreeMap::from([("kty", "RSA"), ("n", n), ("e", "AQAB")]);
        assert_eq!(
            thumbprint(&members),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
