//! Creates MedTrack's DynamoDB table (idempotently) and waits until it is active.

use std::process::ExitCode;

use clap::Parser;
use medtrack_dynamo::{DynamoSettings, DynamoStore};

/// Create the MedTrack DynamoDB table and its index if missing, and wait until they are
/// active. Region, credentials and endpoint come from the standard AWS settings
/// (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL, ...).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Use the table `<PREFIX>medtrack`.
    #[arg(long, env = "MEDTRACK_TABLE_PREFIX", conflicts_with = "table")]
    table_prefix: Option<String>,

    /// Use exactly this table name.
    #[arg(long, env = "MEDTRACK_TABLE")]
    table: Option<String>,
}

impl Args {
    fn settings(&self) -> DynamoSettings {
        match (&self.table, &self.table_prefix) {
            (Some(table), _) => DynamoSettings::new(table),
            (None, prefix) => DynamoSettings::with_prefix(prefix.as_deref().unwrap_or("")),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let settings = args.settings();

    let store = DynamoStore::connect(&settings).await;
    match store.create_tables().await {
        Ok(()) => {
            println!("table {} is active", settings.table_name());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}
