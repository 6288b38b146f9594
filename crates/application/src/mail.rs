//! The texts of the mails authd sends.

use domain::{CodeKind, Email, InviteRole, OrganizationName, User};
use ports::Mail;
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};

/// What the mails say about the product that sends them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppInfo {
    /// The product's name, as people know it.
    pub name: String,
    /// The client's public address (e.g. `https://app.example.com`): when
    /// set, mails carry a link to its page that takes the code.
    pub public_url: Option<String>,
}

impl Default for AppInfo {
    fn default() -> Self {
        Self {
            name: "authd".to_owned(),
            public_url: None,
        }
    }
}

impl AppInfo {
    /// `{public_url}/{page}?code={code}`, the code percent-encoded.
    fn link(&self, page: &str, code: &str) -> Option<String> {
        let base = self.public_url.as_deref()?.trim_end_matches('/');
        Some(format!("{base}/{page}?code={}", percent_encoded(code)))
    }
}

/// `text` with every byte but the URL-unreserved ones percent-encoded.
fn percent_encoded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// "24 hours", "30 minutes": how long a code lives, for a human.
fn lifetime(ttl: Duration) -> String {
    let (n, unit) = if ttl.whole_hours() >= 48 {
        (ttl.whole_days(), "days")
    } else if ttl.whole_minutes() >= 120 {
        (ttl.whole_hours(), "hours")
    } else {
        (ttl.whole_minutes(), "minutes")
    };
    format!("{n} {unit}")
}

/// What sets one kind of mail apart.
pub(crate) struct Template<'a> {
    kind: CodeKind,
    subject: String,
    /// What the code does: "To … , submit this code".
    purpose: String,
    /// The client's page that takes the code.
    page: &'a str,
    /// What, on that page, spends the code: "until you …".
    action: &'a str,
    /// What to do when the mail was not expected.
    otherwise: String,
}

/// Whom a mail goes to.
pub(crate) struct Recipient<'a> {
    /// Their address.
    pub(crate) email: &'a Email,
    /// How to greet them, when their name is known.
    pub(crate) name: Option<&'a str>,
}

impl<'a> From<&'a User> for Recipient<'a> {
    fn from(user: &'a User) -> Self {
        Self {
            email: &user.email,
            name: Some(user.first_name.as_str()),
        }
    }
}

/// The mail of `template` that carries `code`, living `ttl`, to `to`.
pub(crate) fn compose<'a>(
    app: &AppInfo,
    to: impl Into<Recipient<'a>>,
    code: SecretString,
    ttl: Duration,
    now: OffsetDateTime,
    template: Template<'_>,
) -> Mail {
    let link = app
        .link(template.page, code.expose_secret())
        .map_or_else(String::new, |link| {
            format!(
                "Or open this link and submit the form there:\n\n{link}\n\n\
             Opening the link changes nothing until you {}.\n\n",
                template.action
            )
        });
    let to = to.into();
    let greeting = to.name.map_or_else(String::new, |name| format!(" {name}"));
    let text = format!(
        "Hello{greeting},\n\n{}:\n\n{}\n\n{link}It expires in {}. {}\n",
        template.purpose,
        code.expose_secret(),
        lifetime(ttl),
        template.otherwise,
    );
    Mail {
        to: to.email.clone(),
        kind: template.kind,
        code,
        subject: template.subject,
        text,
        sent_at: now,
    }
}

/// The mail that carries an e-mail validation code, for `app`.
pub(crate) fn validation(app: &AppInfo) -> Template<'static> {
    let name = &app.name;
    Template {
        kind: CodeKind::ValidateEmail,
        subject: format!("Confirm your e-mail address for {name}"),
        purpose: format!("To confirm your e-mail address for {name}, submit this code"),
        page: "validate",
        action: "confirm",
        otherwise: format!("If you did not sign up for {name}, ignore this mail."),
    }
}

/// The mail that carries a password-reset code, for `app`.
pub(crate) fn reset(app: &AppInfo) -> Template<'static> {
    let name = &app.name;
    Template {
        kind: CodeKind::ResetPassword,
        subject: format!("Reset your {name} password"),
        purpose: format!("To choose a new {name} password, submit this code with it"),
        page: "reset-password",
        action: "submit your new password",
        otherwise: "If you did not ask for it, ignore this mail: your password stays as it is."
            .to_owned(),
    }
}

/// The mail that invites someone to join `organization` with `role`, on
/// behalf of `inviter`, for `app`.
pub(crate) fn invitation(
    app: &AppInfo,
    organization: &OrganizationName,
    inviter: &str,
    role: InviteRole,
) -> Template<'static> {
    let name = &app.name;
    let as_role = match role {
        InviteRole::Admin => "an admin",
        InviteRole::Member => "a member",
    };
    Template {
        kind: CodeKind::Invite,
        subject: format!("{inviter} invites you to {organization} on {name}"),
        purpose: format!(
            "{inviter} invites you to join {organization} on {name} as {as_role}. \
             To accept, submit this code (with a password of your choice if you have no \
             {name} account yet)"
        ),
        page: "invite",
        action: "accept",
        otherwise:
            "If you do not want to join, ignore this mail: nothing happens without the code."
                .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_well() {
        assert_eq!(lifetime(Duration::hours(24)), "24 hours");
        assert_eq!(lifetime(Duration::minutes(30)), "30 minutes");
        assert_eq!(lifetime(Duration::days(7)), "7 days");
    }

    #[test]
    fn the_invitation_mail_says_who_invites_to_what_and_greets_nobody_by_name() {
        let app = engines(Some("https://app.example.com"));
        let organization = OrganizationName::parse("Analytical Engines").unwrap();
        let to = Email::parse("grace@example.com").unwrap();
        let mail = compose(
            &app,
            Recipient {
                email: &to,
                name: None,
            },
            SecretString::from(CODE),
            Duration::days(7),
            OffsetDateTime::UNIX_EPOCH,
            invitation(&app, &organization, "Ada Lovelace", InviteRole::Admin),
        );
        assert_eq!(mail.kind, CodeKind::Invite);
        assert_eq!(mail.to, to);
        assert_eq!(
            mail.subject,
            "Ada Lovelace invites you to Analytical Engines on Engines"
        );
        let text = &mail.text;
        assert!(text.starts_with("Hello,\n\n"), "{text}");
        assert!(
            text.contains("join Analytical Engines on Engines as an admin"),
            "{text}"
        );
        assert!(text.contains(&format!("\n\n{CODE}\n\n")), "{text}");
        assert!(
            text.contains("https://app.example.com/invite?code=c0de%2B%2F%3D"),
            "{text}"
        );
        assert!(text.contains("It expires in 7 days."), "{text}");
    }

    #[test]
    fn links_carry_the_code_percent_encoded() {
        let app = AppInfo {
            name: "Engines".to_owned(),
            public_url: Some("https://app.example.com/".to_owned()),
        };
        assert_eq!(
            app.link("validate", "aZ09-._~+/= é").unwrap(),
            "https://app.example.com/validate?code=aZ09-._~%2B%2F%3D%20%C3%A9"
        );
        assert_eq!(AppInfo::default().link("validate", "x"), None);
    }

    fn ada() -> User {
        User::new(
            domain::NewUser {
                email: domain::Email::parse("ada@example.com").unwrap(),
                username: None,
                phone: None,
                first_name: domain::PersonName::parse("Ada").unwrap(),
                last_name: domain::PersonName::parse("Lovelace").unwrap(),
                status: domain::UserStatus::PendingValidation,
                email_verified: false,
                is_admin: false,
            },
            domain::PasswordHash::new("h"),
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    fn engines(public_url: Option<&str>) -> AppInfo {
        AppInfo {
            name: "Engines".to_owned(),
            public_url: public_url.map(str::to_owned),
        }
    }

    const CODE: &str = "c0de+/=";

    /// The mail `template` makes for Ada, carrying [`CODE`] for `ttl`.
    fn to_ada(app: &AppInfo, template: fn(&AppInfo) -> Template<'static>, ttl: Duration) -> Mail {
        let template = template(app);
        compose(
            app,
            &ada(),
            SecretString::from(CODE),
            ttl,
            OffsetDateTime::UNIX_EPOCH,
            template,
        )
    }

    #[test]
    fn the_validation_mail_names_the_product_and_carries_the_code() {
        let app = engines(None);
        let mail = to_ada(&app, validation, Duration::hours(24));
        assert_eq!(mail.subject, "Confirm your e-mail address for Engines");
        assert_eq!(mail.kind, CodeKind::ValidateEmail);
        assert_eq!(mail.to.as_str(), "ada@example.com");
        assert_eq!(mail.code.expose_secret(), CODE);
        let text = &mail.text;
        assert!(text.starts_with("Hello Ada,"), "{text}");
        assert!(text.contains("for Engines"), "{text}");
        assert!(text.contains(&format!("\n\n{CODE}\n\n")), "{text}");
        assert!(text.contains("It expires in 24 hours."), "{text}");
        assert!(
            !text.contains("http"),
            "no link without a public URL: {text}"
        );
    }

    #[test]
    fn the_validation_mail_links_to_the_client_page_when_it_has_one() {
        let app = engines(Some("https://app.example.com"));
        let mail = to_ada(&app, validation, Duration::hours(24));
        let text = &mail.text;
        assert!(
            text.contains("\n\nhttps://app.example.com/validate?code=c0de%2B%2F%3D\n\n"),
            "{text}"
        );
        assert!(
            text.contains("Opening the link changes nothing until you confirm."),
            "{text}"
        );
        assert!(text.contains(&format!("\n\n{CODE}\n\n")), "{text}");
    }

    #[test]
    fn the_reset_mail_names_the_product_and_carries_the_code_and_link() {
        let app = AppInfo::default();
        let plain = to_ada(&app, reset, Duration::minutes(30));
        assert_eq!(plain.subject, "Reset your authd password");
        assert_eq!(plain.kind, CodeKind::ResetPassword);
        assert!(plain.text.contains("new authd password"), "{}", plain.text);
        assert!(plain.text.contains("It expires in 30 minutes."));
        assert!(!plain.text.contains("http"));

        let app = engines(Some("https://app.example.com/"));
        let linked = to_ada(&app, reset, Duration::minutes(30));
        assert_eq!(linked.subject, "Reset your Engines password");
        let text = &linked.text;
        assert!(
            text.contains("https://app.example.com/reset-password?code=c0de%2B%2F%3D\n"),
            "{text}"
        );
        assert!(
            text.contains("Opening the link changes nothing until you submit your new password."),
            "{text}"
        );
        assert!(text.contains("your password stays as it is"), "{text}");
    }
}
