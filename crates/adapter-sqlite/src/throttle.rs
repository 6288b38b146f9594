//! Failed-login counters, shared by every process on the same file.
//!
//! [`LoginThrottleStore::admit_login`] counts and records in one
//! `BEGIN IMMEDIATE` transaction: it holds the database's write lock from
//! the first count to the insert, so concurrent attempts take turns and
//! each counts what the previous ones recorded.

use diesel::{prelude::*, sqlite::Sqlite};
use ports::{Admission, LoginThrottleStore, StoreError, ThrottleLimits};
use time::OffsetDateTime;

use crate::{
    error::Failure,
    rows::FailureRow,
    schema::{Instant, login_failures},
    store::SqliteStore,
};

/// What failures are counted by: an account or a client address.
#[derive(Debug, Clone, Copy)]
enum Key<'a> {
    Account(&'a str),
    Ip(&'a str),
}

impl<'a> Key<'a> {
    /// The key's failures at or after `since`.
    fn failures_since(self, since: OffsetDateTime) -> login_failures::BoxedQuery<'a, Sqlite> {
        let failures = login_failures::table
            .filter(login_failures::at.ge(Instant(since)))
            .into_boxed();
        match self {
            Self::Account(account) => failures.filter(login_failures::account.eq(account)),
            Self::Ip(ip) => failures.filter(login_failures::ip.eq(ip)),
        }
    }

    /// `None` while the key's count at or after `since` is under `limit`;
    /// once it has reached it, the time of the failure whose leaving the
    /// window brings the count back under (the `count - limit + 1`-th
    /// oldest). A limit of zero is reached by no failure at all, and no
    /// failure's leaving frees it: `at`, the attempt's own time, stands in.
    fn frees_at(
        self,
        conn: &mut SqliteConnection,
        since: OffsetDateTime,
        limit: u32,
        at: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, Failure> {
        let count: i64 = self.failures_since(since).count().get_result(conn)?;
        let limit = i64::from(limit);
        if count < limit {
            return Ok(None);
        }
        let leaving = self
            .failures_since(since)
            .select(login_failures::at)
            .order(login_failures::at.asc())
            .offset(count - limit)
            .first(conn)
            .optional()?;
        Ok(Some(leaving.unwrap_or(at)))
    }
}

impl LoginThrottleStore for SqliteStore {
    fn admit_login(
        &self,
        account: &str,
        ip: &str,
        at: OffsetDateTime,
        since: OffsetDateTime,
        limits: ThrottleLimits,
    ) -> Result<Admission, StoreError> {
        let (by_account, by_ip) = (Key::Account(account), Key::Ip(ip));
        self.transaction(|conn| {
            let account_frees = by_account.frees_at(conn, since, limits.per_account, at)?;
            let ip_frees = by_ip.frees_at(conn, since, limits.per_ip, at)?;
            if let Some(frees_at) = account_frees.max(ip_frees) {
                return Ok(Admission::Refused { frees_at });
            }
            diesel::insert_into(login_failures::table)
                .values(FailureRow::new(account, ip, at))
                .execute(conn)?;
            Ok(Admission::Admitted)
        })
    }

    fn clear_failed_logins(&self, account: &str, before: OffsetDateTime) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            diesel::delete(
                login_failures::table.filter(
                    login_failures::account
                        .eq(account)
                        .or(login_failures::at.lt(Instant(before))),
                ),
            )
            .execute(conn)?;
            Ok(())
        })
    }
}
