//! Login sessions and their rotating refresh tokens.

use diesel::prelude::*;
use domain::{RefreshVerdict, SecretDigest, Session, SessionId, UserId, judge_refresh};
use ports::{NewRefreshToken, Rotation, SessionStore, StoreError};
use time::{Duration, OffsetDateTime};

use crate::SqliteStore;
use crate::error::Error;
use crate::rows::{RefreshTokenRow, SessionRow, micros};
use crate::schema::{refresh_tokens, sessions};
use crate::users::user_exists;

/// The session with this id, if any, on `conn`.
fn find_session(conn: &mut SqliteConnection, id: &str) -> Result<Option<Session>, Error> {
    sessions::table
        .find(id)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?
        .map(SessionRow::into_domain)
        .transpose()
}

/// Marks the session revoked at `now` (microseconds) unless it already is.
fn revoke(conn: &mut SqliteConnection, id: &str, now: i64) -> Result<(), Error> {
    diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Revokes every unrevoked session of `user` but `keep` at `now`
/// (microseconds), and returns how many that was.
pub(crate) fn revoke_all(
    conn: &mut SqliteConnection,
    user: UserId,
    keep: Option<SessionId>,
    now: i64,
) -> Result<usize, Error> {
    let unrevoked = sessions::table
        .filter(sessions::user_id.eq(user.to_string()))
        .filter(sessions::revoked_at.is_null());
    let stamp = sessions::revoked_at.eq(now);
    let revoked = match keep {
        Some(keep) => diesel::update(unrevoked.filter(sessions::id.ne(keep.to_string())))
            .set(stamp)
            .execute(conn)?,
        None => diesel::update(unrevoked).set(stamp).execute(conn)?,
    };
    Ok(revoked)
}

/// The whole of [`SessionStore::rotate_refresh`], inside its transaction.
fn rotate(
    conn: &mut SqliteConnection,
    presented: &SecretDigest,
    next: &NewRefreshToken,
    now: OffsetDateTime,
    grace: Duration,
) -> Result<Rotation, Error> {
    let Some(token) = refresh_tokens::table
        .find(presented.as_bytes().as_slice())
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(Rotation::Invalid);
    };
    let Some(session) = find_session(conn, &token.session_id)? else {
        return Ok(Rotation::Invalid);
    };
    match judge_refresh(token.expires_at()?, token.spent_at()?, &session, now, grace) {
        RefreshVerdict::Invalid => Ok(Rotation::Invalid),
        RefreshVerdict::Expired => Ok(Rotation::Expired),
        RefreshVerdict::Reuse => {
            revoke(conn, &token.session_id, micros(now)?)?;
            Ok(Rotation::Reused)
        }
        RefreshVerdict::Rotate => {
            spend_and_extend(conn, presented, &token, next, micros(now)?).map(Rotation::Rotated)
        }
    }
}

/// Spends `token` (keeping the time of its first spending, so a replay in
/// the grace period does not extend that period), records `next` in the
/// same session and moves the session's `last_used_at` and `expires_at`;
/// returns the session as it now stands.
fn spend_and_extend(
    conn: &mut SqliteConnection,
    presented: &SecretDigest,
    token: &RefreshTokenRow,
    next: &NewRefreshToken,
    at: i64,
) -> Result<Session, Error> {
    diesel::update(
        refresh_tokens::table
            .find(presented.as_bytes().as_slice())
            .filter(refresh_tokens::spent_at.is_null()),
    )
    .set(refresh_tokens::spent_at.eq(at))
    .execute(conn)?;
    let next_expires = micros(next.expires_at)?;
    let row = RefreshTokenRow::new(&next.digest, &token.session_id, at, next_expires);
    diesel::insert_into(refresh_tokens::table)
        .values(&row)
        .execute(conn)?;
    diesel::update(sessions::table.find(&token.session_id))
        .set((
            sessions::last_used_at.eq(at),
            sessions::expires_at.eq(next_expires),
        ))
        .returning(SessionRow::as_returning())
        .get_result(conn)?
        .into_domain()
}

impl SessionStore for SqliteStore {
    fn create_session(&self, session: &Session, first: &NewRefreshToken) -> Result<(), StoreError> {
        let session_row = SessionRow::from_domain(session)?;
        let token_row = RefreshTokenRow::new(
            &first.digest,
            &session.id.to_string(),
            micros(session.created_at)?,
            micros(first.expires_at)?,
        );
        self.write(|conn| {
            if !user_exists(conn, session.user_id)? {
                return Err(StoreError::NotFound.into());
            }
            diesel::insert_into(sessions::table)
                .values(&session_row)
                .execute(conn)?;
            diesel::insert_into(refresh_tokens::table)
                .values(&token_row)
                .execute(conn)?;
            Ok(())
        })
    }

    fn session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        self.read(|conn| find_session(conn, &id.to_string()))
    }

    fn rotate_refresh(
        &self,
        presented: &SecretDigest,
        next: &NewRefreshToken,
        now: OffsetDateTime,
        grace: Duration,
    ) -> Result<Rotation, StoreError> {
        self.write(|conn| rotate(conn, presented, next, now, grace))
    }

    fn revoke_session(
        &self,
        user: UserId,
        id: SessionId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let at = micros(now)?;
        let (user, id) = (user.to_string(), id.to_string());
        self.write(|conn| {
            let owned: bool = diesel::select(diesel::dsl::exists(
                sessions::table
                    .find(&id)
                    .filter(sessions::user_id.eq(&user)),
            ))
            .get_result(conn)?;
            if !owned {
                return Err(StoreError::NotFound.into());
            }
            revoke(conn, &id, at)
        })
    }

    fn revoke_user_sessions(
        &self,
        user: UserId,
        keep: Option<SessionId>,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let at = micros(now)?;
        self.write(|conn| {
            let revoked = revoke_all(conn, user, keep, at)?;
            Ok(u64::try_from(revoked).unwrap_or(u64::MAX))
        })
    }
}
