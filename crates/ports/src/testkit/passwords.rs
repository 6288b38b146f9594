//! `PasswordStore`: reset codes, password changes and resets, and what
//! each voids and revokes.

use domain::{CodeKind, PasswordHash, SecretDigest, User, UserStatus};

use super::{
    fixtures::{
        assert_not_found, at, code, logged_in, new_user, sign_up, signed_up, stored_code,
        stored_session, stored_user, with_status,
    },
    races::{RACERS, race},
};
use crate::{OneTimeCode, Store};

/// The checks of this module, for [`crate::store_contract_tests!`]. A test
/// of `testkit` keeps this list equal to the module's `pub fn`s.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_checks_passwords {
    ($($mode:tt)*) => {
        $crate::store_contract_tests! { $($mode)* passwords:
            reset_code_user_names_the_holder_without_spending,
            reset_code_user_is_none_for_an_unusable_code,
            change_password_replaces_the_hash_and_keeps_one_session,
            change_password_spends_the_reset_codes,
            change_password_for_an_unknown_user_is_not_found,
            reset_password_replaces_the_hash_and_revokes_every_session,
            reset_password_validates_a_pending_user,
            reset_password_keeps_an_inactive_user_inactive,
            reset_password_spends_the_code_and_the_other_reset_codes,
            reset_password_with_an_unusable_code_changes_nothing,
            concurrent_resets_with_one_code_succeed_once,
            concurrent_password_writes_of_one_user_all_complete,
        }
    };
}

fn new_hash() -> PasswordHash {
    PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaG5ld2hhc2g")
}

/// An active, verified user, stored.
fn active(store: &dyn Store, email: &str) -> User {
    let mut user = with_status(new_user(email, None, None), UserStatus::Active);
    user.email_verified = true;
    sign_up(store, &user);
    user
}

/// Stores a reset code usable for an hour through `store_newest_code`.
fn reset_code(store: &dyn Store, user: &User, secret: &str) -> OneTimeCode {
    let code = code(user, CodeKind::ResetPassword, secret, at(3600));
    store.store_newest_code(&code).expect("store_newest_code");
    code
}

/// The digests of reset codes of `user` that are not usable at `at(60)`:
/// unknown, spent, expired, and a validation code presented as a reset code
/// (which stays usable as what it is).
fn unusable_reset_codes(store: &dyn Store, user: &User) -> [SecretDigest; 4] {
    let spent = stored_code(store, user, CodeKind::ResetPassword, "spent");
    store
        .consume_code(&spent.digest, CodeKind::ResetPassword, at(10))
        .expect("consume_code");
    let expired = code(user, CodeKind::ResetPassword, "expired", at(60));
    store.store_code(&expired).expect("store_code");
    let validation = stored_code(store, user, CodeKind::ValidateEmail, "validate");
    [
        SecretDigest::of("unknown"),
        spent.digest,
        expired.digest,
        validation.digest,
    ]
}

/// Whether a reset code can still be spent at `at(100)` (spending it).
fn usable(store: &dyn Store, code: &OneTimeCode) -> bool {
    store.consume_code(&code.digest, code.kind, at(100)).is_ok()
}

/// `reset_code_user` names the user of a usable reset code, as stored,
/// and the code stays usable.
pub fn reset_code_user_names_the_holder_without_spending(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let code = reset_code(store, &user, "reset");
    for _ in 0..2 {
        assert_eq!(
            store
                .reset_code_user(&code.digest, at(60))
                .expect("reset_code_user"),
            Some(user.clone())
        );
    }
    assert!(usable(store, &code));
}

/// An unknown, spent, expired or wrong-kind code names nobody.
pub fn reset_code_user_is_none_for_an_unusable_code(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    for digest in unusable_reset_codes(store, &user) {
        assert_eq!(
            store
                .reset_code_user(&digest, at(60))
                .expect("reset_code_user"),
            None
        );
    }
}

/// `change_password` stores the new hash, stamps `updated_at`, revokes
/// every other session of the user at `now`, and leaves the kept session
/// and other users' sessions alone.
pub fn change_password_replaces_the_hash_and_keeps_one_session(store: &dyn Store) {
    let user = active(store, "ada@example.com");
    let other_user = active(store, "bob@example.com");
    let this = logged_in(store, &user, "this");
    let other = logged_in(store, &user, "other");
    let theirs = logged_in(store, &other_user, "theirs");
    store
        .change_password(user.id, &new_hash(), this.id, at(60))
        .expect("change_password");
    let changed = stored_user(store, user.id);
    assert_eq!(
        changed,
        User {
            password_hash: new_hash(),
            updated_at: at(60),
            ..user
        }
    );
    assert_eq!(stored_session(store, this.id), this);
    assert_eq!(stored_session(store, other.id).revoked_at, Some(at(60)));
    assert_eq!(stored_session(store, theirs.id), theirs);
}

/// A password change spends every outstanding reset code of the user, and
/// no other user's.
pub fn change_password_spends_the_reset_codes(store: &dyn Store) {
    let user = active(store, "ada@example.com");
    let other_user = active(store, "bob@example.com");
    let this = logged_in(store, &user, "this");
    let first = stored_code(store, &user, CodeKind::ResetPassword, "first");
    let second = stored_code(store, &user, CodeKind::ResetPassword, "second");
    let others = reset_code(store, &other_user, "others");
    store
        .change_password(user.id, &new_hash(), this.id, at(60))
        .expect("change_password");
    assert!(!usable(store, &first));
    assert!(!usable(store, &second));
    assert!(usable(store, &others));
}

/// `change_password` for an unknown user is `NotFound`.
pub fn change_password_for_an_unknown_user_is_not_found(store: &dyn Store) {
    let user = active(store, "ada@example.com");
    let session = logged_in(store, &user, "this");
    let ghost = new_user("ghost@example.com", None, None);
    assert_not_found(store.change_password(ghost.id, &new_hash(), session.id, at(60)));
    assert_eq!(stored_session(store, session.id), session);
}

/// `reset_password` stores the new hash, returns the user as stored, and
/// revokes every session of the user at `now`, none of another user's.
pub fn reset_password_replaces_the_hash_and_revokes_every_session(store: &dyn Store) {
    let user = active(store, "ada@example.com");
    let other_user = active(store, "bob@example.com");
    let first = logged_in(store, &user, "first");
    let second = logged_in(store, &user, "second");
    let theirs = logged_in(store, &other_user, "theirs");
    let code = reset_code(store, &user, "reset");
    let reset = store
        .reset_password(&code.digest, &new_hash(), at(60))
        .expect("reset_password");
    let expected = User {
        password_hash: new_hash(),
        updated_at: at(60),
        ..user.clone()
    };
    assert_eq!(reset, expected);
    assert_eq!(stored_user(store, user.id), expected);
    assert_eq!(stored_session(store, first.id).revoked_at, Some(at(60)));
    assert_eq!(stored_session(store, second.id).revoked_at, Some(at(60)));
    assert_eq!(stored_session(store, theirs.id), theirs);
}

/// A pending user who resets through a mailed code is thereby validated.
pub fn reset_password_validates_a_pending_user(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let code = reset_code(store, &user, "reset");
    let reset = store
        .reset_password(&code.digest, &new_hash(), at(60))
        .expect("reset_password");
    assert_eq!(reset.status, UserStatus::Active);
    assert!(reset.email_verified);
    assert_eq!(reset.password_hash, new_hash());
    assert_eq!(stored_user(store, user.id), reset);
}

/// An inactive user's password changes, and the account stays inactive.
pub fn reset_password_keeps_an_inactive_user_inactive(store: &dyn Store) {
    let user = with_status(
        new_user("ada@example.com", None, None),
        UserStatus::Inactive,
    );
    sign_up(store, &user);
    let code = reset_code(store, &user, "reset");
    let reset = store
        .reset_password(&code.digest, &new_hash(), at(60))
        .expect("reset_password");
    assert_eq!(reset.status, UserStatus::Inactive);
    assert_eq!(reset.password_hash, new_hash());
    assert_eq!(stored_user(store, user.id), reset);
}

/// The code is spent once; the user's other reset codes are spent with it,
/// other kinds of code and other users' codes are not.
pub fn reset_password_spends_the_code_and_the_other_reset_codes(store: &dyn Store) {
    let user = active(store, "ada@example.com");
    let other_user = active(store, "bob@example.com");
    let first = stored_code(store, &user, CodeKind::ResetPassword, "first");
    let second = stored_code(store, &user, CodeKind::ResetPassword, "second");
    let validation = stored_code(store, &user, CodeKind::ValidateEmail, "validate");
    let others = reset_code(store, &other_user, "others");
    store
        .reset_password(&second.digest, &new_hash(), at(60))
        .expect("reset_password");
    assert_not_found(store.reset_password(&second.digest, &new_hash(), at(61)));
    assert!(!usable(store, &first));
    assert!(usable(store, &validation));
    assert!(usable(store, &others));
}

/// An unknown, spent, expired or wrong-kind code is `NotFound` and changes
/// nothing: the user, its sessions and its usable reset code stay as they
/// were.
pub fn reset_password_with_an_unusable_code_changes_nothing(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let session = logged_in(store, &user, "this");
    let unusable = unusable_reset_codes(store, &user);
    let pending = stored_code(store, &user, CodeKind::ResetPassword, "pending");
    for digest in unusable {
        assert_not_found(store.reset_password(&digest, &new_hash(), at(60)));
    }
    assert_eq!(stored_user(store, user.id), user);
    assert_eq!(stored_session(store, session.id), session);
    assert!(usable(store, &pending));
    assert!(
        store
            .consume_code(
                &SecretDigest::of("validate"),
                CodeKind::ValidateEmail,
                at(100)
            )
            .is_ok(),
        "the validation code stays usable"
    );
}

/// Of concurrent resets with one code exactly one succeeds; the others
/// find the code spent.
pub fn concurrent_resets_with_one_code_succeed_once(store: &dyn Store) {
    let user = active(store, "ada@example.com");
    let code = reset_code(store, &user, "reset");
    let outcomes = race(RACERS, |_| {
        store.reset_password(&code.digest, &new_hash(), at(60))
    });
    let succeeded = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(succeeded, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| o.is_ok() || matches!(o, Err(crate::StoreError::NotFound))),
        "{outcomes:?}"
    );
    assert_eq!(stored_user(store, user.id).password_hash, new_hash());
}

/// Resets, changes and new reset codes of one user, all at once, each
/// complete or find their code spent: none fails otherwise (as two
/// transactions taking the user's rows in opposite orders would).
pub fn concurrent_password_writes_of_one_user_all_complete(store: &dyn Store) {
    let user = active(store, "ada@example.com");
    let session = logged_in(store, &user, "this");
    let first = reset_code(store, &user, "first");
    stored_code(store, &user, CodeKind::ResetPassword, "second");
    let outcomes = race(RACERS, |i| match i % 3 {
        0 => store
            .reset_password(&first.digest, &new_hash(), at(60))
            .map(drop),
        1 => store.change_password(user.id, &new_hash(), session.id, at(60)),
        _ => store.store_newest_code(&code(
            &user,
            CodeKind::ResetPassword,
            &format!("new-{i}"),
            at(3600),
        )),
    });
    let resets = outcomes.iter().step_by(3).filter(|o| o.is_ok()).count();
    assert!(resets <= 1, "{outcomes:?}");
    for (i, outcome) in outcomes.iter().enumerate() {
        assert!(
            outcome.is_ok() || (i % 3 == 0 && matches!(outcome, Err(crate::StoreError::NotFound))),
            "{outcomes:?}"
        );
    }
}
