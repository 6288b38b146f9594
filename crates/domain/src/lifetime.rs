use time::{Duration, OffsetDateTime};

use crate::Session;

/// How long a session lives: each refresh token lives `refresh_ttl` from
/// its issue (the session slides forward at every refresh), but no session
/// lives past `max_age` after its login, however often it was refreshed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionLifetime {
    /// How long a refresh token lives from its issue.
    pub refresh_ttl: Duration,
    /// How long a session may live from its login.
    pub max_age: Duration,
}

impl SessionLifetime {
    /// The latest a session that began at `created_at` may end.
    pub fn session_end(self, created_at: OffsetDateTime) -> OffsetDateTime {
        created_at + self.max_age
    }

    /// When the refresh token that a session begun at `created_at` hands
    /// out at `now` expires: `refresh_ttl` after `now`, but never past the
    /// session's end. The session's expiry moves to the same instant.
    pub fn next_refresh_expiry(
        self,
        created_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> OffsetDateTime {
        (now + self.refresh_ttl).min(self.session_end(created_at))
    }

    /// `session` as this lifetime bounds it: its expiry no later than its
    /// end, so that a session stored under a longer `max_age` ends by the
    /// current one.
    pub fn bound(self, mut session: Session) -> Session {
        session.expires_at = session.expires_at.min(self.session_end(session.created_at));
        session
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SessionId, UserId};
    use proptest::prelude::*;

    const LOGIN: OffsetDateTime = time::macros::datetime!(2030-01-01 0:00 UTC);

    fn lifetime(refresh_ttl_days: i64, max_age_days: i64) -> SessionLifetime {
        SessionLifetime {
            refresh_ttl: Duration::days(refresh_ttl_days),
            max_age: Duration::days(max_age_days),
        }
    }

    fn session(expires_at: OffsetDateTime) -> Session {
        Session {
            id: SessionId::generate(),
            user_id: UserId::generate(),
            created_at: LOGIN,
            last_used_at: LOGIN,
            expires_at,
            revoked_at: None,
            user_agent: None,
            ip: None,
            factors: crate::Factors::Password,
        }
    }

    #[test]
    fn a_refresh_slides_the_expiry_while_far_from_the_end() {
        let l = lifetime(30, 90);
        let now = LOGIN + Duration::days(10);
        assert_eq!(l.next_refresh_expiry(LOGIN, now), now + Duration::days(30));
    }

    #[test]
    fn near_the_end_the_expiry_is_the_end() {
        let l = lifetime(30, 90);
        let now = LOGIN + Duration::days(80);
        assert_eq!(
            l.next_refresh_expiry(LOGIN, now),
            LOGIN + Duration::days(90)
        );
        assert_eq!(
            l.next_refresh_expiry(LOGIN, LOGIN + Duration::days(100)),
            LOGIN + Duration::days(90),
            "past the end, the expiry stays at the end: nothing is live"
        );
    }

    #[test]
    fn a_max_age_below_the_refresh_ttl_caps_the_first_token_too() {
        let l = SessionLifetime {
            refresh_ttl: Duration::days(30),
            max_age: Duration::seconds(2),
        };
        assert_eq!(
            l.next_refresh_expiry(LOGIN, LOGIN),
            LOGIN + Duration::seconds(2)
        );
    }

    #[test]
    fn bound_caps_a_session_stored_under_a_longer_max_age() {
        let l = lifetime(30, 90);
        let late = session(LOGIN + Duration::days(120));
        assert_eq!(l.bound(late).expires_at, LOGIN + Duration::days(90));
        let early = session(LOGIN + Duration::days(20));
        assert_eq!(l.bound(early.clone()), early);
    }

    proptest! {
        #[test]
        fn the_expiry_never_passes_either_limit(
            ttl in 1i64..10_000,
            max_age in 1i64..10_000,
            since_login in 0i64..20_000,
        ) {
            let l = SessionLifetime {
                refresh_ttl: Duration::seconds(ttl),
                max_age: Duration::seconds(max_age),
            };
            let now = LOGIN + Duration::seconds(since_login);
            let expiry = l.next_refresh_expiry(LOGIN, now);
            prop_assert!(expiry <= now + l.refresh_ttl);
            prop_assert!(expiry <= LOGIN + l.max_age);
            prop_assert!(expiry == now + l.refresh_ttl || expiry == LOGIN + l.max_age);
        }
    }
}
