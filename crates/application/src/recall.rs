//! What an instance remembers of the callers it has checked, so that a
//! caller seen again costs no signature check and no store read.
//!
//! A verified access token is remembered until it expires: its signature
//! stays good. What the store said of an account (its sessions, API keys,
//! standing, memberships) is remembered only while the store's change feed
//! is trusted (see [`ports::ChangeListener`]), and forgotten at once when
//! this instance changes it or when the feed tells of another instance's
//! change. A caller the store refused (an unknown token, session, key or
//! account) is never remembered, so a remembered answer can only be out of
//! date by a change the feed has not brought yet.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard, PoisonError},
    time::Instant,
};

use domain::{
    AccessClaims, ApiKey, OrganizationId, Role, SecretDigest, Session, SessionId, User, UserId,
};
use ports::{Change, ChangeListener, Store, StoreError, TokenError, TokenIssuer};
use time::OffsetDateTime;

/// How many tokens, and how many things of accounts (a session, a key, a
/// user, a membership), are remembered at most; past either, another is
/// forgotten to make room (no matter which: any is read again when needed).
pub(crate) const CAPACITY: usize = 50_000;

/// How many things of one account are remembered at most (sessions of
/// many devices, organizations an administrator acts for); past it, more
/// are read from the store each time.
const PER_ACCOUNT: usize = CAPACITY / 16;

/// The remembered part of checking callers. Its `Debug` shows counts,
/// never what is remembered.
#[derive(Default)]
pub(crate) struct Recall {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Recall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("Recall")
            .field("tokens", &inner.tokens.len())
            .field("accounts", &inner.accounts.len())
            .field("trusted_until", &inner.trusted_until)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inner {
    /// Access tokens whose signature and claims were verified, by digest.
    tokens: HashMap<[u8; 32], AccessClaims>,
    /// What the store said of each account.
    accounts: HashMap<UserId, Account>,
    /// The owner of each remembered API key, by the key's digest.
    key_owners: HashMap<[u8; 32], UserId>,
    /// The things remembered of all accounts.
    remembered: usize,
    /// Counts every forgetting: a store answer read before one is not
    /// remembered after it.
    generation: u64,
    /// Until when the change feed is known to work; `None` when it is not.
    trusted_until: Option<Instant>,
}

#[derive(Default)]
struct Account {
    user: Option<User>,
    sessions: HashMap<SessionId, Session>,
    keys: HashMap<[u8; 32], ApiKey>,
    /// The oldest membership, or none.
    oldest: Option<Option<(OrganizationId, Role)>>,
    /// Organizations that exist, with the account's role there if any.
    organizations: HashMap<OrganizationId, Option<Role>>,
}

impl Account {
    /// The things remembered of it.
    fn size(&self) -> usize {
        usize::from(self.user.is_some())
            + usize::from(self.oldest.is_some())
            + self.sessions.len()
            + self.keys.len()
            + self.organizations.len()
    }
}

/// A snapshot of the recall's generation, taken before store reads: what
/// they answer is remembered only if nothing was forgotten meanwhile.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(Option<u64>);

/// A read the recall could not answer. Only ever a cause of
/// [`StoreError::Unavailable`] from [`Remembered`], whose callers fall
/// back to the store on any error.
#[derive(Debug, thiserror::Error)]
#[error("not remembered")]
pub(crate) struct NotRemembered;

fn not_remembered() -> StoreError {
    StoreError::Unavailable(Box::new(NotRemembered))
}

/// Whether `error` is a read [`Remembered`] could not answer.
pub(crate) fn is_not_remembered(error: &StoreError) -> bool {
    matches!(error, StoreError::Unavailable(source) if source.is::<NotRemembered>())
}

impl Inner {
    fn trusted(&self, at: Instant) -> bool {
        self.trusted_until.is_some_and(|until| at < until)
    }

    fn forget_everything(&mut self) {
        self.generation += 1;
        self.accounts.clear();
        self.key_owners.clear();
        self.remembered = 0;
    }

    /// Drops `user`'s account, if remembered.
    fn drop_account(&mut self, user: UserId) {
        if let Some(account) = self.accounts.remove(&user) {
            self.remembered -= account.size();
            for digest in account.keys.keys() {
                self.key_owners.remove(digest);
            }
        }
    }

    /// Remembers into `user`'s account with `f`, if `ticket` still holds;
    /// then makes room, forgetting other accounts, while past capacity.
    /// Making room needs no new generation: nothing untrue is remembered.
    fn remember(&mut self, ticket: Ticket, user: UserId, f: impl FnOnce(&mut Account)) {
        if ticket.0 != Some(self.generation) || !self.trusted(Instant::now()) {
            return;
        }
        let account = self.accounts.entry(user).or_default();
        let before = account.size();
        if before >= PER_ACCOUNT {
            // One account must not crowd out all the others.
            return;
        }
        f(account);
        self.remembered = self.remembered - before + account.size();
        while self.remembered > CAPACITY {
            let Some(victim) = self.accounts.keys().copied().find(|id| *id != user) else {
                break;
            };
            self.drop_account(victim);
        }
    }

    /// The remembered account, if the feed is trusted.
    fn remembered(&self, user: UserId) -> Option<&Account> {
        if !self.trusted(Instant::now()) {
            return None;
        }
        self.accounts.get(&user)
    }
}

impl Recall {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets what `change` may have made untrue, on this instance.
    pub(crate) fn forget(&self, change: Change) {
        let mut inner = self.lock();
        match change {
            Change::Account(user) => {
                inner.generation += 1;
                inner.drop_account(user);
            }
            Change::Everything => inner.forget_everything(),
        }
    }

    /// A ticket for store reads starting now.
    pub(crate) fn ticket(&self) -> Ticket {
        let inner = self.lock();
        Ticket(inner.trusted(Instant::now()).then_some(inner.generation))
    }

    /// The claims of `bearer`, if its signature was verified before and it
    /// has not expired by `now`.
    fn token(&self, digest: &[u8; 32], now: OffsetDateTime) -> Result<AccessClaims, TokenError> {
        let inner = self.lock();
        match inner.tokens.get(digest) {
            Some(claims) if now >= claims.expires_at => Err(TokenError::Expired),
            Some(claims) => Ok(claims.clone()),
            None => Err(TokenError::Invalid),
        }
    }

    fn remember_token(&self, digest: [u8; 32], claims: &AccessClaims, now: OffsetDateTime) {
        let mut inner = self.lock();
        if inner.tokens.len() >= CAPACITY {
            // Once in a while, not on every insert: expired tokens go, then
            // others until a tenth of the room is free.
            inner.tokens.retain(|_, c| now < c.expires_at);
            let excess = inner.tokens.len().saturating_sub(CAPACITY - CAPACITY / 10);
            let victims: Vec<[u8; 32]> = inner.tokens.keys().take(excess).copied().collect();
            for victim in victims {
                inner.tokens.remove(&victim);
            }
        }
        inner.tokens.insert(digest, claims.clone());
    }
}

impl ChangeListener for Recall {
    fn changed(&self, change: Change) {
        self.forget(change);
    }

    fn resynced(&self, until: Instant) {
        let mut inner = self.lock();
        inner.forget_everything();
        inner.trusted_until = Some(until);
    }

    fn alive(&self, until: Instant) {
        let mut inner = self.lock();
        if inner.trusted_until.is_some() {
            inner.trusted_until = Some(until);
        }
    }

    fn lost(&self) {
        let mut inner = self.lock();
        inner.forget_everything();
        inner.trusted_until = None;
    }
}

/// The reads that checking a caller makes.
pub(crate) trait CallerReads {
    /// The claims of an access token, its signature checked.
    fn claims(&self, bearer: &str, now: OffsetDateTime) -> Result<AccessClaims, TokenError>;
    /// A session, which the token of `user` names, for a request at `now`.
    fn session(
        &self,
        user: UserId,
        id: SessionId,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, StoreError>;
    /// An account.
    fn user(&self, id: UserId) -> Result<Option<User>, StoreError>;
    /// The oldest membership of `user`.
    fn oldest_membership(&self, user: UserId)
    -> Result<Option<(OrganizationId, Role)>, StoreError>;
    /// Whether `organization` exists, and the role of `user` there.
    fn membership(
        &self,
        organization: OrganizationId,
        user: UserId,
    ) -> Result<Option<Option<Role>>, StoreError>;
    /// An API key and its owner, by the secret's digest.
    fn api_key(&self, digest: &SecretDigest) -> Result<Option<(ApiKey, User)>, StoreError>;
    /// Records a use of `key` at `now`, unless one was recorded after
    /// `since`.
    fn record_key_use(
        &self,
        key: &ApiKey,
        digest: &SecretDigest,
        now: OffsetDateTime,
        since: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// Only what the recall remembers: any other read fails, with
/// [`NotRemembered`]. Of accounts, nothing is remembered unless the feed
/// has caught up, that is has told every change that had arrived.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Remembered<'a> {
    pub(crate) recall: &'a Recall,
    pub(crate) caught_up: bool,
}

impl Remembered<'_> {
    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        if self.caught_up {
            Ok(self.recall.lock())
        } else {
            Err(not_remembered())
        }
    }
}

impl CallerReads for Remembered<'_> {
    fn claims(&self, bearer: &str, now: OffsetDateTime) -> Result<AccessClaims, TokenError> {
        self.recall.token(SecretDigest::of(bearer).as_bytes(), now)
    }

    /// Only a session live at `now`: one remembered as ended may have been
    /// refreshed since (a refresh moves its end, and is no news).
    fn session(
        &self,
        user: UserId,
        id: SessionId,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, StoreError> {
        let inner = self.lock()?;
        let account = inner.remembered(user).ok_or_else(not_remembered)?;
        match account.sessions.get(&id) {
            Some(session) if session.is_active(now) => Ok(Some(session.clone())),
            _ => Err(not_remembered()),
        }
    }

    fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let inner = self.lock()?;
        let account = inner.remembered(id).ok_or_else(not_remembered)?;
        account.user.clone().map(Some).ok_or_else(not_remembered)
    }

    fn oldest_membership(
        &self,
        user: UserId,
    ) -> Result<Option<(OrganizationId, Role)>, StoreError> {
        let inner = self.lock()?;
        let account = inner.remembered(user).ok_or_else(not_remembered)?;
        account.oldest.ok_or_else(not_remembered)
    }

    fn membership(
        &self,
        organization: OrganizationId,
        user: UserId,
    ) -> Result<Option<Option<Role>>, StoreError> {
        let inner = self.lock()?;
        let account = inner.remembered(user).ok_or_else(not_remembered)?;
        let role = account
            .organizations
            .get(&organization)
            .ok_or_else(not_remembered)?;
        Ok(Some(*role))
    }

    fn api_key(&self, digest: &SecretDigest) -> Result<Option<(ApiKey, User)>, StoreError> {
        let inner = self.lock()?;
        let owner = inner
            .key_owners
            .get(digest.as_bytes())
            .ok_or_else(not_remembered)?;
        let account = inner.remembered(*owner).ok_or_else(not_remembered)?;
        let key = account.keys.get(digest.as_bytes());
        match (key, &account.user) {
            (Some(key), Some(user)) => Ok(Some((key.clone(), user.clone()))),
            _ => Err(not_remembered()),
        }
    }

    fn record_key_use(
        &self,
        _: &ApiKey,
        _: &SecretDigest,
        _: OffsetDateTime,
        _: OffsetDateTime,
    ) -> Result<(), StoreError> {
        Err(not_remembered())
    }
}

/// What the recall remembers, else the store (and the token issuer),
/// whose answers are then remembered.
pub(crate) struct ReadThrough<'a> {
    memory: Remembered<'a>,
    store: &'a dyn Store,
    tokens: &'a dyn TokenIssuer,
    ticket: Ticket,
}

impl<'a> ReadThrough<'a> {
    pub(crate) fn new(
        memory: Remembered<'a>,
        store: &'a dyn Store,
        tokens: &'a dyn TokenIssuer,
    ) -> Self {
        Self {
            memory,
            store,
            tokens,
            ticket: memory.recall.ticket(),
        }
    }

    /// Remembers into `user`'s account, if the ticket still holds.
    fn remember(&self, user: UserId, f: impl FnOnce(&mut Account)) {
        self.memory.recall.lock().remember(self.ticket, user, f);
    }
}

impl CallerReads for ReadThrough<'_> {
    fn claims(&self, bearer: &str, now: OffsetDateTime) -> Result<AccessClaims, TokenError> {
        let digest = SecretDigest::of(bearer);
        match self.memory.recall.token(digest.as_bytes(), now) {
            Err(TokenError::Invalid) => {
                let claims = self.tokens.verify(bearer, now)?;
                self.memory
                    .recall
                    .remember_token(*digest.as_bytes(), &claims, now);
                Ok(claims)
            }
            known => known,
        }
    }

    fn session(
        &self,
        user: UserId,
        id: SessionId,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, StoreError> {
        if let Ok(known) = self.memory.session(user, id, now) {
            return Ok(known);
        }
        let session = self.store.session(id)?;
        if let Some(s) = &session {
            self.remember(s.user_id, |a| {
                a.sessions.insert(id, s.clone());
            });
        }
        Ok(session)
    }

    fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        if let Ok(known) = self.memory.user(id) {
            return Ok(known);
        }
        let user = self.store.user_by_id(id)?;
        if let Some(u) = &user {
            self.remember(id, |a| a.user = Some(u.clone()));
        }
        Ok(user)
    }

    fn oldest_membership(
        &self,
        user: UserId,
    ) -> Result<Option<(OrganizationId, Role)>, StoreError> {
        if let Ok(known) = self.memory.oldest_membership(user) {
            return Ok(known);
        }
        let oldest = self
            .store
            .organizations_of(user)?
            .into_iter()
            .next()
            .map(|(organization, role)| (organization.id, role));
        self.remember(user, |a| a.oldest = Some(oldest));
        Ok(oldest)
    }

    fn membership(
        &self,
        organization: OrganizationId,
        user: UserId,
    ) -> Result<Option<Option<Role>>, StoreError> {
        if let Ok(known) = self.memory.membership(organization, user) {
            return Ok(known);
        }
        let role = self
            .store
            .organization_for(organization, user)?
            .map(|(_, role)| role);
        if let Some(role) = role {
            self.remember(user, |a| {
                a.organizations.insert(organization, role);
            });
        }
        Ok(role)
    }

    fn api_key(&self, digest: &SecretDigest) -> Result<Option<(ApiKey, User)>, StoreError> {
        if let Ok(known) = self.memory.api_key(digest) {
            return Ok(known);
        }
        let found = self.store.api_key_by_digest(digest)?;
        if let Some((key, owner)) = &found {
            let mut inner = self.memory.recall.lock();
            let mut remembered = false;
            inner.remember(self.ticket, owner.id, |account| {
                account.keys.insert(*digest.as_bytes(), key.clone());
                account.user = Some(owner.clone());
                remembered = true;
            });
            if remembered {
                inner.key_owners.insert(*digest.as_bytes(), owner.id);
            }
        }
        Ok(found)
    }

    fn record_key_use(
        &self,
        key: &ApiKey,
        digest: &SecretDigest,
        now: OffsetDateTime,
        since: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.store.record_api_key_use(key.id, now, since)?;
        // A use is no change the feed tells of: the remembered key learns
        // it here, or every request would record one.
        let mut inner = self.memory.recall.lock();
        if let Some(remembered) = inner
            .accounts
            .get_mut(&key.user_id)
            .and_then(|a| a.keys.get_mut(digest.as_bytes()))
        {
            remembered.last_used_at = Some(now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use domain::{Factors, SessionId, UserId};
    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2030-01-01 0:00 UTC);

    fn trusted() -> Recall {
        let recall = Recall::default();
        recall.resynced(Instant::now() + Duration::from_secs(60));
        recall
    }

    fn session(user: UserId) -> Session {
        Session {
            id: SessionId::generate(),
            user_id: user,
            created_at: NOW,
            last_used_at: NOW,
            expires_at: NOW + time::Duration::hours(1),
            revoked_at: None,
            user_agent: None,
            ip: None,
            factors: Factors::Password,
        }
    }

    /// Remembers `session` as a read that took `ticket` would.
    fn fill(recall: &Recall, ticket: Ticket, session: &Session) {
        recall.lock().remember(ticket, session.user_id, |account| {
            account.sessions.insert(session.id, session.clone());
        });
    }

    fn recalled(recall: &Recall, session: &Session) -> Option<Session> {
        let memory = Remembered {
            recall,
            caught_up: true,
        };
        memory
            .session(session.user_id, session.id, NOW)
            .ok()
            .flatten()
    }

    #[test]
    fn a_store_answer_read_before_a_forgetting_is_not_remembered() {
        let recall = trusted();
        let s = session(UserId::generate());
        let ticket = recall.ticket();
        recall.forget(Change::Account(UserId::generate()));
        fill(&recall, ticket, &s);
        assert_eq!(
            recalled(&recall, &s),
            None,
            "any forgetting voids the ticket"
        );
        fill(&recall, recall.ticket(), &s);
        assert_eq!(recalled(&recall, &s), Some(s.clone()));
        recall.forget(Change::Account(s.user_id));
        assert_eq!(recalled(&recall, &s), None);
        fill(&recall, recall.ticket(), &s);
        recall.forget(Change::Everything);
        assert_eq!(recalled(&recall, &s), None);
    }

    #[test]
    fn nothing_of_accounts_is_remembered_without_a_trusted_feed() {
        let s = session(UserId::generate());
        let never = Recall::default();
        fill(&never, never.ticket(), &s);
        assert_eq!(recalled(&never, &s), None, "no feed, no memory");

        let recall = trusted();
        fill(&recall, recall.ticket(), &s);
        let behind = Remembered {
            recall: &recall,
            caught_up: false,
        };
        assert!(
            behind.session(s.user_id, s.id, NOW).is_err(),
            "the feed is behind"
        );
        recall.lost();
        assert_eq!(recalled(&recall, &s), None, "lost, and forgotten");
        recall.alive(Instant::now() + Duration::from_secs(60));
        fill(&recall, recall.ticket(), &s);
        assert_eq!(recalled(&recall, &s), None, "renewal is no resync");

        recall.resynced(Instant::now() + Duration::from_millis(30));
        fill(&recall, recall.ticket(), &s);
        assert_eq!(recalled(&recall, &s), Some(s.clone()));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(recalled(&recall, &s), None, "the lease ran out");
    }

    #[test]
    fn a_session_remembered_as_ended_is_read_again() {
        let recall = trusted();
        let s = session(UserId::generate());
        fill(&recall, recall.ticket(), &s);
        let memory = Remembered {
            recall: &recall,
            caught_up: true,
        };
        assert!(memory.session(s.user_id, s.id, s.expires_at).is_err());
        let live = memory.session(s.user_id, s.id, NOW).ok().flatten();
        assert_eq!(live, Some(s.clone()));
    }

    #[test]
    fn a_verified_token_is_remembered_until_it_expires() {
        let recall = Recall::default();
        let claims = AccessClaims {
            user_id: UserId::generate(),
            session_id: SessionId::generate(),
            token_id: Uuid::now_v7(),
            issued_at: NOW,
            expires_at: NOW + time::Duration::minutes(15),
            factors: Factors::Password,
        };
        let digest = *SecretDigest::of("a.b.c").as_bytes();
        assert_eq!(recall.token(&digest, NOW), Err(TokenError::Invalid));
        recall.remember_token(digest, &claims, NOW);
        assert_eq!(recall.token(&digest, NOW), Ok(claims.clone()));
        let end = claims.expires_at;
        assert_eq!(recall.token(&digest, end), Err(TokenError::Expired));
    }

    #[test]
    fn past_capacity_room_is_made_and_nothing_else_forgotten() {
        let recall = trusted();
        let first = session(UserId::generate());
        fill(&recall, recall.ticket(), &first);
        let generation = recall.lock().generation;
        for _ in 1..CAPACITY + 10 {
            fill(&recall, recall.ticket(), &session(UserId::generate()));
        }
        let inner = recall.lock();
        assert_eq!(inner.remembered, CAPACITY);
        assert_eq!(inner.accounts.len(), CAPACITY);
        assert_eq!(inner.generation, generation, "making room is no change");
    }

    #[test]
    fn a_full_token_memory_makes_room_for_many_at_once() {
        let recall = Recall::default();
        let claims = || AccessClaims {
            user_id: UserId::generate(),
            session_id: SessionId::generate(),
            token_id: Uuid::now_v7(),
            issued_at: NOW,
            expires_at: NOW + time::Duration::minutes(15),
            factors: Factors::Password,
        };
        for n in 0..=u32::try_from(CAPACITY).unwrap() {
            let digest = *SecretDigest::of(&n.to_string()).as_bytes();
            recall.remember_token(digest, &claims(), NOW);
        }
        let held = recall.lock().tokens.len();
        assert_eq!(held, CAPACITY - CAPACITY / 10 + 1);
    }

    #[test]
    fn one_account_cannot_crowd_out_the_others() {
        let recall = trusted();
        let user = UserId::generate();
        for _ in 0..PER_ACCOUNT + 10 {
            fill(&recall, recall.ticket(), &session(user));
        }
        assert_eq!(recall.lock().remembered, PER_ACCOUNT);
    }
}
