//! Limits on the mails sent on request (sign-up, resend, forgot), per
//! recipient and per client address, so that nobody can use the service to
//! flood a mailbox. Past a limit the mail is skipped; the answer does not
//! change.

use domain::{Email, SecretDigest, User};
use ports::{Admission, MailLimits, StoreError};
use time::OffsetDateTime;

use crate::{login::retry_after, service::AuthService};

/// The hex SHA-256 digest of `text`: a bounded key that names a value
/// without holding it.
pub(crate) fn digest_hex(text: &str) -> String {
    SecretDigest::of(text)
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl AuthService {
    /// Whether a mail of `kind` to `to`, asked for from client address
    /// `ip`, may go out at `now`; if so it is counted. A refusal is logged
    /// without the address.
    pub(crate) fn admit_mail(
        &self,
        to: &Email,
        ip: &str,
        now: OffsetDateTime,
        kind: &'static str,
    ) -> Result<bool, StoreError> {
        let recipient = digest_hex(to.as_str());
        Ok(self.mail_admission(&recipient, ip, now, kind)?.is_none())
    }

    /// Like [`AuthService::admit_mail`], for a caller told of a refusal,
    /// counting under `recipient` (a bounded key naming the address):
    /// `None` when the mail may go out, or the seconds until it may.
    pub(crate) fn mail_admission(
        &self,
        recipient: &str,
        ip: &str,
        now: OffsetDateTime,
        kind: &'static str,
    ) -> Result<Option<u64>, StoreError> {
        let limits = MailLimits {
            per_recipient: self.policy.max_mails_per_recipient,
            per_ip: self.policy.max_mails_per_ip,
        };
        let window = self.policy.mail_window;
        match self
            .ports
            .store
            .admit_mail(recipient, ip, now, now - window, limits)?
        {
            Admission::Admitted => Ok(None),
            Admission::Refused { frees_at } => {
                tracing::info!(kind, "mail not sent: mail limit reached");
                metrics::counter!("authd_throttle_rejections_total", "kind" => "mail").increment(1);
                Ok(Some(retry_after(frees_at, window, now)))
            }
        }
    }

    /// Mails `user` a fresh validation code, asked for from `ip`, unless a
    /// mail limit is reached; the user's older validation codes stop
    /// working.
    pub(crate) fn send_validation(
        &self,
        user: &User,
        ip: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        if self.admit_mail(&user.email, ip, now, "validation")? {
            let ttl = self.policy.validation_code_ttl;
            self.codes(now)
                .mail_validation(&*self.ports.mailer, user, ttl)?;
        }
        Ok(())
    }
}
