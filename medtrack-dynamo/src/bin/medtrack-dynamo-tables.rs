//! Creates MedTrack's DynamoDB table (idempotently) and waits until it is active, and
//! optionally the SNS topic notifications go to.

use std::process::ExitCode;

use clap::Parser;
use medtrack_dynamo::{load_aws_config, sdk, DynamoSettings, DynamoStore};

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

    /// Also create the SNS topic of this name (or find it, if it exists) and print its ARN,
    /// alone on standard output, for `--topic-arn`.
    #[arg(long)]
    create_topic: Option<String>,
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
    let aws = load_aws_config().await;

    let store = DynamoStore::new(&aws, &settings);
    if let Err(err) = store.create_tables().await {
        return failed(&err);
    }
    eprintln!("table {} is active", settings.table_name());

    if let Some(name) = &args.create_topic {
        let created = sdk::sns::Client::new(&aws)
            .create_topic()
            .name(name)
            .send()
            .await;
        match created {
            Ok(topic) => println!("{}", topic.topic_arn().unwrap_or_default()),
            Err(err) => return failed(&err),
        }
    }
    ExitCode::SUCCESS
}

fn failed(err: &dyn std::error::Error) -> ExitCode {
    eprintln!("error: {err}");
    let mut source = err.source();
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
    ExitCode::FAILURE
}
