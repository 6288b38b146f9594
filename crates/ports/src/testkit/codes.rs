//! `CodeStore`: one-time codes, spent once, and e-mail validation.

use domain::{CodeKind, SecretDigest, UserStatus};

use super::fixtures::{
    assert_not_found, at, code, new_user, sign_up, signed_up, stored_code, stored_user, with_status,
};
use crate::Store;

/// The checks of this module, for [`crate::store_contract_tests!`]. A test
/// of `testkit` keeps this list equal to the module's `pub fn`s.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_checks_codes {
    ($($mode:tt)*) => {
        $crate::store_contract_tests! { $($mode)* codes:
            store_code_for_an_unknown_user_is_not_found,
            consume_code_spends_a_code_once,
            consume_code_refuses_another_kind,
            consume_code_refuses_an_expired_code,
            consume_code_refuses_an_unknown_code,
            validate_email_activates_a_pending_user,
            validate_email_keeps_an_inactive_user_inactive,
            validate_email_spends_the_other_validation_codes,
            validate_email_with_an_unusable_code_changes_nothing,
            store_newest_code_spends_the_older_codes_of_its_kind,
            store_newest_code_for_an_unknown_user_is_not_found,
        }
    };
}

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

/// A new code spends the user's older codes of its kind (reset or
/// validation), but neither other kinds of code nor other users' codes.
pub fn store_newest_code_spends_the_older_codes_of_its_kind(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let other_user = signed_up(store, "bob@example.com");
    for (kind, other_kind) in [
        (CodeKind::ResetPassword, CodeKind::ValidateEmail),
        (CodeKind::ValidateEmail, CodeKind::ResetPassword),
    ] {
        let newest_of = |user, secret: &str| {
            let code = code(user, kind, secret, at(3600));
            store.store_newest_code(&code).expect("store_newest_code");
            code
        };
        let older = newest_of(&user, &format!("older-{kind:?}"));
        let other = stored_code(store, &user, other_kind, &format!("other-{kind:?}"));
        let others = newest_of(&other_user, &format!("others-{kind:?}"));
        let newest = newest_of(&user, &format!("newest-{kind:?}"));
        let usable = |code: &crate::OneTimeCode| {
            store.consume_code(&code.digest, code.kind, at(100)).is_ok()
        };
        assert!(!usable(&older), "the older {kind:?} code is spent");
        assert!(usable(&newest), "{kind:?}");
        assert!(usable(&other), "{kind:?}");
        assert!(usable(&others), "{kind:?}");
    }
}

/// `store_newest_code` for a user that does not exist is `NotFound`.
pub fn store_newest_code_for_an_unknown_user_is_not_found(store: &dyn Store) {
    let ghost = new_user("ghost@example.com", None, None);
    for kind in [CodeKind::ResetPassword, CodeKind::ValidateEmail] {
        assert_not_found(store.store_newest_code(&code(&ghost, kind, "c", at(60))));
    }
}
