//! The one place where driver errors become [`StoreError`]s.

use diesel::result::{ConnectionError, DatabaseErrorKind, Error as DieselError};
use ports::{StoreError, UniqueField};

/// A [`StoreError`] that diesel's transaction machinery can carry: a
/// transaction closure returning it rolls back.
#[derive(Debug)]
pub(crate) struct Failure(pub(crate) StoreError);

impl From<DieselError> for Failure {
    fn from(error: DieselError) -> Self {
        Self(store_error(error))
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Self(error)
    }
}

/// What the server says when `statement_timeout` cancels a statement (diesel
/// does not tell its SQLSTATE, 57014, apart; servers with a translated
/// `lc_messages` say it otherwise, and such a cancel is then `Internal`).
const STATEMENT_TIMEOUT: &str = "canceling statement due to statement timeout";

/// Maps a diesel error to the port's vocabulary.
///
/// A unique violation names the field by the index it hit (see the
/// `users_*_key` indexes of the migrations); a foreign-key violation means
/// the row the call names (a user) does not exist; a lost connection, a
/// serialization conflict, a statement over the statement timeout or a
/// server that has become read-only (a standby, during a failover) is worth
/// retrying later. A commit that failed is judged by why it failed (a
/// connection lost at COMMIT is as unavailable as one lost before).
pub(crate) fn store_error(error: DieselError) -> StoreError {
    if let DieselError::RollbackErrorOnCommit { commit_error, .. } = error {
        return store_error(*commit_error);
    }
    match &error {
        DieselError::NotFound
        | DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
            StoreError::NotFound
        }
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            match unique_field(info.constraint_name()) {
                Some(field) => StoreError::Duplicate(field),
                None => StoreError::Internal(Box::new(error)),
            }
        }
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection
            | DatabaseErrorKind::UnableToSendCommand
            | DatabaseErrorKind::SerializationFailure
            | DatabaseErrorKind::ReadOnlyTransaction,
            _,
        ) => StoreError::Unavailable(Box::new(error)),
        DieselError::DatabaseError(_, info) if info.message() == STATEMENT_TIMEOUT => {
            StoreError::Unavailable(Box::new(error))
        }
        _ => StoreError::Internal(Box::new(error)),
    }
}

/// Maps a failure to open a connection: a malformed URL is a bug in the
/// configuration, anything else means the server cannot be reached.
pub(crate) fn connection_error(error: ConnectionError) -> StoreError {
    match error {
        ConnectionError::InvalidCString(_) | ConnectionError::InvalidConnectionUrl(_) => {
            StoreError::Internal(Box::new(error))
        }
        _ => StoreError::Unavailable(Box::new(error)),
    }
}

/// Maps a pool failure (no connection within the timeout).
pub(crate) fn pool_error(error: diesel::r2d2::PoolError) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

fn unique_field(constraint: Option<&str>) -> Option<UniqueField> {
    match constraint? {
        "users_email_key" => Some(UniqueField::Email),
        "users_username_key" => Some(UniqueField::Username),
        "users_phone_key" => Some(UniqueField::Phone),
        "memberships_pkey" => Some(UniqueField::Member),
        _ => None,
    }
}
