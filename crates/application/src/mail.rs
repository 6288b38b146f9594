//! The texts of the mails authd sends.

use domain::{CodeKind, User};
use ports::Mail;
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};

/// "24 hours", "30 minutes": how long a code lives, for a human.
fn lifetime(ttl: Duration) -> String {
    let (n, unit) = if ttl.whole_minutes() >= 120 {
        (ttl.whole_hours(), "hours")
    } else {
        (ttl.whole_minutes(), "minutes")
    };
    format!("{n} {unit}")
}

/// The mail that carries an e-mail validation code.
pub(crate) fn validation(
    user: &User,
    code: SecretString,
    ttl: Duration,
    now: OffsetDateTime,
) -> Mail {
    let text = format!(
        "Hello {},\n\nTo confirm your e-mail address, submit this code:\n\n{}\n\n\
         It expires in {}. If you did not sign up, ignore this mail.\n",
        user.first_name,
        code.expose_secret(),
        lifetime(ttl),
    );
    Mail {
        to: user.email.clone(),
        kind: CodeKind::ValidateEmail,
        code,
        subject: "Confirm your e-mail address".to_owned(),
        text,
        sent_at: now,
    }
}

/// The mail that carries a password-reset code.
pub(crate) fn reset(user: &User, code: SecretString, ttl: Duration, now: OffsetDateTime) -> Mail {
    let text = format!(
        "Hello {},\n\nTo choose a new password, submit this code with it:\n\n{}\n\n\
         It expires in {}. If you did not ask for it, ignore this mail: your \
         password stays as it is.\n",
        user.first_name,
        code.expose_secret(),
        lifetime(ttl),
    );
    Mail {
        to: user.email.clone(),
        kind: CodeKind::ResetPassword,
        code,
        subject: "Reset your password".to_owned(),
        text,
        sent_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_well() {
        assert_eq!(lifetime(Duration::hours(24)), "24 hours");
        assert_eq!(lifetime(Duration::minutes(30)), "30 minutes");
    }
}
