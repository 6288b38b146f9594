//! The cost of one password verification at the configured argon2id
//! parameters, through [`Argon2Hasher`] (the code path a login takes), on
//! one thread: the median of `--runs` verifications after a warm-up. The
//! benchmarks (`bench/run`) derive the login bound from it: cores ÷ that
//! time. It then runs one thread per core, each verifying `--runs` times,
//! and reports how many verifications per second they made together: what
//! the cores reach when they all hash at once, sharing memory bandwidth.
//!
//! Usage: `hash_bound PASSWORD [--memory-kib N] [--iterations N]
//! [--parallelism N] [--runs N]`. Each parameter not given is read from
//! the variable authd reads (`AUTHD__SECURITY__ARGON2_MEMORY_KIB`,
//! `…_ITERATIONS`, `…_PARALLELISM`), else authd's default. Prints one JSON
//! object: `verify_ms`, `threads` and `concurrent_per_s`, the parameters,
//! and `phc`, a hash of PASSWORD made with them (which the benchmarks store
//! as every seeded user's hash).

use std::{process::ExitCode, time::Instant};

use adapter_argon2::{Argon2Hasher, HashParams};
use ports::{PasswordCheck, PasswordHasher as _};
use secrecy::SecretString;

const WARM_UP: usize = 5;

struct Options {
    password: String,
    params: HashParams,
    runs: usize,
}

fn env_u32(name: &str) -> Result<Option<u32>, String> {
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .map(Some)
            .map_err(|e| format!("{name}={value}: {e}")),
        Err(_) => Ok(None),
    }
}

fn parse(args: &[String]) -> Result<Options, String> {
    let defaults = HashParams::default();
    let mut params = HashParams {
        memory_kib: env_u32("AUTHD__SECURITY__ARGON2_MEMORY_KIB")?.unwrap_or(defaults.memory_kib),
        iterations: env_u32("AUTHD__SECURITY__ARGON2_ITERATIONS")?.unwrap_or(defaults.iterations),
        parallelism: env_u32("AUTHD__SECURITY__ARGON2_PARALLELISM")?
            .unwrap_or(defaults.parallelism),
    };
    let mut runs = 50;
    let mut password = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = |flag: &str| -> Result<u32, String> {
            let text = rest.next().ok_or(format!("{flag} needs a value"))?;
            text.parse().map_err(|e| format!("{flag} {text}: {e}"))
        };
        match arg.as_str() {
            "--memory-kib" => params.memory_kib = value(arg)?,
            "--iterations" => params.iterations = value(arg)?,
            "--parallelism" => params.parallelism = value(arg)?,
            "--runs" => runs = usize::try_from(value(arg)?.max(1)).unwrap_or(1),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            _ if password.is_none() => password = Some(arg.clone()),
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    let password = password.ok_or(
        "usage: hash_bound PASSWORD [--memory-kib N] [--iterations N] [--parallelism N] [--runs N]",
    )?;
    Ok(Options {
        password,
        params,
        runs,
    })
}

/// The string as a JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn run(options: &Options) -> Result<String, String> {
    let hasher = Argon2Hasher::new(options.params).map_err(|e| e.to_string())?;
    let password = SecretString::from(options.password.clone());
    let phc = hasher.hash(&password).map_err(|e| e.to_string())?;
    let mut times = Vec::with_capacity(options.runs);
    for i in 0..WARM_UP + options.runs {
        let started = Instant::now();
        let check = hasher.verify(&password, &phc).map_err(|e| e.to_string())?;
        let elapsed = started.elapsed();
        if check != PasswordCheck::Match {
            return Err(format!("verification answered {check:?}"));
        }
        if i >= WARM_UP {
            times.push(elapsed.as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    let mid = times.len() / 2;
    let median = if times.len().is_multiple_of(2) {
        f64::midpoint(times[mid - 1], times[mid])
    } else {
        times[mid]
    };
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<(), String> {
                    for _ in 0..options.runs {
                        let check = hasher.verify(&password, &phc).map_err(|e| e.to_string())?;
                        if check != PasswordCheck::Match {
                            return Err(format!("verification answered {check:?}"));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().map_err(|_| "a thread panicked".to_owned())?)
    })?;
    #[allow(clippy::cast_precision_loss)]
    let concurrent = (threads * options.runs) as f64 / started.elapsed().as_secs_f64();
    let params = hasher.params();
    Ok(format!(
        "{{\"verify_ms\": {median:.3}, \"threads\": {threads}, \"concurrent_per_s\": {concurrent:.1}, \"memory_kib\": {}, \"iterations\": {}, \"parallelism\": {}, \"runs\": {}, \"phc\": {}}}",
        params.memory_kib,
        params.iterations,
        params.parallelism,
        times.len(),
        json_string(phc.as_str()),
    ))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse(&args).and_then(|options| run(&options)) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("hash_bound: {message}");
            ExitCode::FAILURE
        }
    }
}
