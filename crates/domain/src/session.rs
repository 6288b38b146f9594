use time::OffsetDateTime;

use crate::{Factors, SessionId, UserId};

/// A login session: one chain of rotating refresh tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session's id (the `sid` claim).
    pub id: SessionId,
    /// Whose session it is.
    pub user_id: UserId,
    /// When the user logged in.
    pub created_at: OffsetDateTime,
    /// When a token of this session was last refreshed.
    pub last_used_at: OffsetDateTime,
    /// When the newest refresh token expires; the session ends then. Never
    /// later than the session's absolute end (see [`crate::SessionLifetime`]).
    pub expires_at: OffsetDateTime,
    /// When it was revoked (logout, reuse, password change), if it was.
    pub revoked_at: Option<OffsetDateTime>,
    /// The client's `User-Agent` at login or at the latest refresh.
    pub user_agent: Option<String>,
    /// The client's address at login or at the latest refresh.
    pub ip: Option<String>,
    /// How the user logged in; every token of the session says so.
    pub factors: Factors,
}

impl Session {
    /// Whether the session still grants access at `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn activity() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1000);
        let mut s = Session {
            id: SessionId::generate(),
            user_id: UserId::generate(),
            created_at: now,
            last_used_at: now,
            expires_at: now + Duration::seconds(10),
            revoked_at: None,
            user_agent: None,
            ip: None,
            factors: Factors::Password,
        };
        assert!(s.is_active(now));
        assert!(!s.is_active(now + Duration::seconds(10)), "expiry is exact");
        s.revoked_at = Some(now);
        assert!(!s.is_active(now));
    }
}
