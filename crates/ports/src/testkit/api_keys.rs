//! `ApiKeyStore`: API keys by digest, their owner, the limit per user and
//! the coalesced record of their use.

use domain::{ApiKey, ApiKeyId, ApiKeyName, ApiKeySecret, SecretDigest, User, UserId, UserStatus};
use secrecy::SecretString;

use super::{
    fixtures::{assert_not_found, at, signed_up},
    races::{RACERS, race},
};
use crate::{Store, TooManyKeys};

/// The checks of this module, for [`crate::store_contract_tests!`]. A test
/// of `testkit` keeps this list equal to the module's `pub fn`s.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_checks_api_keys {
    ($($mode:tt)*) => {
        $crate::store_contract_tests! { $($mode)* api_keys:
            create_api_key_stores_the_key_found_by_its_digest,
            create_api_key_for_an_unknown_user_is_not_found,
            create_api_key_stops_at_the_limit,
            concurrent_key_creations_stop_at_the_limit,
            delete_api_key_forgets_the_key_of_its_owner_only,
            api_key_by_digest_answers_the_owner_as_stored_now,
            record_api_key_use_writes_once_an_interval,
        }
    };
}

/// A key secret made from `seed` (any short text), and its key for `user`
/// made `seconds` after `T0`.
pub(super) fn key(user: &User, seed: &str, seconds: i64) -> (ApiKey, SecretDigest) {
    let body: String = format!("{seed:_<43}").chars().take(43).collect();
    let secret = ApiKeySecret::from_random(&SecretString::from(body)).expect("a key body");
    let name = ApiKeyName::parse(&format!("key {seed}")).expect("name");
    let key = ApiKey::new(user.id, name, &secret, Some(at(86_400)), at(seconds));
    (key, secret.digest())
}

/// Stores a key of `user` made from `seed` at `seconds`.
fn stored(store: &dyn Store, user: &User, seed: &str, seconds: i64) -> (ApiKey, SecretDigest) {
    let (key, digest) = key(user, seed, seconds);
    store
        .create_api_key(&key, &digest, 100)
        .expect("create_api_key")
        .expect("under the limit");
    (key, digest)
}

fn ids(store: &dyn Store, user: &User) -> Vec<ApiKeyId> {
    store
        .api_keys_of(user.id)
        .expect("api_keys_of")
        .into_iter()
        .map(|k| k.id)
        .collect()
}

/// A stored key comes back as stored, by its digest with its owner and in
/// its owner's list, the newest first.
pub fn create_api_key_stores_the_key_found_by_its_digest(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let (first, digest) = stored(store, &ada, "first", 1);
    let (second, _) = stored(store, &ada, "second", 2);
    let mut never = key(&ada, "never", 3);
    never.0.expires_at = None;
    store
        .create_api_key(&never.0, &never.1, 100)
        .expect("create_api_key")
        .expect("under the limit");
    let (found, owner) = store
        .api_key_by_digest(&digest)
        .expect("api_key_by_digest")
        .expect("found");
    assert_eq!(found, first);
    assert_eq!(owner.id, ada.id);
    assert_eq!(
        store.api_keys_of(ada.id).expect("api_keys_of"),
        [never.0, second, first]
    );
    assert_eq!(
        store
            .api_key_by_digest(&SecretDigest::of("unknown"))
            .expect("api_key_by_digest"),
        None
    );
    assert!(
        store
            .api_keys_of(UserId::generate())
            .expect("list")
            .is_empty()
    );
}

/// A key for a user who does not exist is `NotFound`.
pub fn create_api_key_for_an_unknown_user_is_not_found(store: &dyn Store) {
    let ghost = signed_up(store, "ghost@example.com");
    let (mut key, digest) = key(&ghost, "ghost", 1);
    key.user_id = UserId::generate();
    assert_not_found(store.create_api_key(&key, &digest, 100));
    assert_eq!(store.api_key_by_digest(&digest).expect("lookup"), None);
}

/// At the limit nothing is stored, and deleting a key makes room again.
pub fn create_api_key_stops_at_the_limit(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let grace = signed_up(store, "grace@example.com");
    let (first, first_digest) = key(&ada, "first", 1);
    let (second, second_digest) = key(&ada, "second", 2);
    let (third, third_digest) = key(&ada, "third", 3);
    for (k, digest) in [(&first, &first_digest), (&second, &second_digest)] {
        assert_eq!(store.create_api_key(k, digest, 2).expect("create"), Ok(()));
    }
    assert_eq!(
        store
            .create_api_key(&third, &third_digest, 2)
            .expect("create"),
        Err(TooManyKeys)
    );
    assert_eq!(
        store.api_key_by_digest(&third_digest).expect("lookup"),
        None
    );
    stored(store, &grace, "graces", 4);
    store
        .delete_api_key(ada.id, first.id)
        .expect("delete_api_key");
    assert_eq!(
        store
            .create_api_key(&third, &third_digest, 2)
            .expect("create"),
        Ok(()),
        "another user's keys count for them"
    );
}

/// Concurrent creations for one user never pass the limit.
pub fn concurrent_key_creations_stop_at_the_limit(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let keys: Vec<_> = (0..RACERS)
        .map(|i| key(&ada, &format!("racer{i}"), 1))
        .collect();
    let outcomes = race(RACERS, |i| {
        store
            .create_api_key(&keys[i].0, &keys[i].1, 3)
            .expect("create_api_key")
    });
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        3,
        "{outcomes:?}"
    );
    assert_eq!(ids(store, &ada).len(), 3);
}

/// A deleted key is unknown; deleting it again, or another user's key, is
/// `NotFound` and leaves that key alone.
pub fn delete_api_key_forgets_the_key_of_its_owner_only(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let eve = signed_up(store, "eve@example.com");
    let (key, digest) = stored(store, &ada, "ada", 1);
    let (evekey, evedigest) = stored(store, &eve, "eve", 1);
    assert_not_found(store.delete_api_key(ada.id, evekey.id));
    assert!(
        store
            .api_key_by_digest(&evedigest)
            .expect("lookup")
            .is_some()
    );
    store
        .delete_api_key(ada.id, key.id)
        .expect("delete_api_key");
    assert_eq!(store.api_key_by_digest(&digest).expect("lookup"), None);
    assert!(ids(store, &ada).is_empty());
    assert_not_found(store.delete_api_key(ada.id, key.id));
    assert_not_found(store.delete_api_key(ada.id, ApiKeyId::generate()));
}

/// The owner comes with the key as stored now: a deactivation shows at once.
pub fn api_key_by_digest_answers_the_owner_as_stored_now(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let (_, digest) = stored(store, &ada, "ada", 1);
    store
        .set_user_status(ada.id, UserStatus::Inactive, at(2))
        .expect("set_user_status");
    let (_, owner) = store
        .api_key_by_digest(&digest)
        .expect("lookup")
        .expect("found");
    assert_eq!(owner.status, UserStatus::Inactive);
}

/// A use is recorded unless one was at or after `since`; a deleted key
/// records nothing.
pub fn record_api_key_use_writes_once_an_interval(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let (key, digest) = stored(store, &ada, "ada", 0);
    let last_used = || {
        store
            .api_key_by_digest(&digest)
            .expect("lookup")
            .expect("found")
            .0
            .last_used_at
    };
    assert_eq!(last_used(), None);
    store
        .record_api_key_use(key.id, at(10), at(-50))
        .expect("record");
    assert_eq!(last_used(), Some(at(10)));
    store
        .record_api_key_use(key.id, at(30), at(-30))
        .expect("record");
    assert_eq!(last_used(), Some(at(10)), "recorded within the interval");
    store
        .record_api_key_use(key.id, at(70), at(10))
        .expect("record");
    assert_eq!(last_used(), Some(at(10)), "at `since` counts as recorded");
    store
        .record_api_key_use(key.id, at(71), at(11))
        .expect("record");
    assert_eq!(last_used(), Some(at(71)));
    let outcomes = race(RACERS, |i| {
        store.record_api_key_use(key.id, at(200 + i64::try_from(i).unwrap_or(0)), at(140))
    });
    assert!(outcomes.iter().all(Result::is_ok));
    assert!(last_used().is_some_and(|t| t >= at(200)));
    store.delete_api_key(ada.id, key.id).expect("delete");
    store
        .record_api_key_use(key.id, at(400), at(300))
        .expect("a deleted key records nothing, and fails nothing");
}
