//! Failed-login counters.

use diesel::{
    dsl::{count_star, min},
    pg::Pg,
    prelude::*,
};
use ports::{FailureCount, LoginThrottleStore, StoreError};
use time::OffsetDateTime;

use crate::{PgStore, error::Failure, schema::login_failures};

/// A new row of `login_failures`.
#[derive(Insertable)]
#[diesel(table_name = login_failures)]
struct NewFailureRow<'a> {
    account: &'a str,
    ip: &'a str,
    at: OffsetDateTime,
}

/// Counts the `failures` recorded at or after `since`.
fn count_since(
    conn: &mut PgConnection,
    failures: login_failures::BoxedQuery<'_, Pg>,
    since: OffsetDateTime,
) -> Result<FailureCount, Failure> {
    let (count, oldest): (i64, Option<OffsetDateTime>) = failures
        .filter(login_failures::at.ge(since))
        .select((count_star(), min(login_failures::at)))
        .first(conn)?;
    Ok(FailureCount {
        count: u32::try_from(count).unwrap_or(u32::MAX),
        oldest,
    })
}

impl LoginThrottleStore for PgStore {
    fn record_failed_login(
        &self,
        account: &str,
        ip: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            diesel::insert_into(login_failures::table)
                .values(NewFailureRow { account, ip, at })
                .execute(conn)?;
            Ok(())
        })
    }

    fn failed_logins_since(
        &self,
        account: &str,
        ip: &str,
        since: OffsetDateTime,
    ) -> Result<(FailureCount, FailureCount), StoreError> {
        self.with_conn(|conn| {
            let of_account = login_failures::table
                .filter(login_failures::account.eq(account))
                .into_boxed();
            let of_ip = login_failures::table
                .filter(login_failures::ip.eq(ip))
                .into_boxed();
            Ok((
                count_since(conn, of_account, since)?,
                count_since(conn, of_ip, since)?,
            ))
        })
    }

    fn clear_failed_logins(&self, account: &str, before: OffsetDateTime) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            diesel::delete(
                login_failures::table.filter(
                    login_failures::account
                        .eq(account)
                        .or(login_failures::at.lt(before)),
                ),
            )
            .execute(conn)?;
            Ok(())
        })
    }
}
