//! A generated key is made once, persisted, and reused on every start.

use std::path::Path;
use std::sync::{Arc, Barrier};

use adapter_jwt::{JwtIssuer, SigningAlgorithm};
use ports::TokenIssuer;

use crate::common::{IAT, at, claims, settings, shared_rsa_pem, write};

fn assert_generated_once(algorithm: SigningAlgorithm, data_dir: &Path) {
    let mut settings = settings(algorithm, data_dir);
    settings.hmac_secret = None;
    let first = JwtIssuer::from_settings(&settings).unwrap();

    let path = data_dir
        .join("keys")
        .join(algorithm.generated_key_file_name());
    let contents = std::fs::read_to_string(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }

    let second = JwtIssuer::from_settings(&settings).unwrap();
    assert_eq!(first.signing_kid(), second.signing_kid());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), contents);

    let claims = claims();
    let token = first.issue(&claims).unwrap();
    assert_eq!(second.verify(&token, at(IAT)), Ok(claims));
    // Nothing but the key file is left behind.
    assert_eq!(std::fs::read_dir(data_dir.join("keys")).unwrap().count(), 1);
}

#[test]
fn eddsa_key_is_generated_once_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    assert_generated_once(SigningAlgorithm::EdDsa, dir.path());
}

#[test]
fn es256_key_is_generated_once_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    assert_generated_once(SigningAlgorithm::Es256, dir.path());
}

#[test]
fn hs256_secret_is_generated_once_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    assert_generated_once(SigningAlgorithm::Hs256, dir.path());
    let secret = std::fs::read_to_string(dir.path().join("keys/jwt-hs256.secret")).unwrap();
    assert!(secret.trim().len() >= 64, "a long random secret");
}

#[test]
fn rs256_generated_key_file_is_loaded_on_later_starts() {
    // RSA generation itself runs once per test binary, in `shared_rsa_pem`.
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    write(&keys, "jwt-rs256.pem", shared_rsa_pem());

    let generated =
        JwtIssuer::from_settings(&settings(SigningAlgorithm::Rs256, dir.path())).unwrap();
    let mut from_file = settings(SigningAlgorithm::Rs256, dir.path());
    from_file.private_key_path = Some(keys.join("jwt-rs256.pem"));
    let from_file = JwtIssuer::from_settings(&from_file).unwrap();
    assert_eq!(generated.signing_kid(), from_file.signing_kid());
    assert_eq!(std::fs::read_dir(&keys).unwrap().count(), 1);
}

#[test]
fn missing_parent_directories_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("a").join("b");
    let issuer = JwtIssuer::from_settings(&settings(SigningAlgorithm::EdDsa, &data_dir)).unwrap();
    assert!(data_dir.join("keys/jwt-eddsa.pem").is_file());
    let claims = claims();
    let token = issuer.issue(&claims).unwrap();
    assert_eq!(issuer.verify(&token, at(IAT)), Ok(claims));
}

#[test]
fn concurrent_first_starts_agree_on_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(SigningAlgorithm::EdDsa, dir.path());
    let barrier = Arc::new(Barrier::new(8));
    let kids: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                let settings = &settings;
                scope.spawn(move || {
                    barrier.wait();
                    JwtIssuer::from_settings(settings)
                        .unwrap()
                        .signing_kid()
                        .to_owned()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(kids.iter().all(|kid| kid == &kids[0]), "{kids:?}");
    let later = JwtIssuer::from_settings(&settings).unwrap();
    assert_eq!(later.signing_kid(), kids[0]);
    assert_eq!(
        std::fs::read_dir(dir.path().join("keys")).unwrap().count(),
        1
    );
}
