//! Everything that is not a genuine, current token of ours is refused with
//! the right error.

use adapter_jwt::{JwtIssuer, SigningAlgorithm};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ports::{TokenError, TokenIssuer};

use crate::common::{
    IAT, LIFETIME, at, b64, claims, encode_json, issuer_with_key_file, json_part, parts, payload,
    public_pem, settings_with_key_file, unb64,
};

/// An EdDSA issuer signing with a key file, and that key's PEM.
fn eddsa() -> (tempfile::TempDir, JwtIssuer, String) {
    let dir = tempfile::tempdir().unwrap();
    let (issuer, pem) = issuer_with_key_file(SigningAlgorithm::EdDsa, dir.path());
    (dir, issuer, pem)
}

/// Signs `payload` with `pem` under `header`, bypassing the issuer.
fn sign_eddsa(header: &Header, payload: &serde_json::Value, pem: &str) -> String {
    let key = EncodingKey::from_ed_pem(pem.as_bytes()).unwrap();
    jsonwebtoken::encode(header, payload, &key).unwrap()
}

fn eddsa_header(kid: Option<&str>) -> Header {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = kid.map(str::to_owned);
    header
}

#[test]
fn a_hand_signed_token_with_our_key_and_kid_is_accepted() {
    // The control for the hand-crafted tokens below.
    let (_dir, issuer, pem) = eddsa();
    let claims = claims();
    let token = sign_eddsa(
        &eddsa_header(Some(issuer.signing_kid())),
        &payload(&claims),
        &pem,
    );
    assert_eq!(issuer.verify(&token, at(IAT)), Ok(claims));
}

/// A token without `amr` (issued before it was written) was a password
/// login; an `amr` that names no known set of factors is invalid.
#[test]
fn amr_is_read_as_the_factors_of_the_login() {
    let (_dir, issuer, pem) = eddsa();
    let claims = claims();
    let header = eddsa_header(Some(issuer.signing_kid()));
    let mut without = payload(&claims);
    without.as_object_mut().unwrap().remove("amr");
    let verified = issuer.verify(&sign_eddsa(&header, &without, &pem), at(IAT));
    assert_eq!(verified.map(|c| c.factors), Ok(domain::Factors::Password));
    for amr in [serde_json::json!(["pwd", "face"]), serde_json::json!("pwd")] {
        let mut odd = payload(&claims);
        odd["amr"] = amr;
        let token = sign_eddsa(&header, &odd, &pem);
        assert_eq!(issuer.verify(&token, at(IAT)), Err(TokenError::Invalid));
    }
}

#[test]
fn wrong_issuer_is_invalid() {
    let (dir, issuer, pem) = eddsa();
    let mut other = settings_with_key_file(SigningAlgorithm::EdDsa, dir.path(), "same.pem", &pem);
    other.issuer = "https://someone-else.test".to_owned();
    let other = JwtIssuer::from_settings(&other).unwrap();
    assert_eq!(other.signing_kid(), issuer.signing_kid(), "same key");

    let token = other.issue(&claims()).unwrap();
    assert_eq!(issuer.verify(&token, at(IAT)), Err(TokenError::Invalid));
}

#[test]
fn wrong_audience_is_invalid() {
    let (dir, issuer, pem) = eddsa();
    let mut other = settings_with_key_file(SigningAlgorithm::EdDsa, dir.path(), "same.pem", &pem);
    other.audience = "another-api".to_owned();
    let other = JwtIssuer::from_settings(&other).unwrap();

    let token = other.issue(&claims()).unwrap();
    assert_eq!(issuer.verify(&token, at(IAT)), Err(TokenError::Invalid));

    // An audience list is not accepted either when it lacks ours.
    let mut payload = payload(&claims());
    payload["aud"] = serde_json::json!(["another-api"]);
    let token = sign_eddsa(&eddsa_header(Some(issuer.signing_kid())), &payload, &pem);
    assert_eq!(issuer.verify(&token, at(IAT)), Err(TokenError::Invalid));
}

#[test]
fn missing_or_malformed_claims_are_invalid() {
    let (_dir, issuer, pem) = eddsa();
    let header = eddsa_header(Some(issuer.signing_kid()));
    for claim in ["iss", "aud", "sub", "sid", "jti", "iat", "exp"] {
        let mut payload = payload(&claims());
        payload.as_object_mut().unwrap().remove(claim);
        let token = sign_eddsa(&header, &payload, &pem);
        assert_eq!(
            issuer.verify(&token, at(IAT)),
            Err(TokenError::Invalid),
            "without {claim}"
        );
    }
    for (claim, value) in [
        ("sub", serde_json::json!("not-a-uuid")),
        ("sid", serde_json::json!(42)),
        ("jti", serde_json::json!("")),
        ("exp", serde_json::json!("tomorrow")),
        ("iat", serde_json::json!(null)),
        ("exp", serde_json::json!(i64::MAX)),
    ] {
        let mut payload = payload(&claims());
        payload[claim] = value.clone();
        let token = sign_eddsa(&header, &payload, &pem);
        assert_eq!(
            issuer.verify(&token, at(IAT)),
            Err(TokenError::Invalid),
            "{claim} = {value}"
        );
    }
}

#[test]
fn tampered_payload_is_invalid() {
    let (_dir, issuer, _) = eddsa();
    let token = issuer.issue(&claims()).unwrap();
    let [header, payload, signature] = parts(&token);
    let mut forged = json_part(&payload);
    forged["sub"] = serde_json::json!(claims().user_id.to_string());
    let forged = format!("{header}.{}.{signature}", encode_json(&forged));
    assert_eq!(issuer.verify(&forged, at(IAT)), Err(TokenError::Invalid));
}

/// The token with the first byte of its signature flipped.
fn flip_signature(token: &str) -> String {
    let [header, payload, signature] = parts(token);
    let mut signature = unb64(&signature);
    signature[0] ^= 0x01;
    format!("{header}.{payload}.{}", b64(&signature))
}

#[test]
fn bad_signature_is_invalid() {
    let (_dir, issuer, _) = eddsa();
    let token = issuer.issue(&claims()).unwrap();
    assert_eq!(
        issuer.verify(&flip_signature(&token), at(IAT)),
        Err(TokenError::Invalid)
    );
    let [header, payload, _] = parts(&token);
    for forged in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        assert_eq!(issuer.verify(&forged, at(IAT)), Err(TokenError::Invalid));
    }
}

#[test]
fn bad_signature_on_an_expired_token_is_invalid_not_expired() {
    let (_dir, issuer, _) = eddsa();
    let token = flip_signature(&issuer.issue(&claims()).unwrap());
    assert_eq!(
        issuer.verify(&token, at(IAT + LIFETIME + 3600)),
        Err(TokenError::Invalid)
    );
}

#[test]
fn unknown_kid_is_invalid() {
    let (_dir, issuer, _) = eddsa();
    // Another key's token: its kid is unknown here.
    let (_other_dir, other, other_pem) = eddsa();
    let token = other.issue(&claims()).unwrap();
    assert_eq!(issuer.verify(&token, at(IAT)), Err(TokenError::Invalid));

    // A kid that names no key at all.
    let token = sign_eddsa(
        &eddsa_header(Some("no-such-key")),
        &payload(&claims()),
        &other_pem,
    );
    assert_eq!(issuer.verify(&token, at(IAT)), Err(TokenError::Invalid));

    // Our kid on a token signed by another key.
    let token = sign_eddsa(
        &eddsa_header(Some(issuer.signing_kid())),
        &payload(&claims()),
        &other_pem,
    );
    assert_eq!(issuer.verify(&token, at(IAT)), Err(TokenError::Invalid));
}

#[test]
fn missing_kid_is_invalid() {
    let (_dir, issuer, pem) = eddsa();
    let token = sign_eddsa(&eddsa_header(None), &payload(&claims()), &pem);
    assert_eq!(issuer.verify(&token, at(IAT)), Err(TokenError::Invalid));
}

#[test]
fn alg_none_is_invalid() {
    let (_dir, issuer, _) = eddsa();
    let token = issuer.issue(&claims()).unwrap();
    let [_, payload, signature] = parts(&token);
    for header in [
        serde_json::json!({"alg": "none"}),
        serde_json::json!({"alg": "none", "typ": "JWT", "kid": issuer.signing_kid()}),
        serde_json::json!({"alg": "None", "kid": issuer.signing_kid()}),
    ] {
        let header = encode_json(&header);
        for forged in [
            format!("{header}.{payload}."),
            format!("{header}.{payload}.{signature}"),
        ] {
            assert_eq!(issuer.verify(&forged, at(IAT)), Err(TokenError::Invalid));
        }
    }
}

#[test]
fn hs256_keyed_with_our_public_key_is_invalid() {
    let (_dir, issuer, pem) = eddsa();
    let public_pem = public_pem(SigningAlgorithm::EdDsa, &pem);
    let x = {
        use rsa::pkcs8::DecodePrivateKey as _;
        ed25519_dalek::SigningKey::from_pkcs8_pem(&pem)
            .unwrap()
            .verifying_key()
            .to_bytes()
    };
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(issuer.signing_kid().to_owned());
    for secret in [&x[..], public_pem.as_bytes()] {
        let key = EncodingKey::from_secret(secret);
        let token = jsonwebtoken::encode(&header, &payload(&claims()), &key).unwrap();
        assert_eq!(issuer.verify(&token, at(IAT)), Err(TokenError::Invalid));
    }
}

#[test]
fn another_asymmetric_algorithm_is_invalid() {
    // An ES256 token, even carrying our kid, is refused by an EdDSA issuer.
    let dir = tempfile::tempdir().unwrap();
    let (eddsa, _) = issuer_with_key_file(SigningAlgorithm::EdDsa, dir.path());
    let es_dir = tempfile::tempdir().unwrap();
    let (_, es_pem) = issuer_with_key_file(SigningAlgorithm::Es256, es_dir.path());
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(eddsa.signing_kid().to_owned());
    let key = EncodingKey::from_ec_pem(es_pem.as_bytes()).unwrap();
    let token = jsonwebtoken::encode(&header, &payload(&claims()), &key).unwrap();
    assert_eq!(eddsa.verify(&token, at(IAT)), Err(TokenError::Invalid));
}

#[test]
fn expiry_is_exact() {
    let (_dir, issuer, _) = eddsa();
    let claims = claims();
    let exp = IAT + LIFETIME;
    let token = issuer.issue(&claims).unwrap();
    assert_eq!(issuer.verify(&token, at(exp - 1)), Ok(claims.clone()));
    assert_eq!(
        issuer.verify(&token, at(exp - 1) + time::Duration::milliseconds(999)),
        Ok(claims)
    );
    assert_eq!(issuer.verify(&token, at(exp)), Err(TokenError::Expired));
    assert_eq!(issuer.verify(&token, at(exp + 1)), Err(TokenError::Expired));
    assert_eq!(
        issuer.verify(&token, at(exp + 86_400)),
        Err(TokenError::Expired)
    );
}

#[test]
fn garbage_is_invalid() {
    let (_dir, issuer, _) = eddsa();
    let token = issuer.issue(&claims()).unwrap();
    let [header, payload, signature] = parts(&token);
    for garbage in [
        String::new(),
        "garbage".to_owned(),
        "a.b.c".to_owned(),
        "..".to_owned(),
        format!("{header}.{payload}.{signature}.extra"),
        format!("{payload}.{header}.{signature}"),
        format!("Bearer {token}"),
        format!("{token} "),
        "\u{0}\u{ffff}".to_owned(),
    ] {
        assert_eq!(
            issuer.verify(&garbage, at(IAT)),
            Err(TokenError::Invalid),
            "{garbage:?}"
        );
    }
}
