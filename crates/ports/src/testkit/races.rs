//! Concurrency: what must hold when several callers race for one row,
//! whatever the store's isolation level and pool size.

use std::sync::Barrier;

use domain::{CodeKind, User};
use time::Duration;

use super::{
    fixtures::{
        assert_duplicate, assert_not_found, at, find, logged_in, new_organization, new_user,
        rotate, signed_up, stored_code, stored_session,
    },
    throttle::{admit, limits, refused},
};
use crate::{Admission, Rotation, Store, UniqueField};

/// The checks of this module, for [`crate::store_contract_tests!`]. A test
/// of `testkit` keeps this list equal to the module's `pub fn`s.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_checks_races {
    ($($mode:tt)*) => {
        $crate::store_contract_tests! { $($mode)* races:
            concurrent_rotations_of_one_token_rotate_once,
            concurrent_replays_within_grace_rotate_once_and_answer_alike,
            concurrent_signups_with_one_email_store_one_user,
            concurrent_consumptions_of_one_code_succeed_once,
            concurrent_attempts_for_one_account_admit_its_limit,
            concurrent_attempts_from_one_address_admit_its_limit,
        }
    };
}

/// How many threads the concurrency checks start.
pub(super) const RACERS: usize = 8;

/// How many threads the login-throttle races start: well beyond the limit
/// they race for, and beyond a small connection pool.
pub(super) const THROTTLE_RACERS: usize = 16;

/// Runs `attempt(i)` on `threads` threads released at once, and returns
/// the results in thread order.
pub(super) fn race<T: Send>(threads: usize, attempt: impl Fn(usize) -> T + Sync) -> Vec<T> {
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
    assert!(
        outcomes.contains(&Rotation::Reused(user.id)),
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().all(|o| matches!(
            o,
            Rotation::Rotated(_) | Rotation::Reused(_) | Rotation::Invalid
        )),
        "{outcomes:?}"
    );
    assert_eq!(stored_session(store, session.id).revoked_at, Some(at(60)));
}

/// Within a grace period, concurrent presentations of one token with its
/// one successor rotate once; every other is a replay of that rotation, so
/// the session is alive with one chain, whose next token then rotates.
pub fn concurrent_replays_within_grace_rotate_once_and_answer_alike(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let session = logged_in(store, &user, "first");
    let grace = Duration::seconds(10);
    let outcomes = race(RACERS, |_| rotate(store, "first", "second", at(60), grace));
    let rotated: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            Rotation::Rotated(session) => Some(session.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(rotated.len(), 1, "{outcomes:?}");
    let replay = Rotation::Replayed {
        session: rotated[0].clone(),
        expires_at: at(60) + Duration::days(1),
    };
    let replays = outcomes.iter().filter(|o| **o == replay).count();
    assert_eq!(replays, RACERS - 1, "{outcomes:?}");
    assert_eq!(stored_session(store, session.id).revoked_at, None);
    assert!(matches!(
        rotate(store, "second", "third", at(61), grace),
        Rotation::Rotated(_)
    ));
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
        store.create_user(&users[i], &new_organization(), None)
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
