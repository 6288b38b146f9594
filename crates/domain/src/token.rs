use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Factors, SessionId, UserId};

/// The claims of an access token, as issued and as verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user (`sub`).
    pub user_id: UserId,
    /// The session the token belongs to (`sid`).
    pub session_id: SessionId,
    /// A unique token id (`jti`).
    pub token_id: Uuid,
    /// Issued at (`iat`), whole seconds.
    pub issued_at: OffsetDateTime,
    /// Expires at (`exp`), whole seconds.
    pub expires_at: OffsetDateTime,
    /// How the user logged in (`amr`).
    pub factors: Factors,
}
