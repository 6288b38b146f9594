//! Throttle counters: failed logins, and mails sent on request, shared by
//! every process on the same file.
//!
//! [`LoginThrottleStore::admit_login`] and [`MailThrottleStore::admit_mail`]
//! count and record in one `BEGIN IMMEDIATE` transaction: it holds the
//! database's write lock from the first count to the insert, so concurrent
//! requests take turns and each counts what the previous ones recorded.

use diesel::{prelude::*, sqlite::Sqlite};
use ports::{
    Admission, LoginThrottleStore, MailLimits, MailThrottleStore, StoreError, ThrottleLimits,
};
use time::OffsetDateTime;

use crate::{
    error::Failure,
    rows::ThrottleRow,
    schema::{Instant, throttle_records},
    store::SqliteStore,
};

/// What is counted: failed logins, or mails sent.
#[derive(Debug, Clone, Copy)]
enum Purpose {
    Login,
    Mail,
}

impl Purpose {
    /// The value of `throttle_records.purpose`.
    const fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Mail => "mail",
        }
    }
}

/// What records are counted by: a subject (an account, a mail recipient)
/// or a client address, within one purpose.
#[derive(Debug, Clone, Copy)]
enum Key<'a> {
    Subject(Purpose, &'a str),
    Ip(Purpose, &'a str),
}

impl<'a> Key<'a> {
    /// The key's records at or after `since`.
    fn records_since(self, since: OffsetDateTime) -> throttle_records::BoxedQuery<'a, Sqlite> {
        let records = throttle_records::table
            .filter(throttle_records::at.ge(Instant(since)))
            .into_boxed();
        match self {
            Self::Subject(purpose, subject) => records
                .filter(throttle_records::purpose.eq(purpose.as_str()))
                .filter(throttle_records::subject.eq(subject)),
            Self::Ip(purpose, ip) => records
                .filter(throttle_records::purpose.eq(purpose.as_str()))
                .filter(throttle_records::ip.eq(ip)),
        }
    }

    /// `None` while the key's count at or after `since` is under `limit`;
    /// once it has reached it, the time of the record whose leaving the
    /// window brings the count back under (the `count - limit + 1`-th
    /// oldest). A limit of zero is reached by no record at all, and no
    /// record's leaving frees it: `at`, the request's own time, stands in.
    fn frees_at(
        self,
        conn: &mut SqliteConnection,
        since: OffsetDateTime,
        limit: u32,
        at: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, Failure> {
        let count: i64 = self.records_since(since).count().get_result(conn)?;
        let limit = i64::from(limit);
        if count < limit {
            return Ok(None);
        }
        let leaving = self
            .records_since(since)
            .select(throttle_records::at)
            .order(throttle_records::at.asc())
            .offset(count - limit)
            .first(conn)
            .optional()?;
        Ok(Some(leaving.unwrap_or(at)))
    }
}

/// Counts `subject`'s and `ip`'s records of `purpose` since `since` against
/// their limits and, if both are under, records one at `at`, in the
/// caller's transaction.
fn admit(
    conn: &mut SqliteConnection,
    purpose: Purpose,
    (subject, per_subject): (&str, u32),
    (ip, per_ip): (&str, u32),
    at: OffsetDateTime,
    since: OffsetDateTime,
) -> Result<Admission, Failure> {
    let (by_subject, by_ip) = (Key::Subject(purpose, subject), Key::Ip(purpose, ip));
    let subject_frees = by_subject.frees_at(conn, since, per_subject, at)?;
    let ip_frees = by_ip.frees_at(conn, since, per_ip, at)?;
    if let Some(frees_at) = subject_frees.max(ip_frees) {
        return Ok(Admission::Refused { frees_at });
    }
    diesel::insert_into(throttle_records::table)
        .values(ThrottleRow::new(purpose.as_str(), subject, ip, at))
        .execute(conn)?;
    Ok(Admission::Admitted)
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
        self.transaction(|conn| {
            admit(
                conn,
                Purpose::Login,
                (account, limits.per_account),
                (ip, limits.per_ip),
                at,
                since,
            )
        })
    }

    fn clear_failed_logins(&self, account: &str, before: OffsetDateTime) -> Result<(), StoreError> {
        self.write(|conn| {
            diesel::delete(
                throttle_records::table
                    .filter(throttle_records::purpose.eq(Purpose::Login.as_str()))
                    .filter(
                        throttle_records::subject
                            .eq(account)
                            .or(throttle_records::at.lt(Instant(before))),
                    ),
            )
            .execute(conn)?;
            Ok(())
        })
    }

    fn withdraw_attempt(
        &self,
        account: &str,
        ip: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.write(|conn| {
            let one: Option<i64> = throttle_records::table
                .filter(throttle_records::purpose.eq(Purpose::Login.as_str()))
                .filter(throttle_records::subject.eq(account))
                .filter(throttle_records::ip.eq(ip))
                .filter(throttle_records::at.eq(Instant(at)))
                .select(throttle_records::id)
                .first(conn)
                .optional()?;
            if let Some(id) = one {
                diesel::delete(throttle_records::table.find(id)).execute(conn)?;
            }
            Ok(())
        })
    }
}

impl MailThrottleStore for SqliteStore {
    fn admit_mail(
        &self,
        recipient: &str,
        ip: &str,
        at: OffsetDateTime,
        since: OffsetDateTime,
        limits: MailLimits,
    ) -> Result<Admission, StoreError> {
        // Forgetting what left the window is a statement of its own, as
        // with PostgreSQL.
        self.write(|conn| {
            diesel::delete(
                throttle_records::table
                    .filter(throttle_records::purpose.eq(Purpose::Mail.as_str()))
                    .filter(throttle_records::at.lt(Instant(since))),
            )
            .execute(conn)?;
            Ok(())
        })?;
        self.transaction(|conn| {
            admit(
                conn,
                Purpose::Mail,
                (recipient, limits.per_recipient),
                (ip, limits.per_ip),
                at,
                since,
            )
        })
    }
}
