//! Throttle counters: failed logins, and mails sent on request.
//!
//! [`LoginThrottleStore::admit_login`] and [`MailThrottleStore::admit_mail`]
//! count and record in one transaction that first takes two
//! transaction-scoped advisory locks, one for the subject (the account, the
//! recipient) and then one for the client address (always in that order, so
//! two requests never wait for each other crosswise). Requests for one
//! subject, or from one address, therefore take turns from counting to
//! recording, on every instance that shares the database; requests that
//! share neither run in parallel. The locks end with the transaction, so a
//! lost connection cannot leave one behind.

use diesel::{
    pg::Pg,
    prelude::*,
    sql_query,
    sql_types::{Integer, Text},
};
use ports::{
    Admission, LoginThrottleStore, MailLimits, MailThrottleStore, StoreError, ThrottleLimits,
};
use time::OffsetDateTime;

use crate::{error::Failure, rows::ThrottleRow, schema::throttle_records, store::PgStore};

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
    /// The first int of the key's advisory lock `(namespace, hashtext(key))`:
    /// keys of different kinds that hash alike never share a lock. (Two-int
    /// keys are a space apart from the one-bigint keys used elsewhere.)
    const fn lock_namespace(self) -> i32 {
        match self {
            Self::Subject(Purpose::Login, _) => 1,
            Self::Ip(Purpose::Login, _) => 2,
            Self::Subject(Purpose::Mail, _) => 3,
            Self::Ip(Purpose::Mail, _) => 4,
        }
    }

    /// Takes the key's advisory lock until the transaction ends. A hash
    /// collision only makes two keys take turns.
    fn lock(self, conn: &mut PgConnection) -> Result<(), Failure> {
        let key = match self {
            Self::Subject(_, key) | Self::Ip(_, key) => key,
        };
        sql_query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind::<Integer, _>(self.lock_namespace())
            .bind::<Text, _>(key)
            .execute(conn)?;
        Ok(())
    }

    /// The key's records at or after `since`.
    fn records_since(self, since: OffsetDateTime) -> throttle_records::BoxedQuery<'a, Pg> {
        let records = throttle_records::table
            .filter(throttle_records::at.ge(since))
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
        conn: &mut PgConnection,
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
    conn: &mut PgConnection,
    purpose: Purpose,
    (subject, per_subject): (&str, u32),
    (ip, per_ip): (&str, u32),
    at: OffsetDateTime,
    since: OffsetDateTime,
) -> Result<Admission, Failure> {
    let (by_subject, by_ip) = (Key::Subject(purpose, subject), Key::Ip(purpose, ip));
    // Subject first, then address: the one order every caller uses.
    by_subject.lock(conn)?;
    by_ip.lock(conn)?;
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

impl LoginThrottleStore for PgStore {
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
        self.with_conn(|conn| {
            diesel::delete(
                throttle_records::table
                    .filter(throttle_records::purpose.eq(Purpose::Login.as_str()))
                    .filter(
                        throttle_records::subject
                            .eq(account)
                            .or(throttle_records::at.lt(before)),
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
        self.with_conn(|conn| {
            let one: Option<i64> = throttle_records::table
                .filter(throttle_records::purpose.eq(Purpose::Login.as_str()))
                .filter(throttle_records::subject.eq(account))
                .filter(throttle_records::ip.eq(ip))
                .filter(throttle_records::at.eq(at))
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

impl MailThrottleStore for PgStore {
    fn admit_mail(
        &self,
        recipient: &str,
        ip: &str,
        at: OffsetDateTime,
        since: OffsetDateTime,
        limits: MailLimits,
    ) -> Result<Admission, StoreError> {
        // Forgetting what left the window is a statement of its own: in the
        // admitting transaction its row locks would be held while waiting
        // for the advisory locks.
        self.with_conn(|conn| {
            diesel::delete(
                throttle_records::table
                    .filter(throttle_records::purpose.eq(Purpose::Mail.as_str()))
                    .filter(throttle_records::at.lt(since)),
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
