//! The refresh-token successor key: a keyed, deterministic derivation,
//! loaded from a file or generated once and reused.

use std::fs;

use adapter_jwt::{KeyError, RefreshKey};
use ports::RefreshTokenDeriver;
use secrecy::ExposeSecret;

const KEY: &str = "0123456789abcdef0123456789abcdef";

fn key_in_file(dir: &tempfile::TempDir, text: &str) -> RefreshKey {
    let path = dir.path().join("refresh.key");
    fs::write(&path, text).unwrap();
    RefreshKey::load(Some(&path), dir.path()).expect("load the refresh key")
}

fn successor(key: &RefreshKey, presented: &str) -> String {
    key.successor(presented).expose_secret().to_owned()
}

#[test]
fn a_successor_is_hmac_sha256_of_the_labelled_token() {
    let dir = tempfile::tempdir().unwrap();
    // Computed independently: base64url(HMAC-SHA-256(KEY,
    // "authd refresh-token successor v1\0" || "presented-token")).
    assert_eq!(
        successor(&key_in_file(&dir, &format!("{KEY}\n")), "presented-token"),
        "DkZCNaCkMnHOR9RScQ4KUJHrib_y7KA-1OPX4rzbGTI"
    );
}

#[test]
fn one_token_has_one_successor_and_tokens_or_keys_differ() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_in_file(&dir, KEY);
    let other_key = key_in_file(&tempfile::tempdir().unwrap(), &KEY.repeat(2));
    let first = successor(&key, "token-a");
    assert_eq!(first, successor(&key, "token-a"));
    assert_ne!(first, successor(&key, "token-b"));
    assert_ne!(first, successor(&other_key, "token-a"));
    assert_eq!(first.len(), 43, "256 bits, base64url without padding");
    assert!(
        first
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
}

#[test]
fn a_generated_key_is_kept_private_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let first = RefreshKey::load(None, dir.path()).unwrap();
    let again = RefreshKey::load(None, dir.path()).unwrap();
    assert_eq!(successor(&first, "t"), successor(&again, "t"));
    let other_dir = tempfile::tempdir().unwrap();
    let elsewhere = RefreshKey::load(None, other_dir.path()).unwrap();
    assert_ne!(successor(&first, "t"), successor(&elsewhere, "t"));
    let file = dir.path().join("keys/refresh-successor.key");
    assert!(fs::read_to_string(&file).unwrap().trim().len() >= 43);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_short_or_missing_key_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.key");
    fs::write(&short, "too short\n").unwrap();
    assert!(matches!(
        RefreshKey::load(Some(&short), dir.path()),
        Err(KeyError::InvalidKey { .. })
    ));
    assert!(matches!(
        RefreshKey::load(Some(&dir.path().join("absent.key")), dir.path()),
        Err(KeyError::Read { .. })
    ));
}

#[test]
fn its_debug_shows_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let shown = format!("{:?}", key_in_file(&dir, KEY));
    assert!(!shown.contains(KEY), "{shown}");
}
