use time::{Duration, OffsetDateTime};

use crate::Session;

/// What presenting a refresh token amounts to, decided before any write.
///
/// A store turns each verdict into its writes (see
/// `ports::SessionStore::rotate_refresh`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefreshVerdict {
    /// The session was revoked: the token is worth nothing. Nothing changes.
    Invalid,
    /// The token, or its session, is past its expiry. Nothing changes.
    Expired,
    /// The token was spent before, outside the grace period: someone holds a
    /// stolen copy, so the whole session must be revoked.
    Reuse,
    /// The token was spent less than the grace period ago (two tabs
    /// refreshing at once, or a client retrying an answer it lost): answer
    /// again with the successor its first spending recorded. Nothing
    /// changes, so the session never grows a second branch, and the period
    /// stays measured from that first spending.
    Replay,
    /// The token is live: spend it and record its successor.
    Rotate,
}

/// Judges a refresh token, expiring at `token_expires_at` and spent at
/// `token_spent_at` (if it was), presented at `now` for `session`.
///
/// The rules apply in this order, the first that matches wins:
/// 1. a revoked session makes any of its tokens [`RefreshVerdict::Invalid`]
///    (it outranks reuse: there is nothing left to revoke, and a logout
///    wins over any replay);
/// 2. a token spent `grace` or more before `now` is
///    [`RefreshVerdict::Reuse`]; a `grace` of zero or less makes every
///    spent token reuse. A spending time after `now` (clocks of two
///    instances disagree a little) is within any positive grace;
/// 3. a token or session whose expiry is at or before `now` (expiry is
///    exclusive) is [`RefreshVerdict::Expired`];
/// 4. a token spent less than `grace` ago is [`RefreshVerdict::Replay`];
/// 5. otherwise [`RefreshVerdict::Rotate`].
pub fn judge_refresh(
    token_expires_at: OffsetDateTime,
    token_spent_at: Option<OffsetDateTime>,
    session: &Session,
    now: OffsetDateTime,
    grace: Duration,
) -> RefreshVerdict {
    if session.revoked_at.is_some() {
        return RefreshVerdict::Invalid;
    }
    let within_grace = |spent_at| grace.is_positive() && now - spent_at < grace;
    if token_spent_at.is_some_and(|at| !within_grace(at)) {
        return RefreshVerdict::Reuse;
    }
    if now >= token_expires_at || now >= session.expires_at {
        return RefreshVerdict::Expired;
    }
    if token_spent_at.is_some() {
        return RefreshVerdict::Replay;
    }
    RefreshVerdict::Rotate
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SessionId, UserId};
    use proptest::prelude::*;

    const NOW: OffsetDateTime = time::macros::datetime!(2030-01-01 0:00 UTC);

    fn session(expires_at: OffsetDateTime, revoked_at: Option<OffsetDateTime>) -> Session {
        Session {
            id: SessionId::generate(),
            user_id: UserId::generate(),
            created_at: NOW - Duration::hours(1),
            last_used_at: NOW - Duration::hours(1),
            expires_at,
            revoked_at,
            user_agent: None,
            ip: None,
            factors: crate::Factors::Password,
        }
    }

    fn live_session() -> Session {
        session(NOW + Duration::hours(1), None)
    }

    fn judge(
        spent_at: Option<OffsetDateTime>,
        session: &Session,
        grace: Duration,
    ) -> RefreshVerdict {
        judge_refresh(NOW + Duration::hours(1), spent_at, session, NOW, grace)
    }

    #[test]
    fn a_live_token_rotates() {
        assert_eq!(
            judge(None, &live_session(), Duration::ZERO),
            RefreshVerdict::Rotate
        );
    }

    #[test]
    fn a_revoked_session_outranks_reuse() {
        let revoked = session(NOW + Duration::hours(1), Some(NOW));
        assert_eq!(
            judge(Some(NOW), &revoked, Duration::ZERO),
            RefreshVerdict::Invalid
        );
    }

    #[test]
    fn a_replay_counts_within_grace_only() {
        let grace = Duration::seconds(5);
        let s = live_session();
        assert_eq!(
            judge(Some(NOW - Duration::seconds(4)), &s, grace),
            RefreshVerdict::Replay
        );
        assert_eq!(
            judge(Some(NOW - grace), &s, grace),
            RefreshVerdict::Reuse,
            "the grace period is exclusive"
        );
        assert_eq!(judge(Some(NOW), &s, Duration::ZERO), RefreshVerdict::Reuse);
        assert_eq!(
            judge(Some(NOW), &s, Duration::seconds(-1)),
            RefreshVerdict::Reuse
        );
    }

    #[test]
    fn a_replay_from_before_the_spend_counts_within_grace_only() {
        // Clocks of two instances may disagree a little.
        let later = Some(NOW + Duration::seconds(1));
        let s = live_session();
        assert_eq!(
            judge(later, &s, Duration::seconds(5)),
            RefreshVerdict::Replay
        );
        assert_eq!(judge(later, &s, Duration::ZERO), RefreshVerdict::Reuse);
    }

    #[test]
    fn reuse_outranks_expiry() {
        let expired = session(NOW, None);
        assert_eq!(
            judge_refresh(
                NOW,
                Some(NOW - Duration::hours(1)),
                &expired,
                NOW,
                Duration::ZERO
            ),
            RefreshVerdict::Reuse
        );
    }

    #[test]
    fn expiry_is_exclusive_for_token_and_session() {
        let s = live_session();
        assert_eq!(
            judge_refresh(NOW, None, &s, NOW, Duration::ZERO),
            RefreshVerdict::Expired
        );
        assert_eq!(
            judge(None, &session(NOW, None), Duration::ZERO),
            RefreshVerdict::Expired
        );
        assert_eq!(
            judge_refresh(
                NOW + Duration::microseconds(1),
                None,
                &s,
                NOW,
                Duration::ZERO
            ),
            RefreshVerdict::Rotate
        );
    }

    #[test]
    fn an_expired_replay_within_grace_is_expired() {
        let expired = session(NOW, None);
        assert_eq!(
            judge(Some(NOW), &expired, Duration::seconds(5)),
            RefreshVerdict::Expired
        );
    }

    /// Offsets from [`NOW`], in milliseconds, wide enough to cross every
    /// boundary the rule has.
    fn offset() -> impl Strategy<Value = Duration> {
        (-10_000i64..10_000).prop_map(Duration::milliseconds)
    }

    proptest! {
        #[test]
        fn rotates_or_replays_exactly_when_every_rule_allows_it(
            token_expires in offset(),
            spent in proptest::option::of(offset()),
            session_expires in offset(),
            revoked in proptest::option::of(offset()),
            grace in offset(),
        ) {
            let s = session(NOW + session_expires, revoked.map(|r| NOW + r));
            let spent_at = spent.map(|d| NOW + d);
            let verdict = judge_refresh(NOW + token_expires, spent_at, &s, NOW, grace);

            if revoked.is_some() {
                prop_assert_eq!(verdict, RefreshVerdict::Invalid);
            }
            let within_grace = spent_at.is_some_and(|at| grace.is_positive() && NOW - at < grace);
            let live = s.is_active(NOW) && token_expires.is_positive();
            prop_assert_eq!(verdict == RefreshVerdict::Rotate, spent.is_none() && live);
            prop_assert_eq!(verdict == RefreshVerdict::Replay, within_grace && live);
            if spent.is_none() {
                prop_assert_ne!(verdict, RefreshVerdict::Reuse);
            }
            if !grace.is_positive() && spent.is_some() && revoked.is_none() {
                prop_assert_eq!(verdict, RefreshVerdict::Reuse);
            }
        }
    }
}
