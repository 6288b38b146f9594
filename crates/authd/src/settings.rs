//! Settings: built-in defaults < TOML file (`--config`) < `DATABASE_URL` <
//! `AUTHD__SECTION__KEY` environment variables.
//!
//! Every value is parsed when the settings are read: a zero where at least
//! one is needed, or an unknown name, is refused then, with the key named.
//! The defaults of the policy, the hasher and the HTTP layer are those of
//! their own types, converted here to the units of the settings.
//!
//! The settings serialize to the TOML they are read from (`authd config
//! print`), every secret written as `***`.

use std::{
    fmt,
    net::IpAddr,
    num::{NonZeroU16, NonZeroU32, NonZeroUsize},
    path::{Path, PathBuf},
};

use adapter_argon2::HashParams;
use adapter_jwt::{JwtSettings, SigningAlgorithm};
use adapter_mail::{DeliveryPolicy, MailFrom, SmtpSettings, SmtpTls};
use adapter_postgres::PoolSettings;
use anyhow::Context;
use application::{AppInfo, Policy};
use http_actix::HttpSettings;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use time::Duration;

/// For a setting that is one of a few names, read in any case: `as_str`
/// (the name it is written as), parsing with [`one_of`]'s error, and
/// serialising as its name.
macro_rules! named_choices {
    ($ty:ident, $what:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The name it is written as.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }
        }

        impl TryFrom<String> for $ty {
            type Error = String;

            fn try_from(name: String) -> Result<Self, Self::Error> {
                one_of($what, &name, &[$(Self::$variant),+], Self::as_str)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

type StdDuration = std::time::Duration;

/// Where files go when no setting says otherwise, relative to the working
/// directory.
const DATA_DIR: &str = "data";

/// What a secret that is set is printed as.
const REDACTED: &str = "***";

/// Every setting of the service.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
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
    /// Background mail delivery.
    pub delivery: DeliverySettings,
    /// What the mails say about the product.
    pub app: AppSettings,
    /// Which routes are served.
    pub api: ApiSettings,
    /// The Prometheus endpoint.
    pub metrics: MetricsSettings,
}

/// `[metrics]`
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// When set, `GET /metrics` answers only requests that carry it as a
    /// bearer token. An empty one is refused: it would guard nothing.
    #[serde(serialize_with = "redact", deserialize_with = "non_empty_secret")]
    pub token: Option<SecretString>,
}

/// `[api]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    /// Serve the compatibility profile routes (docs/migrating.md) beside
    /// `/api/v1`.
    pub compat_routes: bool,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            compat_routes: HttpSettings::default().compat_routes,
        }
    }
}

/// `[server]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on.
    pub bind: String,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: NonZeroUsize,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Requests per worker that may wait for a thread to run on; past
    /// them a request is answered `service-unavailable` at once.
    pub blocking_queue_per_worker: usize,
    /// On SIGTERM or SIGINT, how long requests under way may take to
    /// finish before the server stops anyway, in seconds.
    pub shutdown_timeout_seconds: u32,
}

impl Default for ServerSettings {
    fn default() -> Self {
        let http = HttpSettings::default();
        Self {
            bind: "127.0.0.1:8080".into(),
            workers: http.workers,
            body_limit_bytes: positive(http.body_limit),
            trusted_proxies: http.trusted_proxies,
            blocking_queue_per_worker: http.blocking_queue_per_worker,
            shutdown_timeout_seconds: u32::try_from(http.shutdown_timeout.as_secs())
                .expect("the default shutdown timeout fits in u32 seconds"),
        }
    }
}

/// `[database]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://…` (embedded) or `postgres://…`.
    pub url: DatabaseUrl,
    /// Pool size.
    pub max_connections: NonZeroU32,
    /// PostgreSQL: connections opened at start and kept idle (at most
    /// `max_connections`); the others open when needed.
    pub min_connections: u32,
    /// PostgreSQL: at start, how long to keep trying a database that cannot
    /// be reached (still starting, a replica not ready), with backoff,
    /// before giving up, in seconds; 0 tries once.
    pub connect_timeout_seconds: u32,
    /// PostgreSQL: the longest a request waits for a pooled connection
    /// before it is answered `service-unavailable`, in milliseconds.
    pub acquire_timeout_ms: NonZeroU32,
    /// PostgreSQL: the longest one statement may run before the server
    /// cancels it (the request is answered `service-unavailable`), in
    /// milliseconds; 0 keeps the server's own `statement_timeout`.
    pub statement_timeout_ms: u32,
    /// How often readiness checks the database, on a connection of its
    /// own, in milliseconds.
    pub health_check_interval_ms: NonZeroU32,
    /// PostgreSQL: keep prepared statements on each connection. Turn it
    /// off behind PgBouncer in transaction pooling mode, which cannot keep
    /// them (before PgBouncer 1.21).
    pub statement_cache: bool,
}

impl DatabaseSettings {
    /// The pool the settings describe.
    pub fn pool(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.max_connections.get(),
            min_connections: self.min_connections,
            acquire_timeout: StdDuration::from_millis(self.acquire_timeout_ms.get().into()),
            statement_timeout: (self.statement_timeout_ms > 0)
                .then(|| StdDuration::from_millis(self.statement_timeout_ms.into())),
            statement_cache: self.statement_cache,
        }
    }

    /// How long startup keeps trying an unreachable database.
    pub fn connect_timeout(&self) -> StdDuration {
        StdDuration::from_secs(self.connect_timeout_seconds.into())
    }

    /// The interval of the readiness check.
    pub fn health_check_interval(&self) -> StdDuration {
        StdDuration::from_millis(self.health_check_interval_ms.get().into())
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        let pool = PoolSettings::default();
        let millis = |d: StdDuration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
        Self {
            url: DatabaseUrl::from(format!("sqlite://{DATA_DIR}/authd.db")),
            max_connections: positive(pool.max_connections),
            min_connections: pool.min_connections,
            connect_timeout_seconds: 60,
            acquire_timeout_ms: positive(millis(pool.acquire_timeout)),
            statement_timeout_ms: pool.statement_timeout.map_or(0, millis),
            health_check_interval_ms: positive(250_u32),
            statement_cache: pool.statement_cache,
        }
    }
}

/// The database URL. It may carry a password, so it is kept as a secret:
/// its `Debug` shows the scheme alone, it serializes with the password
/// replaced by `***`, and the URL itself is read only where the store is
/// opened.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    /// The whole URL, password included: for opening the store only.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// The URL with the password of its user part and of its `password`
    /// and `sslpassword` parameters replaced by `***`. An SQLite URL names
    /// a file and carries no password, so it is shown whole. What cannot be
    /// split for sure (no URL at all, or an `@` past the host, as a password
    /// with a raw `/` or `?` in it leaves) is hidden whole past the scheme.
    pub fn redacted(&self) -> String {
        let url = self.expose_secret();
        if url.starts_with("sqlite:") {
            return url.to_owned();
        }
        let Some((scheme, rest)) = url.split_once("://") else {
            return REDACTED.to_owned();
        };
        let (authority, path_and_query) =
            rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
        if path_and_query.contains('@') {
            return format!("{scheme}://{REDACTED}");
        }
        let authority = match authority.rsplit_once('@') {
            Some((user, host)) => match user.split_once(':') {
                Some((name, _password)) => format!("{name}:{REDACTED}@{host}"),
                None => authority.to_owned(),
            },
            None => authority.to_owned(),
        };
        let path_and_query = match path_and_query.split_once('?') {
            Some((path, query)) => {
                let parameters: Vec<String> = query
                    .split('&')
                    .map(|parameter| match parameter.split_once('=') {
                        Some((name, _))
                            if name.eq_ignore_ascii_case("password")
                                || name.eq_ignore_ascii_case("sslpassword") =>
                        {
                            format!("{name}={REDACTED}")
                        }
                        _ => parameter.to_owned(),
                    })
                    .collect();
                format!("{path}?{}", parameters.join("&"))
            }
            None => path_and_query.to_owned(),
        };
        format!("{scheme}://{authority}{path_and_query}")
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> Self {
        Self(SecretString::from(url))
    }
}

impl From<&str> for DatabaseUrl {
    fn from(url: &str) -> Self {
        Self(SecretString::from(url))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self
            .expose_secret()
            .split_once(':')
            .map_or("", |(scheme, _)| scheme);
        write!(f, "DatabaseUrl({scheme}:…)")
    }
}

/// `[data]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataSettings {
    /// Directory for generated signing keys.
    pub dir: PathBuf,
}

impl Default for DataSettings {
    fn default() -> Self {
        Self {
            dir: DATA_DIR.into(),
        }
    }
}

/// `[mail]`, checked as a whole when read: the `smtp` transport needs
/// `mail.smtp.host` and `mail.from`, and `mail.from` must be a mailbox.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "MailSection")]
pub struct MailSettings {
    /// How mail leaves the service.
    pub transport: MailTransport,
    /// The mailbox file of the `file` transport.
    pub file: PathBuf,
    /// The `From` of every mail, e.g. `authd <no-reply@example.com>`.
    pub from: Option<MailFrom>,
    /// The SMTP server, when `transport` is `smtp`.
    pub smtp: Option<SmtpSettings>,
    /// `[mail.smtp]` as written, for printing: `smtp` holds it only for
    /// the `smtp` transport, and with the port its default resolved.
    written_smtp: SmtpSection,
}

impl Serialize for MailSettings {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        MailSection {
            transport: self.transport,
            file: self.file.clone(),
            from: self.from.as_ref().map(ToString::to_string),
            smtp: self.written_smtp.clone(),
        }
        .serialize(serializer)
    }
}

impl Default for MailSettings {
    fn default() -> Self {
        Self::try_from(MailSection::default()).expect("the default mail settings are valid")
    }
}

/// `[mail]` as written.
#[derive(Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct MailSection {
    transport: MailTransport,
    file: PathBuf,
    from: Option<String>,
    smtp: SmtpSection,
}

impl Default for MailSection {
    fn default() -> Self {
        Self {
            transport: MailTransport::File,
            file: Path::new(DATA_DIR).join("mailbox.jsonl"),
            from: None,
            smtp: SmtpSection::default(),
        }
    }
}

/// `[mail.smtp]` as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct SmtpSection {
    /// Server host name (also the name its certificate must carry).
    host: Option<String>,
    /// Defaults by `tls`: 587, 465 or 25.
    port: Option<NonZeroU16>,
    /// Connection protection.
    tls: SmtpTlsName,
    /// Login name, if the server wants one.
    username: Option<String>,
    /// Password for `username`.
    #[serde(serialize_with = "redact")]
    password: Option<SecretString>,
    /// Limit on connecting and on each exchange with the server, in
    /// seconds.
    timeout_seconds: NonZeroU32,
    /// Extra trusted root certificates (PEM), besides the public roots.
    ca_file: Option<PathBuf>,
}

impl Default for SmtpSection {
    fn default() -> Self {
        Self {
            host: None,
            port: None,
            tls: SmtpTlsName(SmtpTls::StartTls),
            username: None,
            password: None,
            timeout_seconds: positive(10_u32),
            ca_file: None,
        }
    }
}

impl TryFrom<MailSection> for MailSettings {
    type Error = String;

    fn try_from(section: MailSection) -> Result<Self, Self::Error> {
        let from = section
            .from
            .map(|from| {
                from.parse::<MailFrom>()
                    .map_err(|e| format!("mail.from: {e}"))
            })
            .transpose()?;
        let written_smtp = section.smtp;
        let smtp = match section.transport {
            MailTransport::File => None,
            MailTransport::Smtp => {
                let needed =
                    |key: &str| format!("{key} must be set when mail.transport is \"smtp\"");
                let smtp = written_smtp.clone();
                let host = smtp
                    .host
                    .filter(|host| !host.is_empty())
                    .ok_or_else(|| needed("mail.smtp.host"))?;
                if smtp.password.is_some() && smtp.username.is_none() {
                    return Err(needed("mail.smtp.username (with mail.smtp.password)"));
                }
                let tls = smtp.tls.0;
                Some(SmtpSettings {
                    host,
                    port: smtp
                        .port
                        .map_or_else(|| tls.default_port(), NonZeroU16::get),
                    tls,
                    username: smtp.username,
                    password: smtp.password,
                    from: from.clone().ok_or_else(|| needed("mail.from"))?,
                    timeout: std::time::Duration::from_secs(smtp.timeout_seconds.get().into()),
                    ca_file: smtp.ca_file,
                })
            }
        };
        Ok(Self {
            transport: section.transport,
            file: section.file,
            from,
            smtp,
            written_smtp,
        })
    }
}

/// `mail.transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum MailTransport {
    /// JSON lines appended to `mail.file` (the development default).
    File,
    /// An SMTP server, `[mail.smtp]`.
    Smtp,
}

named_choices!(MailTransport, "mail transport", { File => "file", Smtp => "smtp" });

/// `mail.smtp.tls`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
struct SmtpTlsName(SmtpTls);

impl SmtpTlsName {
    const fn name(tls: SmtpTls) -> &'static str {
        match tls {
            SmtpTls::StartTls => "starttls",
            SmtpTls::Tls => "tls",
            SmtpTls::None => "none",
        }
    }
}

impl TryFrom<String> for SmtpTlsName {
    type Error = String;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        one_of(
            "SMTP TLS mode",
            &name,
            &[SmtpTls::StartTls, SmtpTls::Tls, SmtpTls::None],
            Self::name,
        )
        .map(Self)
    }
}

impl Serialize for SmtpTlsName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(Self::name(self.0))
    }
}

/// `[tokens]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenSettings {
    /// `EdDSA` (default), `ES256`, `RS256` or `HS256`.
    pub algorithm: SigningAlgorithm,
    /// The `iss` claim.
    pub issuer: String,
    /// The `aud` claim.
    pub audience: String,
    /// Access-token lifetime.
    pub access_ttl_seconds: NonZeroU32,
    /// Refresh-token lifetime.
    pub refresh_ttl_seconds: NonZeroU32,
    /// How long after its first spending a refresh token may be presented
    /// again and get the same successor (0: never; every second
    /// presentation is reuse).
    pub refresh_reuse_grace_seconds: u32,
    /// Validation code lifetime.
    pub validation_code_ttl_seconds: NonZeroU32,
    /// Reset code lifetime.
    pub reset_code_ttl_seconds: NonZeroU32,
    /// Invitation code lifetime.
    pub invite_code_ttl_seconds: NonZeroU32,
    /// PEM private key; generated into the data directory when unset.
    pub private_key_file: Option<PathBuf>,
    /// Extra public keys (PEM) that verify tokens and are published.
    pub verification_key_files: Vec<PathBuf>,
    /// The HS256 secret (at least 32 bytes); generated when unset.
    #[serde(serialize_with = "redact")]
    pub hmac_secret: Option<SecretString>,
    /// The key that derives refresh-token successors (a file of at least 32
    /// bytes); generated into the data directory when unset.
    pub refresh_key_file: Option<PathBuf>,
    /// How long a session may live from its login, however often it is
    /// refreshed: no refresh token expires later.
    pub session_max_age_seconds: NonZeroU32,
}

impl Default for TokenSettings {
    fn default() -> Self {
        let policy = Policy::default();
        Self {
            algorithm: SigningAlgorithm::default(),
            issuer: "authd".into(),
            audience: "authd".into(),
            access_ttl_seconds: positive(whole_seconds(policy.access_ttl)),
            refresh_ttl_seconds: positive(whole_seconds(policy.refresh_ttl)),
            refresh_reuse_grace_seconds: whole_seconds(policy.refresh_reuse_grace),
            validation_code_ttl_seconds: positive(whole_seconds(policy.validation_code_ttl)),
            reset_code_ttl_seconds: positive(whole_seconds(policy.reset_code_ttl)),
            invite_code_ttl_seconds: positive(whole_seconds(policy.invite_code_ttl)),
            private_key_file: None,
            verification_key_files: Vec::new(),
            hmac_secret: None,
            refresh_key_file: None,
            session_max_age_seconds: positive(whole_seconds(policy.session_max_age)),
        }
    }
}

impl TokenSettings {
    /// The token issuer's settings; generated keys go under `data_dir`.
    pub fn jwt(&self, data_dir: &Path) -> JwtSettings {
        JwtSettings {
            algorithm: self.algorithm,
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            private_key_path: self.private_key_file.clone(),
            verification_key_paths: self.verification_key_files.clone(),
            hmac_secret: self.hmac_secret.clone(),
            data_dir: data_dir.to_owned(),
        }
    }
}

/// `[security]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecuritySettings {
    /// Failed logins per account within the window before throttling.
    pub max_failed_logins: NonZeroU32,
    /// Failed logins per client address within the window before throttling.
    pub max_failed_logins_per_ip: NonZeroU32,
    /// The throttling window.
    pub lockout_seconds: NonZeroU32,
    /// argon2id memory cost, KiB (at least 8 × `argon2_parallelism`).
    pub argon2_memory_kib: NonZeroU32,
    /// argon2id iterations.
    pub argon2_iterations: NonZeroU32,
    /// argon2id lanes.
    pub argon2_parallelism: NonZeroU32,
    /// Password hashes computed at once, at most; 0 means one per core.
    pub argon2_concurrency: u32,
    /// Mails (sign-up, resend, forgot) one recipient may be sent within
    /// `mail_window_seconds`; past it they are skipped, the answers unchanged.
    pub max_mails_per_recipient: NonZeroU32,
    /// Mails one client address may cause within `mail_window_seconds`.
    pub max_mails_per_ip: NonZeroU32,
    /// The mail-limit window.
    pub mail_window_seconds: NonZeroU32,
    /// API keys one user may hold.
    pub max_api_keys_per_user: NonZeroU32,
    /// The key (at least 32 bytes) that seals TOTP secrets in the store;
    /// generated once into `data.dir/keys/` when unset. Never printed.
    #[serde(serialize_with = "redact")]
    pub encryption_key: Option<SecretString>,
    /// Earlier encryption keys, which still open what they sealed (key
    /// rotation). Never printed.
    #[serde(serialize_with = "redact_each")]
    pub previous_encryption_keys: Vec<SecretString>,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        let policy = Policy::default();
        let hash = HashParams::default();
        Self {
            max_failed_logins: positive(policy.max_failed_logins),
            max_failed_logins_per_ip: positive(policy.max_failed_logins_per_ip),
            lockout_seconds: positive(whole_seconds(policy.lockout)),
            argon2_memory_kib: positive(hash.memory_kib),
            argon2_iterations: positive(hash.iterations),
            argon2_parallelism: positive(hash.parallelism),
            argon2_concurrency: 0,
            max_mails_per_recipient: positive(policy.max_mails_per_recipient),
            max_mails_per_ip: positive(policy.max_mails_per_ip),
            mail_window_seconds: positive(whole_seconds(policy.mail_window)),
            max_api_keys_per_user: positive(policy.max_api_keys),
            encryption_key: None,
            previous_encryption_keys: Vec::new(),
        }
    }
}

impl SecuritySettings {
    /// The password hasher's parameters.
    pub fn hash_params(&self) -> HashParams {
        HashParams {
            memory_kib: self.argon2_memory_kib.get(),
            iterations: self.argon2_iterations.get(),
            parallelism: self.argon2_parallelism.get(),
        }
    }

    /// How many password hashes may be computed at once.
    pub fn hash_concurrency(&self) -> NonZeroUsize {
        usize::try_from(self.argon2_concurrency)
            .ok()
            .and_then(NonZeroUsize::new)
            .unwrap_or_else(|| std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN))
    }
}

/// `[log]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `authd=debug,info`; `RUST_LOG` wins.
    pub level: String,
    /// Which answers get an access-log line.
    pub requests: RequestLog,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
            requests: RequestLog::All,
        }
    }
}

/// `log.requests`, in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum RequestLog {
    /// One line per request.
    All,
    /// Only requests answered with an error (status 400 and up): a proxy's
    /// forward-auth checks that succeed are then not logged one by one.
    Failures,
}

named_choices!(RequestLog, "request log", { All => "all", Failures => "failures" });

/// `log.format`, in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

named_choices!(LogFormat, "log format", { Text => "text", Json => "json" });

/// `[delivery]`: how mails wait and are retried between the use cases and
/// the transport.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliverySettings {
    /// How long a mail that fails is retried, from its first attempt.
    pub retry_for_seconds: NonZeroU32,
    /// Mails waiting at most; past it new mails are dropped (logged).
    pub queue_capacity: NonZeroUsize,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        let policy = DeliveryPolicy::default();
        Self {
            retry_for_seconds: positive(
                u32::try_from(policy.retry_for.as_secs()).expect("the default fits in u32"),
            ),
            queue_capacity: positive(policy.queue_capacity),
        }
    }
}

impl DeliverySettings {
    /// The delivery policy, the backoff steps left at their defaults.
    pub fn policy(&self) -> DeliveryPolicy {
        DeliveryPolicy {
            retry_for: std::time::Duration::from_secs(u64::from(self.retry_for_seconds.get())),
            queue_capacity: self.queue_capacity.get(),
            ..DeliveryPolicy::default()
        }
    }
}

/// `[app]`: the product the mails name.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppSettings {
    /// The product's name, in subjects and bodies.
    pub name: String,
    /// The client's public address: mails link to its `/validate`,
    /// `/reset-password` and `/invite` pages with the code.
    pub public_url: Option<PublicUrl>,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            name: AppInfo::default().name,
            public_url: None,
        }
    }
}

impl AppSettings {
    /// What the use cases put in mails.
    pub fn info(&self) -> AppInfo {
        AppInfo {
            name: self.name.clone(),
            public_url: self.public_url.as_ref().map(|u| u.0.clone()),
        }
    }
}

/// `app.public_url`: an `http://` or `https://` address, kept without a
/// trailing slash.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String")]
pub struct PublicUrl(String);

impl TryFrom<String> for PublicUrl {
    type Error = String;

    fn try_from(url: String) -> Result<Self, Self::Error> {
        let lower = url.to_ascii_lowercase();
        let host = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"));
        match host {
            Some(rest)
                if !rest.is_empty() && !rest.starts_with('/') && !url.contains(['?', '#']) =>
            {
                Ok(Self(url.trim_end_matches('/').to_owned()))
            }
            _ => Err(format!(
                "public URL {url:?} must be http:// or https:// with a host, and no query"
            )),
        }
    }
}

/// The choice that `name` names, in any case. Names come from the same
/// function that prints them, so what is printed reads back.
fn one_of<T: Copy>(
    what: &str,
    name: &str,
    choices: &[T],
    name_of: fn(T) -> &'static str,
) -> Result<T, String> {
    choices
        .iter()
        .copied()
        .find(|&choice| name_of(choice).eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let names: Vec<String> = choices
                .iter()
                .map(|&c| format!("{:?}", name_of(c)))
                .collect();
            format!("unknown {what} {name:?}: expected {}", names.join(" or "))
        })
}

/// Serializes a secret that is set as `***`, and one that is not as
/// nothing (TOML leaves the key out).
/// A secret that, when given, is not empty.
fn non_empty_secret<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SecretString>, D::Error> {
    let secret = Option::<SecretString>::deserialize(deserializer)?;
    if secret
        .as_ref()
        .is_some_and(|s| s.expose_secret().is_empty())
    {
        return Err(serde::de::Error::custom(
            "is empty: give it a value, or leave it unset",
        ));
    }
    Ok(secret)
}

fn redact<S: Serializer>(secret: &Option<SecretString>, serializer: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(_) => serializer.serialize_some(REDACTED),
        None => serializer.serialize_none(),
    }
}

/// Serializes a list of secrets as as many `***`.
fn redact_each<S: Serializer>(secrets: &[SecretString], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(secrets.iter().map(|_| REDACTED))
}

impl Settings {
    /// The rules of the service, in the policy's units.
    pub fn policy(&self) -> Policy {
        let (t, s) = (&self.tokens, &self.security);
        Policy {
            access_ttl: seconds(t.access_ttl_seconds.get()),
            refresh_ttl: seconds(t.refresh_ttl_seconds.get()),
            refresh_reuse_grace: seconds(t.refresh_reuse_grace_seconds),
            validation_code_ttl: seconds(t.validation_code_ttl_seconds.get()),
            reset_code_ttl: seconds(t.reset_code_ttl_seconds.get()),
            invite_code_ttl: seconds(t.invite_code_ttl_seconds.get()),
            max_failed_logins: s.max_failed_logins.get(),
            max_failed_logins_per_ip: s.max_failed_logins_per_ip.get(),
            lockout: seconds(s.lockout_seconds.get()),
            session_max_age: seconds(t.session_max_age_seconds.get()),
            max_mails_per_recipient: s.max_mails_per_recipient.get(),
            max_mails_per_ip: s.max_mails_per_ip.get(),
            mail_window: seconds(s.mail_window_seconds.get()),
            max_api_keys: s.max_api_keys_per_user.get(),
            // Not a setting: how often a key's use is written costs little
            // either way and matters to nobody's configuration.
            api_key_use_interval: Policy::default().api_key_use_interval,
            // Five minutes, as the contract says; no setting.
            mfa_challenge_ttl: Policy::default().mfa_challenge_ttl,
        }
    }

    /// Loads the settings from an optional TOML file and the environment.
    ///
    /// # Errors
    /// When the file is missing or malformed, or a value has the wrong type
    /// or is out of range; the message names the key.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
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
                .with_list_parse_key("tokens.verification_key_files")
                .with_list_parse_key("security.previous_encryption_keys"),
        );
        Self::read(builder)
    }

    /// The settings as TOML, as `authd config print` shows them: every
    /// secret that is set is written `***`, every key that is unset is left
    /// out. Read back, the text gives the same settings, secrets aside.
    ///
    /// # Errors
    /// When a path is not valid UTF-8, which TOML cannot hold.
    pub fn to_toml(&self) -> anyhow::Result<String> {
        toml::to_string(self).context("cannot write the settings as TOML")
    }

    fn read(builder: config::ConfigBuilder<config::builder::DefaultState>) -> anyhow::Result<Self> {
        builder
            .build()
            .context("cannot read settings")?
            .try_deserialize()
            .context("invalid settings")
    }
}

fn seconds(s: u32) -> Duration {
    Duration::seconds(i64::from(s))
}

/// A default duration in whole seconds, as the settings count it.
fn whole_seconds(d: Duration) -> u32 {
    u32::try_from(d.whole_seconds()).expect("a default duration fits in u32 seconds")
}

/// A default that must be at least one.
fn positive<N: TryInto<T> + Copy + fmt::Debug, T>(n: N) -> T {
    n.try_into()
        .unwrap_or_else(|_| panic!("the default {n:?} must be at least 1"))
}

#[cfg(test)]
mod reference_doc;

#[cfg(test)]
mod tests {
    use super::*;

    fn from_toml(text: &str) -> anyhow::Result<Settings> {
        Settings::read(
            config::Config::builder()
                .add_source(config::File::from_str(text, config::FileFormat::Toml)),
        )
    }

    fn refusal(text: &str) -> String {
        match from_toml(text) {
            Ok(settings) => panic!("accepted {text:?} as {settings:?}"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn defaults_are_those_of_the_policy_the_hasher_and_the_http_layer() {
        let settings = from_toml("").unwrap();
        assert_eq!(
            format!("{:?}", settings.policy()),
            format!("{:?}", Policy::default())
        );
        assert_eq!(settings.security.hash_params(), HashParams::default());
        let http = HttpSettings::default();
        assert_eq!(settings.server.body_limit_bytes.get(), http.body_limit);
        assert_eq!(settings.server.workers, http.workers);
        assert_eq!(settings.tokens.algorithm, SigningAlgorithm::default());
        assert_eq!(settings.mail.file, Path::new("data/mailbox.jsonl"));
        assert_eq!(
            settings.database.url.expose_secret(),
            "sqlite://data/authd.db"
        );
    }

    #[test]
    fn settings_convert_to_the_policy_units() {
        let settings = from_toml(
            "[tokens]\naccess_ttl_seconds = 60\nrefresh_reuse_grace_seconds = 0\n\
             [security]\nlockout_seconds = 30\nmax_failed_logins = 3\nargon2_memory_kib = 256\n",
        )
        .unwrap();
        let policy = settings.policy();
        assert_eq!(policy.access_ttl, Duration::minutes(1));
        assert_eq!(policy.refresh_reuse_grace, Duration::ZERO);
        assert_eq!(policy.lockout, Duration::seconds(30));
        assert_eq!(policy.max_failed_logins, 3);
        assert_eq!(settings.security.hash_params().memory_kib, 256);
    }

    #[test]
    fn the_session_max_age_defaults_to_ninety_days_and_converts() {
        let default = from_toml("").unwrap();
        assert_eq!(default.tokens.session_max_age_seconds.get(), 7_776_000);
        let settings = from_toml("[tokens]\nsession_max_age_seconds = 2\n").unwrap();
        assert_eq!(settings.policy().session_max_age, Duration::seconds(2));
    }

    #[test]
    fn a_zero_where_one_is_needed_is_refused_naming_the_key() {
        for (section, key) in [
            ("server", "body_limit_bytes"),
            ("database", "max_connections"),
            ("tokens", "access_ttl_seconds"),
            ("tokens", "refresh_ttl_seconds"),
            ("tokens", "validation_code_ttl_seconds"),
            ("tokens", "reset_code_ttl_seconds"),
            ("tokens", "invite_code_ttl_seconds"),
            ("security", "max_failed_logins"),
            ("security", "max_failed_logins_per_ip"),
            ("security", "lockout_seconds"),
            ("security", "argon2_memory_kib"),
            ("security", "argon2_iterations"),
            ("security", "argon2_parallelism"),
            ("tokens", "session_max_age_seconds"),
            ("security", "max_mails_per_recipient"),
            ("security", "max_mails_per_ip"),
            ("security", "mail_window_seconds"),
            ("security", "max_api_keys_per_user"),
            ("delivery", "retry_for_seconds"),
            ("delivery", "queue_capacity"),
            ("mail.smtp", "port"),
            ("mail.smtp", "timeout_seconds"),
        ] {
            let message = refusal(&format!("[{section}]\n{key} = 0\n"));
            assert!(message.contains(&format!("{section}.{key}")), "{message}");
            assert!(message.contains("nonzero"), "{message}");
        }
    }

    #[test]
    fn an_unknown_name_is_refused_naming_the_key() {
        for (section, key, value, expected) in [
            ("mail", "transport", "sendmail", "smtp"),
            ("mail.smtp", "tls", "ssl", "starttls"),
            ("tokens", "algorithm", "HS257", "EdDSA"),
            ("log", "format", "jsno", "json"),
        ] {
            let message = refusal(&format!("[{section}]\n{key} = {value:?}\n"));
            assert!(message.contains(&format!("{section}.{key}")), "{message}");
            assert!(message.contains(value), "{message}");
            assert!(message.contains(expected), "{message}");
        }
    }

    #[test]
    fn names_parse_as_before() {
        let settings =
            from_toml("[log]\nformat = \"JSON\"\n[tokens]\nalgorithm = \"es256\"\n").unwrap();
        assert_eq!(settings.log.format, LogFormat::Json);
        assert_eq!(settings.tokens.algorithm, SigningAlgorithm::Es256);
        assert_eq!(from_toml("").unwrap().log.format, LogFormat::Text);
        let failures = from_toml("[log]\nrequests = \"Failures\"\n").unwrap();
        assert_eq!(failures.log.requests, RequestLog::Failures);
        assert_eq!(from_toml("").unwrap().log.requests, RequestLog::All);
        assert!(from_toml("[log]\nrequests = \"some\"\n").is_err());
    }

    #[test]
    fn the_database_password_never_reaches_debug() {
        let settings =
            from_toml("[database]\nurl = \"postgres://u:hunter2@h/db?password=hunter2\"\n")
                .unwrap();
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("DatabaseUrl(postgres:…)"), "{shown}");
        assert_eq!(
            settings.database.url.expose_secret(),
            "postgres://u:hunter2@h/db?password=hunter2"
        );
    }

    #[test]
    fn delivery_defaults_to_fifteen_minutes_of_retries_and_a_thousand_mails() {
        let default = from_toml("").unwrap().delivery.policy();
        assert_eq!(default, DeliveryPolicy::default());
        assert_eq!(default.retry_for, std::time::Duration::from_secs(900));
        assert_eq!(default.queue_capacity, 1000);
        let set = from_toml("[delivery]\nretry_for_seconds = 60\nqueue_capacity = 5\n")
            .unwrap()
            .delivery
            .policy();
        assert_eq!(set.retry_for, std::time::Duration::from_secs(60));
        assert_eq!(set.queue_capacity, 5);
    }

    #[test]
    fn the_app_names_the_product_with_an_optional_public_url() {
        let default = from_toml("").unwrap().app.info();
        assert_eq!(default, AppInfo::default());
        assert_eq!(default.name, "authd");
        let set =
            from_toml("[app]\nname = \"Engines\"\npublic_url = \"https://app.example.com/\"\n")
                .unwrap()
                .app
                .info();
        assert_eq!(set.name, "Engines");
        assert_eq!(set.public_url.as_deref(), Some("https://app.example.com"));
        for bad in ["app.example.com", "ftp://x", "https://", "https://x/?a=1"] {
            let message = refusal(&format!("[app]\npublic_url = {bad:?}\n"));
            assert!(message.contains("app.public_url"), "{message}");
        }
    }

    #[test]
    fn smtp_settings_are_read_with_defaults_by_tls_mode() {
        let smtp = |extra: &str| {
            from_toml(&format!(
                "[mail]\ntransport = \"SMTP\"\nfrom = \"authd <no-reply@example.com>\"\n\
                 [mail.smtp]\nhost = \"smtp.example.com\"\n{extra}"
            ))
            .unwrap()
            .mail
            .smtp
            .unwrap()
        };
        let default = smtp("");
        assert_eq!(default.host, "smtp.example.com");
        assert_eq!((default.tls, default.port), (SmtpTls::StartTls, 587));
        assert_eq!(default.timeout, std::time::Duration::from_secs(10));
        assert_eq!(default.from.to_string(), "authd <no-reply@example.com>");
        assert!(default.username.is_none() && default.password.is_none());
        assert_eq!(smtp("tls = \"tls\"\n").port, 465);
        assert_eq!(smtp("tls = \"none\"\n").port, 25);
        let custom = smtp(
            "tls = \"none\"\nport = 2525\ntimeout_seconds = 3\nusername = \"u\"\n\
             password = \"p\"\nca_file = \"ca.pem\"\n",
        );
        assert_eq!((custom.tls, custom.port), (SmtpTls::None, 2525));
        assert_eq!(custom.timeout, std::time::Duration::from_secs(3));
        assert_eq!(custom.username.as_deref(), Some("u"));
        assert_eq!(custom.password.unwrap().expose_secret(), "p");
        assert_eq!(custom.ca_file.unwrap(), Path::new("ca.pem"));
        assert!(from_toml("").unwrap().mail.smtp.is_none());
    }

    #[test]
    fn smtp_without_host_or_sender_is_refused_naming_the_key() {
        let message = refusal("[mail]\ntransport = \"smtp\"\nfrom = \"a@example.com\"\n");
        assert!(message.contains("mail.smtp.host must be set"), "{message}");
        let message = refusal(
            "[mail]\ntransport = \"smtp\"\nfrom = \"a@example.com\"\n[mail.smtp]\nhost = \"\"\n",
        );
        assert!(message.contains("mail.smtp.host must be set"), "{message}");
        let message = refusal("[mail]\ntransport = \"smtp\"\n[mail.smtp]\nhost = \"h\"\n");
        assert!(message.contains("mail.from must be set"), "{message}");
        let message = refusal(
            "[mail]\ntransport = \"smtp\"\nfrom = \"a@example.com\"\n\
             [mail.smtp]\nhost = \"h\"\npassword = \"p\"\n",
        );
        assert!(message.contains("mail.smtp.username"), "{message}");
    }

    #[test]
    fn a_bad_sender_is_refused_naming_the_key() {
        for from in ["not a mailbox", "authd <no-reply>", "a@b@c"] {
            let message = refusal(&format!("[mail]\nfrom = {from:?}\n"));
            assert!(message.contains("mail.from"), "{message}");
            assert!(message.contains(from), "{message}");
        }
    }

    #[test]
    fn the_smtp_password_never_reaches_debug() {
        let settings = from_toml(
            "[mail]\ntransport = \"smtp\"\nfrom = \"a@example.com\"\n\
             [mail.smtp]\nhost = \"h\"\nusername = \"u\"\npassword = \"hunter2\"\n",
        )
        .unwrap();
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("username: Some(\"u\")"), "{shown}");
    }

    #[test]
    fn encryption_keys_are_read_and_never_reach_debug() {
        let settings = from_toml(
            "[security]\nencryption_key = \"current-key-of-at-least-32-bytes!!\"\n\
             previous_encryption_keys = [\"older-key-of-at-least-32-bytes!!!\"]\n",
        )
        .unwrap();
        let security = &settings.security;
        assert_eq!(
            security
                .encryption_key
                .as_ref()
                .map(|k| k.expose_secret().to_owned()),
            Some("current-key-of-at-least-32-bytes!!".to_owned())
        );
        assert_eq!(security.previous_encryption_keys.len(), 1);
        let shown = format!("{settings:?}");
        assert!(!shown.contains("key-of-at-least"), "{shown}");
        assert!(from_toml("").unwrap().security.encryption_key.is_none());
    }

    #[test]
    fn printed_settings_read_back_as_the_same_settings() {
        // Every section away from its defaults, and no secret: a secret is
        // printed as `***`, which reads back as a different secret.
        let settings = from_toml(
            "[server]\nbind = \"0.0.0.0:9000\"\nworkers = 3\ntrusted_proxies = [\"10.0.0.1\", \"::1\"]\n\
             [database]\nurl = \"postgres://authd@db.example/authd?sslmode=require\"\n\
             statement_timeout_ms = 0\nstatement_cache = false\n\
             [data]\ndir = \"/var/lib/authd\"\n\
             [mail]\ntransport = \"SMTP\"\nfrom = \"Engines <no-reply@example.com>\"\n\
             [mail.smtp]\nhost = \"smtp.example.com\"\ntls = \"tls\"\nusername = \"u\"\n\
             ca_file = \"ca.pem\"\n\
             [tokens]\nalgorithm = \"es256\"\nprivate_key_file = \"k.pem\"\n\
             verification_key_files = [\"old.pem\"]\nrefresh_reuse_grace_seconds = 0\n\
             [security]\nmax_failed_logins = 3\n\
             [log]\nformat = \"json\"\nlevel = \"authd=debug,info\"\n\
             [delivery]\nqueue_capacity = 5\n\
             [app]\nname = \"Engines\"\npublic_url = \"https://app.example.com/\"\n\
             [api]\ncompat_routes = false\n",
        )
        .unwrap();
        let printed = settings.to_toml().unwrap();
        let read_back = from_toml(&printed).unwrap_or_else(|e| panic!("{e:#}\n{printed}"));
        assert_eq!(format!("{read_back:?}"), format!("{settings:?}"));
        assert_eq!(read_back.to_toml().unwrap(), printed);
        assert!(printed.contains("transport = \"smtp\""), "{printed}");
        assert!(printed.contains("algorithm = \"ES256\""), "{printed}");
        assert!(
            !printed.lines().any(|l| l.starts_with("port =")),
            "an unset port is left out, not resolved: {printed}"
        );
    }

    #[test]
    fn the_defaults_print_and_read_back() {
        let printed = Settings::default().to_toml().unwrap();
        assert!(
            printed.contains("[mail.smtp]\ntls = \"starttls\""),
            "{printed}"
        );
        assert_eq!(from_toml(&printed).unwrap().to_toml().unwrap(), printed);
    }

    #[test]
    fn every_secret_is_printed_as_stars() {
        let settings = from_toml(
            "[database]\nurl = \"postgres://u:hunter2-url@h:5432/db?sslmode=require&password=hunter2-query\"\n\
             [mail]\ntransport = \"smtp\"\nfrom = \"a@example.com\"\n\
             [mail.smtp]\nhost = \"h\"\nusername = \"u\"\npassword = \"hunter2-smtp\"\n\
             [tokens]\nhmac_secret = \"hunter2-hmac\"\n\
             [security]\nencryption_key = \"hunter2-current\"\n\
             previous_encryption_keys = [\"hunter2-old\", \"hunter2-older\"]\n\
             [metrics]\ntoken = \"hunter2-metrics\"\n",
        )
        .unwrap();
        let printed = settings.to_toml().unwrap();
        assert!(!printed.contains("hunter2"), "{printed}");
        for line in [
            "url = \"postgres://u:***@h:5432/db?sslmode=require&password=***\"",
            "password = \"***\"",
            "hmac_secret = \"***\"",
            "encryption_key = \"***\"",
            "previous_encryption_keys = [\"***\", \"***\"]",
            "token = \"***\"",
        ] {
            assert!(printed.lines().any(|l| l == line), "{line} in {printed}");
        }
        let unset = Settings::default().to_toml().unwrap();
        for key in ["password", "hmac_secret", "encryption_key", "token"] {
            assert!(
                !unset.lines().any(|l| l.starts_with(&format!("{key} ="))),
                "an unset {key} is left out: {unset}"
            );
        }
        assert!(unset.contains("previous_encryption_keys = []"), "{unset}");
    }

    #[test]
    fn the_database_url_is_shown_without_its_password() {
        for (url, shown) in [
            ("sqlite://data/authd.db", "sqlite://data/authd.db"),
            ("sqlite::memory:", "sqlite::memory:"),
            ("postgres://h/db", "postgres://h/db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            (
                "postgresql://u:p%40ss@h:5432/db",
                "postgresql://u:***@h:5432/db",
            ),
            ("postgres://u:p@ss@h/db", "postgres://u:***@h/db"),
            ("postgres://u:pa/ss@h/db", "postgres://***"),
            ("postgres://u:pa?ss@h/db", "postgres://***"),
            ("postgres://u:pa#ss@h/db", "postgres://***"),
            (
                "postgres:///db?host=/run/pg&PassWord=p&sslpassword=q",
                "postgres:///db?host=/run/pg&PassWord=***&sslpassword=***",
            ),
            ("host=h password=p", "***"),
        ] {
            assert_eq!(DatabaseUrl::from(url).redacted(), shown, "{url}");
        }
    }
}
