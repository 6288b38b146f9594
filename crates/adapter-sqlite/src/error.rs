//! The one place where SQLite, diesel and r2d2 errors become [`StoreError`]s.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use ports::{BoxError, StoreError, UniqueField};

/// Whatever went wrong inside the adapter, kept as it came until
/// [`Error::into_store`] maps it to the port's vocabulary.
#[derive(Debug)]
pub(crate) enum Error {
    /// A query, transaction or statement failed.
    Db(DieselError),
    /// No pooled connection became free in time, or none could be opened.
    Pool(diesel::r2d2::PoolError),
    /// The database file could not be opened.
    Connect(diesel::ConnectionError),
    /// The database's directory could not be created.
    Io(std::io::Error),
    /// A migration failed.
    Migration(BoxError),
    /// A stored row does not make a valid domain value.
    Corrupt(CorruptRow),
    /// An outcome the adapter decided itself (e.g. [`StoreError::NotFound`]).
    Store(StoreError),
}

/// A row that does not convert to a domain value: a bug or a hand edit.
#[derive(Debug, thiserror::Error)]
#[error("corrupt row in {table}: {detail}")]
pub(crate) struct CorruptRow {
    table: &'static str,
    detail: String,
}

impl Error {
    /// A corrupt row of `table`, for the reason `detail`.
    pub(crate) fn corrupt(table: &'static str, detail: impl Into<String>) -> Self {
        Self::Corrupt(CorruptRow {
            table,
            detail: detail.into(),
        })
    }

    /// Whether SQLite gave up waiting for a lock (`SQLITE_BUSY` /
    /// `SQLITE_LOCKED`), so running the whole transaction again may work.
    pub(crate) fn is_busy(&self) -> bool {
        matches!(self, Self::Db(e) if diesel_is_busy(e))
    }

    /// Maps the error to the port's vocabulary.
    pub(crate) fn into_store(self) -> StoreError {
        match self {
            Self::Store(e) => e,
            Self::Pool(e) => StoreError::Unavailable(Box::new(e)),
            Self::Connect(e) => StoreError::Unavailable(Box::new(e)),
            Self::Io(e) => StoreError::Unavailable(Box::new(e)),
            Self::Migration(e) => StoreError::Internal(e),
            Self::Corrupt(e) => StoreError::Internal(Box::new(e)),
            Self::Db(e) => from_diesel(e),
        }
    }
}

fn from_diesel(e: DieselError) -> StoreError {
    match &e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            match unique_field(info.message()) {
                Some(field) => StoreError::Duplicate(field),
                None => StoreError::Internal(Box::new(e)),
            }
        }
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, info)
            if is_unavailable_message(info.message()) =>
        {
            StoreError::Unavailable(Box::new(e))
        }
        _ => StoreError::Internal(Box::new(e)),
    }
}

/// The user attribute a unique-constraint message names. SQLite reports an
/// expression index by name (`UNIQUE constraint failed: index
/// 'users_email_key'`) and a column index by column (`UNIQUE constraint
/// failed: users.phone`); both spellings are recognised.
fn unique_field(message: &str) -> Option<UniqueField> {
    const NAMES: [(&str, &str, UniqueField); 3] = [
        ("'users_email_key'", "users.email", UniqueField::Email),
        (
            "'users_username_key'",
            "users.username",
            UniqueField::Username,
        ),
        ("'users_phone_key'", "users.phone", UniqueField::Phone),
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

fn diesel_is_busy(e: &DieselError) -> bool {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            is_busy_message(info.message())
        }
        DieselError::RollbackErrorOnCommit { commit_error, .. } => diesel_is_busy(commit_error),
        _ => false,
    }
}

fn is_busy_message(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database table is locked")
}

/// Failures of the file or the disk rather than of the statement: the
/// database is unusable for now, whatever is asked of it.
fn is_unavailable_message(message: &str) -> bool {
    is_busy_message(message)
        || message.contains("unable to open database file")
        || message.contains("disk I/O error")
        || message.contains("database or disk is full")
}

impl From<DieselError> for Error {
    fn from(e: DieselError) -> Self {
        Self::Db(e)
    }
}

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        e.into_store()
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
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
    fn busy_is_unavailable() {
        let busy = DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("database is locked".to_owned()),
        );
        assert!(Error::Db(busy).is_busy());
        let other = DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("database is locked".to_owned()),
        );
        assert!(matches!(
            Error::Db(other).into_store(),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            Error::Db(DieselError::NotFound).into_store(),
            StoreError::Internal(_)
        ));
    }
}
