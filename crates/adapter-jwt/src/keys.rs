//! Keys from PEM text: signing and verifying keys of each algorithm, their
//! `kid` (the RFC 7638 thumbprint) and the JWK that publishes them.

use std::collections::BTreeMap;
use std::path::Path;

use jsonwebtoken::{DecodingKey, EncodingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
// zeroize, as re-exported by the RustCrypto crates already in the tree.
use p256::elliptic_curve::zeroize::Zeroizing;
use ports::PublicJwk;
use rsa::pkcs1::{DecodeRsaPrivateKey as _, DecodeRsaPublicKey as _, EncodeRsaPrivateKey as _};
use rsa::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _};
use rsa::traits::PublicKeyParts as _;
use rsa::{RsaPrivateKey, RsaPublicKey};

use crate::algorithm::SigningAlgorithm;
use crate::error::KeyError;
use crate::jwk::{b64url, thumbprint};

/// The shortest HS256 secret accepted, in bytes (the size of the hash).
pub(crate) const MIN_HMAC_SECRET_LEN: usize = 32;
/// The size of a generated RSA key, in bits; also the smallest accepted.
pub(crate) const RSA_BITS: usize = 2048;

/// A key that verifies tokens, with its `kid` and, for an asymmetric key,
/// the JWK that publishes it.
#[derive(Clone)]
pub(crate) struct PublicKey {
    pub(crate) kid: String,
    pub(crate) decoding: DecodingKey,
    pub(crate) jwk: Option<PublicJwk>,
}

/// The key that signs tokens, and its verifying half.
pub(crate) struct SigningKey {
    pub(crate) encoding: EncodingKey,
    pub(crate) public: PublicKey,
}

/// Parses a private key PEM for `algorithm`: PKCS#8 for EdDSA and ES256,
/// PKCS#8 or PKCS#1 for RS256.
pub(crate) fn signing_key_from_pem(
    algorithm: SigningAlgorithm,
    pem: &str,
    path: &Path,
) -> Result<SigningKey, KeyError> {
    let reencode = || invalid(path, "the private key cannot be re-encoded");
    match algorithm {
        SigningAlgorithm::EdDsa => {
            let key = ed25519_dalek::SigningKey::from_pkcs8_pem(pem).map_err(|_| {
                invalid(
                    path,
                    "not an Ed25519 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)",
                )
            })?;
            let der = key.to_pkcs8_der().map_err(|_| reencode())?;
            Ok(SigningKey {
                encoding: EncodingKey::from_ed_der(der.as_bytes()),
                public: ed25519_public(&key.verifying_key()),
            })
        }
        SigningAlgorithm::Es256 => {
            let key = p256::SecretKey::from_pkcs8_pem(pem).map_err(|_| {
                invalid(
                    path,
                    "not a P-256 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)",
                )
            })?;
            let der = key.to_pkcs8_der().map_err(|_| reencode())?;
            Ok(SigningKey {
                encoding: EncodingKey::from_ec_der(der.as_bytes()),
                public: p256_public(&key.public_key(), path)?,
            })
        }
        SigningAlgorithm::Rs256 => {
            let key = RsaPrivateKey::from_pkcs8_pem(pem)
                .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
                .map_err(|_| {
                    invalid(
                        path,
                        "not an RSA private key in PKCS#8 or PKCS#1 PEM \
                         (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)",
                    )
                })?;
            let public = key.to_public_key();
            check_rsa_size(&public, path)?;
            // jsonwebtoken's RustCrypto backend signs with a PKCS#1 DER key.
            let der = key.to_pkcs1_der().map_err(|_| reencode())?;
            Ok(SigningKey {
                encoding: EncodingKey::from_rsa_der(der.as_bytes()),
                public: rsa_public(&public),
            })
        }
        SigningAlgorithm::Hs256 => Err(KeyError::NotApplicable {
            setting: "a private key file",
            algorithm,
        }),
    }
}

/// Parses a key PEM for `algorithm` for verifying: a public key (SPKI,
/// `-----BEGIN PUBLIC KEY-----`; PKCS#1 too for RSA), or a private key,
/// of which the public half is used (so that a key made to be the next
/// signer can be published as it is, before it signs).
pub(crate) fn public_key_from_pem(
    algorithm: SigningAlgorithm,
    pem: &str,
    path: &Path,
) -> Result<PublicKey, KeyError> {
    if pem.contains("PRIVATE KEY-----") {
        return signing_key_from_pem(algorithm, pem, path).map(|key| key.public);
    }
    match algorithm {
        SigningAlgorithm::EdDsa => {
            let key = ed25519_dalek::VerifyingKey::from_public_key_pem(pem).map_err(|_| {
                invalid(
                    path,
                    "not an Ed25519 public key in SPKI PEM (-----BEGIN PUBLIC KEY-----)",
                )
            })?;
            Ok(ed25519_public(&key))
        }
        SigningAlgorithm::Es256 => {
            let key = p256::PublicKey::from_public_key_pem(pem).map_err(|_| {
                invalid(
                    path,
                    "not a P-256 public key in SPKI PEM (-----BEGIN PUBLIC KEY-----)",
                )
            })?;
            p256_public(&key, path)
        }
        SigningAlgorithm::Rs256 => {
            let key = RsaPublicKey::from_public_key_pem(pem)
                .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
                .map_err(|_| {
                    invalid(
                        path,
                        "not an RSA public key in SPKI or PKCS#1 PEM \
                         (-----BEGIN PUBLIC KEY----- or -----BEGIN RSA PUBLIC KEY-----)",
                    )
                })?;
            check_rsa_size(&key, path)?;
            Ok(rsa_public(&key))
        }
        SigningAlgorithm::Hs256 => Err(KeyError::NotApplicable {
            setting: "a verification key file",
            algorithm,
        }),
    }
}

/// An HS256 key. Its `kid` is the thumbprint of the `oct` JWK: a hash of
/// the secret, which is safe to show for a secret of at least 32 bytes.
pub(crate) fn hmac_key(secret: &[u8]) -> SigningKey {
    let k = Zeroizing::new(b64url(secret));
    let kid = thumbprint(&BTreeMap::from([("k", k.as_str()), ("kty", "oct")]));
    SigningKey {
        encoding: EncodingKey::from_secret(secret),
        public: PublicKey {
            kid,
            decoding: DecodingKey::from_secret(secret),
            jwk: None,
        },
    }
}

fn ed25519_public(key: &ed25519_dalek::VerifyingKey) -> PublicKey {
    let x = b64url(key.as_bytes());
    let kid = thumbprint(&BTreeMap::from([
        ("crv", "Ed25519"),
        ("kty", "OKP"),
        ("x", x.as_str()),
    ]));
    PublicKey {
        decoding: DecodingKey::from_ed_der(key.as_bytes()),
        jwk: Some(published(
            &kid,
            SigningAlgorithm::EdDsa,
            [("kty", "OKP"), ("crv", "Ed25519"), ("x", x.as_str())],
        )),
        kid,
    }
}

fn p256_public(key: &p256::PublicKey, path: &Path) -> Result<PublicKey, KeyError> {
    let point = key.to_encoded_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Err(invalid(path, "the P-256 public key is not a curve point"));
    };
    let (x, y) = (b64url(x), b64url(y));
    let kid = thumbprint(&BTreeMap::from([
        ("crv", "P-256"),
        ("kty", "EC"),
        ("x", x.as_str()),
        ("y", y.as_str()),
    ]));
    Ok(PublicKey {
        decoding: DecodingKey::from_ec_der(point.as_bytes()),
        jwk: Some(published(
            &kid,
            SigningAlgorithm::Es256,
            [
                ("kty", "EC"),
                ("crv", "P-256"),
                ("x", x.as_str()),
                ("y", y.as_str()),
            ],
        )),
        kid,
    })
}

fn rsa_public(key: &RsaPublicKey) -> PublicKey {
    let (n_bytes, e_bytes) = (key.n().to_bytes_be(), key.e().to_bytes_be());
    let (n, e) = (b64url(&n_bytes), b64url(&e_bytes));
    let kid = thumbprint(&BTreeMap::from([
        ("e", e.as_str()),
        ("kty", "RSA"),
        ("n", n.as_str()),
    ]));
    PublicKey {
        decoding: DecodingKey::from_rsa_raw_components(&n_bytes, &e_bytes),
        jwk: Some(published(
            &kid,
            SigningAlgorithm::Rs256,
            [("kty", "RSA"), ("n", n.as_str()), ("e", e.as_str())],
        )),
        kid,
    }
}

fn check_rsa_size(key: &RsaPublicKey, path: &Path) -> Result<(), KeyError> {
    let bits = key.n().bits();
    if bits < RSA_BITS {
        return Err(invalid(
            path,
            format!("the RSA key has {bits} bits; at least {RSA_BITS} are required"),
        ));
    }
    Ok(())
}

/// The JWK that publishes a key: its key members plus `kid`, `alg`, `use`.
fn published<const N: usize>(
    kid: &str,
    algorithm: SigningAlgorithm,
    members: [(&str, &str); N],
) -> PublicJwk {
    let mut jwk: BTreeMap<String, String> = members
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    jwk.insert("kid".to_owned(), kid.to_owned());
    jwk.insert("alg".to_owned(), algorithm.as_str().to_owned());
    jwk.insert("use".to_owned(), "sig".to_owned());
    PublicJwk(jwk)
}

pub(crate) fn invalid(path: &Path, reason: impl Into<String>) -> KeyError {
    KeyError::InvalidKey {
        path: path.to_owned(),
        reason: reason.into(),
    }
}
