//! Failed-login counters, shared by every process on the same file.

use diesel::dsl::{count_star, min};
use diesel::prelude::*;
use ports::{FailureCount, LoginThrottleStore, StoreError};
use time::OffsetDateTime;

use crate::SqliteStore;
use crate::error::Error;
use crate::rows::{NewLoginFailure, instant_of, micros};
use crate::schema::login_failures;

/// Turns a `(count, oldest)` aggregate into a [`FailureCount`].
fn failure_count((count, oldest): (i64, Option<i64>)) -> Result<FailureCount, Error> {
    Ok(FailureCount {
        count: u32::try_from(count).unwrap_or(u32::MAX),
        oldest: oldest
            .map(|us| instant_of("login_failures", us))
            .transpose()?,
    })
}

impl LoginThrottleStore for SqliteStore {
    fn record_failed_login(
        &self,
        account: &str,
        ip: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let row = NewLoginFailure::new(account, ip, at)?;
        self.write(|conn| {
            diesel::insert_into(login_failures::table)
                .values(&row)
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
        let since = micros(since)?;
        let tally = (count_star(), min(login_failures::at));
        // Both counts come from one snapshot (a read transaction).
        self.read(|conn| {
            conn.transaction(|conn| {
                let by_account = login_failures::table
                    .filter(login_failures::account.eq(account))
                    .filter(login_failures::at.ge(since))
                    .select(tally)
                    .get_result(conn)?;
                let by_ip = login_failures::table
                    .filter(login_failures::ip.eq(ip))
                    .filter(login_failures::at.ge(since))
                    .select(tally)
                    .get_result(conn)?;
                Ok((failure_count(by_account)?, failure_count(by_ip)?))
            })
        })
    }

    fn clear_failed_logins(&self, account: &str, before: OffsetDateTime) -> Result<(), StoreError> {
        let before = micros(before)?;
        self.write(|conn| {
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
