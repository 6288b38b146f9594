//! The storage contract: every behaviour and error documented on the store
//! ports, as checks any [`Store`] adapter must pass.
//!
//! Each check is a function taking a fresh, empty store. An adapter runs
//! them all, one `#[test]` each, with [`crate::store_contract_tests!`]:
//!
//! ```text
//! mod contract {
//!     // Any expression giving a `StoreFixture` (e.g. a `(store, guard)` pair)
//!     // with a new, empty store each time it is evaluated.
//!     ports::store_contract_tests!(adapter_postgres::testing::test_store());
//! }
//! ```
//!
//! The checks use a fixed clock ([`T0`]) and whole seconds, which every
//! store keeps exactly; they assume nothing about the database behind.

use std::sync::Barrier;

use domain::{
    CodeKind, Email, LoginIdentifier, NewUser, Organization, OrganizationName, PasswordHash,
    PersonName, Phone, ProfilePatch, Role, SecretDigest, Session, SessionId, User, UserId,
    UserStatus, Username,
};
use time::{Duration, OffsetDateTime, macros::datetime};

use crate::{
    Admission, NewRefreshToken, OneTimeCode, Rotation, Store, StoreError, ThrottleLimits,
    UniqueField,
};

/// Something that owns a fresh, empty store for one test, and keeps alive
/// whatever the store needs (a temporary database, a directory) until it
/// is dropped.
pub trait StoreFixture {
    /// The store under test.
    fn store(&self) -> &dyn Store;
}

/// A store with the guard that keeps its database alive.
impl<S: Store, G> StoreFixture for (S, G) {
    fn store(&self) -> &dyn Store {
        &self.0
    }
}

/// Expands to one `#[test]` per contract check, each on the fixture that
/// a fresh evaluation of the given expression yields (see
/// [`StoreFixture`]). Use it inside a module of its own.
#[macro_export]
macro_rules! store_contract_tests {
    ($fixture:expr) => {
        $crate::store_contract_tests!(@checks $fixture;
            create_user_stores_every_field,
            users_are_found_by_email_username_and_phone,
            create_user_makes_the_user_owner_of_its_organization,
            create_user_refuses_a_taken_email,
            create_user_refuses_a_taken_username,
            create_user_refuses_a_taken_phone,
            users_without_username_or_phone_do_not_collide,
            update_profile_applies_the_patch,
            update_profile_clears_optional_fields,
            update_profile_refuses_a_taken_username_or_phone,
            update_profile_of_an_unknown_user_is_not_found,
            set_password_hash_replaces_the_hash,
            set_password_hash_of_an_unknown_user_is_not_found,
            set_user_status_activates_without_touching_sessions,
            set_user_status_inactive_revokes_every_session,
            set_user_status_of_an_unknown_user_is_not_found,
            store_code_for_an_unknown_user_is_not_found,
            consume_code_spends_a_code_once,
            consume_code_refuses_another_kind,
            consume_code_refuses_an_expired_code,
            consume_code_refuses_an_unknown_code,
            validate_email_activates_a_pending_user,
            validate_email_keeps_an_inactive_user_inactive,
            validate_email_spends_the_other_validation_codes,
            validate_email_with_an_unusable_code_changes_nothing,
            create_session_stores_the_session,
            create_session_for_an_unknown_user_is_not_found,
            rotate_refresh_spends_the_token_and_records_the_next,
            rotate_refresh_detects_reuse_and_revokes_the_session,
            rotate_refresh_allows_a_replay_within_grace,
            rotate_refresh_treats_a_replay_after_grace_as_reuse,
            rotate_refresh_refuses_an_expired_token,
            rotate_refresh_refuses_a_token_of_an_expired_session,
            rotate_refresh_refuses_an_unknown_token,
            rotate_refresh_refuses_a_token_of_a_revoked_session,
            revoke_session_is_idempotent,
            revoke_session_of_another_user_or_unknown_is_not_found,
            revoke_user_sessions_spares_the_kept_session,
            revoke_user_sessions_without_keep_revokes_all,
            admit_login_admits_an_account_up_to_its_limit,
            admit_login_frees_at_names_the_failure_that_must_leave,
            admit_login_limits_an_address_across_accounts,
            admit_login_refuses_with_the_latest_of_the_reached_limits,
            admit_login_counts_only_the_window,
            admit_login_records_nothing_when_refused,
            clear_failed_logins_forgets_the_account_and_old_records,
            ping_answers,
            concurrent_rotations_of_one_token_rotate_once,
            concurrent_signups_with_one_email_store_one_user,
            concurrent_consumptions_of_one_code_succeed_once,
            concurrent_attempts_for_one_account_admit_its_limit,
            concurrent_attempts_from_one_address_admit_its_limit,
        );
    };
    (@checks $fixture:expr; $($check:ident),+ $(,)?) => {
        $(
            #[test]
            fn $check() {
                let fixture = $fixture;
                $crate::testkit::$check($crate::testkit::StoreFixture::store(&fixture));
            }
        )+
    };
}

/// The fixed "now" every check starts from.
pub const T0: OffsetDateTime = datetime!(2030-01-01 0:00 UTC);

/// How many threads the concurrency checks start.
const RACERS: usize = 8;

/// How many threads the login-throttle races start: well beyond the limit
/// they race for, and beyond a small connection pool.
const THROTTLE_RACERS: usize = 16;

fn at(seconds: i64) -> OffsetDateTime {
    T0 + Duration::seconds(seconds)
}

fn new_user(email: &str, username: Option<&str>, phone: Option<&str>) -> User {
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

fn new_organization() -> Organization {
    Organization::new(
        OrganizationName::parse("Analytical Engines").expect("test name"),
        T0,
    )
}

/// Stores `user` with an organization of its own.
fn sign_up(store: &dyn Store, user: &User) {
    store
        .create_user(user, &new_organization())
        .expect("create_user");
}

/// Stores and returns a pending user with this e-mail address.
fn signed_up(store: &dyn Store, email: &str) -> User {
    let user = new_user(email, None, None);
    sign_up(store, &user);
    user
}

fn with_status(mut user: User, status: UserStatus) -> User {
    user.status = status;
    user
}

fn code(user: &User, kind: CodeKind, secret: &str, expires_at: OffsetDateTime) -> OneTimeCode {
    OneTimeCode {
        digest: SecretDigest::of(secret),
        kind,
        user_id: user.id,
        created_at: T0,
        expires_at,
    }
}

/// Stores a code that stays usable for an hour.
fn stored_code(store: &dyn Store, user: &User, kind: CodeKind, secret: &str) -> OneTimeCode {
    let code = code(user, kind, secret, at(3600));
    store.store_code(&code).expect("store_code");
    code
}

fn refresh(secret: &str, expires_at: OffsetDateTime) -> NewRefreshToken {
    NewRefreshToken {
        digest: SecretDigest::of(secret),
        expires_at,
    }
}

fn new_session(user: &User, expires_at: OffsetDateTime) -> Session {
    Session {
        id: SessionId::generate(),
        user_id: user.id,
        created_at: T0,
        last_used_at: T0,
        expires_at,
        revoked_at: None,
        user_agent: Some("contract-test/1.0".to_owned()),
        ip: Some("192.0.2.7".to_owned()),
    }
}

/// Stores a one-day session for `user` whose first refresh token is `secret`.
fn logged_in(store: &dyn Store, user: &User, secret: &str) -> Session {
    let session = new_session(user, at(86_400));
    store
        .create_session(&session, &refresh(secret, session.expires_at))
        .expect("create_session");
    session
}

fn rotate(
    store: &dyn Store,
    secret: &str,
    next: &str,
    now: OffsetDateTime,
    grace: Duration,
) -> Rotation {
    store
        .rotate_refresh(
            &SecretDigest::of(secret),
            &refresh(next, now + Duration::days(1)),
            now,
            grace,
        )
        .expect("rotate_refresh")
}

fn stored_session(store: &dyn Store, id: SessionId) -> Session {
    store
        .session(id)
        .expect("session")
        .expect("the session exists")
}

fn stored_user(store: &dyn Store, id: UserId) -> User {
    store
        .user_by_id(id)
        .expect("user_by_id")
        .expect("the user exists")
}

fn find(store: &dyn Store, raw_identifier: &str) -> Option<User> {
    let identifier = LoginIdentifier::parse(raw_identifier).expect("test identifier");
    store
        .user_by_identifier(&identifier)
        .expect("user_by_identifier")
}

#[track_caller]
fn assert_duplicate<T: std::fmt::Debug>(result: Result<T, StoreError>, field: UniqueField) {
    assert!(
        matches!(&result, Err(StoreError::Duplicate(f)) if *f == field),
        "expected Duplicate({field:?}), got {result:?}"
    );
}

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "expected NotFound, got {result:?}"
    );
}

/// `second` collides with `first` on `field`: refused, and nothing of it
/// (user, organization, membership) is stored, so that the same user and
/// organization can still be stored once `fixed` removes the collision.
fn assert_sign_up_refused(
    store: &dyn Store,
    first: &User,
    second: &User,
    field: UniqueField,
    fixed: User,
) {
    sign_up(store, first);
    let organization = new_organization();
    assert_duplicate(store.create_user(second, &organization), field);
    assert_eq!(store.user_by_id(second.id).expect("user_by_id"), None);
    assert!(
        store
            .organizations_of(second.id)
            .expect("organizations_of")
            .is_empty()
    );
    assert_eq!(fixed.id, second.id);
    store
        .create_user(&fixed, &organization)
        .expect("the refused user and organization left nothing behind");
    assert_eq!(
        store.organizations_of(fixed.id).expect("organizations_of"),
        [(organization, Role::Owner)]
    );
}

// ---------------------------------------------------------------- users

/// `create_user` stores every field; `user_by_id` returns it as stored.
pub fn create_user_stores_every_field(store: &dyn Store) {
    let mut user = new_user("ada@example.com", Some("ada"), Some("+442071234567"));
    user.status = UserStatus::Active;
    user.email_verified = true;
    user.is_admin = true;
    user.updated_at = at(1);
    sign_up(store, &user);
    assert_eq!(store.user_by_id(user.id).expect("user_by_id"), Some(user));
    assert_eq!(
        store.user_by_id(UserId::generate()).expect("user_by_id"),
        None
    );
}

/// `user_by_identifier` finds a user by e-mail address or username,
/// whatever their case, and by phone; nothing for unknown identifiers.
pub fn users_are_found_by_email_username_and_phone(store: &dyn Store) {
    let user = new_user("ada@example.com", Some("ada.l"), Some("+442071234567"));
    sign_up(store, &user);
    sign_up(
        store,
        &new_user("bob@example.com", Some("bob"), Some("+442071234568")),
    );
    for identifier in [
        "ada@example.com",
        "ADA@Example.Com",
        "ada.l",
        "Ada.L",
        "+442071234567",
    ] {
        assert_eq!(
            find(store, identifier).as_ref(),
            Some(&user),
            "{identifier}"
        );
    }
    for unknown in ["eve@example.com", "eve", "+442071234569"] {
        assert_eq!(find(store, unknown), None, "{unknown}");
    }
}

/// `create_user` stores the organization with the user as its owner;
/// a user without memberships has no organizations.
pub fn create_user_makes_the_user_owner_of_its_organization(store: &dyn Store) {
    let user = new_user("ada@example.com", None, None);
    let organization = new_organization();
    store
        .create_user(&user, &organization)
        .expect("create_user");
    assert_eq!(
        store.organizations_of(user.id).expect("organizations_of"),
        [(organization, Role::Owner)]
    );
    assert!(
        store
            .organizations_of(UserId::generate())
            .expect("organizations_of")
            .is_empty()
    );
}

/// A taken e-mail address, in any case, is `Duplicate(Email)`; nothing is stored.
pub fn create_user_refuses_a_taken_email(store: &dyn Store) {
    let first = new_user("ada@example.com", Some("ada"), None);
    let second = new_user("ADA@example.COM", Some("other"), None);
    let mut fixed = second.clone();
    fixed.email = Email::parse("other@example.com").expect("test e-mail");
    assert_sign_up_refused(store, &first, &second, UniqueField::Email, fixed);
}

/// A taken username, in any case, is `Duplicate(Username)`; nothing is stored.
pub fn create_user_refuses_a_taken_username(store: &dyn Store) {
    let first = new_user("ada@example.com", Some("ada"), None);
    let second = new_user("other@example.com", Some("ADA"), None);
    let mut fixed = second.clone();
    fixed.username = Some(Username::parse("other").expect("test username"));
    assert_sign_up_refused(store, &first, &second, UniqueField::Username, fixed);
}

/// A taken phone is `Duplicate(Phone)`; nothing is stored.
pub fn create_user_refuses_a_taken_phone(store: &dyn Store) {
    let first = new_user("ada@example.com", None, Some("+442071234567"));
    let second = new_user("other@example.com", None, Some("+442071234567"));
    let mut fixed = second.clone();
    fixed.phone = None;
    assert_sign_up_refused(store, &first, &second, UniqueField::Phone, fixed);
}

/// Absent usernames and phones are not values that could collide.
pub fn users_without_username_or_phone_do_not_collide(store: &dyn Store) {
    let first = signed_up(store, "ada@example.com");
    let second = signed_up(store, "bob@example.com");
    assert_eq!(stored_user(store, first.id), first);
    assert_eq!(stored_user(store, second.id), second);
}

/// `update_profile` applies every field of the patch, stamps `updated_at`
/// and returns the user as stored; keeping one's own username and phone
/// is no collision.
pub fn update_profile_applies_the_patch(store: &dyn Store) {
    let mut user = new_user("ada@example.com", Some("ada"), Some("+442071234567"));
    sign_up(store, &user);
    let patch = ProfilePatch {
        first_name: Some(PersonName::parse("Augusta").expect("test name")),
        last_name: Some(PersonName::parse("King").expect("test name")),
        username: Some(Some(Username::parse("countess").expect("test username"))),
        phone: Some(Some(Phone::parse("+442079876543").expect("test phone"))),
    };
    let updated = store
        .update_profile(user.id, &patch, at(60))
        .expect("update_profile");
    patch.apply(&mut user, at(60));
    assert_eq!(updated, user);
    assert_eq!(stored_user(store, user.id), user);
    assert_eq!(find(store, "countess"), Some(user.clone()));
    assert_eq!(find(store, "ada"), None);

    let same = ProfilePatch {
        username: Some(user.username.clone()),
        phone: Some(user.phone.clone()),
        ..ProfilePatch::default()
    };
    let updated = store
        .update_profile(user.id, &same, at(120))
        .expect("update_profile");
    same.apply(&mut user, at(120));
    assert_eq!(updated, user);
}

/// `Some(None)` clears the username and phone, which others may then take.
pub fn update_profile_clears_optional_fields(store: &dyn Store) {
    let mut user = new_user("ada@example.com", Some("ada"), Some("+442071234567"));
    sign_up(store, &user);
    let patch = ProfilePatch {
        username: Some(None),
        phone: Some(None),
        ..ProfilePatch::default()
    };
    let updated = store
        .update_profile(user.id, &patch, at(60))
        .expect("update_profile");
    patch.apply(&mut user, at(60));
    assert_eq!(updated, user);
    assert_eq!(stored_user(store, user.id), user);
    sign_up(
        store,
        &new_user("bob@example.com", Some("ada"), Some("+442071234567")),
    );
}

/// A username (in any case) or phone of another user is `Duplicate`, and
/// the profile stays as it was.
pub fn update_profile_refuses_a_taken_username_or_phone(store: &dyn Store) {
    let user = new_user("ada@example.com", Some("ada"), Some("+442071234567"));
    sign_up(store, &user);
    sign_up(
        store,
        &new_user("bob@example.com", Some("bob"), Some("+442071234568")),
    );
    let taken_username = ProfilePatch {
        first_name: Some(PersonName::parse("Changed").expect("test name")),
        username: Some(Some(Username::parse("BOB").expect("test username"))),
        ..ProfilePatch::default()
    };
    assert_duplicate(
        store.update_profile(user.id, &taken_username, at(60)),
        UniqueField::Username,
    );
    let taken_phone = ProfilePatch {
        first_name: Some(PersonName::parse("Changed").expect("test name")),
        phone: Some(Some(Phone::parse("+442071234568").expect("test phone"))),
        ..ProfilePatch::default()
    };
    assert_duplicate(
        store.update_profile(user.id, &taken_phone, at(60)),
        UniqueField::Phone,
    );
    assert_eq!(stored_user(store, user.id), user);
}

/// `update_profile` of an unknown user is `NotFound`.
pub fn update_profile_of_an_unknown_user_is_not_found(store: &dyn Store) {
    let patch = ProfilePatch {
        first_name: Some(PersonName::parse("Nobody").expect("test name")),
        ..ProfilePatch::default()
    };
    assert_not_found(store.update_profile(UserId::generate(), &patch, at(60)));
}

/// `set_password_hash` replaces the hash and stamps `updated_at`.
pub fn set_password_hash_replaces_the_hash(store: &dyn Store) {
    let mut user = signed_up(store, "ada@example.com");
    let hash = PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaA");
    store
        .set_password_hash(user.id, &hash, at(60))
        .expect("set_password_hash");
    user.password_hash = hash;
    user.updated_at = at(60);
    assert_eq!(stored_user(store, user.id), user);
}

/// `set_password_hash` of an unknown user is `NotFound`.
pub fn set_password_hash_of_an_unknown_user_is_not_found(store: &dyn Store) {
    let hash = PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA");
    assert_not_found(store.set_password_hash(UserId::generate(), &hash, at(60)));
}

/// `set_user_status` sets the status, stamps `updated_at` and returns the
/// user as stored; any status but inactive leaves the sessions alone.
pub fn set_user_status_activates_without_touching_sessions(store: &dyn Store) {
    let mut user = signed_up(store, "ada@example.com");
    let session = logged_in(store, &user, "first");
    let updated = store
        .set_user_status(user.id, UserStatus::Active, at(60))
        .expect("set_user_status");
    user.status = UserStatus::Active;
    user.updated_at = at(60);
    assert_eq!(updated, user);
    assert_eq!(stored_user(store, user.id), user);
    assert_eq!(stored_session(store, session.id), session);
}

/// Setting a user inactive revokes each of their sessions at `now`, and
/// no one else's.
pub fn set_user_status_inactive_revokes_every_session(store: &dyn Store) {
    let mut user = with_status(new_user("ada@example.com", None, None), UserStatus::Active);
    sign_up(store, &user);
    let other = signed_up(store, "bob@example.com");
    let sessions = [
        logged_in(store, &user, "first"),
        logged_in(store, &user, "second"),
    ];
    let others = logged_in(store, &other, "others");
    let updated = store
        .set_user_status(user.id, UserStatus::Inactive, at(60))
        .expect("set_user_status");
    user.status = UserStatus::Inactive;
    user.updated_at = at(60);
    assert_eq!(updated, user);
    assert_eq!(stored_user(store, user.id), user);
    for session in sessions {
        assert_eq!(stored_session(store, session.id).revoked_at, Some(at(60)));
    }
    assert_eq!(stored_session(store, others.id), others);
}

/// `set_user_status` of an unknown user is `NotFound`.
pub fn set_user_status_of_an_unknown_user_is_not_found(store: &dyn Store) {
    assert_not_found(store.set_user_status(UserId::generate(), UserStatus::Inactive, at(60)));
}

// ---------------------------------------------------------------- codes

/// `store_code` for a user that does not exist is `NotFound`.
pub fn store_code_for_an_unknown_user_is_not_found(store: &dyn Store) {
    let ghost = new_user("ghost@example.com", None, None);
    assert_not_found(store.store_code(&code(&ghost, CodeKind::ResetPassword, "c", at(60))));
}

/// A code is returned as stored by its first consumption, and is
/// `NotFound` from then on.
pub fn consume_code_spends_a_code_once(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let code = stored_code(store, &user, CodeKind::ResetPassword, "reset");
    assert_eq!(
        store
            .consume_code(&code.digest, CodeKind::ResetPassword, at(60))
            .expect("consume_code"),
        code
    );
    assert_not_found(store.consume_code(&code.digest, CodeKind::ResetPassword, at(61)));
}

/// A code presented as another kind is `NotFound`, and stays usable.
pub fn consume_code_refuses_another_kind(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let code = stored_code(store, &user, CodeKind::ResetPassword, "reset");
    assert_not_found(store.consume_code(&code.digest, CodeKind::Invite, at(60)));
    assert_not_found(store.consume_code(&code.digest, CodeKind::ValidateEmail, at(60)));
    assert_eq!(
        store
            .consume_code(&code.digest, CodeKind::ResetPassword, at(60))
            .expect("consume_code"),
        code
    );
}

/// A code is usable until just before `expires_at`, not at it.
pub fn consume_code_refuses_an_expired_code(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let late = code(&user, CodeKind::Invite, "late", at(600));
    let timely = code(&user, CodeKind::Invite, "timely", at(600));
    store.store_code(&late).expect("store_code");
    store.store_code(&timely).expect("store_code");
    assert_not_found(store.consume_code(&late.digest, CodeKind::Invite, at(600)));
    assert_not_found(store.consume_code(&late.digest, CodeKind::Invite, at(601)));
    assert_eq!(
        store
            .consume_code(&timely.digest, CodeKind::Invite, at(599))
            .expect("consume_code"),
        timely
    );
}

/// An unknown code is `NotFound`.
pub fn consume_code_refuses_an_unknown_code(store: &dyn Store) {
    signed_up(store, "ada@example.com");
    assert_not_found(store.consume_code(
        &SecretDigest::of("unknown"),
        CodeKind::ValidateEmail,
        at(60),
    ));
}

/// `validate_email` verifies the address, activates a pending user, stamps
/// `updated_at`, returns the user as stored, and spends the code.
pub fn validate_email_activates_a_pending_user(store: &dyn Store) {
    let mut user = signed_up(store, "ada@example.com");
    let code = stored_code(store, &user, CodeKind::ValidateEmail, "validate");
    let validated = store
        .validate_email(&code.digest, at(60))
        .expect("validate_email");
    user.status = UserStatus::Active;
    user.email_verified = true;
    user.updated_at = at(60);
    assert_eq!(validated, user);
    assert_eq!(stored_user(store, user.id), user);
    assert_not_found(store.validate_email(&code.digest, at(61)));
}

/// `validate_email` verifies an inactive user's address but leaves the
/// account inactive.
pub fn validate_email_keeps_an_inactive_user_inactive(store: &dyn Store) {
    let user = with_status(
        new_user("ada@example.com", None, None),
        UserStatus::Inactive,
    );
    sign_up(store, &user);
    let code = stored_code(store, &user, CodeKind::ValidateEmail, "validate");
    let validated = store
        .validate_email(&code.digest, at(60))
        .expect("validate_email");
    assert_eq!(validated.status, UserStatus::Inactive);
    assert!(validated.email_verified);
    assert_eq!(stored_user(store, user.id), validated);
}

/// `validate_email` spends the user's other validation codes too, but
/// neither other kinds of code nor other users' codes.
pub fn validate_email_spends_the_other_validation_codes(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let other_user = signed_up(store, "bob@example.com");
    let first = stored_code(store, &user, CodeKind::ValidateEmail, "first");
    let second = stored_code(store, &user, CodeKind::ValidateEmail, "second");
    let reset = stored_code(store, &user, CodeKind::ResetPassword, "reset");
    let others = stored_code(store, &other_user, CodeKind::ValidateEmail, "others");
    store
        .validate_email(&second.digest, at(60))
        .expect("validate_email");
    assert_not_found(store.consume_code(&first.digest, CodeKind::ValidateEmail, at(61)));
    assert_eq!(
        store
            .consume_code(&reset.digest, CodeKind::ResetPassword, at(61))
            .expect("consume_code"),
        reset
    );
    assert_eq!(
        store
            .consume_code(&others.digest, CodeKind::ValidateEmail, at(61))
            .expect("consume_code"),
        others
    );
}

/// An unknown, spent, expired or wrong-kind code is `NotFound` and
/// changes nothing: the user stays pending and the codes stay as they were.
pub fn validate_email_with_an_unusable_code_changes_nothing(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let spent = stored_code(store, &user, CodeKind::ValidateEmail, "spent");
    store
        .consume_code(&spent.digest, CodeKind::ValidateEmail, at(10))
        .expect("consume_code");
    let expired = code(&user, CodeKind::ValidateEmail, "expired", at(60));
    store.store_code(&expired).expect("store_code");
    let reset = stored_code(store, &user, CodeKind::ResetPassword, "reset");
    let pending = stored_code(store, &user, CodeKind::ValidateEmail, "pending");
    for digest in [
        SecretDigest::of("unknown"),
        spent.digest,
        expired.digest,
        reset.digest,
    ] {
        assert_not_found(store.validate_email(&digest, at(60)));
    }
    assert_eq!(stored_user(store, user.id), user);
    assert_eq!(
        store
            .consume_code(&reset.digest, CodeKind::ResetPassword, at(61))
            .expect("consume_code"),
        reset
    );
    assert_eq!(
        store
            .consume_code(&pending.digest, CodeKind::ValidateEmail, at(61))
            .expect("consume_code"),
        pending
    );
}

// ------------------------------------------------------------- sessions

/// `session` returns a stored session whole, and nothing for an unknown id;
/// the first refresh token is live.
pub fn create_session_stores_the_session(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let session = logged_in(store, &user, "first");
    assert_eq!(stored_session(store, session.id), session);
    assert_eq!(store.session(SessionId::generate()).expect("session"), None);
    assert!(matches!(
        rotate(store, "first", "second", at(60), Duration::ZERO),
        Rotation::Rotated(_)
    ));
}

/// `create_session` for a user that does not exist is `NotFound`, and
/// stores nothing.
pub fn create_session_for_an_unknown_user_is_not_found(store: &dyn Store) {
    let ghost = new_user("ghost@example.com", None, None);
    let session = new_session(&ghost, at(3600));
    assert_not_found(store.create_session(&session, &refresh("first", at(3600))));
    assert_eq!(store.session(session.id).expect("session"), None);
    assert_eq!(
        rotate(store, "first", "second", at(60), Duration::ZERO),
        Rotation::Invalid
    );
}

/// A live token rotates: the session's `last_used_at` and `expires_at`
/// move on, the answer is the session as stored, and the next token is live.
pub fn rotate_refresh_spends_the_token_and_records_the_next(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let mut session = logged_in(store, &user, "first");
    let rotation = rotate(store, "first", "second", at(60), Duration::ZERO);
    session.last_used_at = at(60);
    session.expires_at = at(60) + Duration::days(1);
    assert_eq!(rotation, Rotation::Rotated(session.clone()));
    assert_eq!(stored_session(store, session.id), session);
    let rotation = rotate(store, "second", "third", at(120), Duration::ZERO);
    session.last_used_at = at(120);
    session.expires_at = at(120) + Duration::days(1);
    assert_eq!(rotation, Rotation::Rotated(session.clone()));
}

/// Presenting a spent token (grace zero) is reuse: the session is revoked
/// at once, and then none of its tokens work any more.
pub fn rotate_refresh_detects_reuse_and_revokes_the_session(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let session = logged_in(store, &user, "first");
    rotate(store, "first", "second", at(60), Duration::ZERO);
    assert_eq!(
        rotate(store, "first", "third", at(60), Duration::ZERO),
        Rotation::Reused
    );
    assert_eq!(stored_session(store, session.id).revoked_at, Some(at(60)));
    assert_eq!(
        rotate(store, "second", "fourth", at(61), Duration::ZERO),
        Rotation::Invalid
    );
    assert_eq!(
        rotate(store, "first", "fifth", at(61), Duration::ZERO),
        Rotation::Invalid
    );
}

/// A token spent less than `grace` ago rotates once more.
pub fn rotate_refresh_allows_a_replay_within_grace(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let mut session = logged_in(store, &user, "first");
    let grace = Duration::seconds(10);
    rotate(store, "first", "second", at(60), grace);
    let rotation = rotate(store, "first", "replayed", at(69), grace);
    session.last_used_at = at(69);
    session.expires_at = at(69) + Duration::days(1);
    assert_eq!(rotation, Rotation::Rotated(session.clone()));
    assert!(matches!(
        rotate(store, "replayed", "next", at(70), grace),
        Rotation::Rotated(_)
    ));
}

/// A token spent `grace` or more ago is reuse, and revokes the session.
pub fn rotate_refresh_treats_a_replay_after_grace_as_reuse(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let session = logged_in(store, &user, "first");
    let grace = Duration::seconds(10);
    rotate(store, "first", "second", at(60), grace);
    assert_eq!(
        rotate(store, "first", "late", at(70), grace),
        Rotation::Reused
    );
    assert_eq!(stored_session(store, session.id).revoked_at, Some(at(70)));
    assert_eq!(
        rotate(store, "second", "next", at(71), grace),
        Rotation::Invalid
    );
}

/// A token presented at or after its expiry is `Expired`; the session is
/// not revoked for it.
pub fn rotate_refresh_refuses_an_expired_token(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let session = new_session(&user, at(86_400));
    store
        .create_session(&session, &refresh("first", at(3600)))
        .expect("create_session");
    assert_eq!(
        rotate(store, "first", "second", at(3600), Duration::ZERO),
        Rotation::Expired
    );
    assert_eq!(stored_session(store, session.id), session);
}

/// A token of a session past its expiry is `Expired`.
pub fn rotate_refresh_refuses_a_token_of_an_expired_session(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let session = new_session(&user, at(3600));
    store
        .create_session(&session, &refresh("first", at(86_400)))
        .expect("create_session");
    assert_eq!(
        rotate(store, "first", "second", at(3600), Duration::ZERO),
        Rotation::Expired
    );
}

/// An unknown token is `Invalid`.
pub fn rotate_refresh_refuses_an_unknown_token(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    logged_in(store, &user, "first");
    assert_eq!(
        rotate(store, "unknown", "second", at(60), Duration::ZERO),
        Rotation::Invalid
    );
}

/// A live token of a revoked session is `Invalid`.
pub fn rotate_refresh_refuses_a_token_of_a_revoked_session(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let session = logged_in(store, &user, "first");
    store
        .revoke_session(user.id, session.id, at(30))
        .expect("revoke_session");
    assert_eq!(
        rotate(store, "first", "second", at(60), Duration::ZERO),
        Rotation::Invalid
    );
}

/// `revoke_session` revokes at `now`; revoking again succeeds and keeps
/// the first revocation time.
pub fn revoke_session_is_idempotent(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let mut session = logged_in(store, &user, "first");
    store
        .revoke_session(user.id, session.id, at(30))
        .expect("revoke_session");
    session.revoked_at = Some(at(30));
    assert_eq!(stored_session(store, session.id), session);
    store
        .revoke_session(user.id, session.id, at(60))
        .expect("revoking again");
    assert_eq!(stored_session(store, session.id), session);
}

/// `revoke_session` of another user's session, or of an unknown one, is
/// `NotFound` and revokes nothing.
pub fn revoke_session_of_another_user_or_unknown_is_not_found(store: &dyn Store) {
    let owner = signed_up(store, "ada@example.com");
    let other = signed_up(store, "bob@example.com");
    let session = logged_in(store, &owner, "first");
    assert_not_found(store.revoke_session(other.id, session.id, at(30)));
    assert_not_found(store.revoke_session(owner.id, SessionId::generate(), at(30)));
    assert_eq!(stored_session(store, session.id), session);
}

/// `revoke_user_sessions` revokes the user's unrevoked sessions but `keep`,
/// counts them, and leaves other users' sessions alone.
pub fn revoke_user_sessions_spares_the_kept_session(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let other = signed_up(store, "bob@example.com");
    let kept = logged_in(store, &user, "kept");
    let first = logged_in(store, &user, "first");
    let second = logged_in(store, &user, "second");
    let earlier = logged_in(store, &user, "earlier");
    let others = logged_in(store, &other, "others");
    store
        .revoke_session(user.id, earlier.id, at(10))
        .expect("revoke_session");
    let revoked = store
        .revoke_user_sessions(user.id, Some(kept.id), at(60))
        .expect("revoke_user_sessions");
    assert_eq!(revoked, 2);
    assert_eq!(stored_session(store, kept.id), kept);
    assert_eq!(stored_session(store, others.id), others);
    assert_eq!(stored_session(store, first.id).revoked_at, Some(at(60)));
    assert_eq!(stored_session(store, second.id).revoked_at, Some(at(60)));
    assert_eq!(stored_session(store, earlier.id).revoked_at, Some(at(10)));
}

/// Without `keep`, every unrevoked session of the user is revoked.
pub fn revoke_user_sessions_without_keep_revokes_all(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let sessions = [
        logged_in(store, &user, "first"),
        logged_in(store, &user, "second"),
    ];
    let revoked = store
        .revoke_user_sessions(user.id, None, at(60))
        .expect("revoke_user_sessions");
    assert_eq!(revoked, 2);
    for session in sessions {
        assert_eq!(stored_session(store, session.id).revoked_at, Some(at(60)));
    }
    let again = store
        .revoke_user_sessions(user.id, None, at(120))
        .expect("revoke_user_sessions");
    assert_eq!(again, 0);
}

// ------------------------------------------------------- login throttle

/// Limits no check reaches, for recording failures.
const UNLIMITED: ThrottleLimits = ThrottleLimits {
    per_account: u32::MAX,
    per_ip: u32::MAX,
};

fn limits(per_account: u32, per_ip: u32) -> ThrottleLimits {
    ThrottleLimits {
        per_account,
        per_ip,
    }
}

fn refused(frees_at_seconds: i64) -> Admission {
    Admission::Refused {
        frees_at: at(frees_at_seconds),
    }
}

/// An attempt for `account` from `ip` at `seconds`, counting the failures
/// at or after `since` (both in seconds after [`T0`]).
fn admit(
    store: &dyn Store,
    account: &str,
    ip: &str,
    seconds: i64,
    since: i64,
    limits: ThrottleLimits,
) -> Admission {
    store
        .admit_login(account, ip, at(seconds), at(since), limits)
        .expect("admit_login")
}

/// Records a failure for `account` from `ip` at `seconds`.
#[track_caller]
fn record(store: &dyn Store, account: &str, ip: &str, seconds: i64) {
    assert_eq!(
        admit(store, account, ip, seconds, -86_400, UNLIMITED),
        Admission::Admitted,
        "recording {account} from {ip} at {seconds}"
    );
}

/// An account is admitted until its failures reach `per_account`, from
/// whatever address; then refused until the oldest leaves the window.
/// Other accounts are not affected.
pub fn admit_login_admits_an_account_up_to_its_limit(store: &dyn Store) {
    let limits = limits(3, 100);
    for (seconds, ip) in [(0, "192.0.2.1"), (10, "192.0.2.2"), (20, "192.0.2.3")] {
        assert_eq!(
            admit(store, "ada", ip, seconds, 0, limits),
            Admission::Admitted,
            "attempt at {seconds}"
        );
    }
    assert_eq!(admit(store, "ada", "192.0.2.4", 30, 0, limits), refused(0));
    assert_eq!(
        admit(store, "bob", "192.0.2.4", 30, 0, limits),
        Admission::Admitted
    );
}

/// Beyond the limit (failures recorded under a larger one), `frees_at` is
/// the `count - limit + 1`-th oldest failure in the window, whatever the
/// order in which they were recorded.
pub fn admit_login_frees_at_names_the_failure_that_must_leave(store: &dyn Store) {
    for (seconds, ip) in [
        (40, "192.0.2.1"),
        (0, "192.0.2.2"),
        (20, "192.0.2.3"),
        (10, "192.0.2.4"),
        (30, "192.0.2.5"),
    ] {
        record(store, "ada", ip, seconds);
    }
    let attempt = |since, per_account| {
        admit(
            store,
            "ada",
            "192.0.2.9",
            50,
            since,
            limits(per_account, 100),
        )
    };
    assert_eq!(attempt(0, 5), refused(0), "count == limit: the oldest");
    assert_eq!(attempt(0, 4), refused(10));
    assert_eq!(attempt(0, 2), refused(30));
    assert_eq!(attempt(0, 1), refused(40), "limit 1: the newest");
    assert_eq!(attempt(5, 2), refused(30), "four in the window");
    assert_eq!(attempt(5, 4), refused(10), "four in the window, limit 4");
    assert_eq!(attempt(0, 6), Admission::Admitted);
}

/// An address is admitted until its failures, for any accounts, reach
/// `per_ip`; another address is not affected.
pub fn admit_login_limits_an_address_across_accounts(store: &dyn Store) {
    let three = limits(100, 3);
    for (seconds, account) in [(0, "ada"), (10, "bob"), (20, "carol")] {
        assert_eq!(
            admit(store, account, "192.0.2.1", seconds, 0, three),
            Admission::Admitted,
            "{account}"
        );
    }
    assert_eq!(admit(store, "dave", "192.0.2.1", 30, 0, three), refused(0));
    assert_eq!(
        admit(store, "dave", "192.0.2.2", 30, 0, three),
        Admission::Admitted
    );
    assert_eq!(
        admit(store, "eve", "192.0.2.1", 40, 0, limits(100, 2)),
        refused(10),
        "three failures, limit 2: the second oldest"
    );
}

/// When both limits are reached, `frees_at` is the later of the two
/// failures that must leave; a limit not reached plays no part.
pub fn admit_login_refuses_with_the_latest_of_the_reached_limits(store: &dyn Store) {
    record(store, "bob", "192.0.2.1", 0);
    record(store, "ada", "192.0.2.2", 10);
    record(store, "ada", "192.0.2.3", 20);
    record(store, "carol", "192.0.2.1", 25);
    let attempt = |seconds, per_account, per_ip| {
        admit(
            store,
            "ada",
            "192.0.2.1",
            seconds,
            0,
            limits(per_account, per_ip),
        )
    };
    assert_eq!(attempt(30, 2, 2), refused(10), "account 10, address 0");
    assert_eq!(attempt(30, 2, 1), refused(25), "account 10, address 25");
    assert_eq!(attempt(30, 3, 1), refused(25), "address only");
    assert_eq!(attempt(30, 2, 3), refused(10), "account only");
    assert_eq!(attempt(30, 3, 3), Admission::Admitted);
    assert_eq!(attempt(40, 3, 3), refused(10), "account 10, address 0");
}

/// Only failures at or after `since` count, for the account and for the
/// address alike.
pub fn admit_login_counts_only_the_window(store: &dyn Store) {
    for seconds in [0, 10, 20] {
        record(store, "ada", "192.0.2.1", seconds);
    }
    let three = limits(3, 100);
    assert_eq!(admit(store, "ada", "192.0.2.1", 30, 0, three), refused(0));
    assert_eq!(
        admit(store, "ada", "192.0.2.1", 30, 1, three),
        Admission::Admitted,
        "the failure at 0 is out of the window"
    );
    assert_eq!(
        admit(store, "ada", "192.0.2.1", 35, 10, three),
        refused(10),
        "`since` itself is in the window"
    );
    assert_eq!(
        admit(store, "ada", "192.0.2.1", 35, 11, three),
        Admission::Admitted
    );
    // The address now has failures at 0, 10, 20, 30 and 35.
    assert_eq!(
        admit(store, "bob", "192.0.2.1", 40, 21, limits(100, 3)),
        Admission::Admitted
    );
    assert_eq!(
        admit(store, "bob", "192.0.2.1", 45, 0, limits(100, 3)),
        refused(30),
        "six failures, limit 3: the fourth oldest"
    );
}

/// A refused attempt records nothing, for the account or the address.
pub fn admit_login_records_nothing_when_refused(store: &dyn Store) {
    let one = limits(1, 100);
    assert_eq!(
        admit(store, "ada", "192.0.2.1", 0, 0, one),
        Admission::Admitted
    );
    for seconds in [10, 20, 30] {
        assert_eq!(
            admit(store, "ada", "192.0.2.1", seconds, 0, one),
            refused(0)
        );
    }
    assert_eq!(
        admit(store, "ada", "192.0.2.1", 40, 0, limits(2, 100)),
        Admission::Admitted,
        "one failure recorded, not four"
    );
    assert_eq!(
        admit(store, "ada", "192.0.2.1", 50, 0, limits(2, 100)),
        refused(0)
    );
    assert_eq!(
        admit(store, "bob", "192.0.2.1", 60, 0, limits(100, 3)),
        Admission::Admitted,
        "the address has two failures, not six"
    );
}

/// `clear_failed_logins` forgets all of the account's failures (which
/// admits it again) and every other record older than `before`.
pub fn clear_failed_logins_forgets_the_account_and_old_records(store: &dyn Store) {
    record(store, "ada", "192.0.2.1", 10);
    record(store, "ada", "192.0.2.1", 50);
    record(store, "bob", "192.0.2.1", 20);
    record(store, "bob", "192.0.2.1", 40);
    record(store, "eve", "192.0.2.9", 30);
    assert_eq!(
        admit(store, "ada", "192.0.2.5", 55, 0, limits(2, 100)),
        refused(10)
    );
    store
        .clear_failed_logins("ada", at(30))
        .expect("clear_failed_logins");
    assert_eq!(
        admit(store, "ada", "192.0.2.5", 60, 0, limits(1, 100)),
        Admission::Admitted,
        "the account's failures are forgotten"
    );
    assert_eq!(
        admit(store, "bob", "192.0.2.6", 60, 0, limits(2, 100)),
        Admission::Admitted,
        "bob's failure at 20 is forgotten, the one at 40 kept"
    );
    assert_eq!(
        admit(store, "eve", "192.0.2.7", 60, 0, limits(1, 100)),
        refused(30),
        "a record at `before` is kept"
    );
    assert_eq!(
        admit(store, "zed", "192.0.2.1", 70, 0, limits(100, 2)),
        Admission::Admitted,
        "the address keeps only bob's failure at 40"
    );
}

/// A working store answers `ping`.
pub fn ping_answers(store: &dyn Store) {
    store.ping().expect("ping");
}

// ---------------------------------------------------------- concurrency

/// Runs `attempt(i)` on `threads` threads released at once, and returns
/// the results in thread order.
fn race<T: Send>(threads: usize, attempt: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let start = Barrier::new(threads);
    std::thread::scope(|scope| {
        let racers: Vec<_> = (0..threads)
            .map(|i| {
                let (start, attempt) = (&start, &attempt);
                scope.spawn(move || {
                    start.wait();
                    attempt(i)
                })
            })
            .collect();
        racers
            .into_iter()
            .map(|racer| racer.join().expect("racer panicked"))
            .collect()
    })
}

/// Of concurrent presenters of one live token exactly one rotates; the
/// others find it spent (reuse, which revokes the session) or find the
/// session revoked.
pub fn concurrent_rotations_of_one_token_rotate_once(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let session = logged_in(store, &user, "first");
    let outcomes = race(RACERS, |i| {
        rotate(store, "first", &format!("next-{i}"), at(60), Duration::ZERO)
    });
    let rotated = outcomes
        .iter()
        .filter(|o| matches!(o, Rotation::Rotated(_)))
        .count();
    assert_eq!(rotated, 1, "{outcomes:?}");
    assert!(outcomes.contains(&Rotation::Reused), "{outcomes:?}");
    assert!(
        outcomes.iter().all(|o| matches!(
            o,
            Rotation::Rotated(_) | Rotation::Reused | Rotation::Invalid
        )),
        "{outcomes:?}"
    );
    assert_eq!(stored_session(store, session.id).revoked_at, Some(at(60)));
}

/// Of concurrent sign-ups with one e-mail address (in different cases)
/// exactly one succeeds; the others are `Duplicate(Email)`.
pub fn concurrent_signups_with_one_email_store_one_user(store: &dyn Store) {
    let users: Vec<User> = (0..RACERS)
        .map(|i| {
            let email = if i % 2 == 0 {
                "race@example.com"
            } else {
                "RACE@Example.COM"
            };
            new_user(email, Some(&format!("racer{i}")), None)
        })
        .collect();
    let results = race(RACERS, |i| {
        store.create_user(&users[i], &new_organization())
    });
    let winners: Vec<&User> = users
        .iter()
        .zip(&results)
        .filter_map(|(user, result)| result.is_ok().then_some(user))
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for result in results.into_iter().filter(Result::is_err) {
        assert_duplicate(result, UniqueField::Email);
    }
    assert_eq!(find(store, "race@example.com").as_ref(), Some(winners[0]));
}

/// Of concurrent consumers of one code exactly one gets it; the others
/// are `NotFound`.
pub fn concurrent_consumptions_of_one_code_succeed_once(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let code = stored_code(store, &user, CodeKind::ResetPassword, "reset");
    let results = race(RACERS, |_| {
        store.consume_code(&code.digest, CodeKind::ResetPassword, at(60))
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    for result in results.into_iter().filter(Result::is_err) {
        assert_not_found(result);
    }
}

/// Of concurrent attempts for one account (from different addresses),
/// exactly `per_account` are admitted; the others are refused, and only
/// the admitted ones are recorded.
pub fn concurrent_attempts_for_one_account_admit_its_limit(store: &dyn Store) {
    let outcomes = race(THROTTLE_RACERS, |i| {
        admit(store, "ada", &format!("192.0.2.{i}"), 60, 0, limits(5, 100))
    });
    let admitted = outcomes
        .iter()
        .filter(|o| **o == Admission::Admitted)
        .count();
    assert_eq!(admitted, 5, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| *o == Admission::Admitted || *o == refused(60)),
        "{outcomes:?}"
    );
    assert_eq!(
        admit(store, "ada", "198.51.100.1", 61, 0, limits(6, 100)),
        Admission::Admitted,
        "exactly five failures recorded"
    );
}

/// Of concurrent attempts from one address (for different accounts),
/// exactly `per_ip` are admitted; the others are refused, and only the
/// admitted ones are recorded.
pub fn concurrent_attempts_from_one_address_admit_its_limit(store: &dyn Store) {
    let outcomes = race(THROTTLE_RACERS, |i| {
        admit(
            store,
            &format!("racer{i}"),
            "192.0.2.1",
            60,
            0,
            limits(100, 5),
        )
    });
    let admitted = outcomes
        .iter()
        .filter(|o| **o == Admission::Admitted)
        .count();
    assert_eq!(admitted, 5, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| *o == Admission::Admitted || *o == refused(60)),
        "{outcomes:?}"
    );
    assert_eq!(
        admit(store, "eve", "192.0.2.1", 61, 0, limits(100, 6)),
        Admission::Admitted,
        "exactly five failures recorded"
    );
}
