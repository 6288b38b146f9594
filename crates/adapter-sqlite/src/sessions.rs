//! Sessions and their rotating refresh tokens.

use diesel::{prelude::*, sql_types::Nullable};
use domain::{RefreshVerdict, SecretDigest, Session, SessionId, UserId, judge_refresh};
use ports::{NewRefreshToken, Rotation, SessionStore, StoreError, Successor};
use time::{Duration, OffsetDateTime};

use crate::{
    error::Failure,
    prepared::{InsertToken, MoveSession, SpendToken},
    queries::revoke_sessions_of,
    rows::{SessionRow, TokenRow},
    schema::{Id, Instant, Micros, refresh_tokens, sessions},
    store::SqliteStore,
};

diesel::define_sql_function! {
    /// SQL `coalesce` of two nullable instants.
    fn coalesce(x: Nullable<Micros>, y: Nullable<Micros>) -> Nullable<Micros>;
}

/// Spends `token`, records `next` and moves `session` on: to the expiry
/// its lifetime gives the next token, and to the presenting client.
fn rotate(
    conn: &mut SqliteConnection,
    token: &TokenRow,
    session: &Session,
    next: &Successor,
    now: OffsetDateTime,
) -> Result<Session, Failure> {
    let expires_at = next.lifetime.next_refresh_expiry(session.created_at, now);
    SpendToken {
        digest: &token.digest,
        at: now,
    }
    .execute(conn)?;
    InsertToken {
        digest: next.digest.as_bytes(),
        session_id: Id(token.session_id),
        issued_at: now,
        expires_at,
    }
    .execute(conn)?;
    let row: SessionRow = MoveSession::new(
        token.session_id,
        now,
        expires_at,
        next.user_agent.as_deref(),
        next.ip.as_deref(),
    )
    .get_result(conn)?;
    Ok(row.into_domain()?)
}

/// Answers a replay of `token`: `next` must be the successor its first
/// spending recorded in the same session (the caller derives it from the
/// token); nothing is written.
fn replay(
    conn: &mut SqliteConnection,
    token: &TokenRow,
    session: Session,
    next: &Successor,
) -> Result<Rotation, Failure> {
    let successor = refresh_tokens::table
        .find(next.digest.as_bytes().as_slice())
        .filter(refresh_tokens::session_id.eq(Id(token.session_id)))
        .select(refresh_tokens::expires_at)
        .first::<OffsetDateTime>(conn)
        .optional()?;
    Ok(match successor {
        Some(expires_at) => Rotation::Replayed {
            session,
            expires_at,
        },
        None => Rotation::Invalid,
    })
}

impl SessionStore for SqliteStore {
    fn create_session(&self, session: &Session, first: &NewRefreshToken) -> Result<(), StoreError> {
        self.transaction(|conn| {
            diesel::insert_into(sessions::table)
                .values(SessionRow::from_domain(session))
                .execute(conn)?;
            diesel::insert_into(refresh_tokens::table)
                .values(TokenRow::new(
                    session.id.as_uuid(),
                    first,
                    session.created_at,
                ))
                .execute(conn)?;
            Ok(())
        })
    }

    fn session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        self.with_conn(|conn| {
            let row = sessions::table
                .find(Id(id.as_uuid()))
                .select(SessionRow::as_select())
                .first(conn)
                .optional()?;
            Ok(row.map(SessionRow::into_domain).transpose()?)
        })
    }

    fn rotate_refresh(
        &self,
        presented: &SecretDigest,
        next: &Successor,
        now: OffsetDateTime,
        grace: Duration,
    ) -> Result<Rotation, StoreError> {
        self.transaction(|conn| {
            // The write lock of `BEGIN IMMEDIATE` makes concurrent presenters of
            // one token take turns: the first rotates, the others then find the
            // token spent (a replay within grace, reuse after it).
            let token = refresh_tokens::table
                .find(presented.as_bytes().as_slice())
                .select(TokenRow::as_select())
                .first(conn)
                .optional()?;
            let Some(token) = token else {
                return Ok(Rotation::Invalid);
            };
            let session = sessions::table
                .find(Id(token.session_id))
                .select(SessionRow::as_select())
                .first(conn)?
                .into_domain()?;
            // A session stored under a longer lifetime ends by this one.
            let session = next.lifetime.bound(session);
            match judge_refresh(token.expires_at, token.spent_at, &session, now, grace) {
                RefreshVerdict::Invalid => Ok(Rotation::Invalid),
                RefreshVerdict::Expired => Ok(Rotation::Expired),
                RefreshVerdict::Reuse => {
                    diesel::update(sessions::table.find(Id(token.session_id)))
                        .set(sessions::revoked_at.eq(Some(now)))
                        .execute(conn)?;
                    Ok(Rotation::Reused(session.user_id))
                }
                RefreshVerdict::Replay => replay(conn, &token, session, next),
                RefreshVerdict::Rotate => {
                    rotate(conn, &token, &session, next, now).map(Rotation::Rotated)
                }
            }
        })
    }

    fn revoke_session(
        &self,
        user: UserId,
        id: SessionId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.write(|conn| {
            // An already revoked session keeps its first revocation time.
            let matched = diesel::update(
                sessions::table
                    .find(Id(id.as_uuid()))
                    .filter(sessions::user_id.eq(Id(user.as_uuid()))),
            )
            .set(sessions::revoked_at.eq(coalesce(sessions::revoked_at, Some(now))))
            .execute(conn)?;
            if matched == 0 {
                return Err(Failure(StoreError::NotFound));
            }
            Ok(())
        })
    }

    fn revoke_user_sessions(
        &self,
        user: UserId,
        keep: Option<SessionId>,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.write(|conn| {
            let revoked = revoke_sessions_of(conn, user, keep, now)?;
            Ok(u64::try_from(revoked).unwrap_or(u64::MAX))
        })
    }

    fn sessions_of(&self, user: UserId, now: OffsetDateTime) -> Result<Vec<Session>, StoreError> {
        self.with_conn(|conn| {
            let rows = sessions::table
                .filter(sessions::user_id.eq(Id(user.as_uuid())))
                .filter(sessions::revoked_at.is_null())
                .filter(sessions::expires_at.gt(Instant(now)))
                .order((sessions::last_used_at.desc(), sessions::id.desc()))
                .select(SessionRow::as_select())
                .load(conn)?;
            Ok(rows
                .into_iter()
                .map(SessionRow::into_domain)
                .collect::<Result<_, StoreError>>()?)
        })
    }
}
