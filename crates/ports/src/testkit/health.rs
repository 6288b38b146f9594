//! `Store`: the health check.

use crate::Store;

/// The checks of this module, for [`crate::store_contract_tests!`]. A test
/// of `testkit` keeps this list equal to the module's `pub fn`s.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_checks_health {
    ($($mode:tt)*) => {
        $crate::store_contract_tests! { $($mode)* health:
            ping_answers,
        }
    };
}

/// A working store answers `ping`.
pub fn ping_answers(store: &dyn Store) {
    store.ping().expect("ping");
}
