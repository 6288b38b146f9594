use std::{fmt, sync::Arc};

use domain::{
    AdminPatch, ApiKey, ApiKeyId, CodeKind, Invite, InviteId, LoginIdentifier, Member,
    MemberChange, MemberRefusal, Organization, OrganizationId, OrganizationName,
    OrganizationRefusal, PasswordHash, ProfilePatch, Role, SealedSecret, SecretDigest, Session,
    SessionId, SessionLifetime, TimeStep, User, UserId, UserPage, UserQuery, UserStatus,
};
use time::{Duration, OffsetDateTime};

use crate::{ChangeFeed, ChangeListener};

/// A boxed error from a driver, kept as the source of a [`StoreError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which unique attribute of a user a write collided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueField {
    /// The e-mail address (compared case-insensitively).
    Email,
    /// The username (compared case-insensitively).
    Username,
    /// The phone number.
    Phone,
    /// A membership: the user (or an account with the address) already
    /// belongs to the organization.
    Member,
}

impl fmt::Display for UniqueField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Email => "email",
            Self::Username => "username",
            Self::Phone => "phone",
            Self::Member => "member",
        })
    }
}

/// The database answers but takes no writes (a standby, a primary being
/// demoted, `default_transaction_read_only`): the source of the
/// [`StoreError::Unavailable`] that [`Store::ping`] answers then.
#[derive(Debug, thiserror::Error)]
#[error("the database takes no writes")]
pub struct ReadOnlyDatabase;

impl StoreError {
    /// Whether this is [`Store::ping`]'s answer for a database that answers
    /// but takes no writes.
    pub fn is_read_only(&self) -> bool {
        matches!(self, Self::Unavailable(source) if source.is::<ReadOnlyDatabase>())
    }
}

/// What can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique attribute is already taken; nothing was written.
    #[error("{0} is already taken")]
    Duplicate(UniqueField),
    /// The record the call names does not exist (or is not usable: a spent
    /// or expired code, another user's session).
    #[error("not found")]
    NotFound,
    /// The database cannot be reached or is overloaded; retrying later may work.
    #[error("store unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else (a bug, a corrupt row).
    #[error("store failure")]
    Internal(#[source] BoxError),
}

impl StoreError {
    /// [`StoreError::Internal`] for a stored value of `column` that does
    /// not make a valid domain value (a bug or a hand edit).
    pub fn corrupt(column: &'static str) -> Self {
        Self::Internal(Box::new(CorruptColumn {
            column,
            source: None,
        }))
    }

    /// Like [`StoreError::corrupt`], keeping the parse error as the
    /// source; for `map_err`.
    pub fn corrupt_with<E>(column: &'static str) -> impl FnOnce(E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        move |source| {
            Self::Internal(Box::new(CorruptColumn {
                column,
                source: Some(Box::new(source)),
            }))
        }
    }
}

/// A stored value that no longer parses as its domain type.
#[derive(Debug, thiserror::Error)]
#[error("corrupt value in column {column}")]
struct CorruptColumn {
    column: &'static str,
    #[source]
    source: Option<BoxError>,
}

/// A one-time code, as stored: only the digest of the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeCode {
    /// SHA-256 of the code that was mailed or returned.
    pub digest: SecretDigest,
    /// What it is for.
    pub kind: CodeKind,
    /// Whose it is.
    pub user_id: UserId,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it stops working (exclusive).
    pub expires_at: OffsetDateTime,
}

/// The next refresh token of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefreshToken {
    /// SHA-256 of the opaque token handed to the client.
    pub digest: SecretDigest,
    /// When it stops working (exclusive); the session's new expiry.
    pub expires_at: OffsetDateTime,
}

/// What a rotation records in place of the refresh token it spends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Successor {
    /// SHA-256 of the next opaque token handed to the client.
    pub digest: SecretDigest,
    /// How long the session lives: the successor expires at
    /// [`SessionLifetime::next_refresh_expiry`] of the session's login and
    /// the rotation's time, and so does the session.
    pub lifetime: SessionLifetime,
    /// The `User-Agent` of the client presenting the token, recorded on
    /// the session when it rotates.
    pub user_agent: Option<String>,
    /// The address of the client presenting the token, recorded on the
    /// session when it rotates.
    pub ip: Option<String>,
}

/// The outcome of presenting a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live: it is now spent, the next one is recorded, and
    /// this is the session as it now stands.
    Rotated(Session),
    /// The token was spent less than the grace period ago and `next` is the
    /// successor its first spending recorded: nothing was written. The
    /// client gets that successor again; it expires at `expires_at`.
    Replayed {
        /// The session, as it stands.
        session: Session,
        /// When the recorded successor expires.
        expires_at: OffsetDateTime,
    },
    /// The token had been spent before (outside the grace period): the
    /// whole session of this user has been revoked, in the same
    /// transaction.
    Reused(UserId),
    /// The token, or its session, is past its expiry.
    Expired,
    /// No such token, or its session was revoked.
    Invalid,
}

/// The limits of login throttling, within one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    /// Failures one account may have in the window.
    pub per_account: u32,
    /// Failures one client address may have in the window.
    pub per_ip: u32,
}

/// Whether a login attempt (or a mail, for [`MailThrottleStore`]) may go
/// ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// It may: a failure is now recorded for it, which a successful login
    /// clears (for a mail: the mail is recorded).
    Admitted,
    /// It may not; nothing was recorded. `frees_at` is when the limits that
    /// were reached free a slot: for each such limit, the time of the
    /// failure whose leaving the window brings its count under the limit
    /// (with `count >= limit`, the `count - limit + 1`-th oldest in the
    /// window), and of those the latest.
    Refused {
        /// When a slot frees, as the time of the failure that must leave.
        frees_at: OffsetDateTime,
    },
}

/// Users and their credentials.
pub trait UserStore {
    /// Stores a new user together with the organization it owns (the user
    /// becomes its [`Role::Owner`]) and, when given, the user's first code
    /// (the validation code a sign-up mails), all or nothing: a failure at
    /// any point, a lost connection included, leaves none of them stored.
    ///
    /// # Errors
    /// MUST return [`StoreError::Duplicate`] naming the field when the
    /// e-mail address or username (case-insensitively) or the phone is
    /// taken, enforced by the database so concurrent sign-ups cannot both
    /// succeed; nothing is stored then. MUST refuse a `code` of another
    /// user with [`StoreError::Internal`], storing nothing.
    fn create_user(
        &self,
        user: &User,
        organization: &Organization,
        code: Option<&OneTimeCode>,
    ) -> Result<(), StoreError>;

    /// The user with this id, if any.
    fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;

    /// The user an e-mail address, username or phone names, if any.
    fn user_by_identifier(&self, identifier: &LoginIdentifier) -> Result<Option<User>, StoreError>;

    /// Applies `patch` to the user's profile and returns the result.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown user;
    /// [`StoreError::Duplicate`] if the new username or phone is taken.
    fn update_profile(
        &self,
        id: UserId,
        patch: &ProfilePatch,
        now: OffsetDateTime,
    ) -> Result<User, StoreError>;

    /// Replaces the user's password hash (e.g. an upgrade at login).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown user.
    fn set_password_hash(
        &self,
        id: UserId,
        hash: &PasswordHash,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Sets the user's status and returns the updated user. Setting
    /// [`UserStatus::Inactive`] also revokes every session of the user at
    /// `now`, in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown user.
    fn set_user_status(
        &self,
        id: UserId,
        status: UserStatus,
        now: OffsetDateTime,
    ) -> Result<User, StoreError>;
}

/// Organizations and memberships.
///
/// Reading a caller's standing and then acting on it is two steps; the
/// changes that must keep an invariant under concurrency (an organization
/// never loses its last owner) or cannot be undone (deleting it) judge the
/// actor again inside their own transaction.
pub trait OrganizationStore {
    /// The organizations `user` belongs to, with the user's role in each,
    /// the oldest membership first (ties: the lower organization id).
    fn organizations_of(&self, user: UserId) -> Result<Vec<(Organization, Role)>, StoreError>;

    /// The organization with this id, and `user`'s role there (`None` when
    /// not a member); `None` when there is no such organization.
    fn organization_for(
        &self,
        id: OrganizationId,
        user: UserId,
    ) -> Result<Option<(Organization, Option<Role>)>, StoreError>;

    /// Stores a new organization with `owner` as its [`Role::Owner`],
    /// joined at the organization's creation, all or nothing.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] if `owner` does not exist;
    /// nothing is stored then.
    fn create_organization(
        &self,
        organization: &Organization,
        owner: UserId,
    ) -> Result<(), StoreError>;

    /// Renames an organization and returns it.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] if it does not exist.
    fn rename_organization(
        &self,
        id: OrganizationId,
        name: &OrganizationName,
    ) -> Result<Organization, StoreError>;

    /// Deletes an organization with its memberships and invitations (the
    /// users stay) if `actor` may, as [`domain::Standing::may`] judges
    /// [`domain::OrganizationAction::Delete`] inside the transaction that
    /// deletes, on the actor's role and platform administration as the
    /// store then holds them: an owner demoted meanwhile deletes nothing.
    /// Returns the refusal otherwise, with nothing written; an unknown
    /// organization is [`OrganizationRefusal::NotFound`].
    fn delete_organization(
        &self,
        id: OrganizationId,
        actor: UserId,
    ) -> Result<Result<(), OrganizationRefusal>, StoreError>;

    /// The members of an organization, the earliest to join first (ties:
    /// the lower user id); empty for an unknown organization.
    fn members_of(&self, id: OrganizationId) -> Result<Vec<Member>, StoreError>;

    /// Applies `actor`'s `change` to `target`'s membership of
    /// `organization` as [`domain::judge_member_change`] decides, judged
    /// inside the transaction that writes it on what the store then holds:
    /// the actor's role there and whether the actor is a platform
    /// administrator (`users.is_admin`), the target's role, and the number
    /// of owners. Concurrent changes to one organization take turns, so two
    /// owners demoting each other at once leave one owner. Returns the
    /// member as changed, or `None` once removed; the refusal, with
    /// nothing written, when the rule refuses (an unknown organization is
    /// [`domain::OrganizationRefusal::NotFound`]).
    fn change_member(
        &self,
        organization: OrganizationId,
        actor: UserId,
        target: UserId,
        change: MemberChange,
    ) -> Result<Result<Option<Member>, MemberRefusal>, StoreError>;
}

/// Invitations to organizations, each carrying a single-use code of which
/// only the digest is stored. An invitation is pending while it is neither
/// accepted nor revoked and `now < expires_at`.
pub trait InviteStore {
    /// Records `invite`, whose code has `digest`, and revokes (at
    /// `invite.created_at`) every other pending invitation of the same
    /// address to the same organization, in one transaction: re-inviting an
    /// address replaces its older invitation.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] if the organization does not
    /// exist, and [`StoreError::Duplicate`] with [`UniqueField::Member`] if
    /// an account with the invited address is a member already; nothing is
    /// written then.
    fn create_invite(&self, invite: &Invite, digest: &SecretDigest) -> Result<(), StoreError>;

    /// The pending invitations of an organization at `now`, oldest first.
    fn invites_of(
        &self,
        organization: OrganizationId,
        now: OffsetDateTime,
    ) -> Result<Vec<Invite>, StoreError>;

    /// Revokes a pending invitation of `organization` at `now`: its code
    /// stops working.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] unless `organization` has a
    /// pending invitation with this id.
    fn revoke_invite(
        &self,
        organization: OrganizationId,
        id: InviteId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// The pending invitation whose code has `digest`, if any. Spends nothing.
    fn invite_by_code(
        &self,
        digest: &SecretDigest,
        now: OffsetDateTime,
    ) -> Result<Option<Invite>, StoreError>;

    /// Spends the pending invitation whose code has `digest`, if it is for
    /// `user`'s address, and makes `user` a member with its role; marks the
    /// user's address verified (the code proves it) — one transaction. Of
    /// concurrent calls with one code, exactly one succeeds. Returns the
    /// organization and the role joined with.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] if no pending invitation has
    /// this code, it is for another address, or the user does not exist;
    /// [`StoreError::Duplicate`] with [`UniqueField::Member`] if the user
    /// is a member already (only a race with the acceptance of an older
    /// invitation leads there: a member's address cannot be invited).
    /// Nothing is written then.
    fn accept_invite(
        &self,
        digest: &SecretDigest,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<(Organization, Role), StoreError>;

    /// Spends the pending invitation whose code has `digest`, stores `user`
    /// (who must have the invited address) and makes them a member with
    /// the invitation's role, in one transaction. Of concurrent calls with
    /// one code, exactly one succeeds. Returns the organization and role.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] if no pending invitation has
    /// this code or it is for another address, and
    /// [`StoreError::Duplicate`] naming the field when the e-mail address,
    /// username or phone is taken. Nothing is written then: the code stays
    /// usable.
    fn sign_up_by_invite(
        &self,
        digest: &SecretDigest,
        user: &User,
        now: OffsetDateTime,
    ) -> Result<(Organization, Role), StoreError>;
}

/// One-time codes (validation, resend, reset, invite).
pub trait CodeStore {
    /// Records a new code.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the user does not exist.
    fn store_code(&self, code: &OneTimeCode) -> Result<(), StoreError>;

    /// Spends a code of `kind` that is unused and unexpired at `now`, and
    /// returns it. Of concurrent calls with one code, exactly one succeeds.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] if the code is unknown, of
    /// another kind, already spent, or expired (`now >= expires_at`).
    fn consume_code(
        &self,
        digest: &SecretDigest,
        kind: CodeKind,
        now: OffsetDateTime,
    ) -> Result<OneTimeCode, StoreError>;

    /// Spends a [`CodeKind::ValidateEmail`] code and, in the same
    /// transaction, marks its user's e-mail verified and turns a
    /// pending account active (an inactive one stays inactive). Returns the
    /// updated user. Other outstanding validation codes of the user are spent too.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] if the code is not usable, as for
    /// [`CodeStore::consume_code`]; nothing changes then.
    fn validate_email(
        &self,
        digest: &SecretDigest,
        now: OffsetDateTime,
    ) -> Result<User, StoreError>;

    /// Records `code` and spends (at `code.created_at`) every other unspent
    /// code of its kind and user, in one transaction: only the newest mailed
    /// code of a kind (reset, validation) works. Concurrent calls for one
    /// user take turns, so exactly one code, the newest, stays usable.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] if the user does not exist;
    /// nothing is written then.
    fn store_newest_code(&self, code: &OneTimeCode) -> Result<(), StoreError>;
}

/// Login sessions and their rotating refresh tokens.
pub trait SessionStore {
    /// Stores a new session and its first refresh token, all or nothing.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the session's user does not exist.
    fn create_session(&self, session: &Session, first: &NewRefreshToken) -> Result<(), StoreError>;

    /// The session with this id, whatever its state.
    fn session(&self, id: SessionId) -> Result<Option<Session>, StoreError>;

    /// Presents a refresh token. If it is live (unspent, unexpired at
    /// `now`, its session neither revoked nor expired nor past the end
    /// `next.lifetime` gives it), spends it and records `next` in the same
    /// session, expiring at [`SessionLifetime::next_refresh_expiry`];
    /// sets the session's `last_used_at` to `now`, its `expires_at` to that
    /// expiry and its `user_agent` and `ip` to `next`'s, in one
    /// transaction; and returns [`Rotation::Rotated`]. A session past its
    /// end ([`SessionLifetime::bound`]) answers [`Rotation::Expired`].
    ///
    /// The caller derives `next` from the presented token, so presenting one
    /// token again names the same successor. A token spent less than `grace`
    /// before `now` (a client that lost the answer, two tabs refreshing at
    /// once) is a replay: if `next` is the successor recorded in the same
    /// session, nothing is written and [`Rotation::Replayed`] is returned;
    /// if it is not (the derivation key changed), [`Rotation::Invalid`]. A
    /// replay records no client either.
    /// The grace period is measured from the first spending, so replays
    /// cannot stretch it; a `grace` of zero turns replays off. A token spent
    /// earlier than that is reuse: the session is revoked and
    /// [`Rotation::Reused`] returned. A revoked session answers
    /// [`Rotation::Invalid`] to any of its tokens.
    ///
    /// Of concurrent calls presenting one live token, exactly one rotates;
    /// the others, taking turns after it, find the token spent: each is a
    /// replay within a positive `grace`, and reuse with `grace` zero.
    fn rotate_refresh(
        &self,
        presented: &SecretDigest,
        next: &Successor,
        now: OffsetDateTime,
        grace: Duration,
    ) -> Result<Rotation, StoreError>;

    /// Revokes one of `user`'s sessions at `now` (idempotent for an already
    /// revoked one).
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] if the session does not exist or
    /// belongs to another user.
    fn revoke_session(
        &self,
        user: UserId,
        id: SessionId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Revokes every unrevoked session of `user` except `keep`, and returns
    /// how many were revoked.
    fn revoke_user_sessions(
        &self,
        user: UserId,
        keep: Option<SessionId>,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;

    /// The sessions of `user` that are live at `now` (not revoked, expiring
    /// after `now`), the most recently used first (ties: the newest id first).
    fn sessions_of(&self, user: UserId, now: OffsetDateTime) -> Result<Vec<Session>, StoreError>;
}

/// Failed-login counters shared by every instance on the same database.
pub trait LoginThrottleStore {
    /// Decides, and records, a login attempt for `account` (a normalised,
    /// bounded key) from client address `ip` at `at`, counting the failures
    /// recorded at or after `since`.
    ///
    /// If the account's count has reached `limits.per_account`, or the
    /// address's has reached `limits.per_ip`, nothing is recorded and
    /// [`Admission::Refused`] is returned. Otherwise a failure is recorded
    /// for the attempt, presumed until [`LoginThrottleStore::clear_failed_logins`]
    /// forgets it, and [`Admission::Admitted`] is returned.
    ///
    /// Counting and recording are one atomic step: of concurrent attempts
    /// for one account (or one address), never more are admitted than the
    /// limit allows.
    fn admit_login(
        &self,
        account: &str,
        ip: &str,
        at: OffsetDateTime,
        since: OffsetDateTime,
        limits: ThrottleLimits,
    ) -> Result<Admission, StoreError>;

    /// Forgets `account`'s failures (after a successful login) and any
    /// record older than `before`.
    fn clear_failed_logins(&self, account: &str, before: OffsetDateTime) -> Result<(), StoreError>;

    /// Forgets the one failure recorded for the attempt that
    /// [`LoginThrottleStore::admit_login`] admitted for `account` from
    /// `ip` at `at`, and no other: for an attempt that ended neither in
    /// failure nor in success (a right password that a second factor must
    /// follow). Nothing happens when there is no such record.
    fn withdraw_attempt(
        &self,
        account: &str,
        ip: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// What administrators do with accounts: find them, switch them on and
/// off, grant and withdraw the administrator's rights.
pub trait UserAdminStore {
    /// The users `query` selects: those with its status (any when `None`)
    /// whose e-mail address, username, first or last name contains its
    /// search text (compared lower-cased, `%` and `_` as plain
    /// characters), ordered by `created_at`, then `id`; `query.limit` of
    /// them after skipping `query.offset`. `total` counts every matching
    /// user, whatever the limit and offset.
    fn list_users(&self, query: &UserQuery) -> Result<UserPage, StoreError>;

    /// Applies `patch` to the user as [`AdminPatch::apply`] decides, and
    /// returns the updated user. When it switches the account off, every
    /// session of the user is revoked at `now` in the same transaction.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown user; nothing
    /// changes then.
    fn apply_admin_patch(
        &self,
        id: UserId,
        patch: &AdminPatch,
        now: OffsetDateTime,
    ) -> Result<User, StoreError>;
}

/// A user holds as many API keys as allowed already; nothing was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the user holds the most API keys allowed")]
pub struct TooManyKeys;

/// API keys: only a digest of each secret is stored.
pub trait ApiKeyStore {
    /// Stores `key`, whose secret has `digest`, unless its user holds
    /// `limit` keys already ([`TooManyKeys`], nothing stored). Counting and
    /// storing are one step: concurrent creations never pass the limit.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] if the user does not exist.
    fn create_api_key(
        &self,
        key: &ApiKey,
        digest: &SecretDigest,
        limit: u32,
    ) -> Result<Result<(), TooManyKeys>, StoreError>;

    /// The keys of `user`, the newest first (ties: the greater id first),
    /// expired ones too.
    fn api_keys_of(&self, user: UserId) -> Result<Vec<ApiKey>, StoreError>;

    /// Deletes one of `user`'s keys: from then on it is unknown, on every
    /// instance.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] if `user` has no key with this id.
    fn delete_api_key(&self, user: UserId, id: ApiKeyId) -> Result<(), StoreError>;

    /// The key whose secret has `digest`, with its owner as stored now
    /// (the caller judges expiry and the owner's status); `None` for a
    /// deleted or unknown key.
    fn api_key_by_digest(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<(ApiKey, User)>, StoreError>;

    /// Records a use of the key at `now`, unless one was recorded at or
    /// after `since` (by this instance or another): concurrent uses write
    /// once. A deleted key records nothing.
    fn record_api_key_use(
        &self,
        id: ApiKeyId,
        now: OffsetDateTime,
        since: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// A user's TOTP, as stored: the confirmed secret that login asks a code
/// of, a secret set up but not confirmed yet, and the time step of the
/// last code accepted. Empty for a user who never set TOTP up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TotpState {
    /// The confirmed secret, sealed.
    pub active: Option<SealedSecret>,
    /// The secret set up and not confirmed yet, sealed.
    pub pending: Option<SealedSecret>,
    /// The step of the last code accepted, by login or confirmation.
    pub last_step: Option<TimeStep>,
}

/// The challenge a login with the right password answers when TOTP is on:
/// only the digest of its single-use token is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaChallenge {
    /// SHA-256 of the `mfa_token` handed to the client.
    pub digest: SecretDigest,
    /// Whose login it is.
    pub user_id: UserId,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it stops working (exclusive).
    pub expires_at: OffsetDateTime,
}

/// Two-factor login: each user's TOTP secret (sealed), the last time step
/// accepted (so no code works twice, on any instance), recovery codes
/// (digests) and the challenges of logins half done (digests).
pub trait MfaStore {
    /// The user's TOTP as stored; empty for a user without one.
    fn totp_state(&self, user: UserId) -> Result<TotpState, StoreError>;

    /// Records `pending` as the user's secret set up and not confirmed,
    /// replacing an older one; a confirmed secret stays in force.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown user.
    fn set_pending_totp(
        &self,
        user: UserId,
        pending: &SealedSecret,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Confirms the pending secret with a code of `step`, in one
    /// transaction, if the user's pending secret is still `pending` and
    /// `step` comes after the last step accepted: the secret is in force,
    /// `step` is the last accepted, the user's `mfa_enabled` is set and the
    /// recovery codes are `recovery` (the older ones gone). Returns whether
    /// it did; `false` writes nothing.
    fn confirm_totp(
        &self,
        user: UserId,
        pending: &SealedSecret,
        step: TimeStep,
        recovery: &[SecretDigest],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Accepts a code of `step` of the confirmed secret: records `step` as
    /// the last accepted if it comes after it, and returns whether it did.
    /// Of concurrent calls with one step, exactly one succeeds; a step at
    /// or before the last accepted never does.
    fn accept_totp_step(&self, user: UserId, step: TimeStep) -> Result<bool, StoreError>;

    /// Replaces the user's recovery codes with `recovery`: the older ones
    /// stop working.
    fn replace_recovery_codes(
        &self,
        user: UserId,
        recovery: &[SecretDigest],
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Spends one of the user's unused recovery codes, and returns whether
    /// it did. Of concurrent calls with one code, exactly one succeeds.
    fn use_recovery_code(
        &self,
        user: UserId,
        digest: &SecretDigest,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Turns TOTP off, in one transaction: the secrets and the recovery
    /// codes go, `mfa_enabled` is cleared, and every session of the user
    /// but `keep` is revoked at `now`.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown user.
    fn disable_totp(
        &self,
        user: UserId,
        keep: Option<SessionId>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Records a login challenge.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown user.
    fn create_mfa_challenge(&self, challenge: &MfaChallenge) -> Result<(), StoreError>;

    /// The user of the challenge with this digest, while it is unspent and
    /// `now < expires_at`.
    fn mfa_challenge_user(
        &self,
        digest: &SecretDigest,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, StoreError>;

    /// Spends a live challenge, and returns whether it did: of concurrent
    /// calls, exactly one succeeds.
    fn spend_mfa_challenge(
        &self,
        digest: &SecretDigest,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

/// Everything the use cases need from storage, in one object.
pub trait Store:
    UserStore
    + OrganizationStore
    + InviteStore
    + ApiKeyStore
    + MfaStore
    + CodeStore
    + SessionStore
    + LoginThrottleStore
    + PasswordStore
    + UserAdminStore
    + MailThrottleStore
    + Send
    + Sync
{
    /// Checks that the database answers and takes writes.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if it does not answer; with a
    /// [`ReadOnlyDatabase`] source (see [`StoreError::is_read_only`]) if it
    /// answers but takes no writes.
    fn ping(&self) -> Result<(), StoreError>;

    /// Starts telling `listener` of the changes every instance commits
    /// (see [`ChangeListener`]), on a connection of its own, within a
    /// bounded delay documented by the adapter; the feed reconnects by
    /// itself after a failure. Runs until the returned [`ChangeFeed`] is
    /// dropped.
    ///
    /// # Errors
    /// [`StoreError::Internal`] if the feed cannot be started at all (a
    /// failure to reach the database is not one: the feed keeps trying,
    /// and says [`ChangeListener::lost`] meanwhile).
    fn watch_changes(&self, listener: Arc<dyn ChangeListener>) -> Result<ChangeFeed, StoreError>;
}

/// Password changes and resets. Each replaces a user's password hash and,
/// in the same transaction, voids every outstanding reset code of the user
/// and revokes sessions, so that nothing granted under the old password
/// outlives it.
pub trait PasswordStore {
    /// The user a [`CodeKind::ResetPassword`] code belongs to, if the code
    /// is usable at `now` (unspent, `now < expires_at`); `None` otherwise,
    /// and for a code of another kind. Spends nothing: the caller checks
    /// the new password against the account before
    /// [`PasswordStore::reset_password`] spends the code.
    fn reset_code_user(
        &self,
        digest: &SecretDigest,
        now: OffsetDateTime,
    ) -> Result<Option<User>, StoreError>;

    /// Replaces `user`'s password hash, spends every unspent reset code of
    /// the user, and revokes every unrevoked session of the user except
    /// `keep` (the one the change was made in), at `now`, in one transaction.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown user; nothing is
    /// written then.
    fn change_password(
        &self,
        user: UserId,
        hash: &PasswordHash,
        keep: SessionId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Spends a [`CodeKind::ResetPassword`] code and, in the same
    /// transaction, stores its user as `User::reset_password(hash, now)`
    /// decides (the new hash; a pending account validated, an inactive one
    /// left inactive), spends the user's other reset codes and revokes
    /// every session of the user. Returns the updated user. Of concurrent
    /// calls with one code, exactly one succeeds.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] if the code is unknown, of
    /// another kind, already spent, or expired (`now >= expires_at`);
    /// nothing changes then.
    fn reset_password(
        &self,
        digest: &SecretDigest,
        hash: &PasswordHash,
        now: OffsetDateTime,
    ) -> Result<User, StoreError>;
}

/// The limits of mail sending, within one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailLimits {
    /// Mails one recipient may be sent in the window.
    pub per_recipient: u32,
    /// Mails one client address may cause in the window.
    pub per_ip: u32,
}

/// Counters of the mails sent on request (sign-up, resend, forgot), shared
/// by every instance on the same database, so that nobody can use the
/// service to flood a mailbox. The same machinery as
/// [`LoginThrottleStore`], counting mails instead of failures.
pub trait MailThrottleStore {
    /// Decides, and records, a mail to `recipient` (a bounded key that
    /// names a normalised address without holding it) asked for from
    /// client address `ip` at `at`, counting the mails recorded at or after
    /// `since`; older records of mails are forgotten.
    ///
    /// If the recipient's count has reached `limits.per_recipient`, or the
    /// address's has reached `limits.per_ip`, nothing is recorded and
    /// [`Admission::Refused`] is returned. Otherwise the mail is recorded
    /// and [`Admission::Admitted`] is returned.
    ///
    /// Counting and recording are one atomic step: of concurrent requests
    /// for one recipient (or from one address), never more are admitted
    /// than the limit allows. Mails and failed logins never count toward
    /// each other's limits.
    fn admit_mail(
        &self,
        recipient: &str,
        ip: &str,
        at: OffsetDateTime,
        since: OffsetDateTime,
        limits: MailLimits,
    ) -> Result<Admission, StoreError>;
}
