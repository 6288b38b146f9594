//! What is particular to the SQLite store: URLs, files, migrations,
//! durability across reopening, and many writers at once.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::thread;

use adapter_sqlite::SqliteStore;
use domain::{
    Email, LoginIdentifier, NewUser, Organization, OrganizationName, PasswordHash, PersonName,
    Phone, SecretDigest, Session, SessionId, SessionLifetime, User, UserStatus, Username,
};
use ports::{
    NewRefreshToken, Rotation, SessionStore, Store, StoreError, Successor, UniqueField, UserStore,
};
use time::{Duration, OffsetDateTime};

use crate::fresh_store;

fn now() -> OffsetDateTime {
    // Whole microseconds, as the store keeps them.
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap()
}

fn user(email: &str, username: Option<&str>, phone: Option<&str>) -> User {
    User::new(
        NewUser {
            email: Email::parse(email).unwrap(),
            username: username.map(|u| Username::parse(u).unwrap()),
            phone: phone.map(|p| Phone::parse(p).unwrap()),
            first_name: PersonName::parse("Ada").unwrap(),
            last_name: PersonName::parse("Lovelace").unwrap(),
            status: UserStatus::PendingValidation,
            email_verified: false,
            is_admin: false,
        },
        PasswordHash::new("$argon2id$v=19$test"),
        now(),
    )
}

fn org() -> Organization {
    Organization::new(OrganizationName::parse("Acme").unwrap(), now())
}

/// `target` as a path relative to the current directory.
fn relative_to_cwd(target: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap();
    let ups = cwd
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count();
    let mut relative: PathBuf = std::iter::repeat_n("..", ups).collect();
    relative.push(target.strip_prefix("/").unwrap());
    relative
}

#[test]
fn accepts_every_url_form() {
    let dir = tempfile::tempdir().unwrap();
    let abs = |name: &str| dir.path().join(name);
    let rel = |name: &str| relative_to_cwd(&abs(name)).display().to_string();
    // `abs(..)` displays with a leading `/`: `sqlite:///tmp/…`.
    let cases = [
        (format!("sqlite://{}", rel("a.db")), abs("a.db")),
        (format!("sqlite://{}", abs("b.db").display()), abs("b.db")),
        (format!("sqlite:{}", rel("c.db")), abs("c.db")),
        (format!("sqlite:{}", abs("d.db").display()), abs("d.db")),
        (rel("e.db"), abs("e.db")),
        (abs("f.db").display().to_string(), abs("f.db")),
    ];
    for (url, file) in cases {
        let store = SqliteStore::connect(&url, 2).unwrap();
        assert_eq!(store.migrate().unwrap().len(), 7, "{url}");
        store.ping().unwrap();
        assert!(file.is_file(), "{url} did not create {}", file.display());
        assert_eq!(
            store.path().canonicalize().unwrap(),
            file.canonicalize().unwrap()
        );
    }
}

#[test]
fn refuses_urls_it_cannot_serve() {
    for url in ["sqlite::memory:", ":memory:", "sqlite://", ""] {
        match SqliteStore::connect(url, 1) {
            Err(StoreError::Internal(_)) => {}
            other => panic!("{url:?}: expected Internal, got {other:?}"),
        }
    }
}

#[test]
fn creates_missing_parent_directories() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deep/er/authd.db");
    let store = SqliteStore::connect(&format!("sqlite://{}", file.display()), 2).unwrap();
    store.migrate().unwrap();
    assert!(file.is_file());
    assert_eq!(store.path(), file);
}

#[test]
fn an_unopenable_file_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"").unwrap();
    let url = format!("sqlite://{}", blocker.join("authd.db").display());
    match SqliteStore::connect(&url, 1) {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
    match SqliteStore::connect(&dir.path().display().to_string(), 1) {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("a directory: expected Unavailable, got {other:?}"),
    }
}

#[test]
fn migrating_twice_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("authd.db").display());
    let store = SqliteStore::connect(&url, 2).unwrap();
    assert_eq!(
        store.migrate().unwrap(),
        vec![
            "20261121000001".to_owned(),
            "20261201000001".to_owned(),
            "20261202000001".to_owned(),
            "20261202000002".to_owned(),
            "20261202000003".to_owned(),
            "20261203000001".to_owned(),
            "20261206000001".to_owned(),
        ]
    );
    assert!(store.migrate().unwrap().is_empty());
    drop(store);
    let again = SqliteStore::connect(&url, 2).unwrap();
    assert!(again.migrate().unwrap().is_empty());
}

#[test]
fn a_reopened_store_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("authd.db").display());
    let ada = user("ada@example.com", Some("ada"), Some("+33612345678"));
    {
        let store = SqliteStore::connect(&url, 2).unwrap();
        store.migrate().unwrap();
        store.create_user(&ada, &org(), None).unwrap();
    }
    let store = SqliteStore::connect(&url, 2).unwrap();
    assert!(store.migrate().unwrap().is_empty());
    assert_eq!(store.user_by_id(ada.id).unwrap(), Some(ada.clone()));
    let by_name = LoginIdentifier::parse("ADA").unwrap();
    assert_eq!(store.user_by_identifier(&by_name).unwrap(), Some(ada));
}

#[test]
fn duplicates_name_the_field() {
    let (store, _dir) = fresh_store();
    let first = user("ada@example.com", Some("ada"), Some("+33612345678"));
    store.create_user(&first, &org(), None).unwrap();
    let cases = [
        (user("ada@example.com", None, None), UniqueField::Email),
        (
            user("bob@example.com", Some("ada"), None),
            UniqueField::Username,
        ),
        (
            user("bob@example.com", None, Some("+33612345678")),
            UniqueField::Phone,
        ),
    ];
    for (clash, field) in cases {
        match store.create_user(&clash, &org(), None) {
            Err(StoreError::Duplicate(f)) => assert_eq!(f, field),
            other => panic!("expected Duplicate({field}), got {other:?}"),
        }
        assert_eq!(store.user_by_id(clash.id).unwrap(), None);
    }
}

fn session_of(user: &User, now: OffsetDateTime) -> Session {
    Session {
        id: SessionId::generate(),
        user_id: user.id,
        created_at: now,
        last_used_at: now,
        expires_at: now + Duration::days(30),
        revoked_at: None,
        user_agent: Some("test".into()),
        ip: Some("127.0.0.1".into()),
        factors: domain::Factors::Password,
    }
}

fn token(secret: &str, now: OffsetDateTime) -> NewRefreshToken {
    NewRefreshToken {
        digest: SecretDigest::of(secret),
        expires_at: now + Duration::days(30),
    }
}

fn successor(secret: &str) -> Successor {
    Successor {
        digest: SecretDigest::of(secret),
        lifetime: SessionLifetime {
            refresh_ttl: Duration::days(30),
            max_age: Duration::days(90),
        },
        user_agent: Some("test".into()),
        ip: Some("127.0.0.1".into()),
    }
}

/// Many writers at once: every sign-up, login and refresh succeeds; none
/// meets "database is locked".
#[test]
fn concurrent_writers_never_fail() {
    const THREADS: usize = 8;
    const ROUNDS: usize = 25;
    let (store, _dir) = fresh_store();
    let store = Arc::new(store);
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                for r in 0..ROUNDS {
                    let now = now();
                    let u = user(&format!("u{t}-{r}@example.com"), None, None);
                    store.create_user(&u, &org(), None).unwrap();
                    let s = session_of(&u, now);
                    store
                        .create_session(&s, &token(&format!("{t}-{r}-0"), now))
                        .unwrap();
                    let rotated = store
                        .rotate_refresh(
                            &SecretDigest::of(&format!("{t}-{r}-0")),
                            &successor(&format!("{t}-{r}-1")),
                            now,
                            Duration::ZERO,
                        )
                        .unwrap();
                    assert!(matches!(rotated, Rotation::Rotated(_)), "{rotated:?}");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    store.ping().unwrap();
}

/// What a change feed told, counted.
#[derive(Default)]
struct Told {
    counts: std::sync::Mutex<(u32, u32)>,
    wake: std::sync::Condvar,
}

impl Told {
    /// Waits, at most 5 s, until (resynced, lost) satisfies `done`.
    fn wait(&self, done: impl Fn(u32, u32) -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut counts = self.counts.lock().unwrap();
        while !done(counts.0, counts.1) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            assert!(!left.is_zero(), "told (resynced, lost) = {:?}", *counts);
            counts = self.wake.wait_timeout(counts, left).unwrap().0;
        }
    }
}

impl ports::ChangeListener for Told {
    fn changed(&self, _: ports::Change) {}
    fn resynced(&self, _: std::time::Instant) {
        self.counts.lock().unwrap().0 += 1;
        self.wake.notify_all();
    }
    fn alive(&self, _: std::time::Instant) {}
    fn lost(&self) {
        self.counts.lock().unwrap().1 += 1;
        self.wake.notify_all();
    }
}

/// More changes committed at once than the table keeps: the feed finds
/// the first of them pruned before it read it, says so, and starts over.
#[test]
fn a_feed_that_finds_changes_pruned_unread_starts_over() {
    use diesel::{Connection, SqliteConnection, connection::SimpleConnection};

    let (store, _dir) = fresh_store();
    let told = Arc::new(Told::default());
    let _feed = store.watch_changes(Arc::clone(&told) as _).unwrap();
    told.wait(|resynced, _| resynced == 1);
    let mut side = SqliteConnection::establish(store.path().to_str().unwrap()).unwrap();
    side.batch_execute(
        "PRAGMA busy_timeout = 5000;
         BEGIN IMMEDIATE;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10001)
         INSERT INTO changes (account) SELECT NULL FROM n;
         COMMIT;",
    )
    .unwrap();
    told.wait(|resynced, lost| lost == 1 && resynced == 2);
}
