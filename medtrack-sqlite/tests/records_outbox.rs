//! The medical record, the audit log and the outbox on a file database.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::*;
use medtrack_core::error::{ConflictKind, Entity, StoreError};
use medtrack_core::id::{EventId, PatientId, ReportId, UserId};
use medtrack_core::model::{
    Appointment, AppointmentStatus, Diagnosis, HealthReport, Lease, Prescription, ReportKind, User,
};
use medtrack_core::store::{
    AccountStore, AppointmentStore, AuditStore, Effects, OutboxStore, PageRequest, RecordStore,
};
use medtrack_core::text::{ClinicalText, ShortText};

async fn booked(db: &TestDb) -> (User, User, Appointment) {
    let (doc, pat) = (doctor("doc@example.org"), patient("pat@example.org"));
    db.store
        .create_user(&doc, Effects::default())
        .await
        .unwrap();
    db.store
        .create_user(&pat, Effects::default())
        .await
        .unwrap();
    let appt = appointment(&doc, &pat, monday_nine(), 30);
    db.store.book(&appt, Effects::default()).await.unwrap();
    (doc, pat, appt)
}

fn diagnosis(appt: &Appointment, version: u32) -> Diagnosis {
    let text = |raw: &str| ShortText::parse(raw).unwrap();
    Diagnosis {
        appointment_id: appt.id,
        version,
        patient_id: appt.patient_id,
        doctor_id: appt.doctor_id,
        diagnosis: ClinicalText::parse("acute bronchitis").unwrap(),
        code: Some(text("J20.9")),
        treatment_plan: ClinicalText::parse("rest, fluids").unwrap(),
        prescriptions: vec![Prescription {
            drug: text("ibuprofen"),
            dose: text("400 mg"),
            frequency: text("three times daily"),
            duration: text("5 days"),
        }],
        authored_at: appt.end + Duration::minutes(i64::from(version)),
    }
}

#[tokio::test]
async fn the_first_diagnosis_completes_the_appointment_and_frees_its_time() {
    let db = TestDb::new().await;
    let (doc, _, appt) = booked(&db).await;
    let completes = status_change(&appt, AppointmentStatus::Completed);

    let effects = booking_effects(&appt);
    db.store
        .add_diagnosis(&diagnosis(&appt, 1), Some(completes), effects)
        .await
        .unwrap();

    let stored = db.store.appointment(appt.id).await.unwrap();
    assert_eq!(stored.status, AppointmentStatus::Completed);
    let other = patient("other@example.org");
    db.store
        .create_user(&other, Effects::default())
        .await
        .unwrap();
    let same_slot = appointment(&doc, &other, monday_nine(), 30);
    db.store.book(&same_slot, Effects::default()).await.unwrap();
    assert_eq!(db.store.count_pending_events().await.unwrap(), 1);
}

#[tokio::test]
async fn amendments_add_versions_and_a_repeated_version_conflicts() {
    let db = TestDb::new().await;
    let (_, _, appt) = booked(&db).await;
    db.store
        .add_diagnosis(&diagnosis(&appt, 1), None, Effects::default())
        .await
        .unwrap();
    db.store
        .add_diagnosis(&diagnosis(&appt, 2), None, Effects::default())
        .await
        .unwrap();

    let again = db
        .store
        .add_diagnosis(&diagnosis(&appt, 2), None, Effects::default())
        .await;

    assert!(matches!(
        again,
        Err(StoreError::Conflict(ConflictKind::AlreadyExists))
    ));
    let history = db
        .store
        .diagnoses_for_patient(appt.patient_id)
        .await
        .unwrap();
    assert_eq!(history, vec![diagnosis(&appt, 1), diagnosis(&appt, 2)]);
}

#[tokio::test]
async fn a_stale_completion_writes_no_diagnosis() {
    let db = TestDb::new().await;
    let (_, _, appt) = booked(&db).await;
    let mut completes = status_change(&appt, AppointmentStatus::Completed);
    completes.expected_version = 5;

    let result = db
        .store
        .add_diagnosis(&diagnosis(&appt, 1), Some(completes), Effects::default())
        .await;

    assert!(matches!(
        result,
        Err(StoreError::Conflict(ConflictKind::StaleVersion))
    ));
    assert!(db
        .store
        .diagnoses_for_patient(appt.patient_id)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_diagnosis_of_an_unknown_appointment_is_not_found() {
    let db = TestDb::new().await;
    let (doc, pat, _) = booked(&db).await;
    let unknown = appointment(&doc, &pat, monday_nine() + Duration::days(1), 30);

    let result = db
        .store
        .add_diagnosis(&diagnosis(&unknown, 1), None, Effects::default())
        .await;

    assert!(matches!(
        result,
        Err(StoreError::NotFound {
            entity: Entity::Appointment,
            ..
        })
    ));
}

fn report(patient: PatientId, minute: i64) -> HealthReport {
    HealthReport {
        id: ReportId::new(),
        patient_id: patient,
        kind: ReportKind::Measurement,
        title: ShortText::parse("blood pressure").unwrap(),
        body: ClinicalText::parse("135/85").unwrap(),
        observed_at: Some(monday_nine()),
        submitted_at: monday_nine() + Duration::minutes(minute),
    }
}

#[tokio::test]
async fn reports_come_back_oldest_first() {
    let db = TestDb::new().await;
    let (_, pat, _) = booked(&db).await;
    let pat = pat.id.as_patient();
    let (late, early) = (report(pat, 20), report(pat, 10));
    db.store
        .add_report(&late, Effects::default())
        .await
        .unwrap();
    db.store
        .add_report(&early, Effects::default())
        .await
        .unwrap();

    let reports = db.store.reports_for_patient(pat).await.unwrap();

    assert_eq!(reports, vec![early, late]);
}

#[tokio::test]
async fn audit_lists_newest_first_per_patient_in_pages() {
    let db = TestDb::new().await;
    let (one, two, actor) = (PatientId::new(), PatientId::new(), UserId::new());
    let mut entries = Vec::new();
    for minute in 0..5 {
        let entry = audit(one, actor, monday_nine() + Duration::minutes(minute));
        db.store.append_audit(&entry).await.unwrap();
        entries.push(entry);
    }
    db.store
        .append_audit(&audit(two, actor, monday_nine()))
        .await
        .unwrap();
    entries.reverse();

    let first = db
        .store
        .list_audit(Some(one), PageRequest::first(3))
        .await
        .unwrap();
    let next = PageRequest {
        cursor: first.next_cursor.clone(),
        limit: 3,
    };
    let second = db.store.list_audit(Some(one), next).await.unwrap();
    let everyone = db
        .store
        .list_audit(None, PageRequest::first(10))
        .await
        .unwrap();

    assert_eq!(first.items, entries[..3]);
    assert_eq!(second.items, entries[3..]);
    assert_eq!(second.next_cursor, None);
    assert_eq!(everyone.items.len(), 6);
}

fn lease(owner: &str, until_minutes: i64) -> Lease {
    Lease {
        owner: owner.into(),
        until: monday_nine() + Duration::minutes(until_minutes),
    }
}

async fn with_events(db: &TestDb, due_minutes: &[i64]) -> Vec<EventId> {
    let events: Vec<_> = due_minutes
        .iter()
        .map(|m| event(None, monday_nine() + Duration::minutes(*m)))
        .collect();
    let ids = events.iter().map(|e| e.id).collect();
    let user = patient("events@example.org");
    db.store
        .create_user(
            &user,
            Effects {
                audit: vec![],
                events,
            },
        )
        .await
        .unwrap();
    ids
}

#[tokio::test]
async fn leasing_takes_due_unleased_events_earliest_first() {
    let db = TestDb::new().await;
    let ids = with_events(&db, &[2, 0, 1, 30]).await;
    let now = monday_nine() + Duration::minutes(5);

    let mine = db
        .store
        .lease_due_events(now, &lease("a", 10), 2)
        .await
        .unwrap();
    let theirs = db
        .store
        .lease_due_events(now, &lease("b", 10), 10)
        .await
        .unwrap();
    let none_left = db
        .store
        .lease_due_events(now, &lease("c", 10), 10)
        .await
        .unwrap();

    let mine_ids: Vec<_> = mine.iter().map(|e| e.id).collect();
    assert_eq!(mine_ids, vec![ids[1], ids[2]]);
    assert_eq!(mine[0].lease, Some(lease("a", 10)));
    assert_eq!(
        theirs.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![ids[0]]
    );
    assert!(none_left.is_empty());
}

#[tokio::test]
async fn an_ended_lease_can_be_taken_and_the_old_holder_loses_it() {
    let db = TestDb::new().await;
    let ids = with_events(&db, &[0]).await;
    db.store
        .lease_due_events(monday_nine(), &lease("a", 1), 5)
        .await
        .unwrap();
    let after = monday_nine() + Duration::minutes(1);

    let taken = db
        .store
        .lease_due_events(after, &lease("b", 10), 5)
        .await
        .unwrap();
    let lost = db.store.mark_delivered(ids[0], "a", after).await;
    let lost_retry = db.store.retry_later(ids[0], "a", 1, after).await;

    assert_eq!(taken.len(), 1);
    assert!(matches!(
        lost,
        Err(StoreError::Conflict(ConflictKind::LeaseLost))
    ));
    assert!(matches!(
        lost_retry,
        Err(StoreError::Conflict(ConflictKind::LeaseLost))
    ));
    db.store.mark_delivered(ids[0], "b", after).await.unwrap();
    assert_eq!(db.store.count_pending_events().await.unwrap(), 0);
}

#[tokio::test]
async fn a_retry_drops_the_lease_and_waits_until_it_is_due() {
    let db = TestDb::new().await;
    let ids = with_events(&db, &[0]).await;
    db.store
        .lease_due_events(monday_nine(), &lease("a", 10), 5)
        .await
        .unwrap();
    let retry_at = monday_nine() + Duration::minutes(3);

    db.store
        .retry_later(ids[0], "a", 1, retry_at)
        .await
        .unwrap();

    let before_due = monday_nine() + Duration::minutes(2);
    let early = db
        .store
        .lease_due_events(before_due, &lease("b", 10), 5)
        .await;
    assert!(early.unwrap().is_empty());
    let due = db
        .store
        .lease_due_events(retry_at, &lease("b", 10), 5)
        .await
        .unwrap();
    assert_eq!(due[0].attempts, 1);
    assert_eq!(db.store.count_pending_events().await.unwrap(), 1);
}

#[tokio::test]
async fn marking_an_unknown_event_is_not_found() {
    let db = TestDb::new().await;

    let result = db
        .store
        .mark_delivered(EventId::new(), "a", monday_nine())
        .await;

    assert!(matches!(
        result,
        Err(StoreError::NotFound {
            entity: Entity::Event,
            ..
        })
    ));
}

#[tokio::test]
async fn a_microsecond_instant_round_trips() {
    let db = TestDb::new().await;
    let at = Utc.timestamp_opt(4_120_000_000, 654_321_000).unwrap();
    let entry = audit(PatientId::new(), UserId::new(), at);

    db.store.append_audit(&entry).await.unwrap();
    let reopened = db.reopen().await;

    let page = reopened
        .list_audit(None, PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(page.items[0].at, at);
    assert_eq!(page.items[0], entry);
}
