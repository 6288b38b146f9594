//! The writes of a refresh-token rotation, written out so that diesel
//! keeps them prepared on each connection. Diesel keeps a `SELECT`, but
//! prepares each `UPDATE` and `INSERT` it builds anew every time (their SQL
//! may vary with the values given), and SQLite then parses and plans them
//! on every rotation. These statements have one text each, so they are
//! identified by their type and prepared once per connection.

use diesel::{
    dsl::{AsSelect, SqlTypeOf},
    prelude::*,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    sql_types::{Binary, Nullable, Text},
    sqlite::Sqlite,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    rows::SessionRow,
    schema::{Id, Micros, UuidText},
};

/// Marks the refresh token of `digest` spent `at`.
pub(crate) struct SpendToken<'a> {
    pub(crate) digest: &'a [u8],
    pub(crate) at: OffsetDateTime,
}

impl QueryFragment<Sqlite> for SpendToken<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(r#"UPDATE "refresh_tokens" SET "spent_at" = "#);
        out.push_bind_param::<Micros, _>(&self.at)?;
        out.push_sql(r#" WHERE "digest" = "#);
        out.push_bind_param::<Binary, _>(self.digest)?;
        Ok(())
    }
}

/// Records an unspent refresh token of `session_id`.
pub(crate) struct InsertToken<'a> {
    pub(crate) digest: &'a [u8],
    pub(crate) session_id: Id,
    pub(crate) issued_at: OffsetDateTime,
    pub(crate) expires_at: OffsetDateTime,
}

impl QueryFragment<Sqlite> for InsertToken<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(
            r#"INSERT INTO "refresh_tokens" ("digest", "session_id", "issued_at", "expires_at") VALUES ("#,
        );
        out.push_bind_param::<Binary, _>(self.digest)?;
        out.push_sql(", ");
        out.push_bind_param::<UuidText, _>(&self.session_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Micros, _>(&self.issued_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Micros, _>(&self.expires_at)?;
        out.push_sql(")");
        Ok(())
    }
}

/// Moves a session on: its last use, its expiry and the client that used
/// it. Returns the session as it then is.
pub(crate) struct MoveSession<'a> {
    id: Id,
    last_used_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    user_agent: Option<&'a str>,
    ip: Option<&'a str>,
    returning: AsSelect<SessionRow, Sqlite>,
}

impl<'a> MoveSession<'a> {
    /// Moves the session of `id` on to `expires_at`, used at `now` by the
    /// client of `user_agent` at `ip`.
    pub(crate) fn new(
        id: Uuid,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
        user_agent: Option<&'a str>,
        ip: Option<&'a str>,
    ) -> Self {
        Self {
            id: Id(id),
            last_used_at: now,
            expires_at,
            user_agent,
            ip,
            returning: SessionRow::as_returning(),
        }
    }
}

impl QueryFragment<Sqlite> for MoveSession<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(r#"UPDATE "sessions" SET "last_used_at" = "#);
        out.push_bind_param::<Micros, _>(&self.last_used_at)?;
        out.push_sql(r#", "expires_at" = "#);
        out.push_bind_param::<Micros, _>(&self.expires_at)?;
        out.push_sql(r#", "user_agent" = "#);
        out.push_bind_param::<Nullable<Text>, _>(&self.user_agent)?;
        out.push_sql(r#", "ip" = "#);
        out.push_bind_param::<Nullable<Text>, _>(&self.ip)?;
        out.push_sql(r#" WHERE "id" = "#);
        out.push_bind_param::<UuidText, _>(&self.id)?;
        out.push_sql(" RETURNING ");
        self.returning.walk_ast(out.reborrow())
    }
}

impl Query for MoveSession<'_> {
    type SqlType = SqlTypeOf<AsSelect<SessionRow, Sqlite>>;
}

/// One statement text per type: identified by the type, prepared once.
macro_rules! fixed_statement {
    ($($statement:ident),*) => {$(
        impl QueryId for $statement<'_> {
            type QueryId = $statement<'static>;
            const HAS_STATIC_QUERY_ID: bool = true;
        }

        impl<C> RunQueryDsl<C> for $statement<'_> {}
    )*};
}

fixed_statement!(SpendToken, InsertToken, MoveSession);

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use diesel::{
        connection::{InstrumentationEvent, SimpleConnection},
        prelude::*,
    };
    use time::OffsetDateTime;

    use super::SpendToken;
    use crate::schema::refresh_tokens;

    #[test]
    fn a_statement_written_out_is_prepared_once_and_kept() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        conn.batch_execute(
            "CREATE TABLE refresh_tokens (digest BLOB PRIMARY KEY, spent_at INTEGER)",
        )
        .unwrap();
        let kept = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&kept);
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if matches!(event, InstrumentationEvent::CacheQuery { .. }) {
                counted.fetch_add(1, Ordering::Relaxed);
            }
        });
        let (digest, at) = ([7_u8; 32], OffsetDateTime::now_utc());
        for _ in 0..3 {
            diesel::update(refresh_tokens::table.find(digest.as_slice()))
                .set(refresh_tokens::spent_at.eq(Some(at)))
                .execute(&mut conn)
                .unwrap();
        }
        assert_eq!(
            kept.load(Ordering::Relaxed),
            0,
            "diesel keeps no UPDATE it builds"
        );
        for _ in 0..3 {
            let spend = SpendToken {
                digest: &digest,
                at,
            };
            assert_eq!(spend.execute(&mut conn).unwrap(), 0, "no such token");
        }
        assert_eq!(kept.load(Ordering::Relaxed), 1, "prepared once, then kept");
    }
}
