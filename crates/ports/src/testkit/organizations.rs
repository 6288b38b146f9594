//! `OrganizationStore`: the organizations a user belongs to, and with which
//! role.

use domain::{Role, UserId};

use super::fixtures::{new_organization, new_user};
use crate::Store;

/// The checks of this module, for [`crate::store_contract_tests!`]. A test
/// of `testkit` keeps this list equal to the module's `pub fn`s.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_checks_organizations {
    ($($mode:tt)*) => {
        $crate::store_contract_tests! { $($mode)* organizations:
            create_user_makes_the_user_owner_of_its_organization,
        }
    };
}

/// `create_user` stores the organization with the user as its owner;
/// a user without memberships has no organizations.
pub fn create_user_makes_the_user_owner_of_its_organization(store: &dyn Store) {
    let user = new_user("ada@example.com", None, None);
    let organization = new_organization();
    store
        .create_user(&user, &organization)
        .expect("create_user");
    assert_eq!(
        store.organizations_of(user.id).expect("organizations_of"),
        [(organization, Role::Owner)]
    );
    assert!(
        store
            .organizations_of(UserId::generate())
            .expect("organizations_of")
            .is_empty()
    );
}
