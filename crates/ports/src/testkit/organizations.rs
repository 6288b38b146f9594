//! `OrganizationStore`: organizations, their members and roles, and the
//! membership changes judged inside the store's transaction.

use domain::{
    AdminPatch, AdminStatus, MemberChange, MemberRefusal, Organization, OrganizationId,
    OrganizationName, OrganizationRefusal, Role, User, UserId,
};

use super::{
    fixtures::{assert_not_found, at, new_organization, new_user, sign_up, signed_up},
    races::{RACERS, race},
};
use crate::Store;

/// The checks of this module, for [`crate::store_contract_tests!`]. A test
/// of `testkit` keeps this list equal to the module's `pub fn`s.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_checks_organizations {
    ($($mode:tt)*) => {
        $crate::store_contract_tests! { $($mode)* organizations:
            create_user_makes_the_user_owner_of_its_organization,
            organizations_of_lists_memberships_oldest_first,
            organization_for_tells_the_callers_role,
            create_organization_makes_its_creator_owner,
            create_organization_for_an_unknown_user_is_not_found,
            rename_organization_renames,
            delete_organization_keeps_the_users,
            members_of_lists_members_in_joining_order,
            change_member_sets_roles_and_removes_members,
            change_member_judges_what_the_store_holds,
            change_member_refusals_write_nothing,
            owners_demoting_each_other_at_once_leave_one_owner,
        }
    };
}

/// An organization named `name`, created `seconds` after `T0`.
pub(super) fn organization_at(name: &str, seconds: i64) -> Organization {
    Organization::new(
        OrganizationName::parse(name).expect("test name"),
        at(seconds),
    )
}

/// Stores a new organization owned by `owner`, created `seconds` after `T0`.
pub(super) fn owned(store: &dyn Store, owner: &User, seconds: i64) -> Organization {
    let organization = organization_at("Difference Engines", seconds);
    store
        .create_organization(&organization, owner.id)
        .expect("create_organization");
    organization
}

/// Makes `user` a member of `organization` with `role`, as its owner
/// `owner` would: the user joins as a member, then gets the role.
pub(super) fn joined(
    store: &dyn Store,
    organization: &Organization,
    owner: &User,
    user: &User,
    role: Role,
) {
    super::invites::accept(store, organization, owner, user, "join");
    if role != Role::Member {
        change(
            store,
            organization.id,
            owner,
            user,
            MemberChange::SetRole(role),
        )
        .expect("the owner sets the role");
    }
}

fn change(
    store: &dyn Store,
    organization: OrganizationId,
    actor: &User,
    target: &User,
    change: MemberChange,
) -> Result<Option<domain::Member>, MemberRefusal> {
    store
        .change_member(organization, actor.id, target.id, change)
        .expect("change_member")
}

/// The roles in `organization`, by member e-mail, in joining order.
fn roles(store: &dyn Store, organization: OrganizationId) -> Vec<(String, Role)> {
    store
        .members_of(organization)
        .expect("members_of")
        .into_iter()
        .map(|m| (m.user.email.as_str().to_owned(), m.role))
        .collect()
}

/// `create_user` stores the organization with the user as its owner;
/// a user without memberships has no organizations.
pub fn create_user_makes_the_user_owner_of_its_organization(store: &dyn Store) {
    let user = new_user("ada@example.com", None, None);
    let organization = new_organization();
    store
        .create_user(&user, &organization, None)
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

/// `organizations_of` orders by when the user joined, not by when the
/// organization was made.
pub fn organizations_of_lists_memberships_oldest_first(store: &dyn Store) {
    let ada = new_user("ada@example.com", None, None);
    let own = new_organization();
    store.create_user(&ada, &own, None).expect("create_user");
    let grace = signed_up(store, "grace@example.com");
    // Older than Ada's second organization, but joined later.
    let graces = owned(store, &grace, 5);
    let second = owned(store, &ada, 10);
    super::invites::accept_at(store, &graces, &grace, &ada, "join", 20);
    let listed: Vec<(OrganizationId, Role)> = store
        .organizations_of(ada.id)
        .expect("organizations_of")
        .into_iter()
        .map(|(o, r)| (o.id, r))
        .collect();
    assert_eq!(
        listed,
        [
            (own.id, Role::Owner),
            (second.id, Role::Owner),
            (graces.id, Role::Member)
        ]
    );
}

/// `organization_for` answers the organization with the caller's role,
/// without one for a non-member, and nothing for an unknown id.
pub fn organization_for_tells_the_callers_role(store: &dyn Store) {
    let ada = new_user("ada@example.com", None, None);
    let organization = new_organization();
    store
        .create_user(&ada, &organization, None)
        .expect("create_user");
    let eve = signed_up(store, "eve@example.com");
    assert_eq!(
        store
            .organization_for(organization.id, ada.id)
            .expect("organization_for"),
        Some((organization.clone(), Some(Role::Owner)))
    );
    assert_eq!(
        store
            .organization_for(organization.id, eve.id)
            .expect("organization_for"),
        Some((organization, None))
    );
    assert_eq!(
        store
            .organization_for(OrganizationId::generate(), ada.id)
            .expect("organization_for"),
        None
    );
}

/// `create_organization` stores it with its creator as owner.
pub fn create_organization_makes_its_creator_owner(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let organization = owned(store, &ada, 30);
    assert_eq!(
        store
            .organization_for(organization.id, ada.id)
            .expect("organization_for"),
        Some((organization.clone(), Some(Role::Owner)))
    );
    let members = store.members_of(organization.id).expect("members_of");
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].user.id, ada.id);
    assert_eq!(members[0].joined_at, at(30));
}

/// `create_organization` for an unknown owner is `NotFound` and stores
/// nothing.
pub fn create_organization_for_an_unknown_user_is_not_found(store: &dyn Store) {
    let organization = new_organization();
    assert_not_found(store.create_organization(&organization, UserId::generate()));
    let ada = signed_up(store, "ada@example.com");
    assert_eq!(
        store
            .organization_for(organization.id, ada.id)
            .expect("organization_for"),
        None
    );
}

/// `rename_organization` renames and answers the organization; an unknown
/// one is `NotFound`.
pub fn rename_organization_renames(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let organization = owned(store, &ada, 1);
    let name = OrganizationName::parse("Analytical Engines Ltd").expect("name");
    let renamed = store
        .rename_organization(organization.id, &name)
        .expect("rename_organization");
    assert_eq!(renamed.name, name);
    assert_eq!((renamed.id, renamed.created_at), (organization.id, at(1)));
    let (stored, _) = store
        .organization_for(organization.id, ada.id)
        .expect("organization_for")
        .expect("exists");
    assert_eq!(stored, renamed);
    assert_not_found(store.rename_organization(OrganizationId::generate(), &name));
}

/// `delete_organization` removes the organization, its memberships and
/// invitations, for an owner; the users stay. An admin is refused, a
/// stranger and an unknown organization are `NotFound`.
pub fn delete_organization_keeps_the_users(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let grace = signed_up(store, "grace@example.com");
    let organization = owned(store, &ada, 1);
    joined(store, &organization, &ada, &grace, Role::Admin);
    let pending = super::invites::invited(store, &organization, &ada, "eve@example.com", "eve");
    let eve = signed_up(store, "eve@example.com");
    for (actor, refusal) in [
        (&grace, OrganizationRefusal::InsufficientPermissions),
        (&eve, OrganizationRefusal::NotFound),
    ] {
        assert_eq!(
            store
                .delete_organization(organization.id, actor.id)
                .expect("delete_organization"),
            Err(refusal)
        );
    }
    assert_eq!(store.members_of(organization.id).expect("members").len(), 2);
    assert_eq!(
        store
            .delete_organization(organization.id, ada.id)
            .expect("delete_organization"),
        Ok(())
    );
    assert_eq!(
        store
            .organization_for(organization.id, ada.id)
            .expect("organization_for"),
        None
    );
    assert!(
        store
            .members_of(organization.id)
            .expect("members")
            .is_empty()
    );
    assert_eq!(
        store
            .invite_by_code(&pending, at(2))
            .expect("invite_by_code"),
        None
    );
    for user in [&ada, &grace] {
        assert!(store.user_by_id(user.id).expect("user_by_id").is_some());
        assert!(
            !store
                .organizations_of(user.id)
                .expect("organizations_of")
                .iter()
                .any(|(o, _)| o.id == organization.id)
        );
    }
    assert_eq!(
        store
            .delete_organization(organization.id, ada.id)
            .expect("delete_organization"),
        Err(OrganizationRefusal::NotFound)
    );
}

/// `members_of` lists every member with their account and role, in the
/// order they joined; nobody for an unknown organization.
pub fn members_of_lists_members_in_joining_order(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let grace = new_user("grace@example.com", Some("grace"), None);
    sign_up(store, &grace);
    let organization = owned(store, &ada, 1);
    super::invites::accept_at(store, &organization, &ada, &grace, "join", 40);
    let members = store.members_of(organization.id).expect("members_of");
    assert_eq!(members.len(), 2);
    assert_eq!(
        (members[0].user.id, members[0].role, members[0].joined_at),
        (ada.id, Role::Owner, at(1))
    );
    let stored_grace = store
        .user_by_id(grace.id)
        .expect("user_by_id")
        .expect("grace");
    assert_eq!(members[1].user, stored_grace);
    assert_eq!(
        (members[1].role, members[1].joined_at),
        (Role::Member, at(40))
    );
    assert!(
        store
            .members_of(OrganizationId::generate())
            .expect("members_of")
            .is_empty()
    );
}

/// `change_member` sets a role and answers the member as changed; removes
/// a member and answers `None`; a member may leave.
pub fn change_member_sets_roles_and_removes_members(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let grace = signed_up(store, "grace@example.com");
    let alan = signed_up(store, "alan@example.com");
    let organization = owned(store, &ada, 1);
    joined(store, &organization, &ada, &grace, Role::Member);
    joined(store, &organization, &ada, &alan, Role::Member);

    let changed = change(
        store,
        organization.id,
        &ada,
        &grace,
        MemberChange::SetRole(Role::Owner),
    )
    .expect("promoted")
    .expect("a member");
    assert_eq!((changed.user.id, changed.role), (grace.id, Role::Owner));
    let demoted = change(
        store,
        organization.id,
        &grace,
        &ada,
        MemberChange::SetRole(Role::Admin),
    )
    .expect("the second owner may demote the first")
    .expect("a member");
    assert_eq!((demoted.user.id, demoted.role), (ada.id, Role::Admin));
    assert_eq!(
        change(store, organization.id, &alan, &alan, MemberChange::Remove),
        Ok(None),
        "a member leaves"
    );
    assert_eq!(
        roles(store, organization.id),
        [
            ("ada@example.com".to_owned(), Role::Admin),
            ("grace@example.com".to_owned(), Role::Owner)
        ]
    );
}

/// The judge sees what the store holds: the actor's role and platform
/// administration, the target's role and the count of owners; refusals
/// come back as the domain names them.
pub fn change_member_judges_what_the_store_holds(store: &dyn Store) {
    use MemberRefusal::{LastOwner, MemberNotFound, Organization as Refused};
    let ada = signed_up(store, "ada@example.com");
    let grace = signed_up(store, "grace@example.com");
    let alan = signed_up(store, "alan@example.com");
    let eve = signed_up(store, "eve@example.com");
    let root = signed_up(store, "root@example.com");
    let make_admin = |status| {
        store
            .apply_admin_patch(
                root.id,
                &AdminPatch {
                    status,
                    is_admin: Some(true),
                },
                at(1),
            )
            .expect("apply_admin_patch");
    };
    make_admin(None);
    let organization = owned(store, &ada, 1);
    joined(store, &organization, &ada, &grace, Role::Admin);
    joined(store, &organization, &ada, &alan, Role::Member);
    let id = organization.id;

    let forbidden = Err(Refused(OrganizationRefusal::InsufficientPermissions));
    let hidden = Err(Refused(OrganizationRefusal::NotFound));
    assert_eq!(
        change(store, id, &grace, &ada, MemberChange::Remove),
        forbidden
    );
    assert_eq!(
        change(store, id, &alan, &grace, MemberChange::Remove),
        forbidden
    );
    assert_eq!(change(store, id, &eve, &alan, MemberChange::Remove), hidden);
    assert_eq!(
        change(store, id, &ada, &eve, MemberChange::Remove),
        Err(MemberNotFound)
    );
    assert_eq!(
        change(store, id, &ada, &ada, MemberChange::SetRole(Role::Member)),
        Err(LastOwner)
    );
    assert_eq!(
        change(store, id, &root, &alan, MemberChange::Remove),
        hidden,
        "an administrator whose account is not active is a stranger"
    );
    make_admin(Some(AdminStatus::Active));
    assert_eq!(
        change(store, id, &root, &ada, MemberChange::Remove),
        Err(LastOwner),
        "a platform administrator acts as an owner, and is no owner to count"
    );
    assert_eq!(
        change(
            store,
            OrganizationId::generate(),
            &ada,
            &grace,
            MemberChange::Remove
        ),
        hidden
    );
    assert_eq!(
        change(store, id, &root, &alan, MemberChange::Remove),
        Ok(None),
        "a platform administrator removes a member"
    );
    assert_eq!(
        roles(store, id),
        [
            ("ada@example.com".to_owned(), Role::Owner),
            ("grace@example.com".to_owned(), Role::Admin)
        ]
    );
}

/// A refused change writes nothing.
pub fn change_member_refusals_write_nothing(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let grace = signed_up(store, "grace@example.com");
    let organization = owned(store, &ada, 1);
    joined(store, &organization, &ada, &grace, Role::Admin);
    let before = store.members_of(organization.id).expect("members_of");
    for (actor, target, what) in [
        (&grace, &ada, MemberChange::SetRole(Role::Member)),
        (&grace, &grace, MemberChange::SetRole(Role::Owner)),
        (&ada, &ada, MemberChange::Remove),
    ] {
        assert!(change(store, organization.id, actor, target, what).is_err());
    }
    assert_eq!(
        store.members_of(organization.id).expect("members_of"),
        before
    );
}

/// Two owners demoting each other at once, again and again: every time
/// exactly one owner is left, and the other change is refused.
pub fn owners_demoting_each_other_at_once_leave_one_owner(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let grace = signed_up(store, "grace@example.com");
    let organization = owned(store, &ada, 1);
    joined(store, &organization, &ada, &grace, Role::Owner);
    let pair = [&ada, &grace];
    for round in 0..RACERS {
        let outcomes = race(2, |i| {
            change(
                store,
                organization.id,
                pair[i],
                pair[1 - i],
                MemberChange::SetRole(Role::Member),
            )
        });
        let done = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(done, 1, "round {round}: {outcomes:?}");
        let owners: Vec<_> = roles(store, organization.id)
            .into_iter()
            .filter(|(_, role)| *role == Role::Owner)
            .collect();
        assert_eq!(owners.len(), 1, "round {round}: {owners:?}");
        // Make both owners again for the next round.
        let owner = if owners[0].0 == "ada@example.com" {
            &ada
        } else {
            &grace
        };
        let other = if owner.id == ada.id { &grace } else { &ada };
        change(
            store,
            organization.id,
            owner,
            other,
            MemberChange::SetRole(Role::Owner),
        )
        .expect("both owners again");
    }
}
