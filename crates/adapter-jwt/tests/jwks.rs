//! The published keys: their shape per algorithm, their `kid`s, and that a
//! client can verify tokens with them alone.

use std::collections::BTreeMap;

use adapter_jwt::{JwtIssuer, SigningAlgorithm};
use jsonwebtoken::{DecodingKey, Validation};
use ports::{PublicJwk, TokenIssuer};
use sha2::{Digest as _, Sha256};

use crate::common::{AUDIENCE, ISSUER, b64, claims, issuer_with_key_file, settings};

fn only_key(issuer: &JwtIssuer) -> BTreeMap<String, String> {
    let keys = issuer.public_keys();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let PublicJwk(jwk) = keys.into_iter().next().unwrap();
    jwk
}

fn member_names(jwk: &BTreeMap<String, String>) -> Vec<&str> {
    jwk.keys().map(String::as_str).collect()
}

/// RFC 7638, computed here independently of the crate.
fn thumbprint(canonical_json: &str) -> String {
    b64(&Sha256::digest(canonical_json.as_bytes()))
}

/// Verifies `token` the way a client would: with only the JWK.
fn verify_with_jwk(jwk: &BTreeMap<String, String>, token: &str) {
    let key = match jwk["kty"].as_str() {
        "OKP" => DecodingKey::from_ed_components(&jwk["x"]),
        "EC" => DecodingKey::from_ec_components(&jwk["x"], &jwk["y"]),
        "RSA" => DecodingKey::from_rsa_components(&jwk["n"], &jwk["e"]),
        other => panic!("unexpected kty {other}"),
    }
    .unwrap();
    let mut validation = Validation::new(jwk["alg"].parse().unwrap());
    validation.validate_exp = false;
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.kid.as_deref(), Some(jwk["kid"].as_str()));
    jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation).unwrap();
}

#[test]
fn eddsa_jwk() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = JwtIssuer::from_settings(&settings(SigningAlgorithm::EdDsa, dir.path())).unwrap();
    let jwk = only_key(&issuer);
    assert_eq!(member_names(&jwk), ["alg", "crv", "kid", "kty", "use", "x"]);
    assert_eq!(jwk["kty"], "OKP");
    assert_eq!(jwk["crv"], "Ed25519");
    assert_eq!(jwk["alg"], "EdDSA");
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["x"].len(), 43, "32 bytes, unpadded base64url");
    assert_eq!(jwk["kid"], issuer.signing_kid());
    assert_eq!(
        jwk["kid"],
        thumbprint(&format!(
            r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
            jwk["x"]
        ))
    );
    verify_with_jwk(&jwk, &issuer.issue(&claims()).unwrap());
}

#[test]
fn es256_jwk() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = JwtIssuer::from_settings(&settings(SigningAlgorithm::Es256, dir.path())).unwrap();
    let jwk = only_key(&issuer);
    assert_eq!(
        member_names(&jwk),
        ["alg", "crv", "kid", "kty", "use", "x", "y"]
    );
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(jwk["crv"], "P-256");
    assert_eq!(jwk["alg"], "ES256");
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["x"].len(), 43);
    assert_eq!(jwk["y"].len(), 43);
    assert_eq!(jwk["kid"], issuer.signing_kid());
    assert_eq!(
        jwk["kid"],
        thumbprint(&format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"], jwk["y"]
        ))
    );
    verify_with_jwk(&jwk, &issuer.issue(&claims()).unwrap());
}

#[test]
fn rs256_jwk() {
    let dir = tempfile::tempdir().unwrap();
    let (issuer, _) = issuer_with_key_file(SigningAlgorithm::Rs256, dir.path());
    let jwk = only_key(&issuer);
    assert_eq!(member_names(&jwk), ["alg", "e", "kid", "kty", "n", "use"]);
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["alg"], "RS256");
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["e"], "AQAB");
    assert_eq!(jwk["n"].len(), 342, "256 bytes without a leading zero");
    assert_eq!(jwk["kid"], issuer.signing_kid());
    assert_eq!(
        jwk["kid"],
        thumbprint(&format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            jwk["e"], jwk["n"]
        ))
    );
    verify_with_jwk(&jwk, &issuer.issue(&claims()).unwrap());
}

#[test]
fn hs256_publishes_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = JwtIssuer::from_settings(&settings(SigningAlgorithm::Hs256, dir.path())).unwrap();
    assert_eq!(issuer.public_keys(), Vec::<PublicJwk>::new());
    // Its kid is a thumbprint (a hash), not the secret.
    assert_eq!(issuer.signing_kid().len(), 43);
    assert!(!issuer.signing_kid().contains("0123456789abcdef"));
}
