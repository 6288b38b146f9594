//! Key rotation: one key signs, several verify and are published.

use adapter_jwt::{JwtIssuer, KeyError, SigningAlgorithm};
use ports::{TokenError, TokenIssuer};

use crate::common::{
    IAT, at, claims, issuer_with_key_file, private_pem, public_pem, settings,
    settings_with_key_file, shared_rsa_pem, write,
};

fn assert_rotation(algorithm: SigningAlgorithm) {
    let dir = tempfile::tempdir().unwrap();
    let (old, old_pem) = issuer_with_key_file(algorithm, &dir.path().join("old"));

    let mut new = settings_with_key_file(algorithm, dir.path(), "new.pem", &private_pem(algorithm));
    new.verification_key_paths = vec![write(
        dir.path(),
        "old.pub.pem",
        &public_pem(algorithm, &old_pem),
    )];
    let new = JwtIssuer::from_settings(&new).unwrap();
    assert_ne!(new.signing_kid(), old.signing_kid());

    // The new issuer verifies the old key's tokens and signs with its own.
    let claims = claims();
    let old_token = old.issue(&claims).unwrap();
    assert_eq!(new.verify(&old_token, at(IAT)), Ok(claims.clone()));
    let new_token = new.issue(&claims).unwrap();
    assert_eq!(new.verify(&new_token, at(IAT)), Ok(claims));
    assert_eq!(old.verify(&new_token, at(IAT)), Err(TokenError::Invalid));

    // Both keys are published, the signing key first.
    let kids: Vec<String> = new
        .public_keys()
        .into_iter()
        .map(|jwk| jwk.0["kid"].clone())
        .collect();
    assert_eq!(kids, [new.signing_kid(), old.signing_kid()]);
}

#[test]
fn eddsa_rotation() {
    assert_rotation(SigningAlgorithm::EdDsa);
}

#[test]
fn es256_rotation() {
    assert_rotation(SigningAlgorithm::Es256);
}

#[test]
fn rs256_verification_key_is_loaded_and_deduplicated() {
    // One RSA key per test binary: list the signing key's own public key
    // (SPKI and PKCS#1); it is published once.
    use rsa::pkcs1::EncodeRsaPublicKey as _;
    use rsa::pkcs8::DecodePrivateKey as _;
    let dir = tempfile::tempdir().unwrap();
    let pem = shared_rsa_pem();
    let pkcs1 = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
        .unwrap()
        .to_public_key()
        .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();
    let mut settings = settings_with_key_file(SigningAlgorithm::Rs256, dir.path(), "rsa.pem", pem);
    settings.verification_key_paths = vec![
        write(
            dir.path(),
            "rsa.pub.pem",
            &public_pem(SigningAlgorithm::Rs256, pem),
        ),
        write(dir.path(), "rsa.pkcs1.pub.pem", &pkcs1),
    ];
    let issuer = JwtIssuer::from_settings(&settings).unwrap();
    assert_eq!(issuer.public_keys().len(), 1);
    let claims = claims();
    let token = issuer.issue(&claims).unwrap();
    assert_eq!(issuer.verify(&token, at(IAT)), Ok(claims));
}

#[test]
fn a_verification_key_of_another_algorithm_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let es_public = public_pem(
        SigningAlgorithm::Es256,
        &private_pem(SigningAlgorithm::Es256),
    );
    let path = write(dir.path(), "es256.pub.pem", &es_public);
    let mut settings = settings(SigningAlgorithm::EdDsa, &dir.path().join("data"));
    settings.verification_key_paths = vec![path.clone()];
    let err = JwtIssuer::from_settings(&settings).unwrap_err();
    assert!(
        matches!(&err, KeyError::InvalidKey { path: p, .. } if *p == path),
        "{err:?}"
    );
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
}

#[test]
fn a_private_key_as_verification_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "private.pem",
        &private_pem(SigningAlgorithm::EdDsa),
    );
    let mut settings = settings(SigningAlgorithm::EdDsa, &dir.path().join("data"));
    settings.verification_key_paths = vec![path];
    assert!(matches!(
        JwtIssuer::from_settings(&settings),
        Err(KeyError::InvalidKey { .. })
    ));
}

#[test]
fn hs256_takes_no_verification_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "eddsa.pub.pem",
        &public_pem(
            SigningAlgorithm::EdDsa,
            &private_pem(SigningAlgorithm::EdDsa),
        ),
    );
    let mut settings = settings(SigningAlgorithm::Hs256, dir.path());
    settings.verification_key_paths = vec![path];
    assert!(matches!(
        JwtIssuer::from_settings(&settings),
        Err(KeyError::NotApplicable {
            setting: "verification_key_paths",
            ..
        })
    ));
}
