//! Choosing the storage backend from the command line.
//!
//! Only the memory backend is built in so far. The SQLite and DynamoDB backends are written
//! elsewhere; each plugs in as one more arm of [`open`], and until then asking for one fails
//! with [`BackendError::NotBuiltIn`] instead of quietly falling back to memory.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use medtrack_core::store::Store;
use medtrack_memory::MemoryStore;

/// Which backend stores the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// Process memory: for demos and tests; everything is lost on exit.
    Memory,
    /// A SQLite file (`--database`).
    Sqlite,
    /// DynamoDB tables (`--table-prefix`) with notifications on SNS (`--topic-arn`).
    Dynamo,
}

impl BackendKind {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Sqlite => "sqlite",
            Self::Dynamo => "dynamo",
        }
    }
}

/// The storage flags, shared with the other programs of this package.
#[derive(Debug, Clone, Args)]
pub struct BackendArgs {
    /// Where the data lives.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "memory",
        env = "MEDTRACK_BACKEND"
    )]
    pub backend: BackendKind,
    /// The SQLite database file (sqlite backend).
    #[arg(long, global = true, env = "MEDTRACK_DATABASE")]
    pub database: Option<PathBuf>,
    /// The prefix of the DynamoDB table names (dynamo backend).
    #[arg(long, global = true, env = "MEDTRACK_TABLE_PREFIX")]
    pub table_prefix: Option<String>,
    /// The SNS topic notifications are published to (dynamo backend).
    #[arg(long, global = true, env = "MEDTRACK_TOPIC_ARN")]
    pub topic_arn: Option<String>,
}

/// Why a backend could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// This build does not contain the backend yet.
    #[error("the {0} backend is not built into medtrack-web yet; use --backend memory for now")]
    NotBuiltIn(&'static str),
    /// A flag the backend needs is missing.
    #[error("the {backend} backend needs {flag}")]
    MissingFlag {
        /// The backend.
        backend: &'static str,
        /// The flag.
        flag: &'static str,
    },
}

/// An opened store.
#[derive(Debug, Clone)]
pub struct Backend {
    /// What kind it is.
    pub kind: BackendKind,
    /// The store.
    pub store: Arc<dyn Store>,
}

/// Opens the backend the flags ask for.
pub async fn open(args: &BackendArgs) -> Result<Backend, BackendError> {
    let store: Arc<dyn Store> = match args.backend {
        BackendKind::Memory => Arc::new(MemoryStore::new()),
        BackendKind::Sqlite => {
            require(args.database.as_ref(), "sqlite", "--database")?;
            return Err(BackendError::NotBuiltIn("sqlite"));
        }
        BackendKind::Dynamo => {
            require(args.table_prefix.as_ref(), "dynamo", "--table-prefix")?;
            require(args.topic_arn.as_ref(), "dynamo", "--topic-arn")?;
            return Err(BackendError::NotBuiltIn("dynamo"));
        }
    };
    Ok(Backend {
        kind: args.backend,
        store,
    })
}

fn require<T>(
    value: Option<&T>,
    backend: &'static str,
    flag: &'static str,
) -> Result<(), BackendError> {
    match value {
        Some(_) => Ok(()),
        None => Err(BackendError::MissingFlag { backend, flag }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(backend: BackendKind) -> BackendArgs {
        BackendArgs {
            backend,
            database: Some("clinic.db".into()),
            table_prefix: Some("medtrack-".into()),
            topic_arn: Some("arn:aws:sns:eu-west-1:000000000000:medtrack".into()),
        }
    }

    #[tokio::test]
    async fn memory_opens_and_the_others_say_they_are_not_built_in() {
        assert!(open(&args(BackendKind::Memory)).await.is_ok());
        for kind in [BackendKind::Sqlite, BackendKind::Dynamo] {
            let err = open(&args(kind)).await.unwrap_err();
            assert!(
                err.to_string().contains("not built into medtrack-web yet"),
                "{err}"
            );
        }
    }
}
