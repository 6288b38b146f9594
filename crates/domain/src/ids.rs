use std::fmt;

use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered (UUID v7) id.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing id.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// Identifies a user.
    UserId
);
id_type!(
    /// Identifies a login session (one refresh-token family).
    SessionId
);
id_type!(
    /// Identifies an organization.
    OrganizationId
);
id_type!(
    /// Identifies an API key.
    ApiKeyId
);
id_type!(
    /// Identifies an invitation to an organization.
    InviteId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v7_and_ordered() {
        let a = UserId::generate();
        let b = UserId::generate();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert!(a < b);
        assert_eq!(a.to_string().parse::<UserId>().unwrap(), a);
        assert!("nope".parse::<UserId>().is_err());
    }
}
