//! Settings: built-in defaults < TOML file (`--config`) < `DATABASE_URL` <
//! `AUTHD__SECTION__KEY` environment variables.

use std::{net::IpAddr, path::PathBuf};

use anyhow::Context;
use secrecy::SecretString;
use serde::Deserialize;

/// Every setting of the service.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// HTTP server.
    pub server: ServerSettings,
    /// Storage.
    pub database: DatabaseSettings,
    /// Where generated keys live.
    pub data: DataSettings,
    /// Outgoing mail.
    pub mail: MailSettings,
    /// Tokens and one-time codes.
    pub tokens: TokenSettings,
    /// Login throttling and password hashing.
    pub security: SecuritySettings,
    /// Logging.
    pub log: LogSettings,
}

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on.
    pub bind: String,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            workers: 0,
            body_limit_bytes: 64 * 1024,
            trusted_proxies: Vec::new(),
        }
    }
}

/// `[database]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://…` (embedded) or `postgres://…`.
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://data/authd.db".into(),
            max_connections: 16,
        }
    }
}

/// `[data]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataSettings {
    /// Directory for generated signing keys.
    pub dir: PathBuf,
}

impl Default for DataSettings {
    fn default() -> Self {
        Self { dir: "data".into() }
    }
}

/// `[mail]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailSettings {
    /// `file` (JSON lines; the development default).
    pub transport: String,
    /// The mailbox file of the `file` transport.
    pub file: PathBuf,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            transport: "file".into(),
            file: "data/mailbox.jsonl".into(),
        }
    }
}

/// `[tokens]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenSettings {
    /// `EdDSA` (default), `ES256`, `RS256` or `HS256`.
    pub algorithm: String,
    /// The `iss` claim.
    pub issuer: String,
    /// The `aud` claim.
    pub audience: String,
    /// Access-token lifetime.
    pub access_ttl_seconds: u32,
    /// Refresh-token lifetime.
    pub refresh_ttl_seconds: u32,
    /// How long a just-spent refresh token may be replayed.
    pub refresh_reuse_grace_seconds: u32,
    /// Validation code lifetime.
    pub validation_code_ttl_seconds: u32,
    /// Reset code lifetime.
    pub reset_code_ttl_seconds: u32,
    /// PEM private key; generated into the data directory when unset.
    pub private_key_file: Option<PathBuf>,
    /// Extra public keys (PEM) that verify tokens and are published.
    pub verification_key_files: Vec<PathBuf>,
    /// The HS256 secret (at least 32 bytes); generated when unset.
    pub hmac_secret: Option<SecretString>,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            algorithm: "EdDSA".into(),
            issuer: "authd".into(),
            audience: "authd".into(),
            access_ttl_seconds: 900,
            refresh_ttl_seconds: 2_592_000,
            refresh_reuse_grace_seconds: 0,
            validation_code_ttl_seconds: 86_400,
            reset_code_ttl_seconds: 1_800,
            private_key_file: None,
            verification_key_files: Vec::new(),
            hmac_secret: None,
        }
    }
}

/// `[security]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecuritySettings {
    /// Failed logins per account within the window before throttling.
    pub max_failed_logins: u32,
    /// Failed logins per client address within the window before throttling.
    pub max_failed_logins_per_ip: u32,
    /// The throttling window.
    pub lockout_seconds: u32,
    /// argon2id memory cost, KiB.
    pub argon2_memory_kib: u32,
    /// argon2id iterations.
    pub argon2_iterations: u32,
    /// argon2id lanes.
    pub argon2_parallelism: u32,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        Self {
            max_failed_logins: 5,
            max_failed_logins_per_ip: 20,
            lockout_seconds: 900,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter, e.g. `info` or `authd=debug,info`; `RUST_LOG` wins.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

impl Settings {
    /// Loads the settings from an optional TOML file and the environment.
    ///
    /// # Errors
    /// When the file is missing or malformed, or a value has the wrong type.
    pub fn load(file: Option<&std::path::Path>) -> anyhow::Result<Self> {
        let mut builder = config::Config::builder();
        if let Some(path) = file {
            builder = builder.add_source(
                config::File::from(path)
                    .format(config::FileFormat::Toml)
                    .required(true),
            );
        }
        let database_url = std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty());
        if std::env::var_os("AUTHD__DATABASE__URL").is_none() {
            builder = builder.set_override_option("database.url", database_url)?;
        }
        builder = builder.add_source(
            config::Environment::with_prefix("AUTHD")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("server.trusted_proxies")
                .with_list_parse_key("tokens.verification_key_files"),
        );
        builder
            .build()
            .context("cannot read settings")?
            .try_deserialize()
            .context("invalid settings")
    }
}
