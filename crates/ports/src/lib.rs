//! The ports of authd: what the use cases need from the outside world,
//! said in the domain's language. Adapters implement these traits; no
//! database, HTTP or JWT library type appears in any signature here.
//!
//! Every port is synchronous: use cases run whole on a blocking thread.

mod changes;
mod clock;
mod hasher;
mod mailer;
mod mfa;
mod store;
mod tokens;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use changes::{Change, ChangeFeed, ChangeListener, FeedSource};
pub use clock::{Clock, RefreshTokenDeriver, SecretGenerator};
pub use hasher::{HasherError, PasswordCheck, PasswordHasher};
pub use mailer::{Mail, MailError, Mailer};
pub use mfa::{SealError, SecretSealer, TotpAuthenticator, TotpEnrolment, TotpError};
pub use store::{
    Admission, ApiKeyStore, BoxError, CodeStore, InviteStore, LoginThrottleStore, MfaChallenge,
    MfaStore, NewRefreshToken, OneTimeCode, OrganizationStore, PasswordStore, ReadOnlyDatabase,
    Rotation, SessionStore, Store, StoreError, Successor, ThrottleLimits, TooManyKeys, TotpState,
    UniqueField, UserAdminStore, UserStore,
};
pub use store::{MailLimits, MailThrottleStore};
pub use tokens::{PublicJwk, TokenError, TokenIssuer};
