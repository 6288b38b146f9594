use crate::{Email, Phone, Username};

/// What a user typed in the login form's identifier field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginIdentifier {
    /// Contains an `@`.
    Email(Email),
    /// Starts with `+`.
    Phone(Phone),
    /// Anything else.
    Username(Username),
}

impl LoginIdentifier {
    /// Classifies an identifier; `None` when it cannot name any account
    /// (the caller must still spend the time a real check costs).
    pub fn parse(raw: &str) -> Option<Self> {
        let s = raw.trim();
        if s.contains('@') {
            Email::parse(s).ok().map(Self::Email)
        } else if s.starts_with('+') {
            Phone::parse(s).ok().map(Self::Phone)
        } else {
            Username::parse(s).ok().map(Self::Username)
        }
    }

    /// The normalised identifier, e.g. as a throttling key.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Email(e) => e.as_str(),
            Self::Phone(p) => p.as_str(),
            Self::Username(u) => u.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn classifies() {
        assert!(
            matches!(LoginIdentifier::parse(" Bob@X.io "), Some(LoginIdentifier::Email(e)) if e.as_str() == "bob@x.io")
        );
        assert!(matches!(
            LoginIdentifier::parse("+33612345678"),
            Some(LoginIdentifier::Phone(_))
        ));
        assert!(
            matches!(LoginIdentifier::parse("Bob_1"), Some(LoginIdentifier::Username(u)) if u.as_str() == "bob_1")
        );
        assert_eq!(LoginIdentifier::parse("not an id"), None);
        assert_eq!(LoginIdentifier::parse("a@b"), None);
        assert_eq!(LoginIdentifier::parse(""), None);
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,64}") { let _ = LoginIdentifier::parse(&s); }
    }
}
