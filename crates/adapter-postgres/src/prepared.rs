//! The writes of a refresh-token rotation, written out so that diesel
//! keeps them prepared on each connection. Diesel keeps a `SELECT`, but
//! prepares each `UPDATE` and `INSERT` it builds anew every time (their SQL
//! may vary with the values given), and PostgreSQL then parses and plans
//! them on every rotation. These statements have one text each, so they
//! are identified by their type and prepared once per connection.

use diesel::{
    dsl::{AsSelect, SqlTypeOf},
    pg::Pg,
    prelude::*,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    sql_types::{Bytea, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::rows::SessionRow;

/// Marks the refresh token of `digest` spent `at`.
pub(crate) struct SpendToken<'a> {
    pub(crate) digest: &'a [u8],
    pub(crate) at: OffsetDateTime,
}

impl QueryFragment<Pg> for SpendToken<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(r#"UPDATE "refresh_tokens" SET "spent_at" = "#);
        out.push_bind_param::<Timestamptz, _>(&self.at)?;
        out.push_sql(r#" WHERE "digest" = "#);
        out.push_bind_param::<Bytea, _>(self.digest)?;
        Ok(())
    }
}

/// Records an unspent refresh token of `session_id`.
pub(crate) struct InsertToken<'a> {
    pub(crate) digest: &'a [u8],
    pub(crate) session_id: Uuid,
    pub(crate) issued_at: OffsetDateTime,
    pub(crate) expires_at: OffsetDateTime,
}

impl QueryFragment<Pg> for InsertToken<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            r#"INSERT INTO "refresh_tokens" ("digest", "session_id", "issued_at", "expires_at") VALUES ("#,
        );
        out.push_bind_param::<Bytea, _>(self.digest)?;
        out.push_sql(", ");
        out.push_bind_param::<SqlUuid, _>(&self.session_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamptz, _>(&self.issued_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamptz, _>(&self.expires_at)?;
        out.push_sql(")");
        Ok(())
    }
}

/// Moves a session on: its last use, its expiry and the client that used
/// it. Returns the session as it then is.
pub(crate) struct MoveSession<'a> {
    id: Uuid,
    last_used_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    user_agent: Option<&'a str>,
    ip: Option<&'a str>,
    returning: AsSelect<SessionRow, Pg>,
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
            id,
            last_used_at: now,
            expires_at,
            user_agent,
            ip,
            returning: SessionRow::as_returning(),
        }
    }
}

impl QueryFragment<Pg> for MoveSession<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(r#"UPDATE "sessions" SET "last_used_at" = "#);
        out.push_bind_param::<Timestamptz, _>(&self.last_used_at)?;
        out.push_sql(r#", "expires_at" = "#);
        out.push_bind_param::<Timestamptz, _>(&self.expires_at)?;
        out.push_sql(r#", "user_agent" = "#);
        out.push_bind_param::<Nullable<Text>, _>(&self.user_agent)?;
        out.push_sql(r#", "ip" = "#);
        out.push_bind_param::<Nullable<Text>, _>(&self.ip)?;
        out.push_sql(r#" WHERE "id" = "#);
        out.push_bind_param::<SqlUuid, _>(&self.id)?;
        out.push_sql(" RETURNING ");
        self.returning.walk_ast(out.reborrow())
    }
}

impl Query for MoveSession<'_> {
    type SqlType = SqlTypeOf<AsSelect<SessionRow, Pg>>;
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
    use diesel::{
        prelude::*,
        sql_query,
        sql_types::{BigInt, Text},
    };
    use time::OffsetDateTime;

    use super::SpendToken;
    use crate::{schema::refresh_tokens, testing::TestDatabase};

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }

    /// How many statements starting with `start` `conn` keeps prepared.
    fn kept(conn: &mut PgConnection, start: &str) -> i64 {
        sql_query(
            "SELECT count(*) AS count FROM pg_prepared_statements WHERE starts_with(statement, $1)",
        )
        .bind::<Text, _>(start)
        .get_result::<Count>(conn)
        .unwrap()
        .count
    }

    #[test]
    fn a_statement_written_out_is_prepared_once_and_kept() {
        let db = TestDatabase::new();
        let mut conn = PgConnection::establish(db.url()).unwrap();
        let (digest, at) = ([7_u8; 32], OffsetDateTime::now_utc());
        diesel::update(refresh_tokens::table.find(digest.as_slice()))
            .set(refresh_tokens::spent_at.eq(Some(at)))
            .execute(&mut conn)
            .unwrap();
        assert_eq!(
            kept(&mut conn, "UPDATE"),
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
        assert_eq!(kept(&mut conn, r#"UPDATE "refresh_tokens""#), 1);
    }
}
