//! Shared helpers: settings, claims, key PEMs and token surgery.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use adapter_jwt::{JwtIssuer, JwtSettings, SigningAlgorithm};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::{AccessClaims, SessionId, UserId};
use rand::rngs::OsRng;
use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use time::OffsetDateTime;
use uuid::Uuid;

pub const ISSUER: &str = "https://auth.example.test";
pub const AUDIENCE: &str = "example-api";
/// A fixed `iat`; tests verify against a fixed clock, never the real one.
pub const IAT: i64 = 1_700_000_000;
/// The token lifetime used in tests: 15 minutes.
pub const LIFETIME: i64 = 900;
pub const HMAC_SECRET: &str = "0123456789abcdef0123456789abcdef-test-secret";

pub fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

pub fn claims() -> AccessClaims {
    AccessClaims {
        user_id: UserId::generate(),
        session_id: SessionId::generate(),
        token_id: Uuid::now_v7(),
        issued_at: at(IAT),
        expires_at: at(IAT + LIFETIME),
        factors: domain::Factors::PasswordAndOtp,
    }
}

/// Settings for `algorithm` with everything generated under `data_dir`
/// (HS256 gets a configured secret).
pub fn settings(algorithm: SigningAlgorithm, data_dir: &Path) -> JwtSettings {
    let mut settings = JwtSettings::new(ISSUER, AUDIENCE, data_dir);
    settings.algorithm = algorithm;
    if algorithm == SigningAlgorithm::Hs256 {
        settings.hmac_secret = Some(HMAC_SECRET.into());
    }
    settings
}

/// Settings whose signing key is `pem`, written to `<dir>/<name>`.
pub fn settings_with_key_file(
    algorithm: SigningAlgorithm,
    dir: &Path,
    name: &str,
    pem: &str,
) -> JwtSettings {
    let mut settings = settings(algorithm, &dir.join("data"));
    settings.private_key_path = Some(write(dir, name, pem));
    settings
}

pub fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// An issuer signing with a fresh key file (the shared RSA key for RS256),
/// and that key's private PEM.
pub fn issuer_with_key_file(algorithm: SigningAlgorithm, dir: &Path) -> (JwtIssuer, String) {
    let pem = private_pem(algorithm);
    let settings = settings_with_key_file(algorithm, dir, "signing.pem", &pem);
    (JwtIssuer::from_settings(&settings).unwrap(), pem)
}

/// A private key PEM (PKCS#8). Fresh for EdDSA and ES256; RS256 always
/// returns the one shared RSA key, since RSA generation is slow.
pub fn private_pem(algorithm: SigningAlgorithm) -> String {
    match algorithm {
        SigningAlgorithm::EdDsa => ed25519_dalek::SigningKey::generate(&mut OsRng)
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap()
            .to_string(),
        SigningAlgorithm::Es256 => p256::SecretKey::random(&mut OsRng)
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap()
            .to_string(),
        SigningAlgorithm::Rs256 => shared_rsa_pem().to_owned(),
        SigningAlgorithm::Hs256 => panic!("HS256 has no PEM key"),
    }
}

/// The SPKI PEM of a private key PEM.
pub fn public_pem(algorithm: SigningAlgorithm, private_pem: &str) -> String {
    use rsa::pkcs8::DecodePrivateKey as _;
    match algorithm {
        SigningAlgorithm::EdDsa => ed25519_dalek::SigningKey::from_pkcs8_pem(private_pem)
            .unwrap()
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap(),
        SigningAlgorithm::Es256 => p256::SecretKey::from_pkcs8_pem(private_pem)
            .unwrap()
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap(),
        SigningAlgorithm::Rs256 => rsa::RsaPrivateKey::from_pkcs8_pem(private_pem)
            .unwrap()
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap(),
        SigningAlgorithm::Hs256 => panic!("HS256 has no PEM key"),
    }
}

/// The one RSA key of this test binary. It is made by the issuer itself,
/// generating into an empty data directory, so this also exercises RSA key
/// generation (once: 2048-bit generation is slow in a debug build).
pub fn shared_rsa_pem() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let issuer =
            JwtIssuer::from_settings(&settings(SigningAlgorithm::Rs256, dir.path())).unwrap();
        let path = dir.path().join("keys").join("jwt-rs256.pem");
        let pem = std::fs::read_to_string(path).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        // The file is the key the issuer signs with.
        let again =
            JwtIssuer::from_settings(&settings(SigningAlgorithm::Rs256, dir.path())).unwrap();
        assert_eq!(issuer.signing_kid(), again.signing_kid());
        pem
    })
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(part: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(part).unwrap()
}

/// The three parts of a compact JWS.
pub fn parts(token: &str) -> [String; 3] {
    let parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts.try_into().unwrap()
}

/// A JSON part (header or payload) of a token.
pub fn json_part(part: &str) -> serde_json::Value {
    serde_json::from_slice(&unb64(part)).unwrap()
}

pub fn encode_json(value: &serde_json::Value) -> String {
    b64(&serde_json::to_vec(value).unwrap())
}

/// The payload our issuer would write for `claims`, as JSON.
pub fn payload(claims: &AccessClaims) -> serde_json::Value {
    serde_json::json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": claims.user_id.to_string(),
        "sid": claims.session_id.to_string(),
        "jti": claims.token_id.to_string(),
        "iat": claims.issued_at.unix_timestamp(),
        "exp": claims.expires_at.unix_timestamp(),
        "amr": claims.factors.amr(),
    })
}
