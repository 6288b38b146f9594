//! The argon2id [`PasswordHasher`] of authd.
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), so each
//! one carries the parameters it was made with: a hash made with older
//! parameters still verifies, and is reported as
//! [`PasswordCheck::MatchNeedsRehash`] so the caller can replace it.
//!
//! Hashing is deliberately slow and blocking: call it on a blocking thread,
//! never on an async worker. At most as many hashes run at once as the
//! hasher was given memory for (one per core by default); the others wait
//! their turn, which is faster than all of them fighting over the cores
//! and the memory bandwidth, and keeps the memory hashing takes bounded by
//! that number, whatever the number of clients.

use std::{
    fmt,
    num::NonZeroUsize,
    sync::{Condvar, Mutex, PoisonError},
    time::Instant,
};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{self, Output, ParamsString, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use domain::PasswordHash;
use ports::{HasherError, PasswordCheck, PasswordHasher};
use secrecy::{ExposeSecret, SecretString};

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HashParams {
    /// Memory per hash, in KiB (at least 8 × `parallelism`).
    pub memory_kib: u32,
    /// Passes over that memory (at least 1).
    pub iterations: u32,
    /// Lanes (at least 1).
    pub parallelism: u32,
}

impl HashParams {
    /// Parameters so cheap that a hash takes well under a millisecond.
    ///
    /// **For tests only**: they offer no protection against offline
    /// guessing. Use them in tests that need a real hasher but do not test
    /// hashing itself.
    pub const fn insecure_for_tests() -> Self {
        Self {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
        }
    }
}

impl Default for HashParams {
    /// OWASP's first recommended argon2id configuration: 19 MiB, 2
    /// iterations, 1 lane.
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Length of the random salt, in bytes.
const SALT_LEN: usize = 16;
/// Length of the hash output, in bytes (argon2's default).
const OUTPUT_LEN: usize = Params::DEFAULT_OUTPUT_LEN;

/// An argon2id (version 0x13) [`PasswordHasher`] with fixed parameters.
pub struct Argon2Hasher {
    argon2: Argon2<'static>,
    params: HashParams,
    /// The parameters as the argon2 crate reads them back from a PHC string
    /// made by this hasher; a stored hash whose parameters differ needs a
    /// rehash.
    current: Params,
    /// A hash of a random, forgotten password, made with the current
    /// parameters: [`PasswordHasher::verify_dummy`] verifies against it.
    dummy: PasswordHash,
    /// The memory hashes run in, one area per hash that may run at once.
    memory: Memory,
}

/// Memory areas for argon2, made as needed up to a limit and reused: a
/// hash waits for a free one. Allocating 19 MiB afresh for every hash
/// costs page faults, and the allocator may keep every area it ever made.
struct Memory {
    areas: Mutex<Areas>,
    freed: Condvar,
}

struct Areas {
    free: Vec<Vec<Block>>,
    /// Areas that may still be made.
    unmade: usize,
}

impl Memory {
    fn new(limit: NonZeroUsize) -> Self {
        Self {
            areas: Mutex::new(Areas {
                free: Vec::new(),
                unmade: limit.get(),
            }),
            freed: Condvar::new(),
        }
    }

    /// Frees the areas not in use; they are made again when needed.
    fn release_free(&self) {
        let mut areas = self.areas.lock().unwrap_or_else(PoisonError::into_inner);
        areas.unmade += areas.free.len();
        areas.free.clear();
    }

    /// Runs `f` on an area of at least `blocks` blocks, once one is free.
    fn with<T>(&self, blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
        let mut area = {
            let mut areas = self.areas.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if let Some(area) = areas.free.pop() {
                    break area;
                }
                if areas.unmade > 0 {
                    areas.unmade -= 1;
                    break Vec::new();
                }
                areas = self
                    .freed
                    .wait(areas)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        if area.len() < blocks {
            area.resize(blocks, Block::default());
        }
        let mut lent = Lent { memory: self, area };
        f(&mut lent.area[..blocks])
    }
}

/// An area out of [`Memory`], given back when dropped, even by a panic.
struct Lent<'a> {
    memory: &'a Memory,
    area: Vec<Block>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        let area = std::mem::take(&mut self.area);
        self.memory
            .areas
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .free
            .push(area);
        self.memory.freed.notify_one();
    }
}

impl Argon2Hasher {
    /// Builds a hasher that hashes with `params`.
    ///
    /// Hashes one throwaway password, so it takes as long as one
    /// [`PasswordHasher::hash`].
    ///
    /// # Errors
    /// [`HasherError::Internal`] if argon2 refuses `params` (for example
    /// less than 8 × `parallelism` KiB of memory, or zero iterations), or if
    /// the system's random number generator fails.
    pub fn new(params: HashParams) -> Result<Self, HasherError> {
        let cores = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
        Self::with_concurrency(params, cores)
    }

    /// Like [`Argon2Hasher::new`], running at most `concurrency` hashes at
    /// once (and holding as many areas of memory, at most).
    ///
    /// # Errors
    /// As [`Argon2Hasher::new`].
    pub fn with_concurrency(
        params: HashParams,
        concurrency: NonZeroUsize,
    ) -> Result<Self, HasherError> {
        let current = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            Some(OUTPUT_LEN),
        )
        .map_err(|e| HasherError::Internal(format!("invalid argon2 parameters: {e}")))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, current.clone());
        let memory = Memory::new(concurrency);

        let mut throwaway = [0u8; 32];
        OsRng
            .try_fill_bytes(&mut throwaway)
            .map_err(|e| HasherError::Internal(format!("random number generator failed: {e}")))?;
        let dummy = hash_with(&argon2, &memory, &throwaway)?;
        // An idle server holds no hashing memory.
        memory.release_free();

        Ok(Self {
            argon2,
            params,
            current,
            dummy,
            memory,
        })
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> HashParams {
        self.params
    }

    /// Whether a hash that verified was made differently from how this
    /// hasher would make it now.
    fn needs_rehash(&self, parsed: &password_hash::PasswordHash<'_>, used: &Params) -> bool {
        parsed.algorithm != Algorithm::Argon2id.ident()
            || parsed.version != Some(Version::V0x13.into())
            || *used != self.current
    }
}

/// Records how long one argon2id computation took.
fn timed(operation: &'static str, started: Instant) {
    metrics::histogram!("authd_password_hash_duration_seconds", "operation" => operation)
        .record(started.elapsed());
}

/// Computes `argon2`'s output for `password` and the decoded `salt`, of
/// `len` bytes, in an area of `memory`, and records how long the
/// computation took (not the wait for the area) as `operation`.
fn compute(
    argon2: &Argon2<'_>,
    memory: &Memory,
    password: &[u8],
    salt: &[u8],
    len: usize,
    operation: &'static str,
) -> Result<Output, password_hash::Error> {
    let blocks = argon2.params().block_count();
    memory.with(blocks, |area| {
        let started = Instant::now();
        let output = Output::init_with(len, |out| {
            argon2
                .hash_password_into_with_memory(password, salt, out, area)
                .map_err(password_hash::Error::from)
        });
        timed(operation, started);
        output
    })
}

/// Hashes `password` with a fresh random salt.
fn hash_with(
    argon2: &Argon2<'_>,
    memory: &Memory,
    password: &[u8],
) -> Result<PasswordHash, HasherError> {
    let mut salt = [0u8; SALT_LEN];
    OsRng
        .try_fill_bytes(&mut salt)
        .map_err(|e| HasherError::Internal(format!("random number generator failed: {e}")))?;
    let encoded = SaltString::encode_b64(&salt)
        .map_err(|e| HasherError::Internal(format!("salt encoding failed: {e}")))?;
    let failed = |e: password_hash::Error| HasherError::Internal(format!("argon2 failed: {e}"));
    let output = compute(argon2, memory, password, &salt, OUTPUT_LEN, "hash").map_err(failed)?;
    let phc = password_hash::PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params()).map_err(failed)?,
        salt: Some(encoded.as_salt()),
        hash: Some(output),
    };
    Ok(PasswordHash::new(phc.to_string()))
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &SecretString) -> Result<PasswordHash, HasherError> {
        hash_with(
            &self.argon2,
            &self.memory,
            password.expose_secret().as_bytes(),
        )
    }

    fn verify(
        &self,
        candidate: &SecretString,
        hash: &PasswordHash,
    ) -> Result<PasswordCheck, HasherError> {
        let parsed = password_hash::PasswordHash::new(hash.as_str())
            .map_err(|_| HasherError::MalformedHash)?;
        // Without these the argon2 crate answers "wrong password"; a stored
        // hash that lacks them is broken, not a mismatch.
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Err(HasherError::MalformedHash);
        };
        let algorithm =
            Algorithm::try_from(parsed.algorithm).map_err(|_| HasherError::MalformedHash)?;
        let version = parsed
            .version
            .map_or(Ok(Version::default()), Version::try_from)
            .map_err(|_| HasherError::MalformedHash)?;
        let used = Params::try_from(&parsed).map_err(|_| HasherError::MalformedHash)?;
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt
            .decode_b64(&mut salt_bytes)
            .map_err(|_| HasherError::MalformedHash)?;

        // Recomputes with the algorithm, version and parameters encoded in
        // the hash; `Output` compares in constant time.
        let argon2 = Argon2::new(algorithm, version, used.clone());
        let password = candidate.expose_secret().as_bytes();
        let computed = compute(
            &argon2,
            &self.memory,
            password,
            salt_bytes,
            expected.len(),
            "verify",
        );
        match computed {
            Ok(output) if output != expected => Ok(PasswordCheck::Mismatch),
            Ok(_) if self.needs_rehash(&parsed, &used) => Ok(PasswordCheck::MatchNeedsRehash),
            Ok(_) => Ok(PasswordCheck::Match),
            // Anything else comes from the stored hash: an unknown version,
            // a salt too short, an output of the wrong size, …
            Err(_) => Err(HasherError::MalformedHash),
        }
    }

    fn verify_dummy(&self, candidate: &SecretString) {
        // The same code path as a real verify, against a hash with the
        // current parameters; the outcome is meaningless and dropped.
        let outcome = self.verify(candidate, &self.dummy);
        std::hint::black_box(outcome.is_ok());
    }
}

impl fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Argon2Hasher")
            .field("algorithm", &"argon2id")
            .field("version", &0x13)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::PasswordHasher as _;

    use super::*;

    const PASSWORD: &str = "correct horse battery staple";

    fn secret(p: &str) -> SecretString {
        SecretString::from(p)
    }

    fn hasher() -> Argon2Hasher {
        Argon2Hasher::new(HashParams::insecure_for_tests()).unwrap()
    }

    /// Hashes `PASSWORD` with the argon2 crate directly, any algorithm and
    /// version.
    fn foreign_hash(algorithm: Algorithm, version: Version, m: u32, t: u32, p: u32) -> String {
        let params = Params::new(m, t, p, None).unwrap();
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        Argon2::new(algorithm, version, params)
            .hash_password(PASSWORD.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    #[test]
    fn default_params_are_owasp() {
        assert_eq!(
            HashParams::default(),
            HashParams {
                memory_kib: 19456,
                iterations: 2,
                parallelism: 1
            }
        );
    }

    #[test]
    fn round_trip() {
        let h = hasher();
        let hash = h.hash(&secret(PASSWORD)).unwrap();
        assert_eq!(
            h.verify(&secret(PASSWORD), &hash).unwrap(),
            PasswordCheck::Match
        );
    }

    #[test]
    fn round_trip_with_default_params() {
        let h = Argon2Hasher::new(HashParams::default()).unwrap();
        let hash = h.hash(&secret(PASSWORD)).unwrap();
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_str()
        );
        assert_eq!(
            h.verify(&secret(PASSWORD), &hash).unwrap(),
            PasswordCheck::Match
        );
        assert_eq!(
            h.verify(&secret("correct horse battery stapler"), &hash)
                .unwrap(),
            PasswordCheck::Mismatch
        );
    }

    #[test]
    fn wrong_password_is_mismatch() {
        let h = hasher();
        let hash = h.hash(&secret(PASSWORD)).unwrap();
        for wrong in [
            "correct horse battery stapler",
            "Correct horse battery staple",
            "",
            "x",
        ] {
            assert_eq!(
                h.verify(&secret(wrong), &hash).unwrap(),
                PasswordCheck::Mismatch,
                "{wrong:?}"
            );
        }
    }

    #[test]
    fn phc_format() {
        let hash = hasher().hash(&secret(PASSWORD)).unwrap();
        let phc = hash.as_str();
        assert!(phc.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{phc}");
        // $argon2id $v=19 $params $salt $hash
        assert_eq!(phc.split('$').count(), 6, "{phc}");
    }

    #[test]
    fn salts_differ() {
        let h = hasher();
        let a = h.hash(&secret(PASSWORD)).unwrap();
        let b = h.hash(&secret(PASSWORD)).unwrap();
        assert_ne!(a, b);
        assert_eq!(
            h.verify(&secret(PASSWORD), &a).unwrap(),
            PasswordCheck::Match
        );
        assert_eq!(
            h.verify(&secret(PASSWORD), &b).unwrap(),
            PasswordCheck::Match
        );
    }

    #[test]
    fn other_params_need_rehash() {
        let old = hasher();
        let hash = old.hash(&secret(PASSWORD)).unwrap();
        for params in [
            HashParams {
                memory_kib: 512,
                ..HashParams::insecure_for_tests()
            },
            HashParams {
                iterations: 2,
                ..HashParams::insecure_for_tests()
            },
            HashParams {
                parallelism: 2,
                ..HashParams::insecure_for_tests()
            },
        ] {
            let new = Argon2Hasher::new(params).unwrap();
            assert_eq!(
                new.verify(&secret(PASSWORD), &hash).unwrap(),
                PasswordCheck::MatchNeedsRehash,
                "{params:?}"
            );
            // A wrong password stays wrong whatever the parameters.
            assert_eq!(
                new.verify(&secret("not the password"), &hash).unwrap(),
                PasswordCheck::Mismatch
            );
        }
        // The same parameters: no rehash.
        let same = Argon2Hasher::new(HashParams::insecure_for_tests()).unwrap();
        assert_eq!(
            same.verify(&secret(PASSWORD), &hash).unwrap(),
            PasswordCheck::Match
        );
    }

    #[test]
    fn other_algorithm_or_version_needs_rehash() {
        let h = hasher();
        for (algorithm, version) in [
            (Algorithm::Argon2i, Version::V0x13),
            (Algorithm::Argon2d, Version::V0x13),
            (Algorithm::Argon2id, Version::V0x10),
        ] {
            let phc = foreign_hash(algorithm, version, 256, 1, 1);
            let hash = PasswordHash::new(phc.clone());
            assert_eq!(
                h.verify(&secret(PASSWORD), &hash).unwrap(),
                PasswordCheck::MatchNeedsRehash,
                "{phc}"
            );
            assert_eq!(
                h.verify(&secret("not the password"), &hash).unwrap(),
                PasswordCheck::Mismatch,
                "{phc}"
            );
        }
        // Made elsewhere, but exactly as this hasher would make it.
        let phc = foreign_hash(Algorithm::Argon2id, Version::V0x13, 256, 1, 1);
        assert_eq!(
            h.verify(&secret(PASSWORD), &PasswordHash::new(phc))
                .unwrap(),
            PasswordCheck::Match
        );
    }

    #[test]
    fn malformed_hash() {
        let h = hasher();
        let good = h.hash(&secret(PASSWORD)).unwrap();
        let truncated = &good.as_str()[..good.as_str().len() - 10];
        let without_output = good.as_str().rsplit_once('$').unwrap().0;
        for bad in [
            "",
            "not a hash",
            "$argon2id$",
            "$argon2id$v=19$m=256,t=1,p=1",
            without_output,
            truncated,
            "$argon2id$v=19$m=256,t=1,p=1$!!!$!!!",
            "$argon2id$v=19$m=1,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$c29tZWhhc2hvdXRwdXRieXRlcw",
            "$argon2id$v=19$m=256,t=0,p=1$MDEyMzQ1Njc4OWFiY2RlZg$c29tZWhhc2hvdXRwdXRieXRlcw",
            "$argon2id$v=19$m=256,t=1,p=1,x=3$MDEyMzQ1Njc4OWFiY2RlZg$c29tZWhhc2hvdXRwdXRieXRlcw",
            "$argon2id$v=42$m=256,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$c29tZWhhc2hvdXRwdXRieXRlcw",
            "$argon2id$v=19$m=256,t=1,p=1$c2FsdA$c29tZWhhc2hvdXRwdXRieXRlcw",
            "$pbkdf2-sha256$i=1000$MDEyMzQ1Njc4OWFiY2RlZg$c29tZWhhc2hvdXRwdXRieXRlcw",
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        ] {
            assert!(
                matches!(
                    h.verify(&secret(PASSWORD), &PasswordHash::new(bad)),
                    Err(HasherError::MalformedHash)
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn invalid_params_are_refused() {
        for (memory_kib, iterations, parallelism) in
            [(0, 1, 1), (7, 1, 1), (256, 0, 1), (256, 1, 0), (8, 1, 2)]
        {
            let params = HashParams {
                memory_kib,
                iterations,
                parallelism,
            };
            assert!(
                matches!(Argon2Hasher::new(params), Err(HasherError::Internal(_))),
                "{params:?}"
            );
        }
    }

    #[test]
    fn verify_dummy_never_panics() {
        let h = hasher();
        for candidate in ["", PASSWORD, "x", &"long".repeat(1000), "unicodé ✓"] {
            h.verify_dummy(&secret(candidate));
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let h = hasher();
        let shown = format!("{h:?}");
        assert!(shown.contains("memory_kib: 256"), "{shown}");
        assert!(!shown.contains('$'), "{shown}");
        assert!(!shown.contains(h.dummy.as_str()), "{shown}");
    }

    /// However many hash at once, no more than the limit run together,
    /// and no more areas of memory are made.
    #[test]
    fn memory_bounds_the_hashes_running_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};

        let memory = Memory::new(NonZeroUsize::new(2).unwrap());
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for _ in 0..5 {
                        memory.with(16, |area| {
                            assert_eq!(area.len(), 16);
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(2));
                            running.fetch_sub(1, Ordering::SeqCst);
                        });
                    }
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 2);
        let areas = memory.areas.lock().unwrap();
        assert_eq!((areas.free.len(), areas.unmade), (2, 0));
    }
}
