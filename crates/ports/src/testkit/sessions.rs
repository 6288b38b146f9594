//! `SessionStore`: sessions, refresh-token rotation with reuse detection,
//! and revocation.

use domain::{Factors, Session, SessionId};
use time::Duration;

use super::fixtures::{
    assert_not_found, at, logged_in, new_session, new_user, refresh, rotate, signed_up,
    stored_session,
};
use crate::{Rotation, Store};

/// The checks of this module, for [`crate::store_contract_tests!`]. A test
/// of `testkit` keeps this list equal to the module's `pub fn`s.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_checks_sessions {
    ($($mode:tt)*) => {
        $crate::store_contract_tests! { $($mode)* sessions:
            create_session_stores_the_session,
            a_session_keeps_its_factors_through_rotations,
            create_session_for_an_unknown_user_is_not_found,
            rotate_refresh_spends_the_token_and_records_the_next,
            rotate_refresh_detects_reuse_and_revokes_the_session,
            rotate_refresh_answers_a_replay_within_grace_with_the_recorded_successor,
            rotate_refresh_refuses_a_replay_naming_another_successor,
            rotate_refresh_refuses_a_replay_once_the_session_is_revoked,
            rotate_refresh_treats_a_replay_after_grace_as_reuse,
            rotate_refresh_refuses_an_expired_token,
            rotate_refresh_refuses_a_token_of_an_expired_session,
            rotate_refresh_refuses_an_unknown_token,
            rotate_refresh_refuses_a_token_of_a_revoked_session,
            revoke_session_is_idempotent,
            revoke_session_of_another_user_or_unknown_is_not_found,
            revoke_user_sessions_spares_the_kept_session,
            revoke_user_sessions_without_keep_revokes_all,
        }
    };
}

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
/// How the user logged in is stored with the session and kept by every
/// rotation and replay: refreshed tokens say the same.
pub fn a_session_keeps_its_factors_through_rotations(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let session = Session {
        factors: Factors::PasswordAndOtp,
        ..new_session(&user, at(86_400))
    };
    store
        .create_session(&session, &refresh("first", session.expires_at))
        .expect("create_session");
    assert_eq!(
        stored_session(store, session.id).factors,
        Factors::PasswordAndOtp
    );
    match rotate(store, "first", "second", at(60), Duration::seconds(10)) {
        Rotation::Rotated(rotated) => assert_eq!(rotated.factors, Factors::PasswordAndOtp),
        other => panic!("expected Rotated, got {other:?}"),
    }
    match rotate(store, "first", "second", at(61), Duration::seconds(10)) {
        Rotation::Replayed { session, .. } => {
            assert_eq!(session.factors, Factors::PasswordAndOtp);
        }
        other => panic!("expected Replayed, got {other:?}"),
    }
    let plain = logged_in(store, &user, "plain");
    assert_eq!(stored_session(store, plain.id).factors, Factors::Password);
}

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
        Rotation::Reused(user.id)
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

/// A token spent less than `grace` ago, presented with the successor its
/// first spending recorded, is a replay: the answer names that successor's
/// expiry and nothing changes, so the session keeps one live chain.
pub fn rotate_refresh_answers_a_replay_within_grace_with_the_recorded_successor(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let mut session = logged_in(store, &user, "first");
    let grace = Duration::seconds(10);
    rotate(store, "first", "second", at(60), grace);
    session.last_used_at = at(60);
    session.expires_at = at(60) + Duration::days(1);
    for replayed_at in [at(60), at(65), at(69) + Duration::microseconds(999_999)] {
        assert_eq!(
            rotate(store, "first", "second", replayed_at, grace),
            Rotation::Replayed {
                session: session.clone(),
                expires_at: at(60) + Duration::days(1),
            }
        );
    }
    assert_eq!(stored_session(store, session.id), session);
    assert!(matches!(
        rotate(store, "second", "third", at(70), grace),
        Rotation::Rotated(_)
    ));
}

/// A replay naming a successor other than the recorded one (the key that
/// derives successors changed) is `Invalid`: nothing is recorded, nothing
/// is revoked, and the recorded successor stays live.
pub fn rotate_refresh_refuses_a_replay_naming_another_successor(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let session = logged_in(store, &user, "first");
    let grace = Duration::seconds(10);
    rotate(store, "first", "second", at(60), grace);
    assert_eq!(
        rotate(store, "first", "other", at(61), grace),
        Rotation::Invalid
    );
    assert_eq!(stored_session(store, session.id).revoked_at, None);
    assert_eq!(
        rotate(store, "other", "next", at(62), grace),
        Rotation::Invalid
    );
    assert!(matches!(
        rotate(store, "second", "third", at(62), grace),
        Rotation::Rotated(_)
    ));
}

/// A revoked session (a logout) wins over any replay: `Invalid`.
pub fn rotate_refresh_refuses_a_replay_once_the_session_is_revoked(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let session = logged_in(store, &user, "first");
    let grace = Duration::seconds(10);
    rotate(store, "first", "second", at(60), grace);
    store
        .revoke_session(user.id, session.id, at(61))
        .expect("revoke_session");
    assert_eq!(
        rotate(store, "first", "second", at(62), grace),
        Rotation::Invalid
    );
    assert_eq!(
        rotate(store, "second", "third", at(62), grace),
        Rotation::Invalid
    );
}

/// A token spent `grace` or more ago is reuse, and revokes the session,
/// even while its successor is still live.
pub fn rotate_refresh_treats_a_replay_after_grace_as_reuse(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let session = logged_in(store, &user, "first");
    let grace = Duration::seconds(10);
    rotate(store, "first", "second", at(60), grace);
    assert_eq!(
        rotate(store, "first", "late", at(70), grace),
        Rotation::Reused(user.id)
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
