use std::fmt;

/// Why a string is not a valid name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty after trimming.
    #[error("is required")]
    Empty,
    /// Longer than the limit.
    #[error("must be at most {0} characters")]
    TooLong(usize),
    /// Contains a control character.
    #[error("must not contain control characters")]
    Control,
}

fn parse_name(raw: &str, max: usize) -> Result<String, NameError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(NameError::Empty);
    }
    if s.chars().count() > max {
        return Err(NameError::TooLong(max));
    }
    if s.chars().any(char::is_control) {
        return Err(NameError::Control);
    }
    Ok(s.to_owned())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// The longest accepted value, in characters.
            pub const MAX_LEN: usize = $max;

            /// Trims and checks a name.
            pub fn parse(raw: &str) -> Result<Self, NameError> {
                parse_name(raw, Self::MAX_LEN).map(Self)
            }

            /// The trimmed name.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.0)
            }
        }
    };
}

name_type!(
    /// A person's first or last name: 1–100 characters, trimmed, no control characters.
    PersonName,
    100
);
name_type!(
    /// An organization's name: 1–100 characters, trimmed, no control characters.
    OrganizationName,
    100
);

name_type!(
    /// What a user calls an API key: 1–100 characters, trimmed, no control
    /// characters.
    ApiKeyName,
    100
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names() {
        assert_eq!(PersonName::parse("  Zoë ").unwrap().as_str(), "Zoë");
        assert_eq!(PersonName::parse("  "), Err(NameError::Empty));
        assert_eq!(
            PersonName::parse(&"x".repeat(101)),
            Err(NameError::TooLong(100))
        );
        assert_eq!(PersonName::parse("a\u{0}b"), Err(NameError::Control));
        assert!(OrganizationName::parse("Acme, Inc.").is_ok());
    }

    proptest! {
        #[test]
        fn trimmed_and_bounded(s in "\\PC{0,120}") {
            if let Ok(n) = PersonName::parse(&s) {
                prop_assert_eq!(n.as_str(), n.as_str().trim());
                prop_assert!(!n.as_str().is_empty() && n.as_str().chars().count() <= 100);
            }
        }
    }
}
