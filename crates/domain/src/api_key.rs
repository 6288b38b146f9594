//! API keys: long-lived secrets that scripts and servers use to act as
//! their owner, and the format that makes a leaked key recognisable and a
//! mistyped one refused without a lookup.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::{ApiKeyId, ApiKeyName, SecretDigest, User, UserId, UserStatus};

/// An API key, as stored: never the secret, only its digest (kept beside
/// it) and its [`ApiKey::prefix`], which names it in lists and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Its id.
    pub id: ApiKeyId,
    /// Whose it is: the key acts as this user.
    pub user_id: UserId,
    /// What its owner calls it.
    pub name: ApiKeyName,
    /// The first characters of the secret (`ak_` and eight more): enough
    /// to tell keys apart, far too few to guess the rest.
    pub prefix: String,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it was last used (recorded at most once a minute or so).
    pub last_used_at: Option<OffsetDateTime>,
    /// When it stops working (exclusive); never, when `None`.
    pub expires_at: Option<OffsetDateTime>,
}

/// Why an API key does not authenticate its bearer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyRefusal {
    /// Past its expiry.
    #[error("the key has expired")]
    Expired,
    /// Its owner may not use the service (disabled, or not validated).
    #[error("the key's owner is not active")]
    OwnerInactive,
}

impl ApiKey {
    /// A new key for `user` named `name`, whose secret is `secret`, made at
    /// `now`.
    pub fn new(
        user: UserId,
        name: ApiKeyName,
        secret: &ApiKeySecret,
        expires_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: ApiKeyId::generate(),
            user_id: user,
            name,
            prefix: secret.prefix(),
            created_at: now,
            last_used_at: None,
            expires_at,
        }
    }

    /// Whether the key lets its bearer act as `owner` at `now`.
    ///
    /// # Errors
    /// See [`ApiKeyRefusal`].
    pub fn admits(&self, owner: &User, now: OffsetDateTime) -> Result<(), ApiKeyRefusal> {
        if self.expires_at.is_some_and(|end| now >= end) {
            return Err(ApiKeyRefusal::Expired);
        }
        if owner.status != UserStatus::Active {
            return Err(ApiKeyRefusal::OwnerInactive);
        }
        Ok(())
    }

    /// Whether a use at `now` should be recorded: the last one recorded is
    /// `interval` old or more (or none is), so that a busy key costs one
    /// write per `interval`, not one per request.
    pub fn use_is_due(&self, now: OffsetDateTime, interval: time::Duration) -> bool {
        self.last_used_at.is_none_or(|last| now - last >= interval)
    }
}

/// The secret of an API key: `ak_`, 43 characters of base64url (256
/// random bits), then 8 hex digits of checksum. Its `Debug` shows the
/// prefix only.
pub struct ApiKeySecret(SecretString);

impl ApiKeySecret {
    /// What every key starts with, for secret scanners and for telling a
    /// key from a JWT.
    pub const MARK: &'static str = "ak_";
    const BODY_LEN: usize = 43;
    const CHECK_LEN: usize = 8;
    /// How many characters of the secret [`ApiKeySecret::prefix`] shows.
    const PREFIX_LEN: usize = Self::MARK.len() + 8;

    /// The key whose random part is `body`, a 256-bit base64url secret
    /// (as [`SecretString`]s from the secret generator are).
    ///
    /// `None` for anything else.
    pub fn from_random(body: &SecretString) -> Option<Self> {
        let body = body.expose_secret();
        let well_formed = body.len() == Self::BODY_LEN && body.bytes().all(is_base64url);
        well_formed.then(|| {
            let key = format!("{}{body}{}", Self::MARK, checksum(body));
            Self(SecretString::from(key))
        })
    }

    /// Whether `presented` claims to be an API key (rather than a JWT).
    pub fn is_claimed_by(presented: &str) -> bool {
        presented.starts_with(Self::MARK)
    }

    /// Parses a presented key: its mark, length, alphabet and checksum.
    /// A mistyped key fails here, before anything is looked up.
    pub fn parse(presented: &str) -> Option<Self> {
        let rest = presented.strip_prefix(Self::MARK)?;
        if rest.len() != Self::BODY_LEN + Self::CHECK_LEN || !rest.is_ascii() {
            return None;
        }
        let (body, check) = rest.split_at(Self::BODY_LEN);
        let valid = body.bytes().all(is_base64url) && checksum(body) == check;
        valid.then(|| Self(SecretString::from(presented.to_owned())))
    }

    /// What is stored to find the key again.
    pub fn digest(&self) -> SecretDigest {
        SecretDigest::of(self.0.expose_secret())
    }

    /// The first characters, which name the key in lists and logs.
    pub fn prefix(&self) -> String {
        self.0.expose_secret()[..Self::PREFIX_LEN].to_owned()
    }

    /// The whole secret, for the one answer that shows it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeySecret({}…)", self.prefix())
    }
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Eight lower-case hex digits of SHA-256 over the mark and the body: a
/// typo passes with a chance of one in 2³².
fn checksum(body: &str) -> String {
    let digest = Sha256::new()
        .chain_update(ApiKeySecret::MARK)
        .chain_update(body)
        .finalize();
    digest[..ApiKeySecret::CHECK_LEN / 2]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::Duration;

    const BODY: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

    fn key() -> ApiKeySecret {
        ApiKeySecret::from_random(&SecretString::from(BODY)).unwrap()
    }

    #[test]
    fn a_key_has_its_mark_body_and_checksum() {
        let k = key();
        assert_eq!(k.expose().len(), 3 + 43 + 8);
        assert!(k.expose().starts_with("ak_0123456789abcdefghij"));
        assert_eq!(k.prefix(), "ak_01234567");
        assert_eq!(format!("{k:?}"), "ApiKeySecret(ak_01234567…)");
        assert!(ApiKeySecret::parse(k.expose()).is_some());
        assert_eq!(
            ApiKeySecret::parse(k.expose()).unwrap().digest(),
            k.digest()
        );
        assert!(ApiKeySecret::from_random(&SecretString::from("short")).is_none());
        assert!(
            ApiKeySecret::from_random(&SecretString::from(format!("{}+", &BODY[1..]))).is_none()
        );
    }

    /// A key made by an independent computation (Python's hashlib and
    /// base64): the checksum is SHA-256 over `ak_` and the body.
    #[test]
    fn the_checksum_matches_a_known_answer() {
        let known = "ak_EoF2MwnEwuDQkbfsAfvADSY1mBGrZxk8F3p8inzt1xA66d3c05a";
        assert!(ApiKeySecret::parse(known).is_some());
        let body = SecretString::from(&known[3..46]);
        assert_eq!(ApiKeySecret::from_random(&body).unwrap().expose(), known);
    }

    #[test]
    fn mistyped_keys_are_refused() {
        let k = key();
        let good = k.expose();
        assert!(ApiKeySecret::parse(&good[..good.len() - 1]).is_none());
        assert!(ApiKeySecret::parse(&format!("{good}0")).is_none());
        assert!(ApiKeySecret::parse(&good.replacen("ak_", "ak-", 1)).is_none());
        assert!(ApiKeySecret::parse(&good.replacen("ak_", "", 1)).is_none());
        assert!(ApiKeySecret::is_claimed_by(good));
        assert!(!ApiKeySecret::is_claimed_by("eyJhbGciOi"));
        let bytes = good.as_bytes();
        for i in 3..bytes.len() {
            let mut typo = bytes.to_vec();
            typo[i] = if typo[i] == b'x' { b'y' } else { b'x' };
            let typo = String::from_utf8(typo).unwrap();
            assert!(ApiKeySecret::parse(&typo).is_none(), "typo at {i}");
        }
    }

    fn stored(expires_at: Option<OffsetDateTime>) -> ApiKey {
        let name = ApiKeyName::parse("deploy").unwrap();
        ApiKey::new(
            UserId::generate(),
            name,
            &key(),
            expires_at,
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    fn owner(status: UserStatus) -> User {
        let mut user = crate::User::new(
            crate::NewUser {
                email: crate::Email::parse("a@b.co").unwrap(),
                username: None,
                phone: None,
                first_name: crate::PersonName::parse("A").unwrap(),
                last_name: crate::PersonName::parse("B").unwrap(),
                status: UserStatus::Active,
                email_verified: true,
                is_admin: false,
            },
            crate::PasswordHash::new("h"),
            OffsetDateTime::UNIX_EPOCH,
        );
        user.status = status;
        user
    }

    #[test]
    fn a_key_admits_until_it_expires_and_while_its_owner_is_active() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let key = stored(Some(t0 + Duration::hours(1)));
        let active = owner(UserStatus::Active);
        assert_eq!(key.admits(&active, t0 + Duration::minutes(59)), Ok(()));
        assert_eq!(
            key.admits(&active, t0 + Duration::hours(1)),
            Err(ApiKeyRefusal::Expired),
            "expiry is exclusive"
        );
        for status in [UserStatus::Inactive, UserStatus::PendingValidation] {
            assert_eq!(
                key.admits(&owner(status), t0),
                Err(ApiKeyRefusal::OwnerInactive)
            );
        }
        assert_eq!(
            stored(None).admits(&active, t0 + Duration::days(9999)),
            Ok(())
        );
    }

    #[test]
    fn uses_are_recorded_once_an_interval() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let minute = Duration::minutes(1);
        let mut key = stored(None);
        assert!(key.use_is_due(t0, minute));
        key.last_used_at = Some(t0);
        assert!(!key.use_is_due(t0 + Duration::seconds(59), minute));
        assert!(key.use_is_due(t0 + minute, minute));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,80}") { let _ = ApiKeySecret::parse(&s); }

        #[test]
        fn every_random_body_makes_a_key_that_parses(body in "[A-Za-z0-9_-]{43}") {
            let k = ApiKeySecret::from_random(&SecretString::from(body)).unwrap();
            prop_assert!(ApiKeySecret::parse(k.expose()).is_some());
        }
    }
}
