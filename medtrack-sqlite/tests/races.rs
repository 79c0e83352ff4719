//! Races at the store's own interface, on a file database with several read connections.

mod common;

use std::sync::Arc;

use common::*;
use medtrack_core::error::{ConflictKind, StoreError};
use medtrack_core::model::User;
use medtrack_core::store::{AccountStore, AppointmentStore, Effects, OutboxStore};
use medtrack_core::text::Email;
use medtrack_sqlite::SqliteStoreOptions;

fn options() -> SqliteStoreOptions {
    SqliteStoreOptions::default().read_connections(4)
}

/// Counts successes and groups the failures by kind.
fn tally(results: Vec<Result<(), StoreError>>) -> (usize, Vec<ConflictKind>) {
    let mut wins = 0;
    let mut conflicts = Vec::new();
    for result in results {
        match result {
            Ok(()) => wins += 1,
            Err(StoreError::Conflict(kind)) => conflicts.push(kind),
            Err(other) => panic!("unexpected error in a race: {other:?}"),
        }
    }
    (wins, conflicts)
}

async fn patients(db: &TestDb, count: usize) -> Vec<User> {
    let mut users = Vec::new();
    for n in 0..count {
        let user = patient(&format!("racer{n}@example.org"));
        db.store
            .create_user(&user, Effects::default())
            .await
            .unwrap();
        users.push(user);
    }
    users
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_bookings_of_one_slot_let_exactly_one_win() {
    let db = Arc::new(TestDb::with_options(options()).await);
    let doc = doctor("doc@example.org");
    db.store
        .create_user(&doc, Effects::default())
        .await
        .unwrap();
    let racers = patients(&db, 64).await;

    let tasks: Vec<_> = racers
        .into_iter()
        .map(|pat| {
            let (db, appt) = (db.clone(), appointment(&doc, &pat, monday_nine(), 30));
            tokio::spawn(async move { db.store.book(&appt, booking_effects(&appt)).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }

    let (wins, conflicts) = tally(results);
    assert_eq!(wins, 1);
    assert_eq!(conflicts, vec![ConflictKind::DoctorTime; 63]);
    assert_eq!(db.store.count_pending_events().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_registrations_of_one_email_create_one_account() {
    let db = Arc::new(TestDb::with_options(options()).await);

    let tasks: Vec<_> = (0..32)
        .map(|n| {
            let db = db.clone();
            let email = if n % 2 == 0 {
                "Same@Example.org"
            } else {
                "same@example.ORG"
            };
            let user = patient(email);
            tokio::spawn(async move { db.store.create_user(&user, Effects::default()).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }

    let (wins, conflicts) = tally(results);
    assert_eq!(wins, 1);
    assert_eq!(conflicts, vec![ConflictKind::Email; 31]);
    let email = Email::parse("same@example.org").unwrap();
    assert!(db.store.user_by_email(&email).await.unwrap().is_some());
}
