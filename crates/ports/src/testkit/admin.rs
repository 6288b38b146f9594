//! `UserAdminStore`: listing users page by page, and administrators'
//! changes to accounts.

use domain::{
    AdminPatch, AdminStatus, PageLimit, PersonName, User, UserId, UserPage, UserQuery, UserSearch,
    UserStatus, Username,
};

use super::fixtures::{
    assert_not_found, at, logged_in, new_user, sign_up, stored_session, stored_user, with_status,
};
use crate::Store;

/// The checks of this module, for [`crate::store_contract_tests!`]. A test
/// of `testkit` keeps this list equal to the module's `pub fn`s.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_checks_admin {
    ($($mode:tt)*) => {
        $crate::store_contract_tests! { $($mode)* admin:
            list_users_orders_by_creation_then_id,
            list_users_filters_by_status,
            list_users_searches_every_field_whatever_the_case,
            list_users_matches_percent_and_underscore_literally,
            list_users_pages_with_limit_and_offset,
            list_users_of_an_empty_store_is_empty,
            apply_admin_patch_deactivates_and_revokes_every_session,
            apply_admin_patch_activates_without_touching_sessions,
            apply_admin_patch_grants_and_withdraws_admin_rights,
            apply_admin_patch_of_an_unknown_user_is_not_found,
        }
    };
}

/// Stores a pending user created `seconds` after `T0`, with these names.
fn created(store: &dyn Store, email: &str, seconds: i64, names: (&str, &str)) -> User {
    let mut user = new_user(email, None, None);
    user.created_at = at(seconds);
    user.updated_at = at(seconds);
    user.first_name = PersonName::parse(names.0).expect("test name");
    user.last_name = PersonName::parse(names.1).expect("test name");
    sign_up(store, &user);
    user
}

fn query(search: Option<&str>, status: Option<UserStatus>) -> UserQuery {
    UserQuery {
        status,
        search: search.map(|s| {
            UserSearch::parse(s)
                .expect("test search")
                .expect("not blank")
        }),
        ..UserQuery::default()
    }
}

fn list(store: &dyn Store, query: &UserQuery) -> UserPage {
    store.list_users(query).expect("list_users")
}

fn emails(page: &UserPage) -> Vec<&str> {
    page.items.iter().map(|u| u.email.as_str()).collect()
}

/// Users come oldest first; those created at the same instant by id;
/// every field is as stored.
pub fn list_users_orders_by_creation_then_id(store: &dyn Store) {
    let late = created(store, "late@example.com", 30, ("Late", "L"));
    let early = created(store, "early@example.com", 10, ("Early", "E"));
    let mut twins = [
        created(store, "twin1@example.com", 20, ("Twin", "T")),
        created(store, "twin2@example.com", 20, ("Twin", "T")),
        created(store, "twin3@example.com", 20, ("Twin", "T")),
    ];
    twins.sort_by_key(|u| u.id.as_uuid());
    let page = list(store, &UserQuery::default());
    let mut expected = vec![early];
    expected.extend(twins);
    expected.push(late);
    assert_eq!(page.items, expected);
    assert_eq!(page.total, 5);
}

/// A status selects only the users that have it.
pub fn list_users_filters_by_status(store: &dyn Store) {
    let pending = created(store, "pending@example.com", 1, ("P", "P"));
    let mut active = with_status(
        new_user("active@example.com", None, None),
        UserStatus::Active,
    );
    active.created_at = at(2);
    sign_up(store, &active);
    let mut inactive = with_status(
        new_user("inactive@example.com", None, None),
        UserStatus::Inactive,
    );
    inactive.created_at = at(3);
    sign_up(store, &inactive);
    for (status, user) in [
        (UserStatus::PendingValidation, &pending),
        (UserStatus::Active, &active),
        (UserStatus::Inactive, &inactive),
    ] {
        let page = list(store, &query(None, Some(status)));
        assert_eq!(page.items, vec![user.clone()], "{status:?}");
        assert_eq!(page.total, 1);
    }
    let page = list(store, &query(Some("active"), Some(UserStatus::Inactive)));
    assert_eq!(
        emails(&page),
        ["inactive@example.com"],
        "both filters apply"
    );
    assert_eq!(list(store, &UserQuery::default()).total, 3);
}

/// The search text is found inside the e-mail address, the username, the
/// first name or the last name, whatever the case of either side.
pub fn list_users_searches_every_field_whatever_the_case(store: &dyn Store) {
    let mut by_username = new_user("one@example.com", None, None);
    by_username.username = Some(Username::parse("Zebra.Keeper").expect("test username"));
    by_username.created_at = at(1);
    sign_up(store, &by_username);
    created(store, "two@example.com", 2, ("Quentin", "Smith"));
    created(store, "three@example.com", 3, ("Ann", "Blackwood"));
    created(store, "Mixed.Case@Example.com", 4, ("X", "Y"));
    created(store, "five@example.com", 5, ("Eve", "Plain"));
    let cases: [(&str, &[&str]); 7] = [
        ("EBRA.KEE", &["one@example.com"]),
        ("quen", &["two@example.com"]),
        ("TIN", &["two@example.com"]),
        ("blackWOOD", &["three@example.com"]),
        ("mixed.case@", &["mixed.case@example.com"]),
        (
            "@EXAMPLE.COM",
            &[
                "one@example.com",
                "two@example.com",
                "three@example.com",
                "mixed.case@example.com",
                "five@example.com",
            ],
        ),
        ("nobody", &[]),
    ];
    for (search, expected) in cases {
        let page = list(store, &query(Some(search), None));
        assert_eq!(emails(&page), expected, "{search}");
        assert_eq!(page.total, expected.len() as u64, "{search}");
    }
}

/// `%`, `_` and `\` in the search text are characters to find, not
/// patterns.
pub fn list_users_matches_percent_and_underscore_literally(store: &dyn Store) {
    created(store, "a_b@example.com", 1, ("Plain", "One"));
    created(store, "axb@example.com", 2, ("Plain", "Two"));
    created(store, "c@example.com", 3, ("50% off", "Three"));
    created(store, "d@example.com", 4, ("500 off", "Four"));
    created(store, "e@example.com", 5, ("Back\\slash", "Five"));
    let cases: [(&str, &[&str]); 6] = [
        ("a_b", &["a_b@example.com"]),
        ("_", &["a_b@example.com"]),
        ("0%", &["c@example.com"]),
        ("%", &["c@example.com"]),
        ("\\", &["e@example.com"]),
        ("k\\s", &["e@example.com"]),
    ];
    for (search, expected) in cases {
        let page = list(store, &query(Some(search), None));
        assert_eq!(emails(&page), expected, "{search}");
        assert_eq!(page.total, expected.len() as u64, "{search}");
    }
}

/// `limit` and `offset` cut one page out of the matching users; `total`
/// counts them all; an offset past the end gives an empty page.
pub fn list_users_pages_with_limit_and_offset(store: &dyn Store) {
    let all: Vec<User> = (0..7)
        .map(|i| created(store, &format!("u{i}@example.com"), i, ("U", "U")))
        .collect();
    created(store, "other@elsewhere.org", 100, ("O", "O"));
    let page_of = |limit: u32, offset: u64| UserQuery {
        limit: PageLimit::new(limit).expect("test limit"),
        offset,
        ..query(Some("@example.com"), None)
    };
    for (limit, offset) in [(3, 0), (3, 3), (3, 6), (1, 4), (200, 0), (2, 7), (5, 100)] {
        let page = list(store, &page_of(limit, offset));
        let start = usize::try_from(offset).expect("small").min(all.len());
        let end = (start + limit as usize).min(all.len());
        assert_eq!(page.items, all[start..end], "limit {limit} offset {offset}");
        assert_eq!(page.total, 7, "limit {limit} offset {offset}");
    }
    let huge = list(store, &page_of(1, u64::MAX));
    assert!(huge.items.is_empty());
    assert_eq!(huge.total, 7);
}

/// No user: an empty page and a total of zero.
pub fn list_users_of_an_empty_store_is_empty(store: &dyn Store) {
    let page = list(store, &UserQuery::default());
    assert!(page.items.is_empty());
    assert_eq!(page.total, 0);
}

/// Switching an account off stores it as `AdminPatch::apply` decides and
/// revokes every session of the user at `now`, and only theirs.
pub fn apply_admin_patch_deactivates_and_revokes_every_session(store: &dyn Store) {
    let user = with_status(new_user("ada@example.com", None, None), UserStatus::Active);
    sign_up(store, &user);
    let other = with_status(new_user("bob@example.com", None, None), UserStatus::Active);
    sign_up(store, &other);
    let sessions = [logged_in(store, &user, "a1"), logged_in(store, &user, "a2")];
    let theirs = logged_in(store, &other, "b1");
    let patch = AdminPatch {
        status: Some(AdminStatus::Inactive),
        is_admin: None,
    };
    let updated = store
        .apply_admin_patch(user.id, &patch, at(60))
        .expect("apply_admin_patch");
    let expected = patch.apply(user.clone(), at(60)).user;
    assert_eq!(updated, expected);
    assert_eq!(stored_user(store, user.id), expected);
    for session in sessions {
        assert_eq!(stored_session(store, session.id).revoked_at, Some(at(60)));
    }
    assert_eq!(stored_session(store, theirs.id).revoked_at, None);
}

/// Switching an account on (a pending one too) leaves its sessions and
/// its e-mail verification alone.
pub fn apply_admin_patch_activates_without_touching_sessions(store: &dyn Store) {
    for (email, status) in [
        ("pending@example.com", UserStatus::PendingValidation),
        ("inactive@example.com", UserStatus::Inactive),
    ] {
        let user = with_status(new_user(email, None, None), status);
        sign_up(store, &user);
        let session = logged_in(store, &user, email);
        let patch = AdminPatch {
            status: Some(AdminStatus::Active),
            is_admin: None,
        };
        let updated = store
            .apply_admin_patch(user.id, &patch, at(60))
            .expect("apply_admin_patch");
        assert_eq!(updated.status, UserStatus::Active, "{status:?}");
        assert!(!updated.email_verified, "{status:?}");
        assert_eq!(updated.updated_at, at(60));
        assert_eq!(stored_user(store, user.id), updated);
        assert_eq!(stored_session(store, session.id).revoked_at, None);
    }
}

/// The admin flag is granted and withdrawn, with or without a status,
/// and nothing else changes.
pub fn apply_admin_patch_grants_and_withdraws_admin_rights(store: &dyn Store) {
    let user = with_status(new_user("ada@example.com", None, None), UserStatus::Active);
    sign_up(store, &user);
    let session = logged_in(store, &user, "a1");
    let grant = AdminPatch {
        status: None,
        is_admin: Some(true),
    };
    let granted = store
        .apply_admin_patch(user.id, &grant, at(10))
        .expect("apply_admin_patch");
    assert_eq!(granted, grant.apply(user.clone(), at(10)).user);
    assert!(granted.is_admin);
    assert_eq!(stored_user(store, user.id), granted);

    let both = AdminPatch {
        status: Some(AdminStatus::Active),
        is_admin: Some(false),
    };
    let withdrawn = store
        .apply_admin_patch(user.id, &both, at(20))
        .expect("apply_admin_patch");
    assert!(!withdrawn.is_admin);
    assert_eq!(withdrawn.status, UserStatus::Active);
    assert_eq!(withdrawn.updated_at, at(20));
    assert_eq!(stored_user(store, user.id), withdrawn);
    assert_eq!(stored_session(store, session.id).revoked_at, None);
}

/// An unknown user is `NotFound`, and no session is touched.
pub fn apply_admin_patch_of_an_unknown_user_is_not_found(store: &dyn Store) {
    let user = with_status(new_user("ada@example.com", None, None), UserStatus::Active);
    sign_up(store, &user);
    let session = logged_in(store, &user, "a1");
    let patch = AdminPatch {
        status: Some(AdminStatus::Inactive),
        is_admin: Some(true),
    };
    assert_not_found(store.apply_admin_patch(UserId::generate(), &patch, at(60)));
    assert_eq!(stored_session(store, session.id).revoked_at, None);
    assert_eq!(stored_user(store, user.id), user);
}
