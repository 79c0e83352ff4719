//! The clinic week replayed on SQLite and on DynamoDB (with SNS notifications), opened
//! through the same `--backend` flags the programs take, must come out exactly as on the
//! memory store: same seed, same bookings, refusals, deliveries and audit counts.

use std::sync::Arc;

use medtrack_core::store::Store;
use medtrack_examples::backend::{self, BackendArgs, BackendKind};
use medtrack_examples::demo::ClinicSeed;
use medtrack_examples::week::{replay_week, replay_week_through, WeekRun};
use medtrack_memory::MemoryStore;

fn small_clinic() -> ClinicSeed {
    ClinicSeed {
        seed: 5,
        doctors: 3,
        patients: 40,
        ..ClinicSeed::default()
    }
}

async fn on_memory() -> WeekRun {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    replay_week(store, small_clinic()).await.unwrap()
}

fn flags(kind: BackendKind) -> BackendArgs {
    BackendArgs {
        backend: kind,
        database: None,
        table_prefix: None,
        topic_arn: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_week_on_sqlite_matches_the_week_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let args = BackendArgs {
        database: Some(dir.path().join("clinic.db")),
        ..flags(BackendKind::Sqlite)
    };
    let opened = backend::open(&args).await.unwrap();

    let run = replay_week(opened.store.clone(), small_clinic())
        .await
        .unwrap();
    assert_eq!(run.summary, on_memory().await.summary);
    assert_eq!(opened.store.count_pending_events().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_week_on_dynamodb_with_sns_matches_the_week_in_memory() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: start a local endpoint with scripts/dynamodb-local, or run scripts/test"
    );
    let aws = medtrack_dynamo::load_aws_config().await;
    let sns = medtrack_dynamo::sdk::sns::Client::new(&aws);
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let topic = sns
        .create_topic()
        .name(format!("clinic-week-{suffix}"))
        .send()
        .await
        .unwrap();
    let args = BackendArgs {
        table_prefix: Some(format!("clinic-week-{suffix}-")),
        topic_arn: topic.topic_arn().map(str::to_owned),
        ..flags(BackendKind::Dynamo)
    };
    let opened = backend::open(&args).await.unwrap();

    let run = replay_week_through(
        opened.store.clone(),
        Some(opened.notifier.clone()),
        small_clinic(),
    )
    .await
    .unwrap();
    assert_eq!(run.summary, on_memory().await.summary);
    assert_eq!(opened.store.count_pending_events().await.unwrap(), 0);
}
