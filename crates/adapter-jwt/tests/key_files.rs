//! Configured key files and secrets: what is accepted, and how refusals
//! read.

use adapter_jwt::{JwtIssuer, JwtSettings, KeyError, SigningAlgorithm};
use ports::TokenIssuer;

use crate::common::{
    HMAC_SECRET, IAT, at, claims, private_pem, public_pem, settings, settings_with_key_file,
    shared_rsa_pem, write,
};

fn assert_signs_with(settings: &JwtSettings) -> JwtIssuer {
    let issuer = JwtIssuer::from_settings(settings).unwrap();
    let claims = claims();
    let token = issuer.issue(&claims).unwrap();
    assert_eq!(issuer.verify(&token, at(IAT)), Ok(claims));
    assert!(
        !settings.data_dir.join("keys").exists(),
        "a configured key generates nothing"
    );
    issuer
}

#[test]
fn pkcs8_private_keys_are_loaded() {
    for algorithm in [
        SigningAlgorithm::EdDsa,
        SigningAlgorithm::Es256,
        SigningAlgorithm::Rs256,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let pem = private_pem(algorithm);
        let settings = settings_with_key_file(algorithm, dir.path(), "key.pem", &pem);
        let first = assert_signs_with(&settings);
        // The kid depends on the key only.
        let again = assert_signs_with(&settings);
        assert_eq!(first.signing_kid(), again.signing_kid());
    }
}

#[test]
fn pkcs1_rsa_private_key_is_loaded() {
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    use rsa::pkcs8::DecodePrivateKey as _;
    let dir = tempfile::tempdir().unwrap();
    let pkcs1 = rsa::RsaPrivateKey::from_pkcs8_pem(shared_rsa_pem())
        .unwrap()
        .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();
    assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let pkcs1 = assert_signs_with(&settings_with_key_file(
        SigningAlgorithm::Rs256,
        dir.path(),
        "pkcs1.pem",
        &pkcs1,
    ));
    let pkcs8 = assert_signs_with(&settings_with_key_file(
        SigningAlgorithm::Rs256,
        dir.path(),
        "pkcs8.pem",
        shared_rsa_pem(),
    ));
    assert_eq!(pkcs1.signing_kid(), pkcs8.signing_kid());
}

fn assert_invalid_key_file(algorithm: SigningAlgorithm, contents: &str) {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_with_key_file(algorithm, dir.path(), "bad-key.pem", contents);
    let path = settings.private_key_path.clone().unwrap();
    let err = JwtIssuer::from_settings(&settings).unwrap_err();
    assert!(
        matches!(&err, KeyError::InvalidKey { path: p, .. } if *p == path),
        "{algorithm}: {err:?}"
    );
    let message = err.to_string();
    assert!(message.contains(&*path.to_string_lossy()), "{message}");
    // Never the key material itself.
    for line in contents
        .lines()
        .filter(|l| l.len() > 8 && !l.starts_with("-----"))
    {
        assert!(!message.contains(line), "{message}");
    }
}

#[test]
fn invalid_pem_is_refused_naming_the_file() {
    for algorithm in [
        SigningAlgorithm::EdDsa,
        SigningAlgorithm::Es256,
        SigningAlgorithm::Rs256,
    ] {
        assert_invalid_key_file(algorithm, "");
        assert_invalid_key_file(algorithm, "not a key at all\n");
        assert_invalid_key_file(
            algorithm,
            "-----BEGIN PRIVATE KEY-----\nAAAAAAAAAAAAAAAA\n-----END PRIVATE KEY-----\n",
        );
    }
}

#[test]
fn a_key_of_another_algorithm_is_refused() {
    let ed = private_pem(SigningAlgorithm::EdDsa);
    let ec = private_pem(SigningAlgorithm::Es256);
    assert_invalid_key_file(SigningAlgorithm::EdDsa, &ec);
    assert_invalid_key_file(SigningAlgorithm::Es256, &ed);
    assert_invalid_key_file(SigningAlgorithm::Rs256, &ec);
    assert_invalid_key_file(SigningAlgorithm::EdDsa, shared_rsa_pem());
}

#[test]
fn a_public_key_is_not_a_signing_key() {
    for algorithm in [SigningAlgorithm::EdDsa, SigningAlgorithm::Es256] {
        assert_invalid_key_file(algorithm, &public_pem(algorithm, &private_pem(algorithm)));
    }
}

#[test]
fn a_binary_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.der");
    std::fs::write(&path, [0x30, 0x82, 0xff, 0xfe, 0x00]).unwrap();
    let mut settings = settings(SigningAlgorithm::EdDsa, &dir.path().join("data"));
    settings.private_key_path = Some(path.clone());
    let err = JwtIssuer::from_settings(&settings).unwrap_err();
    assert!(
        matches!(&err, KeyError::InvalidKey { path: p, .. } if *p == path),
        "{err:?}"
    );
}

#[test]
fn a_missing_key_file_is_a_read_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nowhere.pem");
    let mut settings = settings(SigningAlgorithm::EdDsa, &dir.path().join("data"));
    settings.private_key_path = Some(path.clone());
    let err = JwtIssuer::from_settings(&settings).unwrap_err();
    assert!(
        matches!(&err, KeyError::Read { path: p, .. } if *p == path),
        "{err:?}"
    );
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
}

#[test]
fn a_corrupt_generated_key_is_refused_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let path = write(&keys, "jwt-eddsa.pem", "truncated");
    let err = JwtIssuer::from_settings(&settings(SigningAlgorithm::EdDsa, dir.path())).unwrap_err();
    assert!(
        matches!(&err, KeyError::InvalidKey { path: p, .. } if *p == path),
        "{err:?}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "truncated");
}

#[test]
fn a_data_dir_that_cannot_hold_keys_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the data directory should be.
    let data_dir = write(dir.path(), "data", "");
    let err = JwtIssuer::from_settings(&settings(SigningAlgorithm::EdDsa, &data_dir)).unwrap_err();
    assert!(
        matches!(&err, KeyError::Read { .. } | KeyError::CreateDir { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&*data_dir.to_string_lossy()),
        "{err}"
    );
}

#[test]
fn hs256_secret_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut short = settings(SigningAlgorithm::Hs256, dir.path());
    short.hmac_secret = Some("31-bytes-is-one-byte-too-short!".into());
    assert!(matches!(
        JwtIssuer::from_settings(&short),
        Err(KeyError::HmacSecretTooShort { len: 31, min: 32 })
    ));

    let mut exactly = settings(SigningAlgorithm::Hs256, dir.path());
    exactly.hmac_secret = Some("32-bytes-is-exactly-long-enough!".into());
    JwtIssuer::from_settings(&exactly).unwrap();

    let mut with_key = settings(SigningAlgorithm::Hs256, dir.path());
    with_key.private_key_path = Some(write(
        dir.path(),
        "k.pem",
        &private_pem(SigningAlgorithm::EdDsa),
    ));
    assert!(matches!(
        JwtIssuer::from_settings(&with_key),
        Err(KeyError::NotApplicable {
            setting: "private_key_path",
            ..
        })
    ));

    let mut secret_with_eddsa = settings(SigningAlgorithm::EdDsa, dir.path());
    secret_with_eddsa.hmac_secret = Some(HMAC_SECRET.into());
    assert!(matches!(
        JwtIssuer::from_settings(&secret_with_eddsa),
        Err(KeyError::NotApplicable {
            setting: "hmac_secret",
            ..
        })
    ));
}

#[test]
fn debug_output_shows_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(SigningAlgorithm::Hs256, dir.path());
    let issuer = JwtIssuer::from_settings(&settings).unwrap();
    for debug in [format!("{settings:?}"), format!("{issuer:?}")] {
        assert!(!debug.contains(HMAC_SECRET), "{debug}");
    }
    assert!(format!("{issuer:?}").contains(issuer.signing_kid()));

    let pem = private_pem(SigningAlgorithm::EdDsa);
    let settings = settings_with_key_file(SigningAlgorithm::EdDsa, dir.path(), "k.pem", &pem);
    let debug = format!("{:?}", JwtIssuer::from_settings(&settings).unwrap());
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(!debug.contains(&body), "{debug}");
}
