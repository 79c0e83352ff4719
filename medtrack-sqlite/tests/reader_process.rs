//! Another process reading the database file while this one writes to it.
//!
//! The test runs twice over: as the writer, it starts its own test binary again with the
//! database path in an environment variable, and that second process, finding the variable,
//! plays the reader. Each reader snapshot is one statement, so it must see whole booking
//! transactions only: per appointment exactly one outbox event, one audit entry and twelve
//! claims (six doctor cells and six patient cells of thirty minutes).

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use medtrack_core::store::{AccountStore, AppointmentStore, Effects};
use medtrack_sqlite::SqliteStore;

const READER_ENV: &str = "MEDTRACK_SQLITE_READER_DB";
const TEST_NAME: &str = "another_process_reading_while_one_writes_sees_only_whole_transactions";
const MAX_BOOKINGS: i64 = 3000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_reading_while_one_writes_sees_only_whole_transactions() {
    if let Ok(path) = std::env::var(READER_ENV) {
        return read_as_the_other_process(Path::new(&path)).await;
    }
    let db = TestDb::new().await;
    let (doc, pat) = (doctor("doc@example.org"), patient("pat@example.org"));
    db.store
        .create_user(&doc, Effects::default())
        .await
        .unwrap();
    db.store
        .create_user(&pat, Effects::default())
        .await
        .unwrap();

    let mut reader = spawn_reader(&db.path);
    let mut booked = 0;
    while reader.try_wait().unwrap().is_none() && booked < MAX_BOOKINGS {
        let start = monday_nine() + chrono::Duration::minutes(30 * booked);
        let appt = appointment(&doc, &pat, start, 30);
        db.store.book(&appt, booking_effects(&appt)).await.unwrap();
        booked += 1;
    }

    let status = reader.wait().unwrap();
    assert!(status.success(), "the reading process failed: {status}");
    let report = std::fs::read_to_string(report_path(&db.path));
    assert!(report.is_ok(), "the reading process ran no check");
    assert!(booked > 0);
}

fn spawn_reader(path: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(READER_ENV, path)
        .stdout(Stdio::null())
        .spawn()
        .expect("the test binary starts again as the reader")
}

/// Reads snapshots until it has seen the data grow three times (or five seconds pass), and
/// checks every snapshot for torn transactions.
async fn read_as_the_other_process(path: &Path) {
    let store = SqliteStore::open(path)
        .await
        .expect("the reader opens the file");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();

    while Instant::now() < deadline && seen.len() < 4 {
        let (appointments, events, audit, claims) = snapshot(&store).await;
        assert_eq!(events, appointments, "one event per booking");
        assert_eq!(audit, appointments, "one audit entry per booking");
        assert_eq!(claims, 12 * appointments, "twelve claims per booking");
        if seen.last() != Some(&appointments) {
            assert!(seen.last().is_none_or(|last| *last < appointments));
            seen.push(appointments);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }

    assert!(seen.len() >= 2, "the reader saw no write happen: {seen:?}");
    std::fs::write(report_path(path), format!("{seen:?}")).unwrap();
}

/// Where the reader leaves the counts it saw, so the writer knows the check really ran.
fn report_path(db: &Path) -> std::path::PathBuf {
    db.with_extension("reader-report")
}

async fn snapshot(store: &SqliteStore) -> (i64, i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM appointments), (SELECT COUNT(*) FROM outbox_events), \
         (SELECT COUNT(*) FROM audit_entries), (SELECT COUNT(*) FROM time_claims)",
    )
    .fetch_one(store.read_pool())
    .await
    .unwrap()
}
