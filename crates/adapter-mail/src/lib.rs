//! Mailers of authd.
//!
//! [`FileMailer`] is the development default: instead of sending mail it
//! appends each one, as one JSON object per line, to a mailbox file that
//! people and tests can read.
//!
//! [`QueuedMailer`] wraps any of them so that no request waits on the mail
//! server: mails are queued in memory and delivered, with retries, by a
//! thread of their own.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use ports::{Mail, MailError, Mailer};
use secrecy::ExposeSecret;
use serde::Serialize;
use time::{UtcOffset, format_description::well_known::Rfc3339};

mod delivery;
pub use delivery::{DeliveryPolicy, QueuedMailer};
mod smtp;
pub use smtp::{MailFrom, SmtpMailer, SmtpSettings, SmtpSetupError, SmtpTls};

/// A [`Mailer`] that appends every mail to a file, one JSON object per line:
///
/// ```json
/// {"to":"a@example.com","kind":"validate-email","code":"…","subject":"…","text":"…","sent_at":"2026-03-01T10:30:00Z"}
/// ```
///
/// `kind` is the code kind's stable spelling (`validate-email`,
/// `reset-password`, `invite`, …) and `sent_at` is RFC 3339 in UTC. Missing
/// parent directories are created. Each mail is written with a single
/// append, under a lock, so concurrent sends never interleave.
///
/// The file holds one-time codes in plain text: it is created readable by
/// its owner only (on Unix), and is meant for development and tests.
pub struct FileMailer {
    path: PathBuf,
    /// Serialises appends from this process.
    lock: Mutex<()>,
}

impl FileMailer {
    /// A mailer appending to the file at `path`. Nothing is opened or
    /// created until the first [`Mailer::send`].
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    /// The mailbox file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn append(&self, line: &[u8]) -> Result<(), FileMailError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| FileMailError::io("create directory", dir, e))?;
        }
        let mut options = OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        // The lock guards no data, so a panic elsewhere while holding it
        // leaves nothing inconsistent: a poisoned lock is still usable.
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut file = options
            .open(&self.path)
            .map_err(|e| FileMailError::io("open", &self.path, e))?;
        file.write_all(line)
            .map_err(|e| FileMailError::io("append to", &self.path, e))
    }
}

impl Mailer for FileMailer {
    fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let sent_at = mail
            .sent_at
            .to_offset(UtcOffset::UTC)
            .format(&Rfc3339)
            .map_err(|e| MailError(Box::new(e)))?;
        let line = Line {
            to: mail.to.as_str(),
            kind: mail.kind.as_str(),
            code: mail.code.expose_secret(),
            subject: &mail.subject,
            text: &mail.text,
            sent_at,
        };
        let mut bytes = serde_json::to_vec(&line).map_err(|e| MailError(Box::new(e)))?;
        bytes.push(b'\n');
        self.append(&bytes).map_err(|e| MailError(Box::new(e)))
    }
}

impl fmt::Debug for FileMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileMailer")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// One line of the mailbox file.
#[derive(Serialize)]
struct Line<'a> {
    to: &'a str,
    kind: &'static str,
    code: &'a str,
    subject: &'a str,
    text: &'a str,
    sent_at: String,
}

/// A file-system failure, with the file it concerns.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}: {source}", path.display())]
struct FileMailError {
    action: &'static str,
    path: PathBuf,
    source: io::Error,
}

impl FileMailError {
    fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        Self {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Arc;

    use domain::{CodeKind, Email};
    use secrecy::SecretString;
    use serde_json::Value;
    use time::macros::datetime;

    use super::*;

    fn mail(to: &str, kind: CodeKind, code: &str, text: &str) -> Mail {
        Mail {
            to: Email::parse(to).unwrap(),
            kind,
            code: SecretString::from(code),
            subject: "Your code".to_owned(),
            text: text.to_owned(),
            sent_at: datetime!(2026-03-01 11:30:00 +01:00),
        }
    }

    fn lines(path: &Path) -> Vec<Value> {
        fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn appends_one_json_object_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mail.jsonl");
        let mailer = FileMailer::new(&path);
        mailer
            .send(&mail(
                "Alice@Example.com",
                CodeKind::ValidateEmail,
                "abc123",
                "Your code is abc123.\nIt expires in 24 hours. \"Quotes\" survive.",
            ))
            .unwrap();
        mailer
            .send(&mail(
                "bob@example.com",
                CodeKind::ResetPassword,
                "xyz789",
                "Reset",
            ))
            .unwrap();
        mailer
            .send(&mail("carol@example.com", CodeKind::Invite, "inv", "Join"))
            .unwrap();

        let raw = fs::read_to_string(&path).unwrap();
        assert_eq!(raw.lines().count(), 3, "{raw}");
        assert!(raw.ends_with('\n'));
        let got = lines(&path);
        assert_eq!(
            got[0],
            serde_json::json!({
                "to": "alice@example.com",
                "kind": "validate-email",
                "code": "abc123",
                "subject": "Your code",
                "text": "Your code is abc123.\nIt expires in 24 hours. \"Quotes\" survive.",
                "sent_at": "2026-03-01T10:30:00Z",
            })
        );
        assert_eq!(
            got[1],
            serde_json::json!({
                "to": "bob@example.com",
                "kind": "reset-password",
                "code": "xyz789",
                "subject": "Your code",
                "text": "Reset",
                "sent_at": "2026-03-01T10:30:00Z",
            })
        );
        assert_eq!(got[2]["kind"], "invite");
    }

    #[test]
    fn appends_to_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mail.jsonl");
        fs::write(&path, "{\"earlier\":true}\n").unwrap();
        FileMailer::new(&path)
            .send(&mail("a@example.com", CodeKind::Invite, "c", "t"))
            .unwrap();
        let got = lines(&path);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0]["earlier"], true);
        assert_eq!(got[1]["to"], "a@example.com");
    }

    #[test]
    fn creates_parent_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c/mail.jsonl");
        let mailer = FileMailer::new(&path);
        assert_eq!(mailer.path(), path);
        mailer
            .send(&mail("a@example.com", CodeKind::ValidateEmail, "c", "t"))
            .unwrap();
        assert_eq!(lines(&path).len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mail.jsonl");
        FileMailer::new(&path)
            .send(&mail("a@example.com", CodeKind::ValidateEmail, "c", "t"))
            .unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }

    #[test]
    fn concurrent_sends_never_interleave() {
        const THREADS: usize = 8;
        const SENDS: usize = 20;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mail.jsonl");
        let mailer = Arc::new(FileMailer::new(&path));
        // Long bodies make a torn write likely to show.
        let body = "lorem ipsum ".repeat(2000);
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let mailer = Arc::clone(&mailer);
                let body = &body;
                s.spawn(move || {
                    for i in 0..SENDS {
                        let m = mail(
                            &format!("user{t}@example.com"),
                            CodeKind::ResetPassword,
                            &format!("{t}-{i}"),
                            body,
                        );
                        mailer.send(&m).unwrap();
                    }
                });
            }
        });
        let got = lines(&path);
        assert_eq!(got.len(), THREADS * SENDS);
        let codes: HashSet<&str> = got.iter().map(|v| v["code"].as_str().unwrap()).collect();
        assert_eq!(codes.len(), THREADS * SENDS);
        assert!(got.iter().all(|v| v["text"] == body.as_str()));
    }

    #[test]
    fn unwritable_path_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        fs::write(&file, "").unwrap();
        let m = mail("a@example.com", CodeKind::ValidateEmail, "secret-code", "t");

        // A parent that is a file cannot become a directory.
        let err = FileMailer::new(file.join("mail.jsonl"))
            .send(&m)
            .unwrap_err();
        assert!(err.to_string().contains("not-a-dir"), "{err}");
        assert!(!err.to_string().contains("secret-code"), "{err}");

        // A directory cannot be appended to.
        assert!(FileMailer::new(dir.path()).send(&m).is_err());
    }

    #[test]
    fn debug_shows_no_code() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = FileMailer::new(dir.path().join("mail.jsonl"));
        let m = mail("a@example.com", CodeKind::Invite, "secret-code", "t");
        mailer.send(&m).unwrap();
        assert!(!format!("{mailer:?}").contains("secret-code"));
        assert!(!format!("{m:?}").contains("secret-code"));
    }
}
