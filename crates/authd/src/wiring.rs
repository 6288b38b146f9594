use std::{
    net::TcpListener,
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::signal::unix::{Signal, SignalKind, signal};

use adapter_argon2::Argon2Hasher;
use adapter_jwt::{JwtIssuer, RefreshKey, SealingKeys};
use adapter_mail::{FileMailer, QueuedMailer};
use adapter_postgres::{PgStore, PoolSettings};
use adapter_sqlite::SqliteStore;
use adapter_totp::Rfc6238;
use anyhow::{Context, bail};
use application::{
    AuthService, Ports,
    system::{OsSecrets, SystemClock},
};
use http_actix::HttpSettings;
use ports::{Mailer, Store, StoreError};

use crate::settings::{MailTransport, RequestLog, Settings};

/// Like [`open_store`], trying again with backoff for up to `patience`
/// while the database cannot be reached (a server still starting, the
/// first host of a multi-host URL refusing the login): instances started
/// together with their database, or during a failover, wait for it.
///
/// # Errors
/// As [`open_store`]; an unreachable database once `patience` is over.
pub fn open_store_patiently(
    url: &str,
    pool: PoolSettings,
    patience: Duration,
) -> anyhow::Result<Arc<dyn Store>> {
    let deadline = Instant::now() + patience;
    let mut pause = Duration::from_millis(100);
    loop {
        let error = match open_store(url, pool) {
            Ok(store) => return Ok(store),
            Err(error) => error,
        };
        let unreachable = error
            .chain()
            .any(|e| matches!(e.downcast_ref(), Some(StoreError::Unavailable(_))));
        let now = Instant::now();
        if !unreachable || now >= deadline {
            return Err(error);
        }
        let left = deadline - now;
        tracing::warn!(
            error = %format!("{error:#}"),
            retry_in_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
            left_s = left.as_secs(),
            "database not reachable yet; trying again"
        );
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// Opens the store the URL's scheme names, with a pool as `pool` says
/// (SQLite reads only its size), and applies pending migrations.
///
/// # Errors
/// An unknown scheme, an unreachable database, or a failed migration.
pub fn open_store(url: &str, pool: PoolSettings) -> anyhow::Result<Arc<dyn Store>> {
    let scheme = url.split(':').next().unwrap_or_default();
    let store: Arc<dyn Store> = match scheme {
        "sqlite" => {
            let store = SqliteStore::connect(url, pool.max_connections)
                .context("cannot open the SQLite database")?;
            log_migrations(store.migrate().context("SQLite migration failed")?);
            Arc::new(store)
        }
        "postgres" | "postgresql" => {
            let store = PgStore::connect(url, pool).context("cannot connect to PostgreSQL")?;
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

/// Builds the use-case service over every adapter the settings choose.
///
/// # Errors
/// When an adapter cannot start (database, keys, hasher parameters).
pub fn build_service(settings: &Settings) -> anyhow::Result<AuthService> {
    // A command that ends in moments keeps no idle connections: the pool
    // would open them on threads of its own, which libpq does not survive
    // the process exiting under.
    let pool = PoolSettings {
        min_connections: 0,
        ..settings.database.pool()
    };
    build_parts(settings, pool).map(|parts| parts.service)
}

/// The service, and the adapter a stopping server must close itself.
struct Parts {
    service: AuthService,
    /// Closed once the server has stopped, so that queued mail goes out
    /// before the process exits.
    mail: Arc<QueuedMailer>,
}

fn build_parts(settings: &Settings, pool: PoolSettings) -> anyhow::Result<Parts> {
    let database = &settings.database;
    let store = open_store_patiently(
        database.url.expose_secret(),
        pool,
        database.connect_timeout(),
    )?;
    let tokens = JwtIssuer::from_settings(&settings.tokens.jwt(&settings.data.dir))
        .context("cannot load the token signing key")?;
    let refresh_key = RefreshKey::load(
        settings.tokens.refresh_key_file.as_deref(),
        &settings.data.dir,
    )
    .context("cannot load the refresh-token key")?;
    let security = &settings.security;
    let sealer = SealingKeys::load(
        security.encryption_key.as_ref(),
        &security.previous_encryption_keys,
        &settings.data.dir,
    )
    .context("cannot load the encryption key")?;
    let hasher = Argon2Hasher::with_concurrency(
        settings.security.hash_params(),
        settings.security.hash_concurrency(),
    )
    .context("invalid argon2 parameters")?;
    let mailer: Arc<dyn Mailer> = match settings.mail.transport {
        MailTransport::File => Arc::new(FileMailer::new(&settings.mail.file)),
        MailTransport::Smtp => {
            let smtp = settings
                .mail
                .smtp
                .as_ref()
                .context("mail.transport is \"smtp\" but [mail.smtp] is not set")?;
            Arc::new(adapter_mail::SmtpMailer::new(smtp).context("cannot set up the SMTP mailer")?)
        }
    };
    // Whatever the transport, no request waits on it.
    let mail = Arc::new(QueuedMailer::start(mailer, settings.delivery.policy()));
    let ports = Ports {
        store,
        tokens: Arc::new(tokens),
        hasher: Arc::new(hasher),
        mailer: Arc::clone(&mail) as Arc<dyn Mailer>,
        clock: Arc::new(SystemClock),
        secrets: Arc::new(OsSecrets),
        refresh_tokens: Arc::new(refresh_key),
        totp: Arc::new(Rfc6238),
        sealer: Arc::new(sealer),
    };
    Ok(Parts {
        service: AuthService::new(ports, settings.policy()).with_app(settings.app.info()),
        mail,
    })
}

/// The service, ready to serve: adapters started, listener bound.
#[derive(Debug)]
pub struct Application {
    port: u16,
    listener: TcpListener,
    service: AuthService,
    mail: Arc<QueuedMailer>,
    http: HttpSettings,
}

impl Application {
    /// Opens and migrates the store, loads keys, and binds `server.bind`
    /// (port 0 picks a free port).
    ///
    /// # Errors
    /// When any adapter cannot start or the address cannot be bound.
    pub fn build(settings: &Settings) -> anyhow::Result<Self> {
        let Parts { service, mail } = build_parts(settings, settings.database.pool())?;
        let service = service
            .with_database_watch(settings.database.health_check_interval())
            .with_change_feed()
            .context("cannot start the change feed")?;
        let listener = TcpListener::bind(&settings.server.bind)
            .with_context(|| format!("cannot listen on {}", settings.server.bind))?;
        let port = listener.local_addr()?.port();
        let workers = match settings.server.workers {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        let pool = usize::try_from(settings.database.max_connections.get()).unwrap_or(usize::MAX);
        let http = HttpSettings {
            body_limit: settings.server.body_limit_bytes.get(),
            trusted_proxies: settings.server.trusted_proxies.clone(),
            workers,
            // Every use case holds at most one connection at a time: more
            // blocking threads than connections would only queue on the pool.
            blocking_threads_per_worker: pool.div_ceil(workers).max(2),
            blocking_queue_per_worker: settings.server.blocking_queue_per_worker,
            shutdown_timeout: std::time::Duration::from_secs(
                settings.server.shutdown_timeout_seconds.into(),
            ),
            metrics_token: settings.metrics.token.clone(),
            compat_routes: settings.api.compat_routes,
            log_successes: settings.log.requests == RequestLog::All,
        };
        Ok(Self {
            port,
            listener,
            service,
            mail,
            http,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts the server; call it inside an actix runtime and await the
    /// result to serve until stopped through its handle (signals are left
    /// to the caller: see [`Application::serve`]).
    ///
    /// # Errors
    /// When the listener cannot be used.
    pub fn start(self) -> std::io::Result<actix_web::dev::Server> {
        tracing::info!(port = self.port, "authd listening");
        http_actix::build_server(self.service, self.http, self.listener)
    }

    /// Serves until SIGTERM or SIGINT, then stops taking connections and
    /// lets the requests under way finish (for at most
    /// `server.shutdown_timeout_seconds`; a second signal ends the process
    /// at once, with status 1).
    /// When this returns, the service and its adapters are closed: the
    /// mail queue has delivered what it could within its drain time, and
    /// the database pool is gone.
    ///
    /// # Errors
    /// When the listener or the signal handlers cannot be used.
    pub async fn serve(self) -> std::io::Result<()> {
        // Before the server says it listens: a signal from then on is ours.
        let mut stop = StopSignals::new()?;
        let mail = Arc::clone(&self.mail);
        let server = self.start()?;
        let handle = server.handle();
        actix_web::rt::spawn(async move {
            let first = stop.next().await;
            tracing::info!(signal = first, "stopping: finishing the requests under way");
            let graceful = handle.stop(true);
            tokio::select! {
                () = graceful => {}
                second = stop.next() => {
                    // The server takes no second stop while it drains.
                    tracing::warn!(signal = second, "stopping at once: requests under way are cut off");
                    crate::flush_logs();
                    std::process::exit(1);
                }
            }
        });
        server.await?;
        // Workers may still be dropping their clones of the service: the
        // mail queue is drained here, before the process can exit (on a
        // blocking thread: draining waits on the transport).
        actix_web::rt::task::spawn_blocking(move || mail.close())
            .await
            .map_err(std::io::Error::other)?;
        tracing::info!("authd stopped");
        Ok(())
    }
}

/// SIGTERM and SIGINT, as a stream of their names.
struct StopSignals {
    term: Signal,
    int: Signal,
}

impl StopSignals {
    fn new() -> std::io::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}
