//! How a user proved who they are at login.

/// How a session's user proved who they are: its access tokens carry it
/// as `amr` (RFC 8176), and a refresh keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Factors {
    /// A password only (`["pwd"]`).
    #[default]
    Password,
    /// A password and a one-time code, from the authenticator or a
    /// recovery code (`["pwd", "otp"]`).
    PasswordAndOtp,
}

impl Factors {
    /// The `amr` values, as in a token.
    pub const fn amr(self) -> &'static [&'static str] {
        match self {
            Self::Password => &["pwd"],
            Self::PasswordAndOtp => &["pwd", "otp"],
        }
    }

    /// Whether a second factor was given.
    pub const fn includes_otp(self) -> bool {
        matches!(self, Self::PasswordAndOtp)
    }

    /// The factors a token's `amr` lists; `None` for any other list.
    pub fn from_amr<S: AsRef<str>>(amr: &[S]) -> Option<Self> {
        let values: Vec<&str> = amr.iter().map(AsRef::as_ref).collect();
        [Self::Password, Self::PasswordAndOtp]
            .into_iter()
            .find(|f| f.amr() == values.as_slice())
    }

    /// Stable spelling, for storage: `pwd` or `pwd otp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "pwd",
            Self::PasswordAndOtp => "pwd otp",
        }
    }

    /// The inverse of [`Factors::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Password, Self::PasswordAndOtp]
            .into_iter()
            .find(|f| f.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_round_trip_as_amr_and_in_storage() {
        for f in [Factors::Password, Factors::PasswordAndOtp] {
            assert_eq!(Factors::from_amr(f.amr()), Some(f));
            assert_eq!(Factors::parse(f.as_str()), Some(f));
        }
        assert_eq!(Factors::from_amr(&["otp"]), None);
        assert!(Factors::PasswordAndOtp.includes_otp() && !Factors::Password.includes_otp());
    }
}
