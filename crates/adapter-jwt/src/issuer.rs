use std::fmt;
use std::path::{Path, PathBuf};

use domain::{AccessClaims, Factors, SessionId, UserId};
use jsonwebtoken::{EncodingKey, Header, Validation, decode, decode_header, encode};
use ports::{PublicJwk, TokenError, TokenIssuer};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::algorithm::SigningAlgorithm;
use crate::error::KeyError;
use crate::key_files;
use crate::keys::{self, MIN_HMAC_SECRET_LEN, PublicKey, SigningKey};

/// How access tokens are signed and verified.
#[derive(Debug, Clone)]
pub struct JwtSettings {
    /// The signing algorithm; every key must be of this algorithm.
    pub algorithm: SigningAlgorithm,
    /// The `iss` claim written into tokens and required when verifying.
    pub issuer: String,
    /// The `aud` claim written into tokens and required when verifying.
    pub audience: String,
    /// The signing key, a PEM private key file: PKCS#8 for EdDSA and ES256,
    /// PKCS#8 or PKCS#1 for RS256. Not used with HS256. When `None`, a key
    /// is generated once under `<data_dir>/keys/` and reused.
    pub private_key_path: Option<PathBuf>,
    /// Extra public keys (SPKI PEM) of the same algorithm that also verify
    /// tokens and are published in the JWKS, e.g. the previous signing key
    /// during a rotation. Not used with HS256.
    pub verification_key_paths: Vec<PathBuf>,
    /// The HS256 secret, at least 32 bytes. Only used with HS256; when
    /// `None`, a secret is generated once under `<data_dir>/keys/` and
    /// reused. Never printed (its `Debug` is redacted).
    pub hmac_secret: Option<SecretString>,
    /// The service's data directory; generated keys live in its `keys/`
    /// subdirectory.
    pub data_dir: PathBuf,
}

impl JwtSettings {
    /// Settings for the default algorithm (EdDSA) with a key generated
    /// under `data_dir`, no extra verification keys.
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        data_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            algorithm: SigningAlgorithm::default(),
            issuer: issuer.into(),
            audience: audience.into(),
            private_key_path: None,
            verification_key_paths: Vec::new(),
            hmac_secret: None,
            data_dir: data_dir.into(),
        }
    }
}

/// One key of the set, as `authd keys list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEntry {
    /// Its `kid`, the RFC 7638 thumbprint.
    pub kid: String,
    /// Whether it signs new tokens (exactly one does); the others verify only.
    pub signs: bool,
    /// The file it was read from; `None` for an HS256 secret given as a
    /// setting.
    pub source: Option<PathBuf>,
}

/// Writes a new private key for `algorithm` to `path` (PEM, mode 0600,
/// never over an existing file) and returns its `kid`.
///
/// # Errors
/// [`KeyError`] if `path` exists or cannot be written, or for HS256, whose
/// secret is a setting rather than a key file.
pub fn generate_key_file(algorithm: SigningAlgorithm, path: &Path) -> Result<String, KeyError> {
    let pem = key_files::generate_key_file(algorithm, path)?;
    Ok(keys::signing_key_from_pem(algorithm, &pem, path)?
        .public
        .kid)
}

/// Issues and verifies JWT access tokens: one key signs, every configured
/// key verifies (chosen by `kid`).
pub struct JwtIssuer {
    algorithm: SigningAlgorithm,
    issuer: String,
    audience: String,
    header: Header,
    encoding: EncodingKey,
    /// The signing key's public half first, then the extra keys.
    verifying: Vec<PublicKey>,
    /// Where each of `verifying` was read from, in the same order.
    sources: Vec<Option<PathBuf>>,
    validation: Validation,
}

/// The claims as written into a token.
#[derive(Serialize)]
struct OutgoingClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: Uuid,
    sid: Uuid,
    jti: Uuid,
    iat: i64,
    exp: i64,
    amr: &'static [&'static str],
}

/// The claims read back from a token; `iss` and `aud` are checked by
/// `jsonwebtoken`'s validation.
#[derive(Deserialize)]
struct IncomingClaims {
    sub: Uuid,
    sid: Uuid,
    jti: Uuid,
    iat: i64,
    exp: i64,
    /// Absent from tokens issued before it was written: those were
    /// password logins.
    #[serde(default)]
    amr: Option<Vec<String>>,
}

impl JwtIssuer {
    /// Loads (or, the first time, generates) the keys `settings` describe.
    ///
    /// # Errors
    /// [`KeyError`] if a key file cannot be read, is not a key of the
    /// configured algorithm, the HS256 secret is too short, a setting does
    /// not apply to the algorithm, or a generated key cannot be written.
    pub fn from_settings(settings: &JwtSettings) -> Result<Self, KeyError> {
        let algorithm = settings.algorithm;
        let (signing, signing_source) = Self::signing_key(settings)?;

        let mut verifying = vec![signing.public];
        let mut sources = vec![signing_source];
        for path in &settings.verification_key_paths {
            if algorithm == SigningAlgorithm::Hs256 {
                return Err(KeyError::NotApplicable {
                    setting: "verification_key_paths",
                    algorithm,
                });
            }
            let pem = key_files::read_key_file(path)?;
            let key = keys::public_key_from_pem(algorithm, &pem, path)?;
            // The signing key's own public key may be listed too.
            if verifying.iter().all(|known| known.kid != key.kid) {
                verifying.push(key);
                sources.push(Some(path.clone()));
            }
        }

        let jwt_algorithm = algorithm.jwt_algorithm();
        let mut header = Header::new(jwt_algorithm);
        header.kid = Some(verifying[0].kid.clone());

        let mut validation = Validation::new(jwt_algorithm);
        validation.leeway = 0;
        // Expiry is checked against the caller's clock, exactly, in `verify`.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);

        Ok(Self {
            algorithm,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            header,
            encoding: signing.encoding,
            verifying,
            sources,
            validation,
        })
    }

    fn signing_key(settings: &JwtSettings) -> Result<(SigningKey, Option<PathBuf>), KeyError> {
        let algorithm = settings.algorithm;
        if algorithm == SigningAlgorithm::Hs256 {
            if settings.private_key_path.is_some() {
                return Err(KeyError::NotApplicable {
                    setting: "private_key_path",
                    algorithm,
                });
            }
            return match &settings.hmac_secret {
                Some(secret) => {
                    let secret = secret.expose_secret().as_bytes();
                    if secret.len() < MIN_HMAC_SECRET_LEN {
                        return Err(KeyError::HmacSecretTooShort {
                            len: secret.len(),
                            min: MIN_HMAC_SECRET_LEN,
                        });
                    }
                    Ok((keys::hmac_key(secret), None))
                }
                None => {
                    let (text, path) = key_files::load_or_generate(algorithm, &settings.data_dir)?;
                    let secret = text.trim().as_bytes();
                    if secret.len() < MIN_HMAC_SECRET_LEN {
                        return Err(KeyError::InvalidKey {
                            path,
                            reason: format!(
                                "the HS256 secret is shorter than {MIN_HMAC_SECRET_LEN} bytes"
                            ),
                        });
                    }
                    Ok((keys::hmac_key(secret), Some(path)))
                }
            };
        }

        if settings.hmac_secret.is_some() {
            return Err(KeyError::NotApplicable {
                setting: "hmac_secret",
                algorithm,
            });
        }
        let (pem, path) = match &settings.private_key_path {
            Some(path) => (key_files::read_key_file(path)?, path.clone()),
            None => key_files::load_or_generate(algorithm, &settings.data_dir)?,
        };
        let key = keys::signing_key_from_pem(algorithm, &pem, &path)?;
        Ok((key, Some(path)))
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// Every key of the set: the signer first, then the keys that only
    /// verify, as configured.
    pub fn key_set(&self) -> Vec<KeyEntry> {
        self.verifying
            .iter()
            .zip(&self.sources)
            .enumerate()
            .map(|(i, (key, source))| KeyEntry {
                kid: key.kid.clone(),
                signs: i == 0,
                source: source.clone(),
            })
            .collect()
    }

    /// The `kid` of the signing key (its RFC 7638 thumbprint), safe to log.
    pub fn signing_kid(&self) -> &str {
        &self.verifying[0].kid
    }
}

impl fmt::Debug for JwtIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<&str> = self.verifying.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("JwtIssuer")
            .field("algorithm", &self.algorithm)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("signing_kid", &self.signing_kid())
            .field("verifying_kids", &kids)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer for JwtIssuer {
    fn issue(&self, claims: &AccessClaims) -> Result<String, TokenError> {
        let outgoing = OutgoingClaims {
            iss: &self.issuer,
            aud: &self.audience,
            sub: claims.user_id.as_uuid(),
            sid: claims.session_id.as_uuid(),
            jti: claims.token_id,
            iat: claims.issued_at.unix_timestamp(),
            exp: claims.expires_at.unix_timestamp(),
            amr: claims.factors.amr(),
        };
        encode(&self.header, &outgoing, &self.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))
    }

    fn verify(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Invalid)?;
        // Only the configured algorithm: no `none`, no HS256 keyed with a
        // public key, no switching between asymmetric algorithms.
        if header.alg != self.header.alg {
            return Err(TokenError::Invalid);
        }
        let kid = header.kid.as_deref().ok_or(TokenError::Invalid)?;
        let key = self
            .verifying
            .iter()
            .find(|key| key.kid == kid)
            .ok_or(TokenError::Invalid)?;

        let claims = decode::<IncomingClaims>(token, &key.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?
            .claims;
        let issued_at =
            OffsetDateTime::from_unix_timestamp(claims.iat).map_err(|_| TokenError::Invalid)?;
        let expires_at =
            OffsetDateTime::from_unix_timestamp(claims.exp).map_err(|_| TokenError::Invalid)?;
        if now >= expires_at {
            return Err(TokenError::Expired);
        }
        let factors = match claims.amr {
            None => Factors::Password,
            Some(amr) => Factors::from_amr(&amr).ok_or(TokenError::Invalid)?,
        };
        Ok(AccessClaims {
            user_id: UserId::from_uuid(claims.sub),
            session_id: SessionId::from_uuid(claims.sid),
            token_id: claims.jti,
            issued_at,
            expires_at,
            factors,
        })
    }

    fn public_keys(&self) -> Vec<PublicJwk> {
        self.verifying
            .iter()
            .filter_map(|key| key.jwk.clone())
            .collect()
    }
}
