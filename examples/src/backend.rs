//! Choosing the storage backend, and the notifier that goes with it, from the command line.
//!
//! Every program of this package takes the same flags: `--backend memory|sqlite|dynamo`,
//! `--database PATH` for SQLite, `--table-prefix P --topic-arn ARN` for DynamoDB, each also
//! read from its `MEDTRACK_*` variable.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use medtrack_core::notify::{LogNotifier, Notifier};
use medtrack_core::store::Store;
use medtrack_dynamo::sdk::aws_config::SdkConfig;
use medtrack_dynamo::sdk::sns::error::ProvideErrorMetadata;
use medtrack_dynamo::{load_aws_config, sdk, DynamoSettings, DynamoStore, SnsNotifier};
use medtrack_memory::MemoryStore;
use medtrack_sqlite::SqliteStore;

/// Which backend stores the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// Process memory: for demos and tests; everything is lost on exit.
    Memory,
    /// A SQLite file (`--database`).
    Sqlite,
    /// A DynamoDB table (`--table-prefix`) with notifications on SNS (`--topic-arn`).
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
    /// The prefix of the DynamoDB table's name, `<prefix>medtrack` (dynamo backend).
    #[arg(long, global = true, env = "MEDTRACK_TABLE_PREFIX")]
    pub table_prefix: Option<String>,
    /// The SNS topic notifications are published to (dynamo backend).
    #[arg(long, global = true, env = "MEDTRACK_TOPIC_ARN")]
    pub topic_arn: Option<String>,
}

/// Why a backend could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
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

/// An opened store, with the notifier that delivers its outbox.
#[derive(Clone)]
pub struct Backend {
    /// What kind it is.
    pub kind: BackendKind,
    /// The store.
    pub store: Arc<dyn Store>,
    /// Where notifications go: the SNS topic on DynamoDB, the log elsewhere.
    pub notifier: Arc<dyn Notifier>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Opens the backend the flags ask for. On DynamoDB the table is created when missing (and
/// its schema checked when present), and notifications are published to the topic.
pub async fn open(args: &BackendArgs) -> Result<Backend, BackendError> {
    let logged: Arc<dyn Notifier> = Arc::new(LogNotifier);
    let (store, notifier): (Arc<dyn Store>, _) = match args.backend {
        BackendKind::Memory => (Arc::new(MemoryStore::new()), logged),
        BackendKind::Sqlite => (Arc::new(open_sqlite(args).await?), logged),
        BackendKind::Dynamo => {
            let (store, notifier) = open_dynamo(args).await?;
            (Arc::new(store), Arc::new(notifier))
        }
    };
    Ok(Backend {
        kind: args.backend,
        store,
        notifier,
    })
}

async fn open_sqlite(args: &BackendArgs) -> Result<SqliteStore, BackendError> {
    let path = require(args.database.as_ref(), "sqlite", "--database")?;
    SqliteStore::open(path)
        .await
        .map_err(|err| opening_failed("sqlite", err))
}

async fn open_dynamo(args: &BackendArgs) -> Result<(DynamoStore, SnsNotifier), BackendError> {
    let prefix = require(args.table_prefix.as_ref(), "dynamo", "--table-prefix")?;
    let topic = require(args.topic_arn.as_ref(), "dynamo", "--topic-arn")?;
    let aws = load_aws_config().await;

    let store = DynamoStore::new(&aws, &DynamoSettings::with_prefix(prefix));
    store
        .create_tables()
        .await
        .map_err(|err| opening_failed("dynamo", err))?;
    check_topic(&aws, topic).await?;
    Ok((store, SnsNotifier::new(&aws, topic.as_str())))
}

/// Asks SNS about the topic, so a wrong ARN stops the program at start instead of leaving
/// every notification pending.
async fn check_topic(aws: &SdkConfig, topic: &str) -> Result<(), BackendError> {
    sdk::sns::Client::new(aws)
        .get_topic_attributes()
        .topic_arn(topic)
        .send()
        .await
        .map_err(|err| {
            let reason = err.message().map_or_else(|| err.to_string(), str::to_owned);
            BackendError::Open {
                backend: "dynamo",
                source: format!("the SNS topic {topic} cannot be reached: {reason}").into(),
            }
        })?;
    Ok(())
}

fn opening_failed(
    backend: &'static str,
    err: impl std::error::Error + Send + Sync + 'static,
) -> BackendError {
    BackendError::Open {
        backend,
        source: Box::new(err),
    }
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
    async fn memory_and_sqlite_open_with_the_log_notifier() {
        assert_eq!(
            open(&args(BackendKind::Memory)).await.unwrap().kind,
            BackendKind::Memory
        );
        let sqlite = args(BackendKind::Sqlite);
        assert_eq!(open(&sqlite).await.unwrap().kind, BackendKind::Sqlite);
        if let Some(path) = &sqlite.database {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }

    #[tokio::test]
    async fn a_missing_flag_is_named() {
        let mut sqlite = args(BackendKind::Sqlite);
        sqlite.database = None;
        let err = open(&sqlite).await.unwrap_err();
        assert_eq!(err.to_string(), "the sqlite backend needs --database");
        let mut dynamo = args(BackendKind::Dynamo);
        dynamo.topic_arn = None;
        let err = open(&dynamo).await.unwrap_err();
        assert_eq!(err.to_string(), "the dynamo backend needs --topic-arn");
    }
}
