//! The tables of `migrations/sqlite`, as diesel sees them, and the two SQL
//! types SQLite lacks. Rows hold `OffsetDateTime` and `Uuid` as the
//! PostgreSQL rows do; these types keep the stored format of the
//! migrations: instants as INTEGER microseconds since the Unix epoch, ids
//! as TEXT.

use diesel::{
    deserialize::{self, FromSql, FromSqlRow},
    expression::AsExpression,
    query_builder::QueryId,
    serialize::{self, IsNull, Output, ToSql},
    sql_types::{BigInt, SqlType, Text},
    sqlite::{Sqlite, SqliteValue},
};
use time::OffsetDateTime;
use uuid::Uuid;

/// An instant: INTEGER microseconds since the Unix epoch, rounded down (the
/// precision of PostgreSQL's `timestamptz`); integers sort as instants do.
/// [`OffsetDateTime`] in Rust, read back in UTC.
#[derive(Debug, Clone, Copy, Default, SqlType, QueryId)]
#[diesel(sqlite_type(name = "Long"))]
pub struct Micros;

/// A UUID: TEXT, hyphenated and lower-case. [`Uuid`] in Rust, through [`Id`].
#[derive(Debug, Clone, Copy, Default, SqlType, QueryId)]
#[diesel(sqlite_type(name = "Text"))]
pub struct UuidText;

impl ToSql<Micros, Sqlite> for OffsetDateTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        let micros = i64::try_from(self.unix_timestamp_nanos().div_euclid(1_000))?;
        out.set_value(micros);
        Ok(IsNull::No)
    }
}

impl FromSql<Micros, Sqlite> for OffsetDateTime {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let micros = <i64 as FromSql<BigInt, Sqlite>>::from_sql(value)?;
        Ok(Self::from_unix_timestamp_nanos(i128::from(micros) * 1_000)?)
    }
}

/// An [`OffsetDateTime`] bound as a [`Micros`] parameter:
/// `column.gt(Instant(now))`. Rows need it only to write (`serialize_as`),
/// and a nullable column takes `Some(now)` as it is. (diesel lets no crate
/// but itself make `OffsetDateTime` stand for a parameter of a new SQL
/// type: its blanket `AsExpression` impl for expressions is in the way.)
#[derive(Debug, Clone, Copy, AsExpression)]
#[diesel(sql_type = Micros)]
pub struct Instant(pub OffsetDateTime);

impl From<OffsetDateTime> for Instant {
    fn from(instant: OffsetDateTime) -> Self {
        Self(instant)
    }
}

impl ToSql<Micros, Sqlite> for Instant {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        <OffsetDateTime as ToSql<Micros, Sqlite>>::to_sql(&self.0, out)
    }
}

/// A [`Uuid`] as SQLite holds it, bound as a [`UuidText`] parameter
/// (`table.find(Id(uuid))`) and read back from one. Rows name it in
/// `serialize_as` and `deserialize_as` and hold the `Uuid` itself (diesel
/// reads a bare `Uuid` only on PostgreSQL).
#[derive(Debug, Clone, Copy, AsExpression, FromSqlRow)]
#[diesel(sql_type = UuidText)]
pub struct Id(pub Uuid);

impl From<Uuid> for Id {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

impl From<Id> for Uuid {
    fn from(Id(id): Id) -> Self {
        id
    }
}

impl ToSql<UuidText, Sqlite> for Id {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.hyphenated().to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<UuidText, Sqlite> for Id {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        Ok(Self(Uuid::parse_str(&text)?))
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::schema::{Micros, UuidText};

    users (id) {
        id -> UuidText,
        email -> Text,
        username -> Nullable<Text>,
        phone -> Nullable<Text>,
        first_name -> Text,
        last_name -> Text,
        password_hash -> Text,
        status -> Text,
        email_verified -> Bool,
        is_admin -> Bool,
        created_at -> Micros,
        updated_at -> Micros,
        mfa_enabled -> Bool,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::schema::{Micros, UuidText};

    organizations (id) {
        id -> UuidText,
        name -> Text,
        created_at -> Micros,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::schema::{Micros, UuidText};

    memberships (organization_id, user_id) {
        organization_id -> UuidText,
        user_id -> UuidText,
        role -> Text,
        created_at -> Micros,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::schema::{Micros, UuidText};

    sessions (id) {
        id -> UuidText,
        user_id -> UuidText,
        created_at -> Micros,
        last_used_at -> Micros,
        expires_at -> Micros,
        revoked_at -> Nullable<Micros>,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Text>,
        factors -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::schema::{Micros, UuidText};

    refresh_tokens (digest) {
        digest -> Binary,
        session_id -> UuidText,
        issued_at -> Micros,
        expires_at -> Micros,
        spent_at -> Nullable<Micros>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::schema::{Micros, UuidText};

    one_time_codes (digest) {
        digest -> Binary,
        kind -> Text,
        user_id -> UuidText,
        created_at -> Micros,
        expires_at -> Micros,
        used_at -> Nullable<Micros>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::schema::Micros;

    throttle_records (id) {
        id -> BigInt,
        subject -> Text,
        ip -> Text,
        at -> Micros,
        purpose -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::schema::{Micros, UuidText};

    invites (id) {
        id -> UuidText,
        organization_id -> UuidText,
        email -> Text,
        role -> Text,
        digest -> Binary,
        invited_by -> Nullable<UuidText>,
        created_at -> Micros,
        expires_at -> Micros,
        accepted_at -> Nullable<Micros>,
        accepted_by -> Nullable<UuidText>,
        revoked_at -> Nullable<Micros>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::schema::{Micros, UuidText};

    api_keys (id) {
        id -> UuidText,
        user_id -> UuidText,
        name -> Text,
        prefix -> Text,
        digest -> Binary,
        created_at -> Micros,
        last_used_at -> Nullable<Micros>,
        expires_at -> Nullable<Micros>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::schema::{Micros, UuidText};

    totp_credentials (user_id) {
        user_id -> UuidText,
        secret -> Nullable<Binary>,
        secret_key_id -> Nullable<Text>,
        pending -> Nullable<Binary>,
        pending_key_id -> Nullable<Text>,
        last_step -> Nullable<BigInt>,
        updated_at -> Micros,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::schema::{Micros, UuidText};

    recovery_codes (user_id, digest) {
        user_id -> UuidText,
        digest -> Binary,
        created_at -> Micros,
        used_at -> Nullable<Micros>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::schema::{Micros, UuidText};

    mfa_challenges (digest) {
        digest -> Binary,
        user_id -> UuidText,
        created_at -> Micros,
        expires_at -> Micros,
        used_at -> Nullable<Micros>,
    }
}

diesel::table! {
    changes (seq) {
        seq -> BigInt,
        account -> Nullable<Text>,
    }
}

diesel::joinable!(memberships -> organizations (organization_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(one_time_codes -> users (user_id));
diesel::joinable!(invites -> organizations (organization_id));
diesel::joinable!(api_keys -> users (user_id));
diesel::joinable!(totp_credentials -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(mfa_challenges -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    organizations,
    memberships,
    sessions,
    refresh_tokens,
    one_time_codes,
    throttle_records,
    invites,
    api_keys,
    totp_credentials,
    recovery_codes,
    mfa_challenges,
);

#[cfg(test)]
mod tests {
    use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection, sql_query};
    use time::Duration;

    use super::*;

    #[derive(QueryableByName)]
    struct Instants {
        #[diesel(sql_type = BigInt)]
        stored: i64,
        #[diesel(sql_type = Micros)]
        mapped: OffsetDateTime,
    }

    #[derive(QueryableByName)]
    struct Ids {
        #[diesel(sql_type = Text)]
        stored: String,
        #[diesel(sql_type = UuidText)]
        mapped: Id,
    }

    fn memory() -> SqliteConnection {
        SqliteConnection::establish(":memory:").unwrap()
    }

    /// What SQLite stores for `instant`, and what it reads back.
    fn round_trip(conn: &mut SqliteConnection, instant: OffsetDateTime) -> (i64, OffsetDateTime) {
        let row = sql_query("SELECT ?1 AS stored, ?1 AS mapped")
            .bind::<Micros, _>(Instant(instant))
            .get_result::<Instants>(conn)
            .unwrap();
        (row.stored, row.mapped)
    }

    #[test]
    fn instants_are_whole_microseconds_rounded_down() {
        let mut conn = memory();
        let epoch = OffsetDateTime::UNIX_EPOCH;
        let t = epoch + Duration::nanoseconds(1_999);
        assert_eq!(
            round_trip(&mut conn, t),
            (1, epoch + Duration::microseconds(1))
        );
        let before = epoch - Duration::nanoseconds(1);
        assert_eq!(
            round_trip(&mut conn, before),
            (-1, epoch - Duration::microseconds(1)),
            "floor, not towards zero"
        );
    }

    #[test]
    fn uuids_are_hyphenated_lower_case_text() {
        let id = Uuid::now_v7();
        let row = sql_query("SELECT ?1 AS stored, ?1 AS mapped")
            .bind::<UuidText, _>(Id(id))
            .get_result::<Ids>(&mut memory())
            .unwrap();
        assert_eq!(row.stored, id.hyphenated().to_string());
        assert_eq!(Uuid::from(row.mapped), id);
    }
}
