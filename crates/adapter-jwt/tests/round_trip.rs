//! Tokens issued by an issuer verify with it, for every algorithm.

use adapter_jwt::{JwtIssuer, SigningAlgorithm};
use ports::TokenIssuer;

use crate::common::{
    AUDIENCE, IAT, ISSUER, LIFETIME, at, claims, issuer_with_key_file, json_part, parts, settings,
};

fn assert_round_trip(issuer: &JwtIssuer) {
    let claims = claims();
    let token = issuer.issue(&claims).unwrap();
    assert_eq!(issuer.verify(&token, at(IAT)), Ok(claims.clone()));
    assert_eq!(
        issuer.verify(&token, at(IAT + LIFETIME - 1)),
        Ok(claims.clone())
    );

    let [header, payload, _] = parts(&token);
    let header = json_part(&header);
    assert_eq!(header["alg"], issuer.algorithm().to_string());
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["kid"], issuer.signing_kid());

    let payload = json_part(&payload);
    assert_eq!(payload["iss"], ISSUER);
    assert_eq!(payload["aud"], AUDIENCE, "aud is a single string");
    assert_eq!(payload["sub"], claims.user_id.to_string());
    assert_eq!(payload["sid"], claims.session_id.to_string());
    assert_eq!(payload["jti"], claims.token_id.to_string());
    assert_eq!(payload["iat"], IAT);
    assert_eq!(payload["exp"], IAT + LIFETIME);
    assert_eq!(payload["amr"], serde_json::json!(["pwd", "otp"]));
    assert_eq!(payload.as_object().unwrap().len(), 8, "{payload}");
}

#[test]
fn eddsa_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = JwtIssuer::from_settings(&settings(SigningAlgorithm::EdDsa, dir.path())).unwrap();
    assert_round_trip(&issuer);
}

#[test]
fn es256_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = JwtIssuer::from_settings(&settings(SigningAlgorithm::Es256, dir.path())).unwrap();
    assert_round_trip(&issuer);
}

#[test]
fn rs256_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (issuer, _) = issuer_with_key_file(SigningAlgorithm::Rs256, dir.path());
    assert_round_trip(&issuer);
}

#[test]
fn hs256_round_trip_with_configured_secret() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = JwtIssuer::from_settings(&settings(SigningAlgorithm::Hs256, dir.path())).unwrap();
    assert_round_trip(&issuer);
    assert!(
        !dir.path().join("keys").exists(),
        "a configured secret generates nothing"
    );
}

#[test]
fn hs256_round_trip_with_generated_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(SigningAlgorithm::Hs256, dir.path());
    settings.hmac_secret = None;
    let issuer = JwtIssuer::from_settings(&settings).unwrap();
    assert_round_trip(&issuer);
}

#[test]
fn the_default_algorithm_is_eddsa() {
    let dir = tempfile::tempdir().unwrap();
    let settings = adapter_jwt::JwtSettings::new(ISSUER, AUDIENCE, dir.path());
    let issuer = JwtIssuer::from_settings(&settings).unwrap();
    assert_eq!(issuer.algorithm(), SigningAlgorithm::EdDsa);
    assert_round_trip(&issuer);
}
