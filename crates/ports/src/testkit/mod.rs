//! The storage contract: every behaviour and error documented on the store
//! ports, as checks any [`Store`] adapter must pass.
//!
//! Each check is a function taking a fresh, empty store. An adapter runs
//! them all, one `#[test]` each, with [`crate::store_contract_tests!`]:
//!
//! ```text
//! mod contract {
//!     // Any expression giving a `StoreFixture` (e.g. a `(store, guard)` pair)
//!     // with a new, empty store each time it is evaluated.
//!     ports::store_contract_tests!(adapter_postgres::testing::test_store());
//! }
//! ```
//!
//! The checks use a fixed clock ([`T0`]) and whole seconds, which every
//! store keeps exactly; they assume nothing about the database behind.
//!
//! One module per capability holds its checks (`pub fn`s) and, next to
//! them, the list of their names that the macro expands; a test holds each
//! list equal to its module's checks. A new module of checks is added to
//! the `@each` arm of the macro.

use crate::Store;

mod admin;
mod api_keys;
mod changes;
mod codes;
mod fixtures;
mod health;
mod invites;
mod mail_throttle;
mod mfa;
mod organizations;
mod passwords;
mod races;
mod session_management;
mod sessions;
mod throttle;
mod users;

pub use admin::*;
pub use api_keys::*;
pub use changes::*;
pub use codes::*;
pub use fixtures::T0;
pub use health::*;
pub use invites::*;
pub use mail_throttle::*;
pub use mfa::*;
pub use organizations::*;
pub use passwords::*;
pub use races::*;
pub use session_management::*;
pub use sessions::*;
pub use throttle::*;
pub use users::*;

/// Something that owns a fresh, empty store for one test, and keeps alive
/// whatever the store needs (a temporary database, a directory) until it
/// is dropped.
pub trait StoreFixture {
    /// The store under test.
    fn store(&self) -> &dyn Store;
}

/// A store with the guard that keeps its database alive.
impl<S: Store, G> StoreFixture for (S, G) {
    fn store(&self) -> &dyn Store {
        &self.0
    }
}

/// Expands to one `#[test]` per contract check, each on the fixture that
/// a fresh evaluation of the given expression yields (see
/// [`StoreFixture`]). Use it inside a module of its own.
#[macro_export]
macro_rules! store_contract_tests {
    ($fixture:expr) => {
        $crate::store_contract_tests!(@each [@tests $fixture;]);
    };
    // Every module of checks; each hands its list back to this macro,
    // after the tokens given here.
    (@each [$($mode:tt)*]) => {
        $crate::__contract_checks_users! { $($mode)* }
        $crate::__contract_checks_organizations! { $($mode)* }
        $crate::__contract_checks_invites! { $($mode)* }
        $crate::__contract_checks_api_keys! { $($mode)* }
        $crate::__contract_checks_mfa! { $($mode)* }
        $crate::__contract_checks_codes! { $($mode)* }
        $crate::__contract_checks_sessions! { $($mode)* }
        $crate::__contract_checks_throttle! { $($mode)* }
        $crate::__contract_checks_health! { $($mode)* }
        $crate::__contract_checks_races! { $($mode)* }
        $crate::__contract_checks_session_management! { $($mode)* }
        $crate::__contract_checks_passwords! { $($mode)* }
        $crate::__contract_checks_admin! { $($mode)* }
        $crate::__contract_checks_mail_throttle! { $($mode)* }
        $crate::__contract_checks_changes! { $($mode)* }
    };
    (@tests $fixture:expr; $module:ident: $($check:ident),+ $(,)?) => {
        $(
            #[test]
            fn $check() {
                let fixture = $fixture;
                $crate::testkit::$check($crate::testkit::StoreFixture::store(&fixture));
            }
        )+
    };
    // For the test below: pushes `(module, [check, …])` onto `$into`.
    (@names $into:ident; $module:ident: $($check:ident),+ $(,)?) => {
        $into.push((
            stringify!($module),
            vec![$({
                let _: fn(&dyn $crate::Store) = $crate::testkit::$check;
                stringify!($check)
            }),+],
        ));
    };
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeSet, fs, path::Path};

    /// The names of the `pub fn`s defined in a module's source.
    fn checks_defined_in(source: &str) -> BTreeSet<&str> {
        source
            .lines()
            .filter_map(|line| line.strip_prefix("pub fn "))
            .map(|rest| rest.split(['(', '<']).next().unwrap_or(rest))
            .collect()
    }

    /// Every module's list names exactly the checks the module defines,
    /// every module that defines checks is listed, and no check is listed
    /// twice: the macro runs each check once.
    #[test]
    fn the_macro_runs_every_check_of_every_module_once() {
        let mut listed: Vec<(&str, Vec<&str>)> = Vec::new();
        crate::store_contract_tests!(@each [@names listed;]);

        let all: Vec<&str> = listed
            .iter()
            .flat_map(|(_, checks)| checks.clone())
            .collect();
        let distinct: BTreeSet<&str> = all.iter().copied().collect();
        assert_eq!(all.len(), distinct.len(), "a check is listed twice");

        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/testkit");
        let mut modules = BTreeSet::new();
        for entry in fs::read_dir(&dir).expect("the testkit directory") {
            let path = entry.expect("a directory entry").path();
            let module = path.file_stem().and_then(|s| s.to_str()).expect("a name");
            let source = fs::read_to_string(&path).expect("a module's source");
            let defined = checks_defined_in(&source);
            let module_listed: BTreeSet<&str> = listed
                .iter()
                .filter(|(name, _)| *name == module)
                .flat_map(|(_, checks)| checks.iter().copied())
                .collect();
            assert_eq!(module_listed, defined, "the checks of {}", path.display());
            modules.insert(module.to_owned());
        }
        for (module, _) in &listed {
            assert!(modules.contains(*module), "no file for module {module}");
        }
    }
}
