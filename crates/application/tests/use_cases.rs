//! Use cases over real adapters (SQLite in a temp file, argon2 with cheap
//! parameters, JWT with a generated key, the file mailer), with a fixed
//! clock as the only stand-in.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use adapter_argon2::{Argon2Hasher, HashParams};
use adapter_jwt::{JwtIssuer, JwtSettings, RefreshKey, SigningAlgorithm};
use adapter_mail::FileMailer;
use adapter_sqlite::SqliteStore;
use application::{
    AuthService, AuthenticateError, ClientInfo, Credentials, LoginError, LoginRequest, Policy,
    Ports, RefreshError, ResendBy, SignupRequest, ValidateError, system::OsSecrets,
};
use domain::{Email, LoginIdentifier, Password, PasswordHash, PersonName, UserStatus};
use ports::{Clock, OrganizationStore, PasswordCheck, PasswordHasher, UserStore};
use secrecy::{ExposeSecret, SecretString};
use tempfile::TempDir;
use time::{Duration, OffsetDateTime, macros::datetime};

const PASSWORD: &str = "correct horse battery staple";

/// A clock that moves only when told to.
struct FixedClock(Mutex<OffsetDateTime>);

impl FixedClock {
    fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap();
        *now += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

/// The real hasher, counting dummy verifications.
struct CountingHasher {
    inner: Argon2Hasher,
    dummies: AtomicUsize,
}

impl PasswordHasher for CountingHasher {
    fn hash(&self, password: &SecretString) -> Result<PasswordHash, ports::HasherError> {
        self.inner.hash(password)
    }
    fn verify(
        &self,
        candidate: &SecretString,
        hash: &PasswordHash,
    ) -> Result<PasswordCheck, ports::HasherError> {
        self.inner.verify(candidate, hash)
    }
    fn verify_dummy(&self, candidate: &SecretString) {
        self.dummies.fetch_add(1, Ordering::SeqCst);
        self.inner.verify_dummy(candidate);
    }
}

struct World {
    service: AuthService,
    store: Arc<SqliteStore>,
    clock: Arc<FixedClock>,
    hasher: Arc<CountingHasher>,
    dir: TempDir,
}

fn hasher(memory_kib: u32) -> Arc<CountingHasher> {
    let params = HashParams {
        memory_kib,
        ..HashParams::insecure_for_tests()
    };
    Arc::new(CountingHasher {
        inner: Argon2Hasher::new(params).unwrap(),
        dummies: AtomicUsize::new(0),
    })
}

fn world_with(policy: Policy, memory_kib: u32, reuse: Option<&World>) -> World {
    let dir = tempfile::tempdir().unwrap();
    let db = match reuse {
        Some(w) => w.dir.path().join("authd.db"),
        None => dir.path().join("authd.db"),
    };
    let store = Arc::new(SqliteStore::connect(&format!("sqlite://{}", db.display()), 4).unwrap());
    store.migrate().unwrap();
    let clock = Arc::new(FixedClock(Mutex::new(datetime!(2030-01-01 12:00 UTC))));
    let tokens = JwtIssuer::from_settings(&JwtSettings {
        algorithm: SigningAlgorithm::EdDsa,
        issuer: "authd".into(),
        audience: "authd".into(),
        private_key_path: None,
        verification_key_paths: Vec::new(),
        hmac_secret: None,
        data_dir: dir.path().join("data"),
    })
    .unwrap();
    let hasher = hasher(memory_kib);
    let ports = Ports {
        store: store.clone(),
        tokens: Arc::new(tokens),
        hasher: hasher.clone(),
        mailer: Arc::new(FileMailer::new(dir.path().join("mailbox.jsonl"))),
        clock: clock.clone(),
        secrets: Arc::new(OsSecrets),
        refresh_tokens: Arc::new(RefreshKey::load(None, dir.path()).unwrap()),
        totp: Arc::new(adapter_totp::Rfc6238),
        sealer: Arc::new(adapter_jwt::SealingKeys::load(None, &[], dir.path()).unwrap()),
    };
    World {
        service: AuthService::new(ports, policy),
        store,
        clock,
        hasher,
        dir,
    }
}

fn world() -> World {
    world_with(Policy::default(), 256, None)
}

fn signup(w: &World, email: &str) {
    let email = Email::parse(email).unwrap();
    let password = Password::new(SecretString::from(PASSWORD), &[email.as_str()]).unwrap();
    w.service
        .signup(
            SignupRequest {
                email,
                password,
                first_name: PersonName::parse("Ada").unwrap(),
                last_name: PersonName::parse("Lovelace").unwrap(),
                username: None,
                phone: None,
                organization_name: None,
            },
            ClientInfo::default(),
        )
        .unwrap();
}

fn last_code(w: &World) -> String {
    let mailbox = std::fs::read_to_string(w.dir.path().join("mailbox.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(mailbox.lines().last().unwrap()).unwrap();
    line["code"].as_str().unwrap().to_owned()
}

fn active(w: &World, email: &str) {
    signup(w, email);
    w.service.validate_email(&last_code(w)).unwrap();
}

fn login(w: &World, id: &str, password: &str) -> Result<application::Tokens, LoginError> {
    w.service.login(LoginRequest {
        identifier: id.into(),
        password: SecretString::from(password),
        client: ClientInfo {
            ip: "192.0.2.1".into(),
            user_agent: Some("test".into()),
        },
    })
}

/// Asserts that a use case failed with the outcome `pattern` names.
macro_rules! assert_fails {
    ($result:expr, $pattern:pat) => {
        let result = $result;
        assert!(matches!(result, Err($pattern)), "{result:?}");
    };
}

#[test]
fn signup_creates_the_owned_organization() {
    let w = world();
    signup(&w, "ada@example.com");
    let user = w
        .store
        .user_by_identifier(&LoginIdentifier::parse("ada@example.com").unwrap())
        .unwrap()
        .unwrap();
    let orgs = w.store.organizations_of(user.id).unwrap();
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0].0.name.as_str(), "Ada's organization");
    assert_eq!(orgs[0].1, domain::Role::Owner);
}

#[test]
fn unknown_identifiers_cost_a_dummy_verification() {
    let w = world();
    active(&w, "ada@example.com");
    assert_fails!(
        login(&w, "eve@example.com", PASSWORD),
        LoginError::BadCredentials
    );
    assert_fails!(
        login(&w, "not an identifier!", PASSWORD),
        LoginError::BadCredentials
    );
    assert_eq!(w.hasher.dummies.load(Ordering::SeqCst), 2);
    assert_fails!(
        login(&w, "ada@example.com", "wrong password"),
        LoginError::BadCredentials
    );
    assert_eq!(
        w.hasher.dummies.load(Ordering::SeqCst),
        2,
        "a known user verifies its own hash"
    );
}

#[test]
fn status_is_revealed_only_after_the_password() {
    let w = world();
    signup(&w, "ada@example.com");
    assert_fails!(
        login(&w, "ada@example.com", "wrong password"),
        LoginError::BadCredentials
    );
    let Err(LoginError::NotValidated { resend_code }) = login(&w, "ada@example.com", PASSWORD)
    else {
        panic!("expected account-not-validated");
    };
    w.service
        .resend_validation(ResendBy::Code(resend_code), ClientInfo::default())
        .unwrap();
    w.service.validate_email(&last_code(&w)).unwrap();
    let user = login(&w, "ada@example.com", PASSWORD).unwrap().user;
    w.store
        .set_user_status(user.id, UserStatus::Inactive, w.clock.now())
        .unwrap();
    assert_fails!(
        login(&w, "ada@example.com", "wrong password"),
        LoginError::BadCredentials
    );
    assert_fails!(
        login(&w, "ada@example.com", PASSWORD),
        LoginError::InactiveAccount
    );
}

#[test]
fn outdated_hashes_are_upgraded_at_login() {
    let old = world_with(Policy::default(), 256, None);
    active(&old, "ada@example.com");
    let new = world_with(Policy::default(), 512, Some(&old));
    let before = old
        .store
        .user_by_identifier(&LoginIdentifier::parse("ada@example.com").unwrap())
        .unwrap()
        .unwrap();
    assert!(before.password_hash.as_str().contains("m=256,"));
    login(&new, "ada@example.com", PASSWORD).unwrap();
    let after = new.store.user_by_id(before.id).unwrap().unwrap();
    assert!(
        after.password_hash.as_str().contains("m=512,"),
        "{}",
        after.password_hash.as_str()
    );
    login(&new, "ada@example.com", PASSWORD).unwrap();
}

#[test]
fn throttling_lasts_exactly_the_window() {
    let w = world();
    active(&w, "ada@example.com");
    for _ in 0..5 {
        assert_fails!(
            login(&w, "ADA@example.com", "wrong password"),
            LoginError::BadCredentials
        );
        w.clock.advance(Duration::seconds(10));
    }
    let Err(LoginError::TooManyAttempts { retry_after }) = login(&w, "ada@example.com", PASSWORD)
    else {
        panic!("expected throttling");
    };
    assert_eq!(retry_after, 900 - 50 + 1);
    w.clock.advance(Duration::seconds(850));
    assert!(matches!(
        login(&w, "ada@example.com", PASSWORD),
        Err(LoginError::TooManyAttempts { retry_after: 1 })
    ));
    w.clock.advance(Duration::seconds(1));
    login(&w, "ada@example.com", PASSWORD).unwrap();
}

#[test]
fn access_tokens_expire_exactly() {
    let w = world();
    active(&w, "ada@example.com");
    let tokens = login(&w, "ada@example.com", PASSWORD).unwrap();
    w.clock.advance(Duration::seconds(899));
    let who = w
        .service
        .authenticate(&Credentials::bearer(tokens.access_token.as_str()))
        .unwrap();
    assert_eq!(who.user_id, tokens.user.id);
    w.clock.advance(Duration::seconds(1));
    assert_fails!(
        w.service
            .authenticate(&Credentials::bearer(tokens.access_token.as_str())),
        AuthenticateError::TokenExpired
    );
}

#[test]
fn refresh_tokens_expire_and_rotate() {
    let policy = Policy {
        refresh_ttl: Duration::hours(1),
        ..Policy::default()
    };
    let w = world_with(policy, 256, None);
    active(&w, "ada@example.com");
    let first = login(&w, "ada@example.com", PASSWORD).unwrap();
    w.clock.advance(Duration::minutes(59));
    let second = w
        .service
        .refresh(first.refresh_token.expose_secret(), ClientInfo::default())
        .unwrap();
    assert_eq!(
        second.refresh_expires_in, 3600,
        "each rotation extends the session"
    );
    w.clock.advance(Duration::hours(1));
    assert_fails!(
        w.service
            .refresh(second.refresh_token.expose_secret(), ClientInfo::default()),
        RefreshError::TokenExpired
    );
}

/// A world with `grace`, Ada logged in, and her first refresh made: the
/// login's tokens, then the refresh's.
fn refreshed_once(grace: Duration) -> (World, application::Tokens, application::Tokens) {
    let policy = Policy {
        refresh_reuse_grace: grace,
        ..Policy::default()
    };
    let w = world_with(policy, 256, None);
    active(&w, "ada@example.com");
    let first = login(&w, "ada@example.com", PASSWORD).unwrap();
    let second = w
        .service
        .refresh(first.refresh_token.expose_secret(), ClientInfo::default())
        .unwrap();
    (w, first, second)
}

#[test]
fn reuse_revokes_the_session_unless_within_grace() {
    let (w, first, second) = refreshed_once(Duration::seconds(10));
    w.clock.advance(Duration::seconds(5));
    let replay = w
        .service
        .refresh(first.refresh_token.expose_secret(), ClientInfo::default())
        .expect("replay within grace");
    assert_eq!(
        replay.refresh_token.expose_secret(),
        second.refresh_token.expose_secret(),
        "a replay answers with the successor of the first spending"
    );
    assert_eq!(replay.refresh_expires_in, second.refresh_expires_in - 5);
    assert_ne!(replay.access_token, second.access_token);
    w.service
        .authenticate(&Credentials::bearer(replay.access_token.as_str()))
        .expect("the replay's access token works");
    w.clock.advance(Duration::seconds(6));
    assert_fails!(
        w.service
            .refresh(first.refresh_token.expose_secret(), ClientInfo::default()),
        RefreshError::InvalidToken
    );
    assert_fails!(
        w.service
            .authenticate(&Credentials::bearer(second.access_token.as_str())),
        AuthenticateError::InvalidToken
    );
}

#[test]
fn without_grace_a_second_presentation_is_reuse() {
    let (w, first, second) = refreshed_once(Duration::ZERO);
    assert_fails!(
        w.service
            .refresh(first.refresh_token.expose_secret(), ClientInfo::default()),
        RefreshError::InvalidToken
    );
    assert_fails!(
        w.service
            .refresh(second.refresh_token.expose_secret(), ClientInfo::default()),
        RefreshError::InvalidToken
    );
}

#[test]
fn deactivation_ends_sessions_and_refreshes() {
    let w = world();
    active(&w, "ada@example.com");
    let tokens = login(&w, "ada@example.com", PASSWORD).unwrap();
    w.store
        .set_user_status(tokens.user.id, UserStatus::Inactive, w.clock.now())
        .unwrap();
    assert_fails!(
        w.service
            .authenticate(&Credentials::bearer(tokens.access_token.as_str())),
        AuthenticateError::InvalidToken
    );
    assert_fails!(
        w.service
            .refresh(tokens.refresh_token.expose_secret(), ClientInfo::default()),
        RefreshError::InvalidToken
    );
}

#[test]
fn validation_codes_expire() {
    let w = world();
    signup(&w, "ada@example.com");
    let code = last_code(&w);
    w.clock.advance(Duration::hours(24));
    assert_fails!(w.service.validate_email(&code), ValidateError::InvalidCode);
}

#[test]
fn logout_revokes_one_or_all_sessions() {
    let w = world();
    active(&w, "ada@example.com");
    let a = login(&w, "ada@example.com", PASSWORD).unwrap();
    let b = login(&w, "ada@example.com", PASSWORD).unwrap();
    let who = w
        .service
        .authenticate(&Credentials::bearer(a.access_token.as_str()))
        .unwrap();
    w.service.logout(&who.in_session().unwrap(), false).unwrap();
    assert_fails!(
        w.service
            .authenticate(&Credentials::bearer(a.access_token.as_str())),
        AuthenticateError::InvalidToken
    );
    let who = w
        .service
        .authenticate(&Credentials::bearer(b.access_token.as_str()))
        .unwrap();
    let c = login(&w, "ada@example.com", PASSWORD).unwrap();
    w.service.logout(&who.in_session().unwrap(), true).unwrap();
    assert_fails!(
        w.service
            .authenticate(&Credentials::bearer(c.access_token.as_str())),
        AuthenticateError::InvalidToken
    );
}

#[test]
fn a_session_never_outlives_its_max_age_however_often_refreshed() {
    let policy = Policy {
        refresh_ttl: Duration::hours(1),
        session_max_age: Duration::minutes(150),
        ..Policy::default()
    };
    let w = world_with(policy, 256, None);
    active(&w, "ada@example.com");
    let mut tokens = login(&w, "ada@example.com", PASSWORD).unwrap();
    assert_eq!(tokens.refresh_expires_in, 3600);
    for expected in [3600, 3600, 30 * 60, 0] {
        w.clock.advance(Duration::minutes(40));
        if expected == 0 {
            assert_fails!(
                w.service
                    .refresh(tokens.refresh_token.expose_secret(), ClientInfo::default()),
                RefreshError::TokenExpired
            );
            break;
        }
        tokens = w
            .service
            .refresh(tokens.refresh_token.expose_secret(), ClientInfo::default())
            .unwrap();
        assert_eq!(tokens.refresh_expires_in, expected);
    }
}

#[test]
fn sessions_list_the_live_ones_and_record_the_client_at_refresh() {
    let w = world();
    active(&w, "ada@example.com");
    let a = login(&w, "ada@example.com", PASSWORD).unwrap();
    let b = login(&w, "ada@example.com", PASSWORD).unwrap();
    w.clock.advance(Duration::seconds(1));
    let client = ClientInfo {
        ip: "198.51.100.9".into(),
        user_agent: Some("phone/2.0".into()),
    };
    let a = w
        .service
        .refresh(a.refresh_token.expose_secret(), client)
        .unwrap();
    let who = w
        .service
        .authenticate(&Credentials::bearer(b.access_token.as_str()))
        .unwrap();
    let listed = w.service.list_sessions(&who.in_session().unwrap()).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(!listed[0].current, "the refreshed session was used last");
    assert_eq!(listed[0].session.user_agent.as_deref(), Some("phone/2.0"));
    assert_eq!(listed[0].session.ip.as_deref(), Some("198.51.100.9"));
    assert!(listed[1].current);
    assert_eq!(listed[1].session.id, who.session_id().unwrap());
    assert_eq!(listed[1].session.user_agent.as_deref(), Some("test"));

    w.service
        .delete_session(&who.in_session().unwrap(), listed[0].session.id)
        .unwrap();
    assert_fails!(
        w.service
            .authenticate(&Credentials::bearer(a.access_token.as_str())),
        AuthenticateError::InvalidToken
    );
    w.service
        .delete_session(&who.in_session().unwrap(), listed[0].session.id)
        .expect("ending an ended session of one's own again");
    assert_fails!(
        w.service
            .delete_session(&who.in_session().unwrap(), domain::SessionId::generate()),
        application::DeleteSessionError::NotFound
    );
    assert_eq!(
        w.service
            .list_sessions(&who.in_session().unwrap())
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn another_users_session_cannot_be_ended() {
    let w = world();
    active(&w, "ada@example.com");
    active(&w, "bob@example.com");
    let ada = login(&w, "ada@example.com", PASSWORD).unwrap();
    let bob = login(&w, "bob@example.com", PASSWORD).unwrap();
    let ada = w
        .service
        .authenticate(&Credentials::bearer(ada.access_token.as_str()))
        .unwrap();
    let bobs = w
        .service
        .authenticate(&Credentials::bearer(bob.access_token.as_str()))
        .unwrap();
    assert_fails!(
        w.service
            .delete_session(&ada.in_session().unwrap(), bobs.session_id().unwrap()),
        application::DeleteSessionError::NotFound
    );
    w.service
        .authenticate(&Credentials::bearer(bob.access_token.as_str()))
        .expect("Bob's session lives on");
}

#[test]
fn a_reset_code_works_for_the_reset_code_lifetime() {
    let w = world();
    active(&w, "ada@example.com");
    let forgot = || {
        let email = Email::parse("ada@example.com").unwrap();
        w.service
            .forgot_password(email, ClientInfo::default())
            .unwrap();
        SecretString::from(last_code(&w))
    };
    let new_password = || SecretString::from("purple mountains drink quietly");
    let ttl = Policy::default().reset_code_ttl;

    let late = forgot();
    w.clock.advance(ttl);
    assert_fails!(
        w.service.reset_password(&late, new_password()),
        application::ResetPasswordError::InvalidCode
    );
    let timely = forgot();
    w.clock.advance(ttl - Duration::microseconds(1));
    w.service.reset_password(&timely, new_password()).unwrap();
    login(&w, "ada@example.com", "purple mountains drink quietly").unwrap();
}

#[test]
fn administration_needs_an_active_admin_who_keeps_their_own_rights() {
    use application::{Admin, AdminError, UpdateUserError};
    use domain::{AdminPatch, AdminStatus, UserQuery};

    let w = world();
    active(&w, "root@example.com");
    active(&w, "bob@example.com");
    let email = |s: &str| Email::parse(s).unwrap();
    let grant = AdminPatch {
        status: None,
        is_admin: Some(true),
    };
    w.service
        .update_user_by_email(&Admin::console(), &email("root@example.com"), &grant)
        .unwrap();
    let root = login(&w, "root@example.com", PASSWORD).unwrap();
    let bob = login(&w, "bob@example.com", PASSWORD).unwrap();
    let who = |t: &application::Tokens| {
        w.service
            .authenticate(&Credentials::bearer(t.access_token.as_str()))
            .unwrap()
    };

    assert_fails!(
        w.service.admin(&who(&bob)),
        AdminError::InsufficientPermissions
    );
    let admin = w.service.admin(&who(&root)).unwrap();
    assert_eq!(
        w.service
            .list_users(&admin, &UserQuery::default())
            .unwrap()
            .total,
        2
    );
    let off = AdminPatch {
        status: Some(AdminStatus::Inactive),
        is_admin: None,
    };
    assert_fails!(
        w.service.update_user(&admin, root.user.id, &off),
        UpdateUserError::CannotChangeOwnAccount
    );
    assert_fails!(
        w.service
            .update_user(&admin, domain::UserId::generate(), &off),
        UpdateUserError::NotFound
    );
    let user = w.service.update_user(&admin, bob.user.id, &off).unwrap();
    assert_eq!(user.status, UserStatus::Inactive);
    assert_fails!(
        w.service
            .authenticate(&Credentials::bearer(bob.access_token.as_str())),
        AuthenticateError::InvalidToken
    );
    assert_fails!(
        login(&w, "bob@example.com", PASSWORD),
        LoginError::InactiveAccount
    );
    assert_fails!(
        w.service
            .update_user_by_email(&Admin::console(), &email("nobody@example.com"), &off),
        UpdateUserError::NotFound
    );
}

#[test]
fn mails_past_the_limit_are_skipped_until_the_window_slides() {
    let policy = Policy {
        max_mails_per_recipient: 2,
        ..Policy::default()
    };
    let w = world_with(policy, 256, None);
    let mails = || {
        std::fs::read_to_string(w.dir.path().join("mailbox.jsonl"))
            .unwrap()
            .lines()
            .count()
    };
    let forgot = || {
        let email = Email::parse("ada@example.com").unwrap();
        w.service
            .forgot_password(email, ClientInfo::default())
            .unwrap();
    };
    active(&w, "ada@example.com");
    w.clock.advance(Duration::minutes(1));
    forgot();
    assert_eq!(mails(), 2, "the validation mail and one reset mail");
    forgot();
    assert_eq!(mails(), 2, "past the limit: skipped, without an error");
    // Just past a window after it, the validation mail stops counting:
    // one slot frees.
    let window = Policy::default().mail_window;
    w.clock
        .advance(window - Duration::minutes(1) + Duration::seconds(1));
    forgot();
    assert_eq!(mails(), 3);
    forgot();
    assert_eq!(mails(), 3);
}

/// Ada, active and logged in, with the id of her own organization.
fn owner(w: &World) -> (application::Principal, domain::OrganizationId) {
    active(w, "ada@example.com");
    let tokens = login(w, "ada@example.com", PASSWORD).unwrap();
    let who = w
        .service
        .authenticate(&Credentials::bearer(tokens.access_token.as_str()))
        .unwrap();
    let org = w.service.my_organizations(&who).unwrap()[0].organization.id;
    (who, org)
}

fn invite(w: &World, who: &application::Principal, org: domain::OrganizationId, email: &str) {
    w.service
        .invite(
            who,
            org,
            application::InviteRequest {
                email: Email::parse(email).unwrap(),
                role: domain::InviteRole::Member,
            },
            &ClientInfo::default(),
        )
        .unwrap();
}

fn sign_up_by_invite(
    w: &World,
    code: &str,
) -> Result<application::Tokens, application::InviteSignupError> {
    w.service.sign_up_by_invite(
        application::InviteSignupRequest {
            code: SecretString::from(code.to_owned()),
            password: SecretString::from(PASSWORD),
            first_name: PersonName::parse("Grace").unwrap(),
            last_name: PersonName::parse("Hopper").unwrap(),
            username: None,
            phone: None,
        },
        ClientInfo::default(),
    )
}

#[test]
fn an_invitation_works_until_its_lifetime_ends_not_at_it() {
    let w = world_with(
        Policy {
            invite_code_ttl: Duration::hours(1),
            ..Policy::default()
        },
        256,
        None,
    );
    let (who, org) = owner(&w);
    invite(&w, &who, org, "grace@example.com");
    let early = last_code(&w);
    invite(&w, &who, org, "alan@example.com");
    let late = last_code(&w);
    w.clock.advance(Duration::hours(1) - Duration::seconds(1));
    let tokens = sign_up_by_invite(&w, &early).unwrap();
    assert_eq!(tokens.user.status, UserStatus::Active);
    assert!(tokens.user.email_verified);
    w.clock.advance(Duration::seconds(1));
    assert_fails!(
        sign_up_by_invite(&w, &late),
        application::InviteSignupError::InvalidCode
    );
    assert!(w.service.invites(&who, org).unwrap().is_empty());
}

#[test]
fn the_organization_named_is_checked_and_the_oldest_is_the_default() {
    let w = world();
    let (who, org) = owner(&w);
    let second = w
        .service
        .create_organization(&who, domain::OrganizationName::parse("Second").unwrap())
        .unwrap()
        .organization
        .id;
    let tokens = login(&w, "ada@example.com", PASSWORD).unwrap();
    let named = |organization| Credentials {
        bearer: tokens.access_token.clone(),
        organization,
    };
    let acting = |organization| {
        let who = w.service.authenticate(&named(organization)).unwrap();
        w.service.verify(&who).unwrap().acting_for.unwrap()
    };
    assert_eq!(acting(None).organization_id, org, "the oldest membership");
    assert_eq!(acting(Some(second)).organization_id, second);
    assert_eq!(acting(Some(second)).role, Some(domain::Role::Owner));
    assert_fails!(
        w.service
            .authenticate(&named(Some(domain::OrganizationId::generate()))),
        AuthenticateError::InsufficientPermissions
    );
}

/// The codes of `base32` at `at`, as an authenticator app computes them.
fn totp_code(base32: &str, at: OffsetDateTime) -> SecretString {
    let secret = totp_rs::Secret::try_from_base32(base32).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    let time = u64::try_from(at.unix_timestamp()).unwrap();
    SecretString::from(totp.generate(time).to_string())
}

#[test]
fn a_login_challenge_lives_five_minutes_and_a_code_its_step() {
    let w = world();
    let (who, _) = owner(&w);
    let session = who.in_session().unwrap();
    let enrolment = w.service.setup_totp(&session).unwrap();
    let base32 = enrolment.secret.expose_secret().to_owned();
    let now = w.clock.now();
    w.service
        .confirm_totp(&session, &totp_code(&base32, now), &ClientInfo::default())
        .unwrap();
    let challenge = |w: &World| match login(w, "ada@example.com", PASSWORD) {
        Err(LoginError::MfaRequired { mfa_token }) => mfa_token,
        other => panic!("expected MfaRequired, got {other:?}"),
    };
    let second = |w: &World, token: &SecretString| {
        let code = totp_code(&base32, w.clock.now());
        w.service.login_mfa(
            token,
            application::SecondFactor::Code(code),
            ClientInfo::default(),
        )
    };

    let token = challenge(&w);
    w.clock.advance(Duration::minutes(5) - Duration::seconds(1));
    let tokens = second(&w, &token).unwrap();
    assert_eq!(tokens.user.id, who.user_id);

    let token = challenge(&w);
    w.clock.advance(Duration::minutes(5));
    assert_fails!(second(&w, &token), application::LoginMfaError::InvalidToken);

    // The code of the step before last still works once (clock drift), the
    // one before that never.
    let token = challenge(&w);
    let earlier = totp_code(&base32, w.clock.now() - Duration::seconds(30));
    let older = totp_code(&base32, w.clock.now() - Duration::seconds(60));
    assert_fails!(
        w.service.login_mfa(
            &token,
            application::SecondFactor::Code(older),
            ClientInfo::default()
        ),
        application::LoginMfaError::InvalidMfaCode
    );
    w.service
        .login_mfa(
            &token,
            application::SecondFactor::Code(earlier),
            ClientInfo::default(),
        )
        .unwrap();
}
