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

/// A generated key file is PKCS#8 PEM, mode 0600, never written over; its
/// `kid` is the one the issuer signs with. Listed as a verification key
/// while still a private key, it publishes its public half: the first step
/// of a rotation needs no conversion.
#[test]
fn generated_key_files_rotate_in_as_they_are() {
    use adapter_jwt::{KeyEntry, generate_key_file};
    let dir = tempfile::tempdir().unwrap();
    let (old_path, new_path) = (dir.path().join("a/old.pem"), dir.path().join("a/new.pem"));
    let old_kid = generate_key_file(SigningAlgorithm::EdDsa, &old_path).unwrap();
    let new_kid = generate_key_file(SigningAlgorithm::EdDsa, &new_path).unwrap();
    assert_ne!(old_kid, new_kid);
    let before = std::fs::read(&old_path).unwrap();
    assert!(matches!(
        generate_key_file(SigningAlgorithm::EdDsa, &old_path),
        Err(KeyError::Write { .. })
    ));
    assert_eq!(
        std::fs::read(&old_path).unwrap(),
        before,
        "never written over"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&old_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(matches!(
        generate_key_file(SigningAlgorithm::Hs256, &dir.path().join("s")),
        Err(KeyError::NotApplicable { .. })
    ));

    let mut publishing = settings(SigningAlgorithm::EdDsa, dir.path());
    publishing.private_key_path = Some(old_path.clone());
    publishing.verification_key_paths = vec![new_path.clone()];
    let publishing = JwtIssuer::from_settings(&publishing).unwrap();
    assert_eq!(publishing.signing_kid(), old_kid);
    assert_eq!(
        publishing.key_set(),
        [
            KeyEntry {
                kid: old_kid.clone(),
                signs: true,
                source: Some(old_path.clone()),
            },
            KeyEntry {
                kid: new_kid.clone(),
                signs: false,
                source: Some(new_path.clone()),
            },
        ]
    );
    let published: Vec<_> = publishing.public_keys();
    assert_eq!(published.len(), 2);
    for jwk in &published {
        assert!(!jwk.0.contains_key("d"), "no private member is published");
        assert_eq!(jwk.0["use"], "sig");
        assert_eq!(jwk.0["alg"], "EdDSA");
    }

    let mut swapped = settings(SigningAlgorithm::EdDsa, dir.path());
    swapped.private_key_path = Some(new_path);
    swapped.verification_key_paths = vec![old_path];
    let swapped = JwtIssuer::from_settings(&swapped).unwrap();
    assert_eq!(swapped.signing_kid(), new_kid);
    let claims = claims();
    let old_token = publishing.issue(&claims).unwrap();
    assert_eq!(swapped.verify(&old_token, at(IAT)), Ok(claims.clone()));
    let new_token = swapped.issue(&claims).unwrap();
    assert_eq!(publishing.verify(&new_token, at(IAT)), Ok(claims));
}
