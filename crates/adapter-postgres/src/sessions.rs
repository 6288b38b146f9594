//! Sessions and their rotating refresh tokens.

use diesel::{
    pg::Pg,
    prelude::*,
    sql_types::{Nullable, Timestamptz},
};
use domain::{RefreshVerdict, SecretDigest, Session, SessionId, UserId, judge_refresh};
use ports::{NewRefreshToken, Rotation, SessionStore, StoreError};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::{
    PgStore,
    error::Failure,
    schema::{refresh_tokens, sessions},
};

diesel::define_sql_function! {
    /// SQL `coalesce` of two nullable timestamps.
    fn coalesce(x: Nullable<Timestamptz>, y: Nullable<Timestamptz>) -> Nullable<Timestamptz>;
}

/// A row of `sessions`.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions, check_for_backend(Pg))]
struct SessionRow {
    id: Uuid,
    user_id: Uuid,
    created_at: OffsetDateTime,
    last_used_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    revoked_at: Option<OffsetDateTime>,
    user_agent: Option<String>,
    ip: Option<String>,
}

impl SessionRow {
    fn from_domain(session: &Session) -> Self {
        Self {
            id: session.id.as_uuid(),
            user_id: session.user_id.as_uuid(),
            created_at: session.created_at,
            last_used_at: session.last_used_at,
            expires_at: session.expires_at,
            revoked_at: session.revoked_at,
            user_agent: session.user_agent.clone(),
            ip: session.ip.clone(),
        }
    }

    fn into_domain(self) -> Session {
        Session {
            id: SessionId::from_uuid(self.id),
            user_id: UserId::from_uuid(self.user_id),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            user_agent: self.user_agent,
            ip: self.ip,
        }
    }
}

/// A row of `refresh_tokens`.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens, check_for_backend(Pg))]
struct TokenRow {
    digest: Vec<u8>,
    session_id: Uuid,
    issued_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    spent_at: Option<OffsetDateTime>,
}

impl TokenRow {
    fn new(session_id: Uuid, token: &NewRefreshToken, issued_at: OffsetDateTime) -> Self {
        Self {
            digest: token.digest.as_bytes().to_vec(),
            session_id,
            issued_at,
            expires_at: token.expires_at,
            spent_at: None,
        }
    }
}

/// Spends `token` (a replay within grace keeps its first spending time),
/// records `next` and moves the session on.
fn rotate(
    conn: &mut PgConnection,
    token: &TokenRow,
    next: &NewRefreshToken,
    now: OffsetDateTime,
) -> Result<Session, Failure> {
    if token.spent_at.is_none() {
        diesel::update(refresh_tokens::table.find(&token.digest))
            .set(refresh_tokens::spent_at.eq(now))
            .execute(conn)?;
    }
    diesel::insert_into(refresh_tokens::table)
        .values(TokenRow::new(token.session_id, next, now))
        .execute(conn)?;
    let row = diesel::update(sessions::table.find(token.session_id))
        .set((
            sessions::last_used_at.eq(now),
            sessions::expires_at.eq(next.expires_at),
        ))
        .returning(SessionRow::as_returning())
        .get_result(conn)?;
    Ok(row.into_domain())
}

impl SessionStore for PgStore {
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
                .find(id.as_uuid())
                .select(SessionRow::as_select())
                .first(conn)
                .optional()?;
            Ok(row.map(SessionRow::into_domain))
        })
    }

    fn rotate_refresh(
        &self,
        presented: &SecretDigest,
        next: &NewRefreshToken,
        now: OffsetDateTime,
        grace: Duration,
    ) -> Result<Rotation, StoreError> {
        self.transaction(|conn| {
            // The row lock makes concurrent presenters of one token take turns:
            // the first rotates, the others then find the token spent.
            let token = refresh_tokens::table
                .find(presented.as_bytes().as_slice())
                .select(TokenRow::as_select())
                .for_update()
                .first(conn)
                .optional()?;
            let Some(token) = token else {
                return Ok(Rotation::Invalid);
            };
            let session = sessions::table
                .find(token.session_id)
                .select(SessionRow::as_select())
                .for_update()
                .first(conn)?
                .into_domain();
            match judge_refresh(token.expires_at, token.spent_at, &session, now, grace) {
                RefreshVerdict::Invalid => Ok(Rotation::Invalid),
                RefreshVerdict::Expired => Ok(Rotation::Expired),
                RefreshVerdict::Reuse => {
                    diesel::update(sessions::table.find(token.session_id))
                        .set(sessions::revoked_at.eq(now))
                        .execute(conn)?;
                    Ok(Rotation::Reused)
                }
                RefreshVerdict::Rotate => rotate(conn, &token, next, now).map(Rotation::Rotated),
            }
        })
    }

    fn revoke_session(
        &self,
        user: UserId,
        id: SessionId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            // An already revoked session keeps its first revocation time.
            let matched = diesel::update(
                sessions::table
                    .find(id.as_uuid())
                    .filter(sessions::user_id.eq(user.as_uuid())),
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
        self.with_conn(|conn| {
            let revoked = revoke_sessions_of(conn, user, keep, now)?;
            Ok(u64::try_from(revoked).unwrap_or(u64::MAX))
        })
    }
}

/// Revokes every unrevoked session of `user` except `keep`; returns how many.
pub(crate) fn revoke_sessions_of(
    conn: &mut PgConnection,
    user: UserId,
    keep: Option<SessionId>,
    now: OffsetDateTime,
) -> QueryResult<usize> {
    let mut update = diesel::update(sessions::table)
        .filter(sessions::user_id.eq(user.as_uuid()))
        .filter(sessions::revoked_at.is_null())
        .set(sessions::revoked_at.eq(now))
        .into_boxed();
    if let Some(keep) = keep {
        update = update.filter(sessions::id.ne(keep.as_uuid()));
    }
    update.execute(conn)
}
