//! Opening, reopening and refusing database files.

mod common;

use std::path::Path;

use chrono::Duration;
use common::*;
use medtrack_core::error::StoreError;
use medtrack_core::model::{Appointment, User};
use medtrack_core::store::{
    AccountStore, AppointmentQuery, AppointmentStore, Effects, OutboxStore, PageRequest, Party,
};
use medtrack_sqlite::{OpenError, SqliteStore, SqliteStoreOptions};

/// Every file in the directory with its length and a digest of its bytes, to prove
/// nothing was touched.
fn snapshot(dir: &Path) -> Vec<(String, usize, u64)> {
    use std::hash::{Hash, Hasher};

    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            let bytes = std::fs::read(entry.path()).unwrap();
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut hasher);
            (name, bytes.len(), hasher.finish())
        })
        .collect();
    files.sort();
    files
}

/// Thirty-minute appointments with two doctors, every working hour of a week.
async fn book_a_week(store: &SqliteStore) -> (Vec<User>, Vec<Appointment>) {
    let users = vec![
        doctor("one@example.org"),
        doctor("two@example.org"),
        patient("pat@example.org"),
    ];
    for user in &users {
        store.create_user(user, Effects::default()).await.unwrap();
    }
    let mut booked = Vec::new();
    for slot in 0..(5 * 8) {
        let start = monday_nine() + Duration::days(slot / 8) + Duration::hours(slot % 8);
        let doc = &users[(slot % 2) as usize];
        let appt = appointment(doc, &users[2], start, 30);
        store.book(&appt, booking_effects(&appt)).await.unwrap();
        booked.push(appt);
    }
    (users, booked)
}

async fn all_of_patient(store: &SqliteStore, user: &User) -> Vec<Appointment> {
    let query = AppointmentQuery {
        party: Party::Patient(user.id.as_patient()),
        status: None,
        from: None,
        to: None,
        ascending: true,
    };
    let page = store.list_appointments(&query, PageRequest::first(1000));
    page.await.unwrap().items
}

#[tokio::test]
async fn a_week_of_appointments_survives_closing_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clinic.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let (users, booked) = book_a_week(&store).await;
    store.close().await;

    let reopened = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();

    for user in &users {
        assert!(same_json(&reopened.user(user.id).await.unwrap(), user));
    }
    assert_eq!(all_of_patient(&reopened, &users[2]).await, booked);
    assert_eq!(reopened.count_pending_events().await.unwrap(), 40);
    let taken = appointment(&users[0], &users[2], booked[0].start, 30);
    assert!(reopened.book(&taken, Effects::default()).await.is_err());
}

#[tokio::test]
async fn a_file_that_is_not_sqlite_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    std::fs::write(&path, b"patient list, do not delete\n".repeat(200)).unwrap();
    let before = snapshot(dir.path());

    let err = SqliteStore::open(&path).await.unwrap_err();

    assert!(matches!(err, OpenError::NotADatabase { .. }), "{err:?}");
    assert!(err.to_string().contains("not a SQLite database"));
    assert_eq!(snapshot(dir.path()), before);
}

#[tokio::test]
async fn a_damaged_database_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clinic.db");
    let store = SqliteStore::open(&path).await.unwrap();
    book_a_week(&store).await;
    store.close().await;
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[16..4096].fill(0xA5);
    std::fs::write(&path, &bytes).unwrap();
    let before = snapshot(dir.path());

    let err = SqliteStore::open(&path).await.unwrap_err();

    assert!(matches!(err, OpenError::Corrupt { .. }), "{err:?}");
    assert_eq!(snapshot(dir.path()), before);
}

#[tokio::test]
async fn a_database_from_a_newer_build_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clinic.db");
    let store = SqliteStore::open(&path).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
         execution_time) VALUES (9000, 'from the future', TRUE, X'00', 0)",
    )
    .execute(store.write_pool())
    .await
    .unwrap();
    store.close().await;
    let before = snapshot(dir.path());

    let err = SqliteStore::open(&path).await.unwrap_err();

    match err {
        OpenError::SchemaTooNew { found, supported } => {
            assert_eq!(found, 9000);
            assert!(supported < found);
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    let after = snapshot(dir.path());
    assert_eq!(after[0], before[0], "the database file itself is unchanged");
    let wal = after.iter().find(|(name, ..)| name.ends_with("-wal"));
    assert!(
        wal.is_none_or(|(_, len, _)| *len == 0),
        "no transaction was logged"
    );
}

#[tokio::test]
async fn migrations_can_be_left_to_the_caller_and_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clinic.db");
    let options = SqliteStoreOptions::default().migrate_on_open(false);
    let store = SqliteStore::open_with(&path, options).await.unwrap();
    assert!(store.count_pending_events().await.is_err());

    store.migrate().await.unwrap();
    store.migrate().await.unwrap();

    assert_eq!(store.count_pending_events().await.unwrap(), 0);
}

#[tokio::test]
async fn the_in_memory_mode_is_a_complete_store() {
    let store = SqliteStore::in_memory().await.unwrap();
    let (users, booked) = book_a_week(&store).await;

    assert_eq!(all_of_patient(&store, &users[2]).await, booked);
    let other = SqliteStore::in_memory().await.unwrap();
    assert!(other.user(users[0].id).await.is_err());
}

#[tokio::test]
async fn a_bad_url_is_refused() {
    let err = SqliteStore::connect("sqlite://x.db?mode=sideways")
        .await
        .unwrap_err();

    assert!(matches!(err, OpenError::InvalidUrl(_)), "{err:?}");
}

#[tokio::test]
async fn a_write_lock_held_by_another_connection_is_a_retryable_unavailable() {
    use sqlx::Connection;

    let options = SqliteStoreOptions::default().busy_timeout(std::time::Duration::from_millis(100));
    let db = TestDb::with_options(options).await;
    let url = format!("sqlite://{}", db.path.display());
    let mut other = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();

    let user = patient("late@example.org");
    let blocked = db.store.create_user(&user, Effects::default()).await;

    assert!(
        matches!(
            blocked,
            Err(StoreError::Unavailable {
                retryable: true,
                ..
            })
        ),
        "{blocked:?}"
    );
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    db.store
        .create_user(&user, Effects::default())
        .await
        .unwrap();
}
