//! [`SmtpMailer`] against an SMTP server running in the test process.

use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use adapter_mail::{DeliveryPolicy, QueuedMailer, SmtpMailer, SmtpSettings, SmtpTls};
use domain::{CodeKind, Email};
use mailin_embedded::{AuthMechanism, Handler, Response, Server, SslConfig, response};
use ports::{Mail, Mailer};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use secrecy::SecretString;
use time::OffsetDateTime;

/// One mail as the server received it.
#[derive(Debug, Clone, Default)]
struct Received {
    from: String,
    to: Vec<String>,
    data: String,
}

/// Collects every mail the server accepts.
#[derive(Clone, Default)]
struct Inbox {
    mails: Arc<Mutex<Vec<Received>>>,
    current: Arc<Mutex<Received>>,
    /// The (user, password) pairs that logged in.
    logins: Arc<Mutex<Vec<(String, String)>>>,
    /// Refuse every mail at its end, quoting it back.
    refuse: bool,
    /// Offer (and require) a PLAIN login after STARTTLS.
    login: bool,
}

impl Inbox {
    fn mails(&self) -> Vec<Received> {
        self.mails.lock().unwrap().clone()
    }
}

impl Handler for Inbox {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        *self.current.lock().unwrap() = Received {
            from: from.to_owned(),
            to: to.to_vec(),
            data: String::new(),
        };
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.current
            .lock()
            .unwrap()
            .data
            .push_str(&String::from_utf8_lossy(buf));
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mail = std::mem::take(&mut *self.current.lock().unwrap());
        if self.refuse {
            let quote = mail.data.lines().last().unwrap_or_default().to_owned();
            return Response::custom(554, format!("refused: {quote}"));
        }
        self.mails.lock().unwrap().push(mail);
        response::OK
    }

    fn auth_plain(&mut self, _authorization: &str, user: &str, password: &str) -> Response {
        self.logins
            .lock()
            .unwrap()
            .push((user.to_owned(), password.to_owned()));
        response::AUTH_OK
    }
}

/// A certificate authority and a `localhost` server certificate it signed,
/// written as PEM files.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.path().join("server.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.key"), key.serialize_pem()).unwrap();
        Self { dir }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn path(&self, name: &str) -> String {
        self.file(name).to_str().unwrap().to_owned()
    }
}

/// Starts a server on a free loopback port, offering STARTTLS with `pki`'s
/// certificate when given; returns its port and inbox.
fn serve(pki: Option<&Pki>) -> (u16, Inbox) {
    serve_into(pki, Inbox::default())
}

/// [`serve`] delivering into `inbox`, as its flags say.
fn serve_into(pki: Option<&Pki>, inbox: Inbox) -> (u16, Inbox) {
    serve_on(TcpListener::bind("127.0.0.1:0").unwrap(), pki, inbox)
}

/// [`serve_into`] on an already bound `listener`.
fn serve_on(listener: TcpListener, pki: Option<&Pki>, inbox: Inbox) -> (u16, Inbox) {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        // Both rustls back ends are compiled in; the server needs one chosen.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    let port = listener.local_addr().unwrap().port();
    let mut server = Server::new(inbox.clone());
    let ssl = pki.map_or(SslConfig::None, |pki| SslConfig::SelfSigned {
        cert_path: pki.path("server.pem"),
        key_path: pki.path("server.key"),
    });
    server
        .with_name("localhost")
        .with_ssl(ssl)
        .unwrap()
        .with_tcp_listener(listener);
    if inbox.login {
        server.with_auth(AuthMechanism::Plain);
    }
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    (port, inbox)
}

fn settings(port: u16, tls: SmtpTls, ca_file: Option<&Path>) -> SmtpSettings {
    SmtpSettings {
        host: "localhost".to_owned(),
        port,
        tls,
        username: None,
        password: None,
        from: "authd <no-reply@example.com>".parse().unwrap(),
        timeout: Duration::from_secs(2),
        ca_file: ca_file.map(Path::to_owned),
    }
}

fn mail(to: &str, kind: CodeKind, code: &str) -> Mail {
    Mail {
        to: Email::parse(to).unwrap(),
        kind,
        code: SecretString::from(code),
        subject: format!("Your {} code", kind.as_str()),
        text: format!("Hello Zoë,\nyour code is {code}.\n"),
        sent_at: OffsetDateTime::now_utc(),
    }
}

fn assert_delivered(got: &Received, to: &str, kind: CodeKind, code: &str) {
    assert_eq!(got.from, "no-reply@example.com");
    assert_eq!(got.to, [to]);
    assert!(got.data.contains(&format!("To: {to}")), "{}", got.data);
    assert!(
        got.data.contains("From: authd <no-reply@example.com>"),
        "{}",
        got.data
    );
    let subject = format!("Subject: Your {} code", kind.as_str());
    assert!(got.data.contains(&subject), "{}", got.data);
    assert!(got.data.contains("text/plain"), "{}", got.data);
    assert!(got.data.contains("Message-ID: <"), "{}", got.data);
    assert!(got.data.contains("Date: "), "{}", got.data);
    assert!(
        got.data.contains(&format!("your code is {code}.")),
        "{}",
        got.data
    );
}

/// Sends a validation and a reset mail through `mailer` and finds both,
/// whole, in `inbox`.
fn delivers_validation_and_reset_mails(mailer: &SmtpMailer, inbox: &Inbox) {
    let sent = [
        ("ada@example.com", CodeKind::ValidateEmail, "V4L1D8"),
        ("bob@example.com", CodeKind::ResetPassword, "R3S3T9"),
    ];
    for (to, kind, code) in sent {
        mailer.send(&mail(to, kind, code)).unwrap();
    }
    let got = inbox.mails();
    assert_eq!(got.len(), sent.len(), "{got:?}");
    for (got, (to, kind, code)) in got.iter().zip(sent) {
        assert_delivered(got, to, kind, code);
    }
}

#[test]
fn plain_smtp_delivers_validation_and_reset_mails() {
    let (port, inbox) = serve(None);
    let mailer = SmtpMailer::new(&settings(port, SmtpTls::None, None)).unwrap();
    delivers_validation_and_reset_mails(&mailer, &inbox);
}

#[test]
fn starttls_with_a_trusted_ca_delivers() {
    let pki = Pki::new();
    let (port, inbox) = serve(Some(&pki));
    let ca = pki.file("ca.pem");
    let mailer = SmtpMailer::new(&settings(port, SmtpTls::StartTls, Some(&ca))).unwrap();
    delivers_validation_and_reset_mails(&mailer, &inbox);
}

#[test]
fn credentials_are_given_over_starttls() {
    let pki = Pki::new();
    let inbox = Inbox {
        login: true,
        ..Inbox::default()
    };
    let (port, inbox) = serve_into(Some(&pki), inbox);
    let ca = pki.file("ca.pem");
    let mut settings = settings(port, SmtpTls::StartTls, Some(&ca));
    settings.username = Some("authd".to_owned());
    settings.password = Some(SecretString::from("hunter2"));
    let mailer = SmtpMailer::new(&settings).unwrap();
    mailer
        .send(&mail("ada@example.com", CodeKind::ValidateEmail, "L0G1N5"))
        .unwrap();
    assert_eq!(
        *inbox.logins.lock().unwrap(),
        [("authd".to_owned(), "hunter2".to_owned())]
    );
    assert_eq!(inbox.mails().len(), 1);
}

#[test]
fn a_refusal_names_its_status_but_not_the_servers_words() {
    let inbox = Inbox {
        refuse: true,
        ..Inbox::default()
    };
    let (port, inbox) = serve_into(None, inbox);
    let mut settings = settings(port, SmtpTls::None, None);
    // With this server the exchange after a refusal ends only at the
    // timeout: keep it short.
    settings.timeout = Duration::from_millis(300);
    let mailer = SmtpMailer::new(&settings).unwrap();
    let err = mailer
        .send(&mail("ada@example.com", CodeKind::ResetPassword, "S3CR3T"))
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("refused the mail (status 554)"),
        "{message}"
    );
    assert!(!message.contains("S3CR3T"), "{message}");
    assert!(!message.contains("refused:"), "{message}");
    assert!(inbox.mails().is_empty());
}

#[test]
fn starttls_with_an_untrusted_certificate_fails_and_delivers_nothing() {
    let pki = Pki::new();
    let (port, inbox) = serve(Some(&pki));
    let mailer = SmtpMailer::new(&settings(port, SmtpTls::StartTls, None)).unwrap();
    let err = mailer
        .send(&mail("ada@example.com", CodeKind::ValidateEmail, "S3CR3T"))
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("certificate"), "{message}");
    assert!(!message.contains("S3CR3T"), "{message}");
    assert!(inbox.mails().is_empty());
}

#[test]
fn starttls_required_but_not_offered_fails() {
    let (port, inbox) = serve(None);
    let mailer = SmtpMailer::new(&settings(port, SmtpTls::StartTls, None)).unwrap();
    assert!(
        mailer
            .send(&mail("ada@example.com", CodeKind::ValidateEmail, "c0de"))
            .is_err()
    );
    assert!(inbox.mails().is_empty());
}

#[test]
fn a_server_that_is_not_listening_fails_within_the_timeout() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let settings = settings(port, SmtpTls::None, None);
    let mailer = SmtpMailer::new(&settings).unwrap();
    let started = Instant::now();
    let err = mailer
        .send(&mail("ada@example.com", CodeKind::ValidateEmail, "S3CR3T"))
        .unwrap_err();
    assert!(
        started.elapsed() < settings.timeout,
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.to_string().contains(&format!("localhost:{port}")),
        "{err}"
    );
    assert!(!err.to_string().contains("S3CR3T"), "{err}");
}

#[test]
fn a_server_that_never_answers_fails_after_the_timeout() {
    // Accepts connections (the backlog does) but never greets.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut settings = settings(port, SmtpTls::None, None);
    settings.timeout = Duration::from_millis(300);
    let mailer = SmtpMailer::new(&settings).unwrap();
    let started = Instant::now();
    let err = mailer
        .send(&mail("ada@example.com", CodeKind::ValidateEmail, "S3CR3T"))
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed >= settings.timeout, "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert!(err.to_string().contains("timed out"), "{err}");
    drop(listener);
}

#[test]
fn an_unreadable_ca_file_is_refused_at_setup() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let err = SmtpMailer::new(&settings(25, SmtpTls::StartTls, Some(&missing))).unwrap_err();
    assert!(err.to_string().contains("missing.pem"), "{err}");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
    assert!(SmtpMailer::new(&settings(25, SmtpTls::StartTls, Some(&garbage))).is_err());
}

#[test]
fn the_password_never_reaches_debug() {
    let mut settings = settings(25, SmtpTls::None, None);
    settings.username = Some("authd".to_owned());
    settings.password = Some(SecretString::from("hunter2"));
    assert!(!format!("{settings:?}").contains("hunter2"));
    let mailer = SmtpMailer::new(&settings).unwrap();
    assert!(!format!("{mailer:?}").contains("hunter2"));
}

/// A mail handed over while the server is down is queued, retried with
/// backoff, and delivered once the server comes back.
#[test]
fn a_mail_sent_while_the_server_is_down_arrives_when_it_comes_back() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let transport = SmtpMailer::new(&settings(port, SmtpTls::None, None)).unwrap();
    let mailer = QueuedMailer::start(
        Arc::new(transport),
        DeliveryPolicy {
            first_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(200),
            retry_for: Duration::from_secs(20),
            ..DeliveryPolicy::default()
        },
    );
    let handed_over = Instant::now();
    mailer
        .send(&mail("ada@example.com", CodeKind::ResetPassword, "R3S3T"))
        .expect("queued, whatever the server");
    assert!(handed_over.elapsed() < Duration::from_millis(100));
    // Let a few attempts fail against the closed port.
    std::thread::sleep(Duration::from_millis(300));
    let (_, inbox) = serve_on(
        TcpListener::bind(("127.0.0.1", port)).unwrap(),
        None,
        Inbox::default(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while inbox.mails().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mails = inbox.mails();
    assert_eq!(mails.len(), 1, "delivered once the server came back");
    assert_delivered(
        &mails[0],
        "ada@example.com",
        CodeKind::ResetPassword,
        "R3S3T",
    );
}
