use std::{net::TcpListener, sync::Arc};

use adapter_argon2::{Argon2Hasher, HashParams};
use adapter_jwt::{JwtIssuer, JwtSettings};
use adapter_mail::FileMailer;
use adapter_postgres::PgStore;
use adapter_sqlite::SqliteStore;
use anyhow::{Context, bail};
use application::{
    AuthService, Policy, Ports,
    system::{OsSecrets, SystemClock},
};
use http_actix::HttpSettings;
use ports::{Mailer, Store};
use time::Duration;

use crate::settings::Settings;

/// Opens the store the URL's scheme names and applies pending migrations.
///
/// # Errors
/// An unknown scheme, an unreachable database, or a failed migration.
pub fn open_store(url: &str, max_connections: u32) -> anyhow::Result<Arc<dyn Store>> {
    let scheme = url.split(':').next().unwrap_or_default();
    let store: Arc<dyn Store> = match scheme {
        "sqlite" => {
            let store = SqliteStore::connect(url, max_connections)
                .context("cannot open the SQLite database")?;
            log_migrations(store.migrate().context("SQLite migration failed")?);
            Arc::new(store)
        }
        "postgres" | "postgresql" => {
            let store =
                PgStore::connect(url, max_connections).context("cannot connect to PostgreSQL")?;
            log_migrations(store.migrate().context("PostgreSQL migration failed")?);
            Arc::new(store)
        }
        _ => bail!("database.url must start with sqlite:// or postgres://"),
    };
    Ok(store)
}

fn log_migrations(applied: Vec<String>) {
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "database migrated");
    }
}

fn seconds(s: u32) -> Duration {
    Duration::seconds(i64::from(s))
}

/// Builds the use-case service over every adapter the settings choose.
///
/// # Errors
/// When an adapter cannot start (database, keys, hasher parameters).
pub fn build_service(settings: &Settings) -> anyhow::Result<AuthService> {
    let store = open_store(&settings.database.url, settings.database.max_connections)?;
    let t = &settings.tokens;
    let tokens = JwtIssuer::from_settings(&JwtSettings {
        algorithm: t.algorithm.parse().context("tokens.algorithm")?,
        issuer: t.issuer.clone(),
        audience: t.audience.clone(),
        private_key_path: t.private_key_file.clone(),
        verification_key_paths: t.verification_key_files.clone(),
        hmac_secret: t.hmac_secret.clone(),
        data_dir: settings.data.dir.clone(),
    })
    .context("cannot load the token signing key")?;
    let s = &settings.security;
    if s.max_failed_logins == 0 || s.max_failed_logins_per_ip == 0 || s.lockout_seconds == 0 {
        bail!(
            "security.max_failed_logins, max_failed_logins_per_ip and lockout_seconds must be at least 1"
        );
    }
    let hasher = Argon2Hasher::new(HashParams {
        memory_kib: s.argon2_memory_kib,
        iterations: s.argon2_iterations,
        parallelism: s.argon2_parallelism,
    })
    .context("invalid argon2 parameters")?;
    let mailer: Arc<dyn Mailer> = match settings.mail.transport.as_str() {
        "file" => Arc::new(FileMailer::new(&settings.mail.file)),
        other => bail!("mail.transport {other:?} is not supported (use \"file\")"),
    };
    let policy = Policy {
        access_ttl: seconds(t.access_ttl_seconds),
        refresh_ttl: seconds(t.refresh_ttl_seconds),
        refresh_reuse_grace: seconds(t.refresh_reuse_grace_seconds),
        validation_code_ttl: seconds(t.validation_code_ttl_seconds),
        reset_code_ttl: seconds(t.reset_code_ttl_seconds),
        max_failed_logins: s.max_failed_logins,
        max_failed_logins_per_ip: s.max_failed_logins_per_ip,
        lockout: seconds(s.lockout_seconds),
    };
    let ports = Ports {
        store,
        tokens: Arc::new(tokens),
        hasher: Arc::new(hasher),
        mailer,
        clock: Arc::new(SystemClock),
        secrets: Arc::new(OsSecrets),
    };
    Ok(AuthService::new(ports, policy))
}

/// The service, ready to serve: adapters started, listener bound.
#[derive(Debug)]
pub struct Application {
    port: u16,
    listener: TcpListener,
    service: AuthService,
    http: HttpSettings,
}

impl Application {
    /// Opens and migrates the store, loads keys, and binds `server.bind`
    /// (port 0 picks a free port).
    ///
    /// # Errors
    /// When any adapter cannot start or the address cannot be bound.
    pub fn build(settings: &Settings) -> anyhow::Result<Self> {
        let service = build_service(settings)?;
        let listener = TcpListener::bind(&settings.server.bind)
            .with_context(|| format!("cannot listen on {}", settings.server.bind))?;
        let port = listener.local_addr()?.port();
        let workers = match settings.server.workers {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        let pool = usize::try_from(settings.database.max_connections).unwrap_or(usize::MAX);
        let http = HttpSettings {
            body_limit: settings.server.body_limit_bytes,
            trusted_proxies: settings.server.trusted_proxies.clone(),
            workers,
            // Every use case holds at most one connection at a time: more
            // blocking threads than connections would only queue on the pool.
            blocking_threads_per_worker: pool.div_ceil(workers).max(2),
        };
        Ok(Self {
            port,
            listener,
            service,
            http,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts the server; call it inside an actix runtime and await the
    /// result to serve until stopped (SIGINT/SIGTERM stop it gracefully).
    ///
    /// # Errors
    /// When the listener cannot be used.
    pub fn start(self) -> std::io::Result<actix_web::dev::Server> {
        tracing::info!(port = self.port, "authd listening");
        http_actix::build_server(self.service, self.http, self.listener)
    }
}
