use ports::{BoxError, HasherError, MailError, StoreError, TokenError};

/// A failure of the machinery rather than of the request. Every use case
/// can end this way; its cause goes to the log only.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    /// A dependency (the database) is unreachable; retrying later may work.
    #[error("service unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else: a bug, a corrupt row, a misconfigured key.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl From<StoreError> for Fault {
    /// A store error the use case gave no meaning of its own: a `NotFound`
    /// or `Duplicate` that the use case did not expect is a bug, never a
    /// client's mistake.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(source) => Self::Unavailable(source),
            StoreError::Internal(source) => Self::Internal(source),
            other @ (StoreError::Duplicate(_) | StoreError::NotFound) => {
                Self::Internal(Box::new(other))
            }
        }
    }
}

impl From<HasherError> for Fault {
    fn from(e: HasherError) -> Self {
        Self::Internal(Box::new(e))
    }
}

impl From<MailError> for Fault {
    fn from(e: MailError) -> Self {
        Self::Internal(Box::new(e))
    }
}

impl From<TokenError> for Fault {
    /// For issuing tokens, where every failure is a misconfiguration; a
    /// use case that verifies tokens maps `Expired` and `Invalid` itself.
    fn from(e: TokenError) -> Self {
        Self::Internal(Box::new(e))
    }
}

/// Lets `?` turn the named port errors into a use case error's `Fault`
/// variant. Only errors the use case gives no meaning of its own belong
/// in the list.
macro_rules! faults_from {
    ($error:ty: $($port:ty),+) => {
        $(
            impl From<$port> for $error {
                fn from(e: $port) -> Self {
                    Self::Fault(e.into())
                }
            }
        )+
    };
}
pub(crate) use faults_from;
