use std::fmt;

/// A username: 3–32 characters of `a-z 0-9 . _ -`, stored lower-cased.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(String);

/// Why a string is not a [`Username`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// Shorter than 3 or longer than 32 characters.
    #[error("username must be 3 to 32 characters long")]
    Length,
    /// A character outside `a-z 0-9 . _ -`.
    #[error("username may contain only letters a-z, digits and . _ -")]
    Charset,
}

impl Username {
    /// Trims, lower-cases and checks a username.
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        let s = raw.trim().to_ascii_lowercase();
        let len = s.chars().count();
        if !(3..=32).contains(&len) {
            return Err(UsernameError::Length);
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        {
            return Err(UsernameError::Charset);
        }
        Ok(Self(s))
    }

    /// The normalised username.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_and_normalises() {
        assert_eq!(
            Username::parse(" Alice_B-1.x ").unwrap().as_str(),
            "alice_b-1.x"
        );
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"a".repeat(32)).is_ok());
    }

    #[test]
    fn refuses() {
        assert_eq!(Username::parse("ab"), Err(UsernameError::Length));
        assert_eq!(Username::parse(&"a".repeat(33)), Err(UsernameError::Length));
        assert_eq!(Username::parse("al ice"), Err(UsernameError::Charset));
        assert_eq!(Username::parse("alice@x"), Err(UsernameError::Charset));
        assert_eq!(Username::parse("élise"), Err(UsernameError::Charset));
    }

    proptest! {
        #[test]
        fn valid_output_only(s in "\\PC{0,40}") {
            if let Ok(u) = Username::parse(&s) {
                prop_assert!((3..=32).contains(&u.as_str().len()));
                prop_assert!(u.as_str().chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c)));
                prop_assert_eq!(Username::parse(u.as_str()).unwrap(), u);
            }
        }
    }
}
