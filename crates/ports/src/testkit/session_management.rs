//! `SessionStore`: listing a user's live sessions, the client recorded at
//! each rotation, and the absolute lifetime of a session.

use domain::{SecretDigest, SessionLifetime};
use time::{Duration, OffsetDateTime};

use super::fixtures::{
    at, logged_in, new_session, refresh, rotate, signed_up, stored_session, successor,
};
use crate::{Rotation, Store, Successor};

/// The checks of this module, for [`crate::store_contract_tests!`]. A test
/// of `testkit` keeps this list equal to the module's `pub fn`s.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_checks_session_management {
    ($($mode:tt)*) => {
        $crate::store_contract_tests! { $($mode)* session_management:
            sessions_of_lists_live_sessions_most_recently_used_first,
            sessions_of_leaves_out_revoked_and_expired_sessions,
            rotate_refresh_records_the_client_of_a_rotation_not_of_a_replay,
            rotate_refresh_caps_the_next_expiry_at_the_session_end,
            rotate_refresh_refuses_a_session_past_its_end,
        }
    };
}

/// A day of refresh lifetime within a session of at most `max_age`.
fn lifetime(max_age: Duration) -> SessionLifetime {
    SessionLifetime {
        refresh_ttl: Duration::days(1),
        max_age,
    }
}

fn present(
    store: &dyn Store,
    secret: &str,
    next: &Successor,
    now: OffsetDateTime,
    grace: Duration,
) -> Rotation {
    store
        .rotate_refresh(&SecretDigest::of(secret), next, now, grace)
        .expect("rotate_refresh")
}

/// `sessions_of` answers the user's live sessions whole, the most recently
/// used first and, among sessions used at the same time, the newest id
/// first; another user's sessions are not among them.
pub fn sessions_of_lists_live_sessions_most_recently_used_first(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let other = signed_up(store, "bob@example.com");
    let oldest = logged_in(store, &user, "oldest");
    let middle = logged_in(store, &user, "middle");
    let newest = logged_in(store, &user, "newest");
    logged_in(store, &other, "others");
    let Rotation::Rotated(oldest_used) = rotate(store, "oldest", "next", at(60), Duration::ZERO)
    else {
        panic!("the token rotates");
    };
    assert_eq!(oldest_used.id, oldest.id);
    assert_eq!(
        store.sessions_of(user.id, at(120)).expect("sessions_of"),
        vec![oldest_used, newest, middle]
    );
    let stranger = signed_up(store, "eve@example.com");
    assert_eq!(
        store
            .sessions_of(stranger.id, at(120))
            .expect("sessions_of"),
        vec![]
    );
}

/// Revoked sessions and sessions expiring at or before `now` are not live.
pub fn sessions_of_leaves_out_revoked_and_expired_sessions(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let revoked = logged_in(store, &user, "revoked");
    let short = new_session(&user, at(3600));
    store
        .create_session(&short, &refresh("short", short.expires_at))
        .expect("create_session");
    store
        .revoke_session(user.id, revoked.id, at(30))
        .expect("revoke_session");
    assert_eq!(
        store.sessions_of(user.id, at(3599)).expect("sessions_of"),
        vec![short]
    );
    assert_eq!(
        store.sessions_of(user.id, at(3600)).expect("sessions_of"),
        vec![],
        "expiry is exclusive"
    );
}

/// A rotation records the presenting client's user agent and address on
/// the session (an absent one as absent); a replay within grace records
/// nothing.
pub fn rotate_refresh_records_the_client_of_a_rotation_not_of_a_replay(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let session = logged_in(store, &user, "first");
    let grace = Duration::seconds(10);
    let year = lifetime(Duration::days(365));
    let next = successor("second", year, Some("phone/2.0"), Some("198.51.100.4"));
    let Rotation::Rotated(rotated) = present(store, "first", &next, at(60), grace) else {
        panic!("the token rotates");
    };
    assert_eq!(rotated.user_agent.as_deref(), Some("phone/2.0"));
    assert_eq!(rotated.ip.as_deref(), Some("198.51.100.4"));
    assert_eq!(stored_session(store, session.id), rotated);

    let replay = successor("second", year, Some("laptop/3.0"), Some("203.0.113.5"));
    assert!(matches!(
        present(store, "first", &replay, at(61), grace),
        Rotation::Replayed { session: ref s, .. } if *s == rotated
    ));
    assert_eq!(stored_session(store, session.id), rotated);

    let anonymous = successor("third", year, None, None);
    let Rotation::Rotated(rotated) = present(store, "second", &anonymous, at(120), grace) else {
        panic!("the token rotates");
    };
    assert_eq!((rotated.user_agent, rotated.ip), (None, None));
}

/// However often a session is refreshed, its next token (and the session)
/// never expires past `created_at + max_age`; the replay of that rotation
/// names the capped expiry, and at the cap the session is `Expired`.
pub fn rotate_refresh_caps_the_next_expiry_at_the_session_end(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let mut session = logged_in(store, &user, "first");
    let two_hours = lifetime(Duration::hours(2));
    let grace = Duration::seconds(10);
    let next = successor(
        "second",
        two_hours,
        Some("contract-test/1.0"),
        Some("192.0.2.7"),
    );
    session.last_used_at = at(3600);
    session.expires_at = at(7200);
    assert_eq!(
        present(store, "first", &next, at(3600), grace),
        Rotation::Rotated(session.clone())
    );
    assert_eq!(stored_session(store, session.id), session);
    assert_eq!(
        present(store, "first", &next, at(3601), grace),
        Rotation::Replayed {
            session: session.clone(),
            expires_at: at(7200),
        }
    );
    let third = successor("third", two_hours, None, None);
    assert!(matches!(
        present(store, "second", &third, at(7199), grace),
        Rotation::Rotated(ref s) if s.expires_at == at(7200)
    ));
    let fourth = successor("fourth", two_hours, None, None);
    assert_eq!(
        present(store, "third", &fourth, at(7200), grace),
        Rotation::Expired
    );
}

/// A session stored under a longer lifetime ends by the one presented: past
/// `created_at + max_age` its tokens, replays included, are `Expired`, and
/// nothing changes.
pub fn rotate_refresh_refuses_a_session_past_its_end(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    let session = logged_in(store, &user, "first");
    let hour = lifetime(Duration::hours(1));
    let next = successor("second", hour, None, None);
    assert_eq!(
        present(store, "first", &next, at(3600), Duration::ZERO),
        Rotation::Expired
    );
    assert_eq!(stored_session(store, session.id), session);

    let grace = Duration::seconds(10);
    let rotated = rotate(store, "first", "second", at(60), grace);
    assert!(matches!(rotated, Rotation::Rotated(_)));
    let minute = lifetime(Duration::minutes(1));
    let replay = successor(
        "second",
        minute,
        Some("contract-test/1.0"),
        Some("192.0.2.7"),
    );
    assert_eq!(
        present(store, "first", &replay, at(61), grace),
        Rotation::Expired
    );
}
