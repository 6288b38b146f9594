//! `MailThrottleStore`: mails counted per recipient and per client address
//! in a sliding window, apart from failed logins.

use super::{
    fixtures::at,
    races::{THROTTLE_RACERS, race},
    throttle::{limits, refused},
};
use crate::{Admission, MailLimits, Store};

/// The checks of this module, for [`crate::store_contract_tests!`]. A test
/// of `testkit` keeps this list equal to the module's `pub fn`s.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_checks_mail_throttle {
    ($($mode:tt)*) => {
        $crate::store_contract_tests! { $($mode)* mail_throttle:
            admit_mail_admits_a_recipient_up_to_its_limit,
            admit_mail_limits_an_address_across_recipients,
            admit_mail_counts_only_the_window,
            admit_mail_and_admit_login_count_apart,
            concurrent_mails_to_one_recipient_admit_its_limit,
            concurrent_mails_from_one_address_admit_its_limit,
        }
    };
}

const fn mail_limits(per_recipient: u32, per_ip: u32) -> MailLimits {
    MailLimits {
        per_recipient,
        per_ip,
    }
}

/// A mail to `recipient` asked for from `ip` at `seconds`, counting the
/// mails at or after `since` (both in seconds after [`T0`](super::T0)).
fn admit(
    store: &dyn Store,
    recipient: &str,
    ip: &str,
    seconds: i64,
    since: i64,
    limits: MailLimits,
) -> Admission {
    store
        .admit_mail(recipient, ip, at(seconds), at(since), limits)
        .expect("admit_mail")
}

/// A recipient is admitted until its mails reach `per_recipient`, from
/// whatever address; then refused, until the oldest leaves the window,
/// and a refusal records nothing. Other recipients are not affected.
pub fn admit_mail_admits_a_recipient_up_to_its_limit(store: &dyn Store) {
    let limits = mail_limits(2, 100);
    for (seconds, ip) in [(0, "192.0.2.1"), (10, "192.0.2.2")] {
        assert_eq!(
            admit(store, "ada", ip, seconds, 0, limits),
            Admission::Admitted
        );
    }
    for seconds in [20, 30] {
        assert_eq!(
            admit(store, "ada", "192.0.2.3", seconds, 0, limits),
            refused(0)
        );
    }
    assert_eq!(
        admit(store, "bob", "192.0.2.1", 30, 0, limits),
        Admission::Admitted
    );
    // The mail at 0 has left a window starting at 1; the refusals at 20
    // and 30 were never recorded.
    assert_eq!(
        admit(store, "ada", "192.0.2.3", 40, 1, limits),
        Admission::Admitted
    );
    assert_eq!(admit(store, "ada", "192.0.2.3", 50, 1, limits), refused(10));
}

/// One client address is refused once its mails, to whatever recipients,
/// reach `per_ip`; other addresses are not affected.
pub fn admit_mail_limits_an_address_across_recipients(store: &dyn Store) {
    let limits = mail_limits(100, 3);
    for (i, recipient) in ["a", "b", "c"].into_iter().enumerate() {
        let seconds = i64::try_from(i).expect("small") * 10;
        assert_eq!(
            admit(store, recipient, "192.0.2.1", seconds, 0, limits),
            Admission::Admitted
        );
    }
    assert_eq!(admit(store, "d", "192.0.2.1", 30, 0, limits), refused(0));
    assert_eq!(
        admit(store, "d", "192.0.2.2", 30, 0, limits),
        Admission::Admitted
    );
}

/// Mails before the window do not count, and are forgotten: a later, wider
/// window does not find them again.
pub fn admit_mail_counts_only_the_window(store: &dyn Store) {
    let limits = mail_limits(1, 100);
    assert_eq!(
        admit(store, "ada", "192.0.2.1", 0, -100, limits),
        Admission::Admitted
    );
    assert_eq!(
        admit(store, "ada", "192.0.2.1", 100, 1, limits),
        Admission::Admitted
    );
    // The window (1..) forgot the mail at 0: a window from -100 now finds
    // only the mail at 100.
    assert_eq!(
        admit(store, "bob", "192.0.2.1", 110, -100, mail_limits(1, 2)),
        Admission::Admitted
    );
}

/// Mails and failed logins of one key and address never count toward each
/// other's limits, and forgetting failed logins keeps the mails.
pub fn admit_mail_and_admit_login_count_apart(store: &dyn Store) {
    let ip = "192.0.2.1";
    assert_eq!(
        admit(store, "ada", ip, 0, 0, mail_limits(1, 1)),
        Admission::Admitted
    );
    assert_eq!(
        store
            .admit_login("ada", ip, at(10), at(0), limits(1, 1))
            .expect("admit_login"),
        Admission::Admitted
    );
    store
        .clear_failed_logins("ada", at(1_000))
        .expect("clear_failed_logins");
    assert_eq!(
        admit(store, "ada", ip, 20, 0, mail_limits(1, 1)),
        refused(0)
    );
}

/// Of many concurrent mails to one recipient, from different addresses,
/// exactly the limit are admitted.
pub fn concurrent_mails_to_one_recipient_admit_its_limit(store: &dyn Store) {
    let limits = mail_limits(3, 1_000);
    let outcomes = race(THROTTLE_RACERS, |i| {
        admit(store, "ada", &format!("192.0.2.{i}"), 0, -60, limits)
    });
    let admitted = outcomes
        .iter()
        .filter(|o| **o == Admission::Admitted)
        .count();
    assert_eq!(admitted, 3, "{outcomes:?}");
}

/// Of many concurrent mails from one address, to different recipients,
/// exactly the limit are admitted.
pub fn concurrent_mails_from_one_address_admit_its_limit(store: &dyn Store) {
    let limits = mail_limits(1_000, 4);
    let outcomes = race(THROTTLE_RACERS, |i| {
        admit(store, &format!("r{i}"), "192.0.2.1", 0, -60, limits)
    });
    let admitted = outcomes
        .iter()
        .filter(|o| **o == Admission::Admitted)
        .count();
    assert_eq!(admitted, 4, "{outcomes:?}");
}
