//! The field rules of request bodies as JSON Schema, so that a value a
//! schema allows is one the domain's parsers accept: each schema here is a
//! component that request fields name with `value_type`.
//!
//! The parsers trim Unicode white space (`char::is_whitespace`) before they
//! check, and an optional field that is empty after trimming counts as
//! absent; the patterns say both. They use only what ECMA-262 (with its
//! `u` flag, else an astral character counts as two), Python's `re` and
//! Rust's `regex` read alike: explicit classes, no `\s`, no `\p`.

use std::borrow::Cow;

use domain::{Email, Password};
use utoipa::{
    PartialSchema, ToSchema,
    openapi::{KnownFormat, ObjectBuilder, RefOr, Schema, SchemaFormat, Type},
};

/// What `str::trim` removes: the characters with Unicode's `White_Space`,
/// as the inside of a class.
macro_rules! white {
    () => {
        "\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000"
    };
}

/// The control characters (`char::is_control`), as the inside of a class.
macro_rules! controls {
    () => {
        "\\u0000-\\u001F\\u007F-\\u009F"
    };
}

/// One character of white space.
macro_rules! space {
    () => {
        concat!("[", white!(), "]")
    };
}

/// A character of a name that is neither white space nor a control
/// character: a name holds at least one.
macro_rules! solid {
    () => {
        concat!("[^", controls!(), white!(), "]")
    };
}

/// Any character but a control character.
macro_rules! not_control {
    () => {
        concat!("[^", controls!(), "]")
    };
}

/// A name: 1–100 characters once trimmed (`PersonName::MAX_LEN`), the
/// first and last solid, none a control character. The length is in the
/// pattern, not in `maxLength`, which would count the white space that
/// trimming drops.
macro_rules! name {
    () => {
        concat!(solid!(), "(", not_control!(), "{0,98}", solid!(), ")?")
    };
}

/// One character of white space, as the code patterns of the TOTP bodies
/// spell it.
#[cfg(test)]
pub(crate) const SPACE: &str = space!();

/// A string with a character that is not white space (a pattern is
/// found anywhere in a string unless anchored).
pub(crate) const NOT_BLANK_PATTERN: &str = concat!("[^", white!(), "]");

/// Person, organization and key names.
pub(crate) const NAME_PATTERN: &str = concat!("^", space!(), "*", name!(), space!(), "*$");
/// A name that may also be empty or blank, meaning none.
pub(crate) const OPTIONAL_NAME_PATTERN: &str =
    concat!("^", space!(), "*(", name!(), space!(), "*)?$");
/// A username, or empty for none.
pub(crate) const USERNAME_PATTERN: &str =
    concat!("^", space!(), "*([A-Za-z0-9._-]{3,32}", space!(), "*)?$");
/// An E.164 number, or empty for none.
pub(crate) const PHONE_PATTERN: &str =
    concat!("^", space!(), "*(\\+[1-9][0-9]{7,14}", space!(), "*)?$");

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// Declares a schema-only component.
macro_rules! component {
    ($(#[$doc:meta])* $name:ident, $schema:expr) => {
        $(#[$doc])*
        pub(crate) struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema.into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

component!(
    /// A name of a person, an organization or a key.
    Name,
    string()
        .description(Some(
            "1–100 characters once trimmed, at least one of them neither white space \
             nor a control character, and no control character between them",
        ))
        .min_length(Some(1))
        .pattern(Some(NAME_PATTERN))
        .examples(["Ada"])
);

component!(
    /// A name that may be left empty.
    OptionalName,
    string()
        .description(Some("A name as `Name` describes it; empty or blank for none"))
        .pattern(Some(OPTIONAL_NAME_PATTERN))
        .examples(["Analytical Engines Ltd"])
);

component!(
    /// An e-mail address.
    EmailAddress,
    string()
        .description(Some(
            "An address `local@domain.tld` of at most 254 characters; stored trimmed \
             and lower-cased",
        ))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
        .max_length(Some(Email::MAX_LEN))
        .examples(["ada@example.com"])
);

component!(
    /// A new password.
    NewPassword,
    string()
        .description(Some(
            "8–256 characters, of any kind; refused (422 `validation-failed`) when it \
             is easy to guess or contains the account's e-mail address, its local \
             part or its username",
        ))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
        .min_length(Some(Password::MIN_LEN))
        .max_length(Some(Password::MAX_LEN))
        .examples(["correct horse battery staple"])
);

component!(
    /// A username.
    UsernameValue,
    string()
        .description(Some(
            "3–32 of `A-Z a-z 0-9 . _ -`, stored lower-cased and unique whatever \
             the case; empty for none",
        ))
        .pattern(Some(USERNAME_PATTERN))
        .examples(["ada"])
);

component!(
    /// A phone number.
    PhoneNumber,
    string()
        .description(Some(
            "E.164: `+` and 8–15 digits, the first not 0; unique; empty for none",
        ))
        .pattern(Some(PHONE_PATTERN))
        .examples(["+442071234567"])
);

#[cfg(test)]
mod tests {
    use domain::{OrganizationName, PersonName, Phone, Username};
    use proptest::prelude::*;
    use regex::Regex;

    use super::*;

    fn regex(pattern: &str) -> Regex {
        Regex::new(pattern).unwrap()
    }

    /// The parse a field's handler applies, `Ok(())` when it takes the value.
    fn name(s: &str) -> bool {
        PersonName::parse(s).is_ok() && OrganizationName::parse(s).is_ok()
    }
    fn blank(s: &str) -> bool {
        s.trim().is_empty()
    }
    fn username(s: &str) -> bool {
        blank(s) || Username::parse(s).is_ok()
    }
    fn phone(s: &str) -> bool {
        blank(s) || Phone::parse(s).is_ok()
    }
    fn optional_name(s: &str) -> bool {
        blank(s) || name(s)
    }

    /// Characters that test each edge of the classes: white space that is
    /// and is not a control character, controls that are and are not white
    /// space, look-alikes that are neither.
    const ALPHABET: &[char] = &[
        'a', 'Z', '0', '9', '.', '_', '-', '+', ' ', '\t', '\n', '\r', '\u{0}', '\u{1c}', '\u{7f}',
        '\u{85}', '\u{a0}', '\u{1680}', '\u{2003}', '\u{200b}', '\u{2028}', '\u{3000}', '\u{feff}',
        'é', 'ß', '字', '@', '1',
    ];

    fn samples() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(ALPHABET), 0..40)
            .prop_map(|chars| chars.into_iter().collect())
    }

    type Rule = (&'static str, fn(&str) -> bool);

    const RULES: [Rule; 5] = [
        (NOT_BLANK_PATTERN, |s| !blank(s)),
        (NAME_PATTERN, name),
        (OPTIONAL_NAME_PATTERN, optional_name),
        (USERNAME_PATTERN, username),
        (PHONE_PATTERN, phone),
    ];

    proptest! {
        /// A pattern matches exactly what its parser takes, on strings
        /// made of the characters where the two could part.
        #[test]
        fn patterns_match_exactly_what_the_parsers_take(s in samples()) {
            for (pattern, parses) in RULES {
                prop_assert_eq!(regex(pattern).is_match(&s), parses(&s), "{:?} on {:?}", pattern, s);
            }
        }

        /// Whatever a pattern generates, its parser takes.
        #[test]
        fn what_a_pattern_allows_its_parser_takes(
            (name_s, username_s, phone_s) in (
                prop::string::string_regex(&NAME_PATTERN[1..NAME_PATTERN.len() - 1]).unwrap(),
                prop::string::string_regex(&USERNAME_PATTERN[1..USERNAME_PATTERN.len() - 1]).unwrap(),
                prop::string::string_regex(&PHONE_PATTERN[1..PHONE_PATTERN.len() - 1]).unwrap(),
            )
        ) {
            prop_assert!(name(&name_s), "{:?}", name_s);
            prop_assert!(username(&username_s), "{:?}", username_s);
            prop_assert!(phone(&phone_s), "{:?}", phone_s);
        }
    }

    /// The length counts once trimmed: white space around a name of 100
    /// characters is taken, a 101st character is not.
    #[test]
    fn names_are_measured_trimmed() {
        let name = regex(NAME_PATTERN);
        let hundred = format!("A{}Z", " b".repeat(49));
        assert_eq!(hundred.chars().count(), PersonName::MAX_LEN);
        for (value, takes) in [
            (hundred.clone(), true),
            (format!("  \t{hundred}\u{3000} "), true),
            (format!("{hundred}c"), false),
            ("x".repeat(101), false),
        ] {
            assert_eq!(name.is_match(&value), takes, "{value:?}");
            assert_eq!(PersonName::parse(&value).is_ok(), takes, "{value:?}");
        }
    }

    #[test]
    fn known_values() {
        let cases: [(&str, &str, bool); 14] = [
            (NAME_PATTERN, "Ada", true),
            (NAME_PATTERN, "  Zoë  ", true),
            (NAME_PATTERN, "\tAda\n", true),
            (NAME_PATTERN, "A\tda", false),
            (NAME_PATTERN, "   ", false),
            (NAME_PATTERN, "", false),
            (OPTIONAL_NAME_PATTERN, "", true),
            (OPTIONAL_NAME_PATTERN, " ", true),
            (USERNAME_PATTERN, "Ada.L", true),
            (USERNAME_PATTERN, "ad", false),
            (USERNAME_PATTERN, "", true),
            (PHONE_PATTERN, "+442071234567", true),
            (PHONE_PATTERN, "+0442071234", false),
            (PHONE_PATTERN, "442071234567", false),
        ];
        for (pattern, value, matches) in cases {
            assert_eq!(
                regex(pattern).is_match(value),
                matches,
                "{pattern} on {value:?}"
            );
        }
    }
}
