//! Failed-login counters.
//!
//! [`LoginThrottleStore::admit_login`] counts and records in one
//! transaction that first takes two transaction-scoped advisory locks, one
//! for the account and then one for the client address (always in that
//! order, so two attempts never wait for each other crosswise). Attempts
//! for one account, or from one address, therefore take turns from
//! counting to recording, on every instance that shares the database;
//! attempts that share neither run in parallel. The locks end with the
//! transaction, so a lost connection cannot leave one behind.

use diesel::{
    pg::Pg,
    prelude::*,
    sql_query,
    sql_types::{Integer, Text},
};
use ports::{Admission, LoginThrottleStore, StoreError, ThrottleLimits};
use time::OffsetDateTime;

use crate::{error::Failure, rows::FailureRow, schema::login_failures, store::PgStore};

/// What failures are counted by: an account or a client address.
#[derive(Debug, Clone, Copy)]
enum Key<'a> {
    Account(&'a str),
    Ip(&'a str),
}

impl<'a> Key<'a> {
    /// The first int of the key's advisory lock `(namespace, hashtext(key))`:
    /// accounts and addresses that hash alike never share a lock. (Two-int
    /// keys are a space apart from the one-bigint keys used elsewhere.)
    const fn lock_namespace(self) -> i32 {
        match self {
            Self::Account(_) => 1,
            Self::Ip(_) => 2,
        }
    }

    /// Takes the key's advisory lock until the transaction ends. A hash
    /// collision only makes two keys take turns.
    fn lock(self, conn: &mut PgConnection) -> Result<(), Failure> {
        let key = match self {
            Self::Account(key) | Self::Ip(key) => key,
        };
        sql_query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind::<Integer, _>(self.lock_namespace())
            .bind::<Text, _>(key)
            .execute(conn)?;
        Ok(())
    }

    /// The key's failures at or after `since`.
    fn failures_since(self, since: OffsetDateTime) -> login_failures::BoxedQuery<'a, Pg> {
        let failures = login_failures::table
            .filter(login_failures::at.ge(since))
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
        conn: &mut PgConnection,
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

impl LoginThrottleStore for PgStore {
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
            // Account first, then address: the one order every caller uses.
            by_account.lock(conn)?;
            by_ip.lock(conn)?;
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
                        .or(login_failures::at.lt(before)),
                ),
            )
            .execute(conn)?;
            Ok(())
        })
    }
}
