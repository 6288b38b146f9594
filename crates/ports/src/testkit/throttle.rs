//! `LoginThrottleStore`: failed logins counted per account and per address
//! in a sliding window.

use super::fixtures::at;
use crate::{Admission, Store, ThrottleLimits};

/// The checks of this module, for [`crate::store_contract_tests!`]. A test
/// of `testkit` keeps this list equal to the module's `pub fn`s.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_checks_throttle {
    ($($mode:tt)*) => {
        $crate::store_contract_tests! { $($mode)* throttle:
            admit_login_admits_an_account_up_to_its_limit,
            admit_login_frees_at_names_the_failure_that_must_leave,
            admit_login_limits_an_address_across_accounts,
            admit_login_refuses_with_the_latest_of_the_reached_limits,
            admit_login_counts_only_the_window,
            admit_login_records_nothing_when_refused,
            clear_failed_logins_forgets_the_account_and_old_records,
            withdraw_attempt_forgets_that_attempt_only,
        }
    };
}

/// Limits no check reaches, for recording failures.
const UNLIMITED: ThrottleLimits = ThrottleLimits {
    per_account: u32::MAX,
    per_ip: u32::MAX,
};

pub(super) fn limits(per_account: u32, per_ip: u32) -> ThrottleLimits {
    ThrottleLimits {
        per_account,
        per_ip,
    }
}

pub(super) fn refused(frees_at_seconds: i64) -> Admission {
    Admission::Refused {
        frees_at: at(frees_at_seconds),
    }
}

/// An attempt for `account` from `ip` at `seconds`, counting the failures
/// at or after `since` (both in seconds after [`T0`](super::T0)).
pub(super) fn admit(
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

/// `withdraw_attempt` forgets the one record of the attempt it names (the
/// account, the address and the time), and nothing else; naming none is
/// no error.
pub fn withdraw_attempt_forgets_that_attempt_only(store: &dyn Store) {
    let two = limits(2, 100);
    assert_eq!(
        admit(store, "ada", "192.0.2.1", 1, 0, two),
        Admission::Admitted
    );
    assert_eq!(
        admit(store, "ada", "192.0.2.1", 2, 0, two),
        Admission::Admitted
    );
    assert_eq!(admit(store, "ada", "192.0.2.1", 3, 0, two), refused(1));
    store
        .withdraw_attempt("ada", "192.0.2.1", at(2))
        .expect("withdraw_attempt");
    for (account, ip, seconds) in [
        ("ada", "192.0.2.9", 1),
        ("eve", "192.0.2.1", 1),
        ("ada", "192.0.2.1", 9),
    ] {
        store
            .withdraw_attempt(account, ip, at(seconds))
            .expect("a record that is not there");
    }
    assert_eq!(
        admit(store, "ada", "192.0.2.1", 4, 0, two),
        Admission::Admitted,
        "one slot freed"
    );
    assert_eq!(
        admit(store, "ada", "192.0.2.1", 5, 0, two),
        refused(1),
        "the others stand"
    );
}
