//! What the checks share: a fixed clock, test values, and the steps and
//! assertions most checks are made of.

use domain::{
    CodeKind, Email, Factors, LoginIdentifier, NewUser, Organization, OrganizationName,
    PasswordHash, PersonName, Phone, SecretDigest, Session, SessionId, SessionLifetime, User,
    UserId, UserStatus, Username,
};
use time::{Duration, OffsetDateTime, macros::datetime};

use crate::{NewRefreshToken, OneTimeCode, Rotation, Store, StoreError, Successor, UniqueField};

/// The fixed "now" every check starts from.
pub const T0: OffsetDateTime = datetime!(2030-01-01 0:00 UTC);

pub(super) fn at(seconds: i64) -> OffsetDateTime {
    T0 + Duration::seconds(seconds)
}

pub(super) fn new_user(email: &str, username: Option<&str>, phone: Option<&str>) -> User {
    User::new(
        NewUser {
            email: Email::parse(email).expect("test e-mail"),
            username: username.map(|u| Username::parse(u).expect("test username")),
            phone: phone.map(|p| Phone::parse(p).expect("test phone")),
            first_name: PersonName::parse("Ada").expect("test name"),
            last_name: PersonName::parse("Lovelace").expect("test name"),
            status: UserStatus::PendingValidation,
            email_verified: false,
            is_admin: false,
        },
        PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"),
        T0,
    )
}

pub(super) fn new_organization() -> Organization {
    Organization::new(
        OrganizationName::parse("Analytical Engines").expect("test name"),
        T0,
    )
}

/// Stores `user` with an organization of its own.
pub(super) fn sign_up(store: &dyn Store, user: &User) {
    store
        .create_user(user, &new_organization(), None)
        .expect("create_user");
}

/// Stores and returns a pending user with this e-mail address.
pub(super) fn signed_up(store: &dyn Store, email: &str) -> User {
    let user = new_user(email, None, None);
    sign_up(store, &user);
    user
}

pub(super) fn with_status(mut user: User, status: UserStatus) -> User {
    user.status = status;
    user
}

pub(super) fn code(
    user: &User,
    kind: CodeKind,
    secret: &str,
    expires_at: OffsetDateTime,
) -> OneTimeCode {
    OneTimeCode {
        digest: SecretDigest::of(secret),
        kind,
        user_id: user.id,
        created_at: T0,
        expires_at,
    }
}

/// Stores a code that stays usable for an hour.
pub(super) fn stored_code(
    store: &dyn Store,
    user: &User,
    kind: CodeKind,
    secret: &str,
) -> OneTimeCode {
    let code = code(user, kind, secret, at(3600));
    store.store_code(&code).expect("store_code");
    code
}

pub(super) fn refresh(secret: &str, expires_at: OffsetDateTime) -> NewRefreshToken {
    NewRefreshToken {
        digest: SecretDigest::of(secret),
        expires_at,
    }
}

pub(super) fn new_session(user: &User, expires_at: OffsetDateTime) -> Session {
    Session {
        id: SessionId::generate(),
        user_id: user.id,
        created_at: T0,
        last_used_at: T0,
        expires_at,
        revoked_at: None,
        user_agent: Some("contract-test/1.0".to_owned()),
        ip: Some("192.0.2.7".to_owned()),
        factors: Factors::Password,
    }
}

/// Stores a one-day session for `user` whose first refresh token is `secret`.
pub(super) fn logged_in(store: &dyn Store, user: &User, secret: &str) -> Session {
    let session = new_session(user, at(86_400));
    store
        .create_session(&session, &refresh(secret, session.expires_at))
        .expect("create_session");
    session
}

/// Presents `secret` at `now`, naming `next` as its successor: one day of
/// refresh lifetime, a year of session lifetime, and the client of
/// [`new_session`].
pub(super) fn rotate(
    store: &dyn Store,
    secret: &str,
    next: &str,
    now: OffsetDateTime,
    grace: Duration,
) -> Rotation {
    let lifetime = SessionLifetime {
        refresh_ttl: Duration::days(1),
        max_age: Duration::days(365),
    };
    let successor = successor(next, lifetime, Some("contract-test/1.0"), Some("192.0.2.7"));
    store
        .rotate_refresh(&SecretDigest::of(secret), &successor, now, grace)
        .expect("rotate_refresh")
}

pub(super) fn successor(
    secret: &str,
    lifetime: SessionLifetime,
    user_agent: Option<&str>,
    ip: Option<&str>,
) -> Successor {
    Successor {
        digest: SecretDigest::of(secret),
        lifetime,
        user_agent: user_agent.map(str::to_owned),
        ip: ip.map(str::to_owned),
    }
}

pub(super) fn stored_session(store: &dyn Store, id: SessionId) -> Session {
    store
        .session(id)
        .expect("session")
        .expect("the session exists")
}

pub(super) fn stored_user(store: &dyn Store, id: UserId) -> User {
    store
        .user_by_id(id)
        .expect("user_by_id")
        .expect("the user exists")
}

pub(super) fn find(store: &dyn Store, raw_identifier: &str) -> Option<User> {
    let identifier = LoginIdentifier::parse(raw_identifier).expect("test identifier");
    store
        .user_by_identifier(&identifier)
        .expect("user_by_identifier")
}

#[track_caller]
pub(super) fn assert_duplicate<T: std::fmt::Debug>(
    result: Result<T, StoreError>,
    field: UniqueField,
) {
    assert!(
        matches!(&result, Err(StoreError::Duplicate(f)) if *f == field),
        "expected Duplicate({field:?}), got {result:?}"
    );
}

#[track_caller]
pub(super) fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "expected NotFound, got {result:?}"
    );
}
