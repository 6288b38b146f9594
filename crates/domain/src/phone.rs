use std::fmt;

/// A phone number in E.164 form: `+` followed by 8 to 15 digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

/// Why a string is not a [`Phone`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("phone must be in E.164 form: + followed by 8 to 15 digits")]
pub struct PhoneError;

impl Phone {
    /// Parses an E.164 number; surrounding whitespace is ignored, nothing else is.
    pub fn parse(raw: &str) -> Result<Self, PhoneError> {
        let s = raw.trim();
        let digits = s.strip_prefix('+').ok_or(PhoneError)?;
        if (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
        {
            Ok(Self(s.to_owned()))
        } else {
            Err(PhoneError)
        }
    }

    /// The number, with its leading `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn e164() {
        assert_eq!(
            Phone::parse(" +33612345678 ").unwrap().as_str(),
            "+33612345678"
        );
        assert!(Phone::parse("+12345678").is_ok());
        assert!(Phone::parse("+123456789012345").is_ok());
        for bad in [
            "33612345678",
            "+1234567",
            "+1234567890123456",
            "+33 6 12",
            "+0612345678",
            "+",
            "",
        ] {
            assert_eq!(Phone::parse(bad), Err(PhoneError), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn digits_round_trip(d in "[1-9][0-9]{7,14}") {
            let p = Phone::parse(&format!("+{d}")).unwrap();
            prop_assert_eq!(p.as_str(), format!("+{d}"));
        }
        #[test]
        fn never_panics(s in "\\PC{0,30}") { let _ = Phone::parse(&s); }
    }
}
