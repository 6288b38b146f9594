//! `MfaStore`: sealed TOTP secrets, steps accepted once, recovery codes
//! and login challenges.

use domain::{SealedSecret, SecretDigest, TimeStep, UserId};

use super::{
    fixtures::{assert_not_found, at, logged_in, signed_up, stored_session, stored_user},
    races::{RACERS, race},
};
use crate::{MfaChallenge, Store, TotpState};

/// The checks of this module, for [`crate::store_contract_tests!`]. A test
/// of `testkit` keeps this list equal to the module's `pub fn`s.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_checks_mfa {
    ($($mode:tt)*) => {
        $crate::store_contract_tests! { $($mode)* mfa:
            a_user_without_totp_has_an_empty_state,
            set_pending_totp_replaces_the_pending_secret_only,
            confirm_totp_puts_the_secret_in_force_with_its_recovery_codes,
            confirm_totp_refuses_a_changed_secret_or_a_used_step,
            accept_totp_step_accepts_each_step_once_and_in_order,
            recovery_codes_work_once_until_replaced,
            disable_totp_clears_everything_and_revokes_the_other_sessions,
            mfa_challenges_are_single_use_and_expire,
        }
    };
}

fn sealed(text: &str) -> SealedSecret {
    SealedSecret {
        key_id: "k1".to_owned(),
        ciphertext: text.as_bytes().to_vec(),
    }
}

fn codes(prefix: &str) -> Vec<SecretDigest> {
    (0..10)
        .map(|i| SecretDigest::of(&format!("{prefix}{i}")))
        .collect()
}

/// A user with `secret` confirmed at step 100 and recovery codes `r0`…`r9`.
fn enrolled(store: &dyn Store, email: &str) -> UserId {
    let user = signed_up(store, email).id;
    store
        .set_pending_totp(user, &sealed("secret"), at(0))
        .expect("set_pending_totp");
    assert!(
        store
            .confirm_totp(user, &sealed("secret"), TimeStep(100), &codes("r"), at(1))
            .expect("confirm_totp")
    );
    user
}

fn state(store: &dyn Store, user: UserId) -> TotpState {
    store.totp_state(user).expect("totp_state")
}

/// A user who never set TOTP up has nothing stored.
pub fn a_user_without_totp_has_an_empty_state(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com");
    assert_eq!(state(store, user.id), TotpState::default());
    assert!(!stored_user(store, user.id).mfa_enabled);
}

/// A new setup replaces the secret pending confirmation and leaves the
/// confirmed one in force; an unknown user is `NotFound`.
pub fn set_pending_totp_replaces_the_pending_secret_only(store: &dyn Store) {
    let user = enrolled(store, "ada@example.com");
    store
        .set_pending_totp(user, &sealed("first"), at(2))
        .expect("set_pending_totp");
    store
        .set_pending_totp(user, &sealed("second"), at(3))
        .expect("set_pending_totp");
    assert_eq!(
        state(store, user),
        TotpState {
            active: Some(sealed("secret")),
            pending: Some(sealed("second")),
            last_step: Some(TimeStep(100)),
        }
    );
    assert_not_found(store.set_pending_totp(UserId::generate(), &sealed("x"), at(2)));
}

/// Confirming puts the pending secret in force with its step and codes,
/// and the user's `mfa_enabled` is set.
pub fn confirm_totp_puts_the_secret_in_force_with_its_recovery_codes(store: &dyn Store) {
    let user = enrolled(store, "ada@example.com");
    assert_eq!(
        state(store, user),
        TotpState {
            active: Some(sealed("secret")),
            pending: None,
            last_step: Some(TimeStep(100)),
        }
    );
    assert!(stored_user(store, user).mfa_enabled);
    assert_eq!(
        stored_user(store, user).updated_at,
        at(1),
        "the change is stamped"
    );
    assert!(
        store
            .use_recovery_code(user, &codes("r")[3], at(2))
            .expect("use")
    );
    // A new phone: off, set up again and confirm; the older codes die.
    store.disable_totp(user, None, at(3)).expect("disable_totp");
    store
        .set_pending_totp(user, &sealed("new phone"), at(3))
        .expect("set_pending_totp");
    assert!(
        store
            .confirm_totp(
                user,
                &sealed("new phone"),
                TimeStep(101),
                &codes("n"),
                at(4)
            )
            .expect("confirm_totp")
    );
    assert_eq!(state(store, user).active, Some(sealed("new phone")));
    assert!(
        !store
            .use_recovery_code(user, &codes("r")[4], at(5))
            .expect("use")
    );
    assert!(
        store
            .use_recovery_code(user, &codes("n")[4], at(5))
            .expect("use")
    );
}

/// A confirmation while a secret is in force, or naming another pending
/// secret (a newer setup came between), writes nothing; after TOTP went
/// off, the steps start over with the new secret.
pub fn confirm_totp_refuses_a_changed_secret_or_a_used_step(store: &dyn Store) {
    let in_force = enrolled(store, "grace@example.com");
    store
        .set_pending_totp(in_force, &sealed("swap"), at(2))
        .expect("set_pending_totp");
    assert!(
        !store
            .confirm_totp(in_force, &sealed("swap"), TimeStep(200), &codes("s"), at(3))
            .expect("confirm_totp"),
        "never over a secret in force"
    );
    assert_eq!(state(store, in_force).active, Some(sealed("secret")));
    let user = enrolled(store, "ada@example.com");
    store.disable_totp(user, None, at(2)).expect("disable_totp");
    store
        .set_pending_totp(user, &sealed("older"), at(2))
        .expect("set_pending_totp");
    store
        .set_pending_totp(user, &sealed("newer"), at(2))
        .expect("set_pending_totp");
    assert!(
        store
            .confirm_totp(user, &sealed("newer"), TimeStep(50), &codes("a"), at(3))
            .expect("confirm_totp"),
        "after a disable, the steps start over"
    );
    store.disable_totp(user, None, at(4)).expect("disable_totp");
    store
        .set_pending_totp(user, &sealed("newer"), at(4))
        .expect("set_pending_totp");
    let before = state(store, user);
    assert!(
        !store
            .confirm_totp(user, &sealed("older"), TimeStep(200), &codes("x"), at(5))
            .expect("confirm_totp"),
        "a secret no longer pending"
    );
    assert_eq!(state(store, user), before);
    assert!(
        !store
            .use_recovery_code(user, &codes("x")[0], at(4))
            .expect("use")
    );
    let nobody = signed_up(store, "eve@example.com").id;
    assert!(
        !store
            .confirm_totp(nobody, &sealed("s"), TimeStep(1), &codes("e"), at(3))
            .expect("confirm_totp"),
        "nothing pending"
    );
    assert!(!stored_user(store, nobody).mfa_enabled);
}

/// Each step is accepted once, never one at or before the last accepted,
/// and only for a confirmed secret; of concurrent acceptances of one step,
/// exactly one succeeds.
pub fn accept_totp_step_accepts_each_step_once_and_in_order(store: &dyn Store) {
    let user = enrolled(store, "ada@example.com");
    let accept = |step| {
        store
            .accept_totp_step(user, TimeStep(step))
            .expect("accept")
    };
    assert!(!accept(100), "the step of the confirmation is used");
    assert!(accept(102));
    assert!(!accept(102), "never twice");
    assert!(!accept(101), "never an older one");
    let outcomes = race(RACERS, |_| store.accept_totp_step(user, TimeStep(103)));
    assert_eq!(
        outcomes.iter().filter(|o| matches!(o, Ok(true))).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(state(store, user).last_step, Some(TimeStep(103)));
    let pending_only = signed_up(store, "eve@example.com").id;
    store
        .set_pending_totp(pending_only, &sealed("s"), at(0))
        .expect("set_pending_totp");
    assert!(
        !store
            .accept_totp_step(pending_only, TimeStep(5))
            .expect("accept")
    );
    assert!(
        !store
            .accept_totp_step(UserId::generate(), TimeStep(5))
            .expect("accept")
    );
}

/// A recovery code works once, for its user only; concurrent uses of one
/// code succeed once; replaced codes stop working.
pub fn recovery_codes_work_once_until_replaced(store: &dyn Store) {
    let user = enrolled(store, "ada@example.com");
    let other = enrolled(store, "grace@example.com");
    let r = codes("r");
    assert!(store.use_recovery_code(user, &r[0], at(2)).expect("use"));
    assert!(
        !store.use_recovery_code(user, &r[0], at(3)).expect("use"),
        "once"
    );
    assert!(
        store.use_recovery_code(other, &r[0], at(3)).expect("use"),
        "each user's own"
    );
    let outcomes = race(RACERS, |_| store.use_recovery_code(user, &r[1], at(4)));
    assert_eq!(
        outcomes.iter().filter(|o| matches!(o, Ok(true))).count(),
        1,
        "{outcomes:?}"
    );
    store
        .replace_recovery_codes(user, &codes("fresh"), at(5))
        .expect("replace_recovery_codes");
    assert!(!store.use_recovery_code(user, &r[2], at(6)).expect("use"));
    assert!(
        store
            .use_recovery_code(user, &codes("fresh")[2], at(6))
            .expect("use")
    );
    assert!(
        store.use_recovery_code(other, &r[2], at(6)).expect("use"),
        "others untouched"
    );
}

/// Turning TOTP off removes the secrets, codes and login challenges,
/// clears `mfa_enabled` and revokes every session but the kept one; an
/// unknown user is `NotFound`.
pub fn disable_totp_clears_everything_and_revokes_the_other_sessions(store: &dyn Store) {
    let user = enrolled(store, "ada@example.com");
    let account = stored_user(store, user);
    let kept = logged_in(store, &account, "kept");
    let other = logged_in(store, &account, "other");
    store
        .disable_totp(user, Some(kept.id), at(10))
        .expect("disable_totp");
    assert_eq!(state(store, user), TotpState::default());
    assert!(!stored_user(store, user).mfa_enabled);
    assert_eq!(
        stored_user(store, user).updated_at,
        at(10),
        "the change is stamped"
    );
    assert!(
        !store
            .use_recovery_code(user, &codes("r")[0], at(11))
            .expect("use")
    );
    assert_eq!(stored_session(store, kept.id).revoked_at, None);
    assert_eq!(stored_session(store, other.id).revoked_at, Some(at(10)));
    let again = logged_in(store, &account, "again");
    store
        .disable_totp(user, None, at(12))
        .expect("disable_totp");
    assert_eq!(stored_session(store, again.id).revoked_at, Some(at(12)));
    assert_not_found(store.disable_totp(UserId::generate(), None, at(12)));
    let challenge = MfaChallenge {
        digest: SecretDigest::of("challenge"),
        user_id: user,
        created_at: at(12),
        expires_at: at(300),
    };
    store.create_mfa_challenge(&challenge).expect("create");
    store
        .disable_totp(user, None, at(13))
        .expect("disable_totp");
    assert_eq!(
        store
            .mfa_challenge_user(&challenge.digest, at(14))
            .expect("mfa_challenge_user"),
        None,
        "a pending login of the user ends too"
    );
}

/// A challenge names its user while unspent and before its expiry; it is
/// spent once, by one of concurrent spenders; an unknown user's is
/// `NotFound`.
pub fn mfa_challenges_are_single_use_and_expire(store: &dyn Store) {
    let user = signed_up(store, "ada@example.com").id;
    let challenge = |secret: &str, user| MfaChallenge {
        digest: SecretDigest::of(secret),
        user_id: user,
        created_at: at(0),
        expires_at: at(300),
    };
    store
        .create_mfa_challenge(&challenge("c1", user))
        .expect("create_mfa_challenge");
    store
        .create_mfa_challenge(&challenge("c2", user))
        .expect("create_mfa_challenge");
    let lookup = |secret: &str, seconds| {
        store
            .mfa_challenge_user(&SecretDigest::of(secret), at(seconds))
            .expect("mfa_challenge_user")
    };
    assert_eq!(lookup("c1", 299), Some(user));
    assert_eq!(lookup("c1", 300), None, "expiry is exclusive");
    assert_eq!(lookup("unknown", 1), None);
    let outcomes = race(RACERS, |_| {
        store.spend_mfa_challenge(&SecretDigest::of("c1"), at(10))
    });
    assert_eq!(
        outcomes.iter().filter(|o| matches!(o, Ok(true))).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(lookup("c1", 11), None, "spent");
    assert!(
        !store
            .spend_mfa_challenge(&SecretDigest::of("c2"), at(300))
            .expect("spend"),
        "expired"
    );
    assert_eq!(lookup("c2", 1), Some(user), "not spent by the refusal");
    assert_not_found(store.create_mfa_challenge(&challenge("c3", UserId::generate())));
}
