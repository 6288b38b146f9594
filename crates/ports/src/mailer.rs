use domain::{CodeKind, Email};
use secrecy::SecretString;
use time::OffsetDateTime;

/// A mail carrying a one-time code. Its `Debug` shows neither code nor text.
pub struct Mail {
    /// Recipient.
    pub to: Email,
    /// What the code is for.
    pub kind: CodeKind,
    /// The one-time code itself (the only place the plaintext exists).
    pub code: SecretString,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// When it was handed to the mailer.
    pub sent_at: OffsetDateTime,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("kind", &self.kind)
            .field("subject", &self.subject)
            .field("sent_at", &self.sent_at)
            .finish_non_exhaustive()
    }
}

/// Why a mail could not be sent.
#[derive(Debug, thiserror::Error)]
#[error("mail could not be sent: {0}")]
pub struct MailError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Delivers mail.
pub trait Mailer: Send + Sync {
    /// Sends (or durably queues) `mail`.
    ///
    /// # Errors
    /// [`MailError`] when the transport refuses or cannot be reached.
    fn send(&self, mail: &Mail) -> Result<(), MailError>;
}
