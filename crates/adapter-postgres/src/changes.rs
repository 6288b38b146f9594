//! The change feed: `LISTEN` on the channel the schema's triggers notify
//! (see the `change_feed` migration), on a connection of its own.
//!
//! The feed proves itself with a probe: every [`PROBE_EVERY`] it notifies
//! a channel only it listens to, through the server's notification queue,
//! from a second connection (a session hears its own notifications even
//! when it is not the one that listens: behind a pooler in transaction
//! mode, the listening server connection is not the feed's between two
//! statements, and what it hears goes nowhere). Notifications arrive in
//! commit order, so once the probe is back every change committed before
//! it was sent has arrived too: the listener is told the feed is good
//! until [`LEASE`] after the probe was sent. A feed that cannot hear the
//! probe (a dead connection, a pooler that does not keep the session) is
//! never trusted.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use diesel::{
    Connection, RunQueryDsl, connection::SimpleConnection, pg::PgConnection, sql_query,
    sql_types::Text,
};
use domain::UserId;
use ports::{Change, ChangeFeed, ChangeListener, FeedSource, StoreError};

/// The channel the triggers notify.
const CHANNEL: &str = "authd_changes";

/// How often the feed reads what has arrived: the delay it adds.
const POLL: Duration = Duration::from_millis(2);

/// How often the feed sends itself a probe.
const PROBE_EVERY: Duration = Duration::from_millis(100);

/// How long after a probe was sent, once it is back, the feed is trusted;
/// also how long an unanswered probe is waited for. A connection that
/// dies without a word is distrusted this long after its last probe.
pub(crate) const LEASE: Duration = Duration::from_millis(500);

/// The longest pause between attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// What the feed's connection calls itself in `pg_stat_activity`.
pub(crate) const APPLICATION_NAME: &str = "authd-changes";

/// Starts the feed of the database at `url`.
pub(crate) fn start(
    url: &str,
    listener: Arc<dyn ChangeListener>,
) -> Result<ChangeFeed, StoreError> {
    let feed = Feed {
        url: with_timeouts(url),
        listener,
        // Only this feed listens there: random, as instances on other
        // hosts may share the process id.
        probe_channel: format!("authd_probe_{}", uuid::Uuid::now_v7().simple()),
        conn: None,
        prober: None,
        trusted: false,
        probes: 0,
        probe: None,
        next_probe: Instant::now(),
        backoff: POLL,
        retry_at: Instant::now(),
        quiet: false,
    };
    ChangeFeed::start("authd-changes", POLL, feed).map_err(|e| StoreError::Internal(Box::new(e)))
}

struct Feed {
    url: String,
    listener: Arc<dyn ChangeListener>,
    probe_channel: String,
    conn: Option<PgConnection>,
    /// The connection the probes are sent from.
    prober: Option<PgConnection>,
    /// Whether the listener was told the feed is good.
    trusted: bool,
    probes: u64,
    /// The probe under way: its number and when it was sent.
    probe: Option<(u64, Instant)>,
    next_probe: Instant,
    backoff: Duration,
    retry_at: Instant,
    /// Whether the failure under way was logged already.
    quiet: bool,
}

/// A probe that did not come back within the lease.
#[derive(Debug, thiserror::Error)]
#[error("the feed did not hear its own probe within {LEASE:?}")]
struct Unheard;

impl FeedSource for Feed {
    fn tick(&mut self) {
        let now = Instant::now();
        if self.conn.is_none() {
            if now < self.retry_at {
                return;
            }
            match self.listen() {
                Ok((conn, prober)) => {
                    self.conn = Some(conn);
                    self.prober = Some(prober);
                    self.probe = None;
                    self.next_probe = now;
                }
                Err(e) => return self.failed(&e, now),
            }
        }
        if let Err(e) = self.probe(now).and_then(|()| self.drain()) {
            self.failed(&e, now);
        }
    }

    fn catch_up(&mut self) {
        if let Err(e) = self.drain() {
            self.failed(&e, Instant::now());
        }
    }
}

impl Feed {
    /// The listening connection and the probing one.
    fn listen(&self) -> Result<(PgConnection, PgConnection), String> {
        let open = || {
            let mut conn = PgConnection::establish(&self.url).map_err(|e| e.to_string())?;
            conn.batch_execute(&format!("SET application_name = '{APPLICATION_NAME}'"))
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(conn)
        };
        let mut conn = open()?;
        conn.batch_execute(&format!("LISTEN {CHANNEL}; LISTEN {}", self.probe_channel))
            .map_err(|e| e.to_string())?;
        Ok((conn, open()?))
    }

    /// Sends a probe when one is due; fails when the last one is overdue.
    fn probe(&mut self, now: Instant) -> Result<(), String> {
        let Some(prober) = self.prober.as_mut() else {
            return Ok(());
        };
        match self.probe {
            Some((_, sent)) if now.duration_since(sent) > LEASE => Err(Unheard.to_string()),
            Some(_) => Ok(()),
            None if now < self.next_probe => Ok(()),
            None => {
                self.probes += 1;
                sql_query("SELECT pg_notify($1, $2)")
                    .bind::<Text, _>(&self.probe_channel)
                    .bind::<Text, _>(self.probes.to_string())
                    .execute(prober)
                    .map_err(|e| e.to_string())?;
                self.probe = Some((self.probes, now));
                Ok(())
            }
        }
    }

    /// Tells what has arrived: changes, and the probe's return.
    fn drain(&mut self) -> Result<(), String> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        for notification in conn.notifications_iter() {
            let notification = notification.map_err(|e| e.to_string())?;
            if notification.channel == CHANNEL {
                self.listener.changed(change(&notification.payload));
            } else if let Some((number, sent)) = self.probe
                && notification.payload == number.to_string()
            {
                self.probe = None;
                self.next_probe = sent + PROBE_EVERY;
                if self.trusted {
                    self.listener.alive(sent + LEASE);
                } else {
                    self.trusted = true;
                    self.backoff = POLL;
                    if self.quiet {
                        tracing::info!("the change feed is back");
                    }
                    self.quiet = false;
                    self.listener.resynced(sent + LEASE);
                }
            }
        }
        Ok(())
    }

    /// Drops the connection, distrusts the feed and plans a retry.
    fn failed(&mut self, error: &str, now: Instant) {
        self.conn = None;
        self.prober = None;
        self.probe = None;
        if self.trusted {
            self.trusted = false;
            self.listener.lost();
        }
        if !self.quiet {
            tracing::warn!(
                error,
                "the change feed is down; callers are checked against the database until it is back"
            );
            self.quiet = true;
        }
        self.retry_at = now + self.backoff;
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }
}

/// libpq settings of the feed's connections, unless the URL sets them: a
/// server that does not answer is given up on, so that the feed's thread
/// (which the service joins when it stops) never waits long on the network.
const TIMEOUTS: [(&str, &str); 2] = [("connect_timeout", "5"), ("tcp_user_timeout", "2000")];

/// `url` with [`TIMEOUTS`] added where it sets none of its own (a URL;
/// a `key=value` connection string gets them as more pairs).
fn with_timeouts(url: &str) -> String {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"));
    let mut out = url.to_owned();
    match rest {
        Some(rest) => {
            // The query starts after the user and password (which may hold
            // a `?`) and the hosts.
            let authority = rest.rfind('@').map_or(0, |at| at + 1);
            let query = rest[authority..]
                .find('?')
                .map(|q| &rest[authority + q + 1..]);
            let set: Vec<&str> = query
                .unwrap_or_default()
                .split('&')
                .filter_map(|pair| pair.split('=').next())
                .collect();
            let mut has_query = query.is_some();
            for (key, value) in TIMEOUTS {
                if set.contains(&key) {
                    continue;
                }
                if !has_query {
                    out.push('?');
                    has_query = true;
                } else if !out.ends_with('?') && !out.ends_with('&') {
                    out.push('&');
                }
                out.push_str(&format!("{key}={value}"));
            }
        }
        None => {
            let set: Vec<&str> = url
                .split_whitespace()
                .filter_map(|pair| pair.split('=').next())
                .collect();
            for (key, value) in TIMEOUTS {
                if !set.contains(&key) && !url.contains(&format!("{key} =")) {
                    out.push_str(&format!(" {key}={value}"));
                }
            }
        }
    }
    out
}

/// The change a payload names: an account's id, or `*` for any.
fn change(payload: &str) -> Change {
    match payload.parse::<uuid::Uuid>() {
        Ok(id) => Change::Account(UserId::from_uuid(id)),
        Err(_) => Change::Everything,
    }
}

#[cfg(test)]
mod tests {
    use super::with_timeouts;

    #[test]
    fn the_feed_adds_timeouts_the_url_does_not_set() {
        assert_eq!(
            with_timeouts("postgres://u@h/db"),
            "postgres://u@h/db?connect_timeout=5&tcp_user_timeout=2000"
        );
        assert_eq!(
            with_timeouts("postgresql://u@h/db?sslmode=disable&connect_timeout=1"),
            "postgresql://u@h/db?sslmode=disable&connect_timeout=1&tcp_user_timeout=2000"
        );
        assert_eq!(
            with_timeouts("host=h dbname=db"),
            "host=h dbname=db connect_timeout=5 tcp_user_timeout=2000"
        );
        assert_eq!(
            with_timeouts("postgres://u:p?w@h1:5432,h2:5433/db?"),
            "postgres://u:p?w@h1:5432,h2:5433/db?connect_timeout=5&tcp_user_timeout=2000"
        );
        assert_eq!(
            with_timeouts("postgres://u:connect_timeout=1@h/db"),
            "postgres://u:connect_timeout=1@h/db?connect_timeout=5&tcp_user_timeout=2000"
        );
        assert_eq!(
            with_timeouts("host=h connect_timeout=1"),
            "host=h connect_timeout=1 tcp_user_timeout=2000"
        );
    }
}
