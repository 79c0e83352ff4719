//! Errors of this backend and how they become the core's [`StoreError`].
//!
//! SQLite's own messages name tables, columns and constraints, never the values written, so
//! the driver error can travel as the source. Decoding errors of stored rows name only the
//! column, because a parser's message may quote stored health information.

use std::path::PathBuf;

use medtrack_core::error::{ConflictKind, Entity, StoreError};
use sqlx::error::ErrorKind;
use sqlx::migrate::MigrateError;

const BACKEND: &str = "sqlite";

/// Primary result codes, from `sqlite3.h`.
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;

/// Why a database could not be opened.
///
/// [`NotADatabase`](Self::NotADatabase) and [`Corrupt`](Self::Corrupt) leave the file and its
/// directory exactly as they were. [`SchemaTooNew`](Self::SchemaTooNew) leaves the database
/// file byte for byte as it was, though SQLite's read-only look at a WAL database may create
/// its empty `-wal` and `-shm` side files. [`Driver`](Self::Driver) and
/// [`Migrate`](Self::Migrate) may stop between two migrations; each runs in its own
/// transaction, so none is ever half-applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The URL could not be understood.
    #[error("invalid SQLite database URL")]
    InvalidUrl(#[source] sqlx::Error),
    /// The file exists but does not start with the SQLite header; it was not opened.
    #[error("{} is not a SQLite database; it was left untouched", path.display())]
    NotADatabase {
        /// The file given.
        path: PathBuf,
    },
    /// The file has a SQLite header but SQLite cannot read it; it was opened read-only and
    /// left untouched.
    #[error("{} is damaged or not a SQLite database; it was left untouched", path.display())]
    Corrupt {
        /// The file given.
        path: PathBuf,
        /// SQLite's report.
        #[source]
        source: sqlx::Error,
    },
    /// The database was migrated by a newer MedTrack; this one refuses to touch it.
    #[error(
        "the database schema is at version {found}, newer than version {supported} that this \
         build of medtrack-sqlite knows; open it with a newer build"
    )]
    SchemaTooNew {
        /// The newest migration applied to the database.
        found: i64,
        /// The newest migration this build carries.
        supported: i64,
    },
    /// Applying a migration failed.
    #[error("migrating the database failed")]
    Migrate(#[source] MigrateError),
    /// Reading the file's header failed.
    #[error("reading {} failed", path.display())]
    Io {
        /// The file given.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// SQLite or the pool failed while opening.
    #[error("opening the SQLite database failed")]
    Driver(#[from] sqlx::Error),
}

/// Failures of store operations, before they are mapped to [`StoreError`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum SqliteError {
    /// The driver failed; constraint violations and lock errors are sorted out on mapping.
    #[error("SQLite driver error")]
    Driver(#[from] sqlx::Error),
    /// A time claim collided with one already held.
    #[error("time already claimed")]
    Claimed(ConflictKind),
    /// A conditional write found another version or lease holder than expected.
    #[error("conditional write refused")]
    Conflict(ConflictKind),
    /// The row addressed does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// What kind of row.
        entity: Entity,
        /// Its id, or a placeholder where the key is secret.
        id: String,
    },
    /// A value cannot be stored in this schema.
    #[error("cannot store {0}")]
    Encode(&'static str),
    /// A stored value cannot be read back; names the column only.
    #[error("stored value in column {0} cannot be read")]
    Decode(&'static str),
    /// A page cursor did not come from this store.
    #[error("malformed page cursor")]
    Cursor,
}

impl SqliteError {
    pub(crate) fn not_found(entity: Entity, id: impl ToString) -> Self {
        Self::NotFound {
            entity,
            id: id.to_string(),
        }
    }
}

impl From<SqliteError> for StoreError {
    fn from(err: SqliteError) -> Self {
        match err {
            SqliteError::Driver(driver) => from_driver(driver),
            SqliteError::Claimed(kind) | SqliteError::Conflict(kind) => Self::Conflict(kind),
            SqliteError::NotFound { entity, id } => Self::NotFound { entity, id },
            SqliteError::Cursor => Self::InvalidCursor,
            other => backend(other),
        }
    }
}

fn from_driver(err: sqlx::Error) -> StoreError {
    if let Some(kind) = conflict_kind(&err) {
        return StoreError::Conflict(kind);
    }
    if is_transient(&err) {
        return StoreError::Unavailable {
            retryable: true,
            source: Box::new(SqliteError::Driver(err)),
        };
    }
    if matches!(err, sqlx::Error::PoolClosed) {
        return StoreError::Unavailable {
            retryable: false,
            source: Box::new(SqliteError::Driver(err)),
        };
    }
    backend(SqliteError::Driver(err))
}

fn backend(err: SqliteError) -> StoreError {
    StoreError::Backend {
        backend: BACKEND,
        source: Box::new(err),
    }
}

/// The conflict a unique violation stands for, told apart by the constraint SQLite names.
fn conflict_kind(err: &sqlx::Error) -> Option<ConflictKind> {
    let db = err.as_database_error()?;
    if db.kind() != ErrorKind::UniqueViolation {
        return None;
    }
    if db.message().contains("users.email") {
        return Some(ConflictKind::Email);
    }
    Some(ConflictKind::AlreadyExists)
}

/// Whether the error means "locked or busy right now": worth trying again.
fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => {
            let code = db.code().and_then(|code| code.parse::<i64>().ok());
            code.is_some_and(|code| matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED))
        }
        _ => false,
    }
}

/// Whether the driver error is a unique or primary-key violation.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|db| db.kind() == ErrorKind::UniqueViolation)
}

/// Whether the driver error is a foreign-key violation.
pub(crate) fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|db| db.kind() == ErrorKind::ForeignKeyViolation)
}

/// A foreign-key violation as `NotFound` for the row the write referred to; any other error
/// unchanged.
pub(crate) fn or_missing(err: sqlx::Error, entity: Entity, id: impl ToString) -> SqliteError {
    if is_foreign_key_violation(&err) {
        return SqliteError::not_found(entity, id);
    }
    err.into()
}
