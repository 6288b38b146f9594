//! `UserStore`: creating users, finding them, and changing their profile,
//! password and status.

use domain::{
    CodeKind, Email, PasswordHash, PersonName, Phone, ProfilePatch, Role, User, UserId, UserStatus,
    Username,
};

use super::fixtures::{
    T0, assert_duplicate, assert_not_found, at, code, find, logged_in, new_organization, new_user,
    sign_up, signed_up, stored_session, stored_user, with_status,
};
use crate::{Store, StoreError, UniqueField};

/// The checks of this module, for [`crate::store_contract_tests!`]. A test
/// of `testkit` keeps this list equal to the module's `pub fn`s.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_checks_users {
    ($($mode:tt)*) => {
        $crate::store_contract_tests! { $($mode)* users:
            create_user_stores_every_field,
            create_user_stores_the_first_code_with_the_user,
            create_user_refuses_a_code_of_another_user,
            users_are_found_by_email_username_and_phone,
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
        }
    };
}

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

/// `create_user` stores the user's first code in the same step: it can be
/// spent, once, as soon as the user exists.
pub fn create_user_stores_the_first_code_with_the_user(store: &dyn Store) {
    let user = new_user("ada@example.com", None, None);
    let validation = code(&user, CodeKind::ValidateEmail, "first-code", at(3600));
    store
        .create_user(&user, &new_organization(), Some(&validation))
        .expect("create_user");
    let spent = store
        .consume_code(&validation.digest, CodeKind::ValidateEmail, at(1))
        .expect("the first code is stored");
    assert_eq!((spent.user_id, spent.expires_at), (user.id, at(3600)));
    assert_not_found(store.consume_code(&validation.digest, CodeKind::ValidateEmail, at(2)));
}

/// A first code that names another user is refused, and nothing is stored.
pub fn create_user_refuses_a_code_of_another_user(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let grace = new_user("grace@example.com", None, None);
    let foreign = code(&ada, CodeKind::ValidateEmail, "foreign", at(3600));
    match store.create_user(&grace, &new_organization(), Some(&foreign)) {
        Err(StoreError::Internal(_)) => {}
        other => panic!("expected Internal, got {other:?}"),
    }
    assert_eq!(store.user_by_id(grace.id).expect("user_by_id"), None);
    assert_not_found(store.consume_code(&foreign.digest, CodeKind::ValidateEmail, T0));
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
    let validation = code(second, CodeKind::ValidateEmail, "first-code", at(3600));
    assert_duplicate(
        store.create_user(second, &organization, Some(&validation)),
        field,
    );
    assert_eq!(store.user_by_id(second.id).expect("user_by_id"), None);
    assert_not_found(store.consume_code(&validation.digest, CodeKind::ValidateEmail, T0));
    assert!(
        store
            .organizations_of(second.id)
            .expect("organizations_of")
            .is_empty()
    );
    assert_eq!(fixed.id, second.id);
    store
        .create_user(&fixed, &organization, Some(&validation))
        .expect("the refused user, organization and code left nothing behind");
    assert_eq!(
        store.organizations_of(fixed.id).expect("organizations_of"),
        [(organization, Role::Owner)]
    );
}
