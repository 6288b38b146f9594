//! [`SmtpMailer`]: mail sent through an SMTP server (lettre's blocking
//! transport, TLS by rustls).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::SmtpTransport;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, Transport};
use ports::{Mail, MailError, Mailer};
use secrecy::{ExposeSecret, SecretString};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded by `STARTTLS`, which the server must offer
    /// (port 587 by default).
    StartTls,
    /// TLS from the first byte (port 465 by default).
    Tls,
    /// No encryption at all (port 25 by default): for a relay on the same
    /// host or network only.
    None,
}

impl SmtpTls {
    /// The usual port of this mode.
    pub fn default_port(self) -> u16 {
        match self {
            Self::StartTls => 587,
            Self::Tls => 465,
            Self::None => 25,
        }
    }
}

/// A sender mailbox such as `authd <no-reply@example.com>` or a bare
/// address, checked when it is parsed.
#[derive(Clone, PartialEq, Eq)]
pub struct MailFrom(Mailbox);

impl FromStr for MailFrom {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<Mailbox>()
            .map(Self)
            .map_err(|e| format!("invalid sender mailbox {s:?}: {e}"))
    }
}

impl fmt::Display for MailFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for MailFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MailFrom({})", self.0)
    }
}

/// Everything [`SmtpMailer`] needs.
#[derive(Clone)]
pub struct SmtpSettings {
    /// Server host name (also the name its certificate must carry).
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Connection protection.
    pub tls: SmtpTls,
    /// Login name, if the server wants one.
    pub username: Option<String>,
    /// Password for `username`.
    pub password: Option<SecretString>,
    /// The `From` of every mail.
    pub from: MailFrom,
    /// Limit on connecting and on each exchange with the server.
    pub timeout: Duration,
    /// Extra trusted root certificates (PEM), besides the public roots.
    pub ca_file: Option<PathBuf>,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// Why an [`SmtpMailer`] could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    /// The extra root certificates could not be read.
    #[error("cannot read the SMTP CA file {}: {source}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The extra root certificates or the TLS setup were refused.
    #[error("invalid SMTP TLS setup: {0}")]
    Tls(String),
}

/// A [`Mailer`] that hands every mail to an SMTP server, one connection per
/// mail. It blocks: call it from a blocking thread.
pub struct SmtpMailer {
    transport: SmtpTransport,
    from: Mailbox,
    endpoint: String,
}

impl SmtpMailer {
    /// A mailer for the server `settings` name. Nothing is connected until
    /// the first [`Mailer::send`].
    ///
    /// # Errors
    /// [`SmtpSetupError`] when `ca_file` cannot be read or holds no valid
    /// certificate.
    pub fn new(settings: &SmtpSettings) -> Result<Self, SmtpSetupError> {
        let tls = match settings.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(tls_parameters(settings)?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters(settings)?),
        };
        let mut builder = SmtpTransport::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        if let Some(username) = &settings.username {
            let password = settings
                .password
                .as_ref()
                .map_or_else(String::new, |p| p.expose_secret().to_owned());
            builder = builder.credentials(Credentials::new(username.clone(), password));
        }
        Ok(Self {
            transport: builder.build(),
            from: settings.from.0.clone(),
            endpoint: format!("{}:{}", settings.host, settings.port),
        })
    }
}

fn tls_parameters(settings: &SmtpSettings) -> Result<TlsParameters, SmtpSetupError> {
    let mut builder = TlsParameters::builder(settings.host.clone());
    if let Some(path) = &settings.ca_file {
        let pem = std::fs::read(path).map_err(|source| SmtpSetupError::CaFile {
            path: path.clone(),
            source,
        })?;
        let certificate = Certificate::from_pem(&pem).map_err(|e| {
            SmtpSetupError::Tls(format!("no valid certificate in {}: {e}", path.display()))
        })?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build_rustls()
        .map_err(|e| SmtpSetupError::Tls(e.to_string()))
}

impl Mailer for SmtpMailer {
    fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let to: Address = mail
            .to
            .as_str()
            .parse()
            .map_err(|_| failure("the recipient address is not valid for SMTP".to_owned()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(mail.subject.as_str())
            .date(mail.sent_at.into())
            .message_id(None)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.text.clone())
            .map_err(|_| failure("the mail could not be composed".to_owned()))?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| failure(describe(&e, &self.endpoint)))
    }
}

/// What went wrong. A refusal is told by its status alone: the server's
/// words may quote the mail. Connection, TLS and client failures carry no
/// server text, so their own description is kept.
fn describe(e: &lettre::transport::smtp::Error, endpoint: &str) -> String {
    if let Some(code) = e.status() {
        let what = if e.is_permanent() {
            "refused"
        } else {
            "deferred"
        };
        format!("SMTP server {endpoint} {what} the mail (status {code})")
    } else if e.is_response() {
        format!("SMTP server {endpoint} gave an unreadable answer")
    } else if e.is_timeout() || timed_out(e) {
        format!("SMTP server {endpoint} timed out")
    } else {
        format!("SMTP server {endpoint}: {e}")
    }
}

/// A blocking read past its timeout fails as `WouldBlock` on Unix, which
/// lettre does not count as a timeout.
fn timed_out(e: &lettre::transport::smtp::Error) -> bool {
    std::error::Error::source(e)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            )
        })
}

fn failure(message: String) -> MailError {
    MailError(message.into())
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("endpoint", &self.endpoint)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}
