//! Choosing the storage backend from the command line.
//!
//! Memory and SQLite are built in. The DynamoDB backend is written elsewhere; it plugs in as
//! one more arm of [`open`], and until then asking for it fails with
//! [`BackendError::NotBuiltIn`] instead of quietly falling back to memory.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use medtrack_core::store::Store;
use medtrack_memory::MemoryStore;
use medtrack_sqlite::SqliteStore;

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
    /// The backend could not be opened.
    #[error("the {backend} backend could not be opened")]
    Open {
        /// The backend.
        backend: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
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
            let path = require(args.database.as_ref(), "sqlite", "--database")?;
            let store = SqliteStore::open(path)
                .await
                .map_err(|err| BackendError::Open {
                    backend: "sqlite",
                    source: Box::new(err),
                })?;
            Arc::new(store)
        }
        BackendKind::Dynamo => {
            let _prefix = require(args.table_prefix.as_ref(), "dynamo", "--table-prefix")?;
            let _topic = require(args.topic_arn.as_ref(), "dynamo", "--topic-arn")?;
            return Err(BackendError::NotBuiltIn("dynamo"));
        }
    };
    Ok(Backend {
        kind: args.backend,
        store,
    })
}

fn require<'a, T>(
    value: Option<&'a T>,
    backend: &'static str,
    flag: &'static str,
) -> Result<&'a T, BackendError> {
    value.ok_or(BackendError::MissingFlag { backend, flag })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(backend: BackendKind) -> BackendArgs {
        let name = format!("medtrack-web-{}.db", uuid::Uuid::new_v4());
        BackendArgs {
            backend,
            database: Some(std::env::temp_dir().join(name)),
            table_prefix: Some("medtrack-".into()),
            topic_arn: Some("arn:aws:sns:eu-west-1:000000000000:medtrack".into()),
        }
    }

    #[tokio::test]
    async fn memory_and_sqlite_open_and_dynamo_says_it_is_not_built_in() {
        assert!(open(&args(BackendKind::Memory)).await.is_ok());
        let sqlite = args(BackendKind::Sqlite);
        assert!(open(&sqlite).await.is_ok());
        if let Some(path) = &sqlite.database {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        let err = open(&args(BackendKind::Dynamo)).await.unwrap_err();
        assert!(
            err.to_string().contains("not built into medtrack-web yet"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_missing_flag_is_named() {
        let mut sqlite = args(BackendKind::Sqlite);
        sqlite.database = None;
        let err = open(&sqlite).await.unwrap_err();
        assert_eq!(err.to_string(), "the sqlite backend needs --database");
    }
}
