//! `InviteStore`: invitations to organizations, their codes, and the two
//! ways to accept one.

use domain::{
    Email, Invite, InviteId, InviteRole, Organization, OrganizationId, Role, SecretDigest,
    UserStatus,
};
use time::Duration;

use super::{
    fixtures::{
        T0, assert_duplicate, assert_not_found, at, new_user, sign_up, signed_up, stored_user,
        with_status,
    },
    organizations::owned,
    races::{RACERS, race},
};
use crate::{Store, UniqueField};

/// The checks of this module, for [`crate::store_contract_tests!`]. A test
/// of `testkit` keeps this list equal to the module's `pub fn`s.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_checks_invites {
    ($($mode:tt)*) => {
        $crate::store_contract_tests! { $($mode)* invites:
            create_invite_is_found_by_its_code_until_it_expires,
            create_invite_replaces_the_older_invite_of_the_address,
            create_invite_refuses_a_member_and_an_unknown_organization,
            invites_of_lists_pending_invites_oldest_first,
            revoke_invite_stops_the_code,
            accept_invite_makes_a_verified_member,
            accept_invite_refuses_another_address_and_spends_nothing,
            sign_up_by_invite_stores_the_user_as_a_member,
            sign_up_by_invite_refuses_taken_fields_and_spends_nothing,
            concurrent_acceptances_of_one_invite_succeed_once,
        }
    };
}

/// An invitation of `email` to `organization` as a member, by `by`, made
/// `seconds` after `T0` and valid for a week.
fn invite_at(organization: &Organization, by: &domain::User, email: &str, seconds: i64) -> Invite {
    Invite::new(
        organization.id,
        Email::parse(email).expect("test e-mail"),
        InviteRole::Member,
        by.id,
        at(seconds),
        Duration::days(7),
    )
}

/// Stores an invitation of `email` whose code is `secret`; returns the
/// code's digest.
pub(super) fn invited(
    store: &dyn Store,
    organization: &Organization,
    by: &domain::User,
    email: &str,
    secret: &str,
) -> SecretDigest {
    let digest = SecretDigest::of(secret);
    store
        .create_invite(&invite_at(organization, by, email, 0), &digest)
        .expect("create_invite");
    digest
}

/// `user` joins `organization` as a member by an invitation from `by`,
/// accepted `seconds` after `T0`.
pub(super) fn accept_at(
    store: &dyn Store,
    organization: &Organization,
    by: &domain::User,
    user: &domain::User,
    secret: &str,
    seconds: i64,
) {
    let secret = format!("{secret}:{}", user.email);
    let digest = invited(store, organization, by, user.email.as_str(), &secret);
    store
        .accept_invite(&digest, user.id, at(seconds))
        .expect("accept_invite");
}

/// [`accept_at`] 100 seconds after `T0`.
pub(super) fn accept(
    store: &dyn Store,
    organization: &Organization,
    by: &domain::User,
    user: &domain::User,
    secret: &str,
) {
    accept_at(store, organization, by, user, secret, 100);
}

/// Stores an invitation of `email` as an admin, whose code is "code".
fn admin_invite(
    store: &dyn Store,
    organization: &Organization,
    by: &domain::User,
    email: &str,
) -> (Invite, SecretDigest) {
    let invite = Invite {
        role: InviteRole::Admin,
        ..invite_at(organization, by, email, 0)
    };
    let digest = SecretDigest::of("code");
    store
        .create_invite(&invite, &digest)
        .expect("create_invite");
    (invite, digest)
}

fn pending_ids(store: &dyn Store, organization: OrganizationId, seconds: i64) -> Vec<InviteId> {
    store
        .invites_of(organization, at(seconds))
        .expect("invites_of")
        .into_iter()
        .map(|i| i.id)
        .collect()
}

/// `invite_by_code` finds a stored invitation, as stored, until it
/// expires; an unknown code finds nothing.
pub fn create_invite_is_found_by_its_code_until_it_expires(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let organization = owned(store, &ada, 0);
    let (invite, digest) = admin_invite(store, &organization, &ada, "grace@example.com");
    assert_eq!(
        store
            .invite_by_code(&digest, at(1))
            .expect("invite_by_code"),
        Some(invite.clone())
    );
    let last = (invite.expires_at - T0).whole_seconds() - 1;
    assert!(
        store
            .invite_by_code(&digest, at(last))
            .expect("lookup")
            .is_some()
    );
    assert_eq!(
        store
            .invite_by_code(&digest, invite.expires_at)
            .expect("invite_by_code"),
        None,
        "expiry is exclusive"
    );
    assert_eq!(
        store
            .invite_by_code(&SecretDigest::of("other"), at(1))
            .expect("invite_by_code"),
        None
    );
}

/// Re-inviting an address revokes its older invitation: one is listed and
/// only the newest code works. Other addresses keep theirs.
pub fn create_invite_replaces_the_older_invite_of_the_address(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let organization = owned(store, &ada, 0);
    let older = SecretDigest::of("older");
    store
        .create_invite(
            &invite_at(&organization, &ada, "grace@example.com", 0),
            &older,
        )
        .expect("create_invite");
    let alan = invited(store, &organization, &ada, "alan@example.com", "alan");
    let newer = invite_at(&organization, &ada, "grace@example.com", 5);
    let newest = SecretDigest::of("newer");
    store.create_invite(&newer, &newest).expect("create_invite");
    assert_eq!(store.invite_by_code(&older, at(6)).expect("lookup"), None);
    assert_eq!(
        store.invite_by_code(&newest, at(6)).expect("lookup"),
        Some(newer.clone())
    );
    assert!(
        store
            .invite_by_code(&alan, at(6))
            .expect("lookup")
            .is_some()
    );
    let listed = store
        .invites_of(organization.id, at(6))
        .expect("invites_of");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1], newer);
}

/// An invitation of an address that a member has is `Duplicate(Member)`,
/// to an unknown organization `NotFound`; nothing is stored.
pub fn create_invite_refuses_a_member_and_an_unknown_organization(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let organization = owned(store, &ada, 0);
    let refused = SecretDigest::of("refused");
    assert_duplicate(
        store.create_invite(
            &invite_at(&organization, &ada, "ada@example.com", 0),
            &refused,
        ),
        UniqueField::Member,
    );
    let elsewhere = Organization {
        id: OrganizationId::generate(),
        ..organization.clone()
    };
    assert_not_found(store.create_invite(
        &invite_at(&elsewhere, &ada, "grace@example.com", 0),
        &refused,
    ));
    assert_eq!(store.invite_by_code(&refused, at(1)).expect("lookup"), None);
    assert!(pending_ids(store, organization.id, 1).is_empty());
}

/// `invites_of` lists the organization's pending invitations, oldest
/// first: not accepted, revoked or expired ones, nor other organizations'.
pub fn invites_of_lists_pending_invites_oldest_first(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let grace = signed_up(store, "grace@example.com");
    let organization = owned(store, &ada, 0);
    let other = owned(store, &grace, 0);
    let first = invite_at(&organization, &ada, "first@example.com", 1);
    let second = invite_at(&organization, &ada, "second@example.com", 2);
    let short = Invite {
        expires_at: at(10),
        ..invite_at(&organization, &ada, "short@example.com", 3)
    };
    let revoked = invite_at(&organization, &ada, "revoked@example.com", 4);
    for (invite, secret) in [
        (&second, "second"),
        (&first, "first"),
        (&short, "short"),
        (&revoked, "revoked"),
    ] {
        store
            .create_invite(invite, &SecretDigest::of(secret))
            .expect("create_invite");
    }
    invited(store, &other, &grace, "first@example.com", "elsewhere");
    store
        .revoke_invite(organization.id, revoked.id, at(5))
        .expect("revoke_invite");
    accept_at(store, &organization, &ada, &grace, "accepted", 6);
    assert_eq!(
        pending_ids(store, organization.id, 9),
        [first.id, second.id, short.id]
    );
    assert_eq!(
        pending_ids(store, organization.id, 10),
        [first.id, second.id]
    );
}

/// A revoked invitation's code stops working; revoking it again, or
/// revoking through another organization, is `NotFound`.
pub fn revoke_invite_stops_the_code(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let grace = signed_up(store, "grace@example.com");
    let organization = owned(store, &ada, 0);
    let other = owned(store, &grace, 0);
    let digest = invited(store, &organization, &ada, "alan@example.com", "alan");
    let invite = store
        .invite_by_code(&digest, at(1))
        .expect("lookup")
        .expect("pending");
    assert_not_found(store.revoke_invite(other.id, invite.id, at(1)));
    assert_not_found(store.revoke_invite(organization.id, InviteId::generate(), at(1)));
    store
        .revoke_invite(organization.id, invite.id, at(1))
        .expect("revoke_invite");
    assert_eq!(store.invite_by_code(&digest, at(2)).expect("lookup"), None);
    assert_not_found(store.revoke_invite(organization.id, invite.id, at(2)));
    let alan = with_status(new_user("alan@example.com", None, None), UserStatus::Active);
    sign_up(store, &alan);
    assert_not_found(store.accept_invite(&digest, alan.id, at(2)));
}

/// `accept_invite` makes the invited user a member with the invited role,
/// verifies their address, and spends the code.
pub fn accept_invite_makes_a_verified_member(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let organization = owned(store, &ada, 0);
    let grace = with_status(
        new_user("grace@example.com", None, None),
        UserStatus::Active,
    );
    sign_up(store, &grace);
    let (_, digest) = admin_invite(store, &organization, &ada, "grace@example.com");
    let (joined, role) = store
        .accept_invite(&digest, grace.id, at(3))
        .expect("accept_invite");
    assert_eq!((joined, role), (organization.clone(), Role::Admin));
    assert_eq!(
        store
            .organization_for(organization.id, grace.id)
            .expect("organization_for"),
        Some((organization.clone(), Some(Role::Admin)))
    );
    let member = store
        .members_of(organization.id)
        .expect("members_of")
        .into_iter()
        .find(|m| m.user.id == grace.id)
        .expect("grace is a member");
    assert_eq!(member.joined_at, at(3));
    let stored = stored_user(store, grace.id);
    assert!(stored.email_verified, "the code proves the address");
    assert_eq!(stored.status, UserStatus::Active);
    assert_eq!(store.invite_by_code(&digest, at(4)).expect("lookup"), None);
    assert!(pending_ids(store, organization.id, 4).is_empty());
    assert_not_found(store.accept_invite(&digest, grace.id, at(4)));
}

/// An invitation for another address, or for an unknown user, is
/// `NotFound`, and the code stays usable.
pub fn accept_invite_refuses_another_address_and_spends_nothing(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let organization = owned(store, &ada, 0);
    let eve = signed_up(store, "eve@example.com");
    let digest = invited(store, &organization, &ada, "grace@example.com", "code");
    assert_not_found(store.accept_invite(&digest, eve.id, at(1)));
    assert_not_found(store.accept_invite(&digest, domain::UserId::generate(), at(1)));
    assert!(
        store
            .invite_by_code(&digest, at(2))
            .expect("lookup")
            .is_some()
    );
    assert_eq!(
        store
            .organization_for(organization.id, eve.id)
            .expect("organization_for"),
        Some((organization, None))
    );
    assert!(!stored_user(store, eve.id).email_verified);
}

/// `sign_up_by_invite` stores the user, active and verified as given, and
/// makes them a member with the invited role; the code is spent.
pub fn sign_up_by_invite_stores_the_user_as_a_member(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let organization = owned(store, &ada, 0);
    let (_, digest) = admin_invite(store, &organization, &ada, "grace@example.com");
    let mut grace = with_status(
        new_user("grace@example.com", Some("grace"), None),
        UserStatus::Active,
    );
    grace.email_verified = true;
    assert_eq!(
        store
            .sign_up_by_invite(&digest, &grace, at(2))
            .expect("sign_up_by_invite"),
        (organization.clone(), Role::Admin)
    );
    assert_eq!(stored_user(store, grace.id), grace);
    assert_eq!(
        store.organizations_of(grace.id).expect("organizations_of"),
        [(organization, Role::Admin)],
        "no organization of their own"
    );
    assert_eq!(store.invite_by_code(&digest, at(3)).expect("lookup"), None);
    let second = with_status(
        new_user("grace2@example.com", None, None),
        UserStatus::Active,
    );
    assert_not_found(store.sign_up_by_invite(&digest, &second, at(3)));
    assert_eq!(store.user_by_id(second.id).expect("user_by_id"), None);
}

/// A taken e-mail address or username is `Duplicate` naming it, another
/// address than the invited one `NotFound`; no user is stored and the
/// code stays usable.
pub fn sign_up_by_invite_refuses_taken_fields_and_spends_nothing(store: &dyn Store) {
    let ada = new_user("ada@example.com", Some("ada"), None);
    sign_up(store, &ada);
    let organization = owned(store, &ada, 0);
    let digest = invited(store, &organization, &ada, "grace@example.com", "code");
    let taken_name = new_user("grace@example.com", Some("ADA"), None);
    assert_duplicate(
        store.sign_up_by_invite(&digest, &taken_name, at(1)),
        UniqueField::Username,
    );
    let wrong = new_user("eve@example.com", None, None);
    assert_not_found(store.sign_up_by_invite(&digest, &wrong, at(1)));
    for user in [&taken_name, &wrong] {
        assert_eq!(store.user_by_id(user.id).expect("user_by_id"), None);
    }
    let taken_email = invited(store, &organization, &ada, "ada2@example.com", "ada2");
    sign_up(store, &new_user("ada2@example.com", None, None));
    // The address got an account after the invitation was made.
    let latecomer = new_user("ada2@example.com", None, None);
    assert_duplicate(
        store.sign_up_by_invite(&taken_email, &latecomer, at(1)),
        UniqueField::Email,
    );
    assert!(
        store
            .invite_by_code(&digest, at(2))
            .expect("lookup")
            .is_some()
    );
    assert!(
        store
            .invite_by_code(&taken_email, at(2))
            .expect("lookup")
            .is_some()
    );
    let grace = new_user("grace@example.com", None, None);
    store
        .sign_up_by_invite(&digest, &grace, at(2))
        .expect("the refused attempts left the code usable");
}

/// Of concurrent acceptances of one code, by one account or by sign-ups
/// with the invited address, exactly one succeeds.
pub fn concurrent_acceptances_of_one_invite_succeed_once(store: &dyn Store) {
    let ada = signed_up(store, "ada@example.com");
    let organization = owned(store, &ada, 0);
    let grace = signed_up(store, "grace@example.com");
    let digest = invited(store, &organization, &ada, "grace@example.com", "accept");
    let outcomes = race(RACERS, |_| store.accept_invite(&digest, grace.id, at(1)));
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        1,
        "{outcomes:?}"
    );

    let digest = invited(store, &organization, &ada, "alan@example.com", "sign-up");
    let people: Vec<_> = (0..RACERS)
        .map(|_| new_user("alan@example.com", None, None))
        .collect();
    let outcomes = race(RACERS, |i| {
        store.sign_up_by_invite(&digest, &people[i], at(1))
    });
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    let members = store.members_of(organization.id).expect("members_of");
    assert_eq!(members.len(), 3, "ada, grace and one alan");
}
