//! `Store::watch_changes`: the change feed every instance forgets by.

use std::{
    sync::{Arc, Condvar, Mutex, PoisonError},
    time::{Duration, Instant},
};

use domain::{MemberChange, Role, UserStatus};
use time::Duration as Span;

use super::{
    api_keys::key,
    fixtures::{at, logged_in, new_organization, rotate, signed_up},
};
use crate::{Change, ChangeFeed, ChangeListener, Store};

/// The checks of this module, for [`crate::store_contract_tests!`]. A test
/// of `testkit` keeps this list equal to the module's `pub fn`s.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_checks_changes {
    ($($mode:tt)*) => {
        $crate::store_contract_tests! { $($mode)* changes:
            change_feed_is_trusted_once_started_and_renewed,
            change_feed_tells_every_change_that_refuses_a_caller,
            change_feed_keeps_quiet_about_refreshes_and_key_uses,
        }
    };
}

/// How long a change may take to arrive, at most, in these checks.
const PATIENCE: Duration = Duration::from_secs(5);

/// What a feed told, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Told {
    Changed(Change),
    Resynced,
    Alive,
    Lost,
}

#[derive(Debug, Default)]
struct Heard {
    told: Mutex<Vec<Told>>,
    wake: Condvar,
}

impl Heard {
    fn push(&self, told: Told) {
        self.told
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(told);
        self.wake.notify_all();
    }

    /// Waits until `what` holds of everything told, and returns it.
    fn wait_for(&self, what: &str, done: impl Fn(&[Told]) -> bool) -> Vec<Told> {
        let deadline = Instant::now() + PATIENCE;
        let mut told = self.told.lock().unwrap_or_else(PoisonError::into_inner);
        while !done(&told) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "waited {PATIENCE:?} for {what}; told {told:?}"
            );
            told = self
                .wake
                .wait_timeout(told, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        told.clone()
    }

    /// Waits until `change` is told, and returns what was told before it
    /// since the last call.
    fn wait_for_change(&self, change: Change, what: &str) -> Vec<Told> {
        let told = self.wait_for(what, |told| told.contains(&Told::Changed(change)));
        let at = told
            .iter()
            .position(|t| *t == Told::Changed(change))
            .unwrap_or(0);
        let before = told[..at].to_vec();
        self.told
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..=at);
        before
    }
}

impl ChangeListener for Heard {
    fn changed(&self, change: Change) {
        self.push(Told::Changed(change));
    }
    fn resynced(&self, until: Instant) {
        assert!(until > Instant::now(), "a resync already past");
        self.push(Told::Resynced);
    }
    fn alive(&self, until: Instant) {
        assert!(until > Instant::now(), "a renewal already past");
        self.push(Told::Alive);
    }
    fn lost(&self) {
        self.push(Told::Lost);
    }
}

fn watched(store: &dyn Store) -> (Arc<Heard>, ChangeFeed) {
    let heard = Arc::new(Heard::default());
    let feed = store
        .watch_changes(Arc::clone(&heard) as Arc<dyn ChangeListener>)
        .expect("watch_changes");
    heard.wait_for("the feed to start", |told| told.contains(&Told::Resynced));
    (heard, feed)
}

/// A started feed says so (`resynced`), then renews its trust (`alive`)
/// without being asked, and never says it was lost while the database
/// answers.
pub fn change_feed_is_trusted_once_started_and_renewed(store: &dyn Store) {
    let (heard, _feed) = watched(store);
    let told = heard.wait_for("two renewals", |told| {
        told.iter().filter(|t| **t == Told::Alive).count() >= 2
    });
    assert!(!told.contains(&Told::Lost), "told {told:?}");
}

/// Every change that may refuse a caller, or change what verifying them
/// answers, is told with the account it concerns, once committed: a
/// session revoked, a status or profile changed, a membership added,
/// changed or ended, a key deleted; a deleted organization concerns
/// everyone.
pub fn change_feed_tells_every_change_that_refuses_a_caller(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let bob = signed_up(store, "bob@example.com");
    let session = logged_in(store, &ada, "first");
    let (api_key, digest) = key(&ada, "ada", 1);
    store
        .create_api_key(&api_key, &digest, 100)
        .expect("create_api_key")
        .expect("under the limit");
    let organization = new_organization();
    store
        .create_organization(&organization, ada.id)
        .expect("create_organization");
    let (heard, _feed) = watched(store);
    let ada_changed = Change::Account(ada.id);
    let bob_changed = Change::Account(bob.id);

    store
        .revoke_session(ada.id, session.id, at(10))
        .expect("revoke_session");
    heard.wait_for_change(ada_changed, "a revoked session");

    store
        .set_user_status(bob.id, UserStatus::Inactive, at(20))
        .expect("set_user_status");
    heard.wait_for_change(bob_changed, "a status change");

    let patch = domain::ProfilePatch {
        first_name: Some(domain::PersonName::parse("Ada").expect("a name")),
        ..domain::ProfilePatch::default()
    };
    store
        .update_profile(ada.id, &patch, at(30))
        .expect("update_profile");
    heard.wait_for_change(ada_changed, "a profile change");

    store
        .set_user_status(bob.id, UserStatus::Active, at(35))
        .expect("set_user_status");
    heard.wait_for_change(bob_changed, "a status change back");
    store
        .create_organization(&new_organization(), bob.id)
        .expect("create_organization");
    heard.wait_for_change(bob_changed, "a membership added");

    store
        .delete_api_key(ada.id, api_key.id)
        .expect("delete_api_key");
    heard.wait_for_change(ada_changed, "a deleted key");

    let changed = store
        .change_member(
            organization.id,
            ada.id,
            ada.id,
            MemberChange::SetRole(Role::Owner),
        )
        .expect("change_member");
    assert!(changed.is_ok(), "{changed:?}");
    heard.wait_for_change(ada_changed, "a membership changed");

    store
        .delete_organization(organization.id, ada.id)
        .expect("delete_organization")
        .expect("the owner may");
    heard.wait_for_change(Change::Everything, "a deleted organization");
}

/// A refresh, which changes only a session's times, and a recorded key
/// use are no news: told before the next change, they would make every
/// instance forget an account on each request.
pub fn change_feed_keeps_quiet_about_refreshes_and_key_uses(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let bob = signed_up(store, "bob@example.com");
    logged_in(store, &bob, "first");
    let (api_key, digest) = key(&bob, "bob", 1);
    store
        .create_api_key(&api_key, &digest, 100)
        .expect("create_api_key")
        .expect("under the limit");
    let ada_session = logged_in(store, &ada, "ada");
    let (heard, _feed) = watched(store);

    rotate(store, "first", "second", at(10), Span::ZERO);
    store
        .record_api_key_use(api_key.id, at(20), at(0))
        .expect("record_api_key_use");
    store
        .revoke_session(ada.id, ada_session.id, at(30))
        .expect("revoke_session");
    let before = heard.wait_for_change(Change::Account(ada.id), "a revoked session");
    assert!(
        !before.contains(&Told::Changed(Change::Account(bob.id))),
        "told of a refresh or a key use: {before:?}"
    );
}
