//! The change feed: the `changes` rows the schema's triggers add (see the
//! `change_feed` migration), read in order on a connection of its own, so
//! that every process and every store on one file hears every change.
//!
//! Each read that succeeds tells the listener the feed is good until
//! [`LEASE`] after it began; a gap in the numbers (rows pruned before this
//! feed read them) or a failed read makes it start over.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use diesel::{
    ExpressionMethods, QueryDsl, QueryableByName, RunQueryDsl, SqliteConnection,
    connection::SimpleConnection,
    sql_query,
    sql_types::{BigInt, Nullable, Text},
};
use domain::UserId;
use ports::{Change, ChangeFeed, ChangeListener, FeedSource, StoreError};

use crate::{pool, schema::changes};

/// How often the feed reads the new rows: the delay it adds.
const POLL: Duration = Duration::from_millis(5);

/// How long after a read began the feed is trusted without another.
const LEASE: Duration = Duration::from_millis(500);

/// Starts the feed of the database file at `path`.
pub(crate) fn start(
    path: String,
    listener: Arc<dyn ChangeListener>,
) -> Result<ChangeFeed, StoreError> {
    let feed = Feed {
        path,
        listener,
        conn: None,
        last: None,
        failing: false,
    };
    ChangeFeed::start("authd-changes", POLL, feed).map_err(|e| StoreError::Internal(Box::new(e)))
}

struct Feed {
    path: String,
    listener: Arc<dyn ChangeListener>,
    conn: Option<SqliteConnection>,
    /// The last change read; `None` until the feed has (re)started.
    last: Option<i64>,
    /// Whether the failure under way was logged already.
    failing: bool,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Nullable<Text>)]
    account: Option<String>,
}

impl FeedSource for Feed {
    fn tick(&mut self) {
        let started = Instant::now();
        if let Err(error) = self.read(started) {
            if self.last.take().is_some() {
                self.listener.lost();
            }
            self.conn = None;
            if !self.failing {
                tracing::warn!(
                    %error,
                    "the change feed is down; callers are checked against the database until it is back"
                );
                self.failing = true;
            }
        }
    }

    /// Reads only on a connection already open and in step: opening one,
    /// or starting over, is for the feed's own thread.
    fn catch_up(&mut self) {
        if self.conn.is_some() && self.last.is_some() {
            self.tick();
        }
    }
}

impl Feed {
    fn read(&mut self, started: Instant) -> Result<(), StoreError> {
        let conn = match self.conn.as_mut() {
            Some(conn) => conn,
            None => self.conn.insert(open(&self.path)?),
        };
        let failed = |e| StoreError::Unavailable(Box::new(e));
        let Some(last) = self.last else {
            let newest =
                sql_query("SELECT coalesce(max(seq), 0) AS seq, NULL AS account FROM changes")
                    .get_result::<Row>(conn)
                    .map_err(failed)?;
            self.last = Some(newest.seq);
            if self.failing {
                tracing::info!("the change feed is back");
                self.failing = false;
            }
            self.listener.resynced(started + LEASE);
            return Ok(());
        };
        // A statement diesel keeps prepared: this runs before every answer
        // from memory.
        let rows: Vec<Row> = changes::table
            .filter(changes::seq.gt(last))
            .order(changes::seq)
            .select((changes::seq, changes::account))
            .load::<(i64, Option<String>)>(conn)
            .map_err(failed)?
            .into_iter()
            .map(|(seq, account)| Row { seq, account })
            .collect();
        if rows.first().is_some_and(|row| row.seq != last + 1) {
            // Pruned before this feed read them: start over.
            self.last = None;
            self.listener.lost();
            return Ok(());
        }
        for row in &rows {
            self.listener.changed(change(row.account.as_deref()));
        }
        if let Some(row) = rows.last() {
            self.last = Some(row.seq);
        }
        self.listener.alive(started + LEASE);
        Ok(())
    }
}

/// A connection of the feed's own: it waits little for a lock (a read
/// waits only without WAL), as a request may be waiting for its read.
fn open(path: &str) -> Result<SqliteConnection, StoreError> {
    let mut conn = pool::open(path)?;
    conn.batch_execute(&format!("PRAGMA busy_timeout = {}", BUSY.as_millis()))
        .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
    Ok(conn)
}

/// How long a read of the feed waits for a lock.
const BUSY: Duration = Duration::from_millis(20);

/// The change a row names: an account, or any account.
fn change(account: Option<&str>) -> Change {
    match account.map(str::parse::<uuid::Uuid>) {
        Some(Ok(id)) => Change::Account(UserId::from_uuid(id)),
        _ => Change::Everything,
    }
}
