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

impl Failure {
    /// Whether SQLite gave up waiting for a lock (`SQLITE_BUSY` /
    /// `SQLITE_LOCKED`), so running the whole transaction again may work.
    pub(crate) fn is_busy(&self) -> bool {
        match &self.0 {
            StoreError::Unavailable(source) => source
                .downcast_ref::<DieselError>()
                .is_some_and(is_busy_error),
            _ => false,
        }
    }
}

/// Maps a diesel error to the port's vocabulary.
///
/// A unique violation names the field by the index it hit (see the
/// `users_*_key` indexes of the migrations); a foreign-key violation means
/// the row the call names (a user) does not exist; a busy database or a
/// failing file is worth retrying later.
pub(crate) fn store_error(error: DieselError) -> StoreError {
    match &error {
        DieselError::NotFound
        | DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
            StoreError::NotFound
        }
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            match unique_field(info.message()) {
                Some(field) => StoreError::Duplicate(field),
                None => StoreError::Internal(Box::new(error)),
            }
        }
        _ if is_busy_error(&error) => StoreError::Unavailable(Box::new(error)),
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, info)
            if is_unavailable_message(info.message()) =>
        {
            StoreError::Unavailable(Box::new(error))
        }
        _ => StoreError::Internal(Box::new(error)),
    }
}

/// Maps a failure to open the database file: it cannot be reached.
pub(crate) fn connection_error(error: ConnectionError) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

/// Maps a pool failure (no connection within the timeout).
pub(crate) fn pool_error(error: diesel::r2d2::PoolError) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

/// The user attribute a unique-constraint message names. SQLite reports an
/// expression index by name (`UNIQUE constraint failed: index
/// 'users_email_key'`) and a column index by column (`UNIQUE constraint
/// failed: users.phone`); both spellings are recognised.
fn unique_field(message: &str) -> Option<UniqueField> {
    const NAMES: [(&str, &str, UniqueField); 4] = [
        ("'users_email_key'", "users.email", UniqueField::Email),
        (
            "'users_username_key'",
            "users.username",
            UniqueField::Username,
        ),
        ("'users_phone_key'", "users.phone", UniqueField::Phone),
        (
            "'memberships_pkey'",
            "memberships.user_id",
            UniqueField::Member,
        ),
    ];
    NAMES
        .iter()
        .find(|(index, column, _)| message.contains(index) || names_column(message, column))
        .map(|(_, _, field)| *field)
}

/// Whether `message` lists `column` as a whole word (so `users.phone` does
/// not match a hypothetical `users.phone_verified`).
fn names_column(message: &str, column: &str) -> bool {
    message.split([' ', ',']).any(|word| word.trim() == column)
}

fn is_busy_error(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            is_busy_message(info.message())
        }
        DieselError::RollbackErrorOnCommit { commit_error, .. } => is_busy_error(commit_error),
        _ => false,
    }
}

fn is_busy_message(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database table is locked")
}

/// Failures of the file or the disk rather than of the statement: the
/// database is unusable for now, whatever is asked of it.
fn is_unavailable_message(message: &str) -> bool {
    message.contains("unable to open database file")
        || message.contains("disk I/O error")
        || message.contains("database or disk is full")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_unique_messages() {
        let cases = [
            (
                "UNIQUE constraint failed: index 'users_email_key'",
                Some(UniqueField::Email),
            ),
            (
                "UNIQUE constraint failed: index 'users_username_key'",
                Some(UniqueField::Username),
            ),
            (
                "UNIQUE constraint failed: users.phone",
                Some(UniqueField::Phone),
            ),
            ("UNIQUE constraint failed: organizations.id", None),
            ("UNIQUE constraint failed: users.id", None),
        ];
        for (message, field) in cases {
            assert_eq!(unique_field(message), field, "{message}");
        }
    }

    #[test]
    fn busy_is_unavailable_and_retried() {
        let busy = || {
            DieselError::DatabaseError(
                DatabaseErrorKind::Unknown,
                Box::new("database is locked".to_owned()),
            )
        };
        assert!(Failure::from(busy()).is_busy());
        assert!(matches!(store_error(busy()), StoreError::Unavailable(_)));
        let full = DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("database or disk is full".to_owned()),
        );
        let full = Failure::from(full);
        assert!(matches!(full.0, StoreError::Unavailable(_)));
        assert!(
            !full.is_busy(),
            "a full disk is not worth an immediate retry"
        );
        assert!(matches!(
            store_error(DieselError::NotFound),
            StoreError::NotFound
        ));
    }
}
