//! Key files: reading them, and generating a key once, written with mode
//! 0600 and never over an existing file.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::elliptic_curve::zeroize::Zeroizing;
use rand::RngCore as _;
use rand::rngs::OsRng;
use rsa::RsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};

use crate::algorithm::SigningAlgorithm;
use crate::error::KeyError;
use crate::keys::{RSA_BITS, invalid};

/// Random bytes in a generated HS256 secret (64 base64url characters).
const GENERATED_HMAC_BYTES: usize = 48;

/// Reads a key file as text.
pub(crate) fn read_key_file(path: &Path) -> Result<Zeroizing<String>, KeyError> {
    let bytes = Zeroizing::new(fs::read(path).map_err(|source| KeyError::Read {
        path: path.to_owned(),
        source,
    })?);
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(invalid(path, "not a text (PEM) file")),
    }
}

/// Loads the generated key for `algorithm` from `<data_dir>/keys/`, first
/// generating and persisting it if there is none yet. Returns the file's
/// contents and its path.
///
/// The key is written under a temporary name and then linked to its final
/// name, which fails if that name already exists: when two processes start
/// together, exactly one key wins and both load it.
pub(crate) fn load_or_generate(
    algorithm: SigningAlgorithm,
    data_dir: &Path,
) -> Result<(Zeroizing<String>, PathBuf), KeyError> {
    load_or_create(data_dir, algorithm.generated_key_file_name(), || {
        generate(algorithm)
    })
}

/// Like [`load_or_generate`], for a random secret of `bytes` bytes
/// (base64url text) kept in `<data_dir>/keys/<file_name>`.
pub(crate) fn load_or_generate_secret(
    file_name: &str,
    bytes: usize,
    data_dir: &Path,
) -> Result<(Zeroizing<String>, PathBuf), KeyError> {
    load_or_create(data_dir, file_name, || Ok(random_secret(bytes)))
}

fn load_or_create(
    data_dir: &Path,
    file_name: &str,
    make: impl FnOnce() -> Result<Zeroizing<String>, KeyError>,
) -> Result<(Zeroizing<String>, PathBuf), KeyError> {
    let dir = data_dir.join("keys");
    let path = dir.join(file_name);
    match fs::metadata(&path) {
        Ok(_) => return Ok((read_key_file(&path)?, path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => return Err(KeyError::Read { path, source }),
    }

    create_private_dir(&dir)?;
    let contents = make()?;
    publish_new_file(&dir, &path, contents.as_bytes())?;
    // Load what is on disk: ours, or the one a concurrent start wrote.
    Ok((read_key_file(&path)?, path))
}

/// Writes a new private key for `algorithm` to `path` (mode 0600, never
/// over an existing file) and returns its text.
///
/// # Errors
/// [`KeyError::NotApplicable`] for HS256 (its secret is a setting), and
/// the errors of generating and writing; an existing `path` is
/// [`KeyError::Write`] with `AlreadyExists`.
pub(crate) fn generate_key_file(
    algorithm: SigningAlgorithm,
    path: &Path,
) -> Result<Zeroizing<String>, KeyError> {
    if algorithm == SigningAlgorithm::Hs256 {
        return Err(KeyError::NotApplicable {
            setting: "a generated key file",
            algorithm,
        });
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let contents = generate(algorithm)?;
    // Created exclusively: an existing file, however it came, is an error
    // and is left as it is.
    write_private_file(path, contents.as_bytes()).map_err(|source| KeyError::Write {
        path: path.to_owned(),
        source,
    })?;
    Ok(contents)
}

/// A new key for `algorithm`, as the text of its key file.
fn generate(algorithm: SigningAlgorithm) -> Result<Zeroizing<String>, KeyError> {
    let failed = |reason: String| KeyError::Generate { algorithm, reason };
    match algorithm {
        SigningAlgorithm::EdDsa => ed25519_dalek::SigningKey::generate(&mut OsRng)
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| failed(e.to_string())),
        SigningAlgorithm::Es256 => p256::SecretKey::random(&mut OsRng)
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| failed(e.to_string())),
        SigningAlgorithm::Rs256 => RsaPrivateKey::new(&mut OsRng, RSA_BITS)
            .map_err(|e| failed(e.to_string()))?
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| failed(e.to_string())),
        SigningAlgorithm::Hs256 => Ok(random_secret(GENERATED_HMAC_BYTES)),
    }
}

/// `bytes` random bytes as base64url text, ending in a newline.
fn random_secret(bytes: usize) -> Zeroizing<String> {
    let mut secret = Zeroizing::new(vec![0_u8; bytes]);
    OsRng.fill_bytes(secret.as_mut());
    // Sized up front so that no copy of the secret is left behind by a
    // reallocation.
    let mut text = Zeroizing::new(String::with_capacity(bytes * 2));
    URL_SAFE_NO_PAD.encode_string(secret.as_slice(), &mut text);
    text.push('\n');
    text
}

fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| KeyError::CreateDir {
        path: dir.to_owned(),
        source,
    })
}

/// Writes `contents` to `path` unless `path` already exists, never leaving
/// a partly written file under that name.
fn publish_new_file(dir: &Path, path: &Path, contents: &[u8]) -> Result<(), KeyError> {
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{file_name}.{}.{:016x}.tmp",
        std::process::id(),
        OsRng.next_u64()
    ));
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |source| KeyError::Write { path, source }
    };

    let result = write_private_file(&tmp, contents)
        .map_err(write_err(&tmp))
        .and_then(|()| match fs::hard_link(&tmp, path) {
            Ok(()) => Ok(()),
            // Someone else won the race: keep theirs.
            Err(_) if path.exists() => Ok(()),
            // A file system without hard links: fall back to a rename, which
            // is still atomic but may replace a key written at the same time.
            Err(_) => fs::rename(&tmp, path).map_err(write_err(path)),
        });
    // Best effort: the temporary file is gone already after a rename.
    let _ = fs::remove_file(&tmp);
    if result.is_ok() {
        sync_dir(dir);
    }
    result
}

fn write_private_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Makes the new directory entry durable where the platform allows it.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
