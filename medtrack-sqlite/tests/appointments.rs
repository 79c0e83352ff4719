//! Booking, moving and changing appointments on a file database.

mod common;

use chrono::Duration;
use common::*;
use medtrack_core::error::{ConflictKind, Entity, StoreError};
use medtrack_core::id::AppointmentId;
use medtrack_core::model::{Appointment, AppointmentStatus, User};
use medtrack_core::store::{
    AccountStore, AppointmentQuery, AppointmentStore, AppointmentUpdate, AuditStore, Effects,
    OutboxStore, PageRequest, Party,
};

struct Clinic {
    db: TestDb,
    doc: User,
    other_doc: User,
    pat: User,
    other_pat: User,
}

async fn clinic() -> Clinic {
    let db = TestDb::new().await;
    let clinic = Clinic {
        doc: doctor("doc@example.org"),
        other_doc: doctor("doc2@example.org"),
        pat: patient("pat@example.org"),
        other_pat: patient("pat2@example.org"),
        db,
    };
    for user in [
        &clinic.doc,
        &clinic.other_doc,
        &clinic.pat,
        &clinic.other_pat,
    ] {
        clinic
            .db
            .store
            .create_user(user, Effects::default())
            .await
            .unwrap();
    }
    clinic
}

fn conflict(result: Result<(), StoreError>) -> ConflictKind {
    match result {
        Err(StoreError::Conflict(kind)) => kind,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn a_booking_reads_back_with_its_effects() {
    let c = clinic().await;
    let appt = appointment(&c.doc, &c.pat, monday_nine(), 30);

    c.db.store
        .book(&appt, booking_effects(&appt))
        .await
        .unwrap();

    assert_eq!(c.db.store.appointment(appt.id).await.unwrap(), appt);
    assert_eq!(c.db.store.count_pending_events().await.unwrap(), 1);
    let audit =
        c.db.store
            .list_audit(Some(appt.patient_id), PageRequest::first(5))
            .await;
    assert_eq!(audit.unwrap().items.len(), 1);
}

#[tokio::test]
async fn an_unknown_appointment_is_not_found() {
    let c = clinic().await;

    let err =
        c.db.store
            .appointment(AppointmentId::new())
            .await
            .unwrap_err();

    assert!(matches!(
        err,
        StoreError::NotFound {
            entity: Entity::Appointment,
            ..
        }
    ));
}

#[tokio::test]
async fn overlapping_doctor_time_conflicts_and_writes_nothing() {
    let c = clinic().await;
    let first = appointment(&c.doc, &c.pat, monday_nine(), 30);
    c.db.store
        .book(&first, booking_effects(&first))
        .await
        .unwrap();
    let overlap = appointment(
        &c.doc,
        &c.other_pat,
        monday_nine() + Duration::minutes(25),
        30,
    );

    let kind = conflict(c.db.store.book(&overlap, booking_effects(&overlap)).await);

    assert_eq!(kind, ConflictKind::DoctorTime);
    assert!(c.db.store.appointment(overlap.id).await.is_err());
    assert_eq!(c.db.store.count_pending_events().await.unwrap(), 1);
}

#[tokio::test]
async fn a_patient_cannot_see_two_doctors_at_overlapping_times() {
    let c = clinic().await;
    let first = appointment(&c.doc, &c.pat, monday_nine(), 30);
    c.db.store.book(&first, Effects::default()).await.unwrap();
    let elsewhere = appointment(
        &c.other_doc,
        &c.pat,
        monday_nine() + Duration::minutes(10),
        30,
    );

    let kind = conflict(c.db.store.book(&elsewhere, Effects::default()).await);

    assert_eq!(kind, ConflictKind::PatientTime);
}

#[tokio::test]
async fn when_both_collide_the_doctor_time_is_reported() {
    let c = clinic().await;
    let first = appointment(&c.doc, &c.pat, monday_nine(), 30);
    c.db.store.book(&first, Effects::default()).await.unwrap();
    let same = appointment(&c.doc, &c.pat, monday_nine(), 30);

    assert_eq!(
        conflict(c.db.store.book(&same, Effects::default()).await),
        ConflictKind::DoctorTime
    );
}

#[tokio::test]
async fn buffers_hold_the_doctor_but_not_the_patient() {
    let c = clinic().await;
    let mut first = appointment(&c.doc, &c.pat, monday_nine(), 30);
    first.buffer_after_minutes = 10;
    c.db.store.book(&first, Effects::default()).await.unwrap();
    let in_buffer = appointment(
        &c.doc,
        &c.other_pat,
        monday_nine() + Duration::minutes(35),
        30,
    );
    let same_patient_elsewhere = appointment(
        &c.other_doc,
        &c.pat,
        monday_nine() + Duration::minutes(30),
        30,
    );

    let kind = conflict(c.db.store.book(&in_buffer, Effects::default()).await);

    assert_eq!(kind, ConflictKind::DoctorTime);
    c.db.store
        .book(&same_patient_elsewhere, Effects::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_taken_appointment_id_conflicts_as_already_exists() {
    let c = clinic().await;
    let first = appointment(&c.doc, &c.pat, monday_nine(), 30);
    c.db.store.book(&first, Effects::default()).await.unwrap();
    let mut again = appointment(&c.doc, &c.pat, monday_nine() + Duration::hours(2), 30);
    again.id = first.id;

    let kind = conflict(c.db.store.book(&again, Effects::default()).await);

    assert_eq!(kind, ConflictKind::AlreadyExists);
}

#[tokio::test]
async fn booking_for_an_unknown_account_is_not_found() {
    let c = clinic().await;
    let stranger = patient("stranger@example.org");
    let appt = appointment(&c.doc, &stranger, monday_nine(), 30);

    let err =
        c.db.store
            .book(&appt, Effects::default())
            .await
            .unwrap_err();

    match err {
        StoreError::NotFound {
            entity: Entity::User,
            id,
        } => assert_eq!(id, stranger.id.to_string()),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn cancelling_frees_the_time_at_once() {
    let c = clinic().await;
    let first = appointment(&c.doc, &c.pat, monday_nine(), 30);
    c.db.store.book(&first, Effects::default()).await.unwrap();

    let cancel = status_change(&first, AppointmentStatus::Cancelled);
    c.db.store
        .update_appointment(cancel, Effects::default())
        .await
        .unwrap();
    let again = appointment(&c.doc, &c.other_pat, monday_nine(), 30);

    c.db.store.book(&again, Effects::default()).await.unwrap();
    let stored = c.db.store.appointment(first.id).await.unwrap();
    assert_eq!(stored.status, AppointmentStatus::Cancelled);
    assert_eq!(stored.version, 2);
}

#[tokio::test]
async fn a_status_change_on_a_stale_or_missing_appointment_fails() {
    let c = clinic().await;
    let first = appointment(&c.doc, &c.pat, monday_nine(), 30);
    c.db.store.book(&first, Effects::default()).await.unwrap();
    let mut stale = status_change(&first, AppointmentStatus::NoShow);
    stale.expected_version = 7;
    let missing = status_change(
        &appointment(&c.doc, &c.pat, monday_nine(), 30),
        AppointmentStatus::NoShow,
    );

    let stale_err =
        c.db.store
            .update_appointment(stale, Effects::default())
            .await;
    let missing_err =
        c.db.store
            .update_appointment(missing, Effects::default())
            .await;

    assert_eq!(conflict(stale_err), ConflictKind::StaleVersion);
    assert!(matches!(
        missing_err,
        Err(StoreError::NotFound {
            entity: Entity::Appointment,
            ..
        })
    ));
    let kind = conflict(
        c.db.store
            .book(
                &appointment(&c.doc, &c.other_pat, monday_nine(), 30),
                Effects::default(),
            )
            .await,
    );
    assert_eq!(kind, ConflictKind::DoctorTime);
}

fn moved(appt: &Appointment, by: Duration) -> AppointmentUpdate {
    let mut changed = appt.clone();
    changed.start += by;
    changed.end += by;
    changed.version += 1;
    AppointmentUpdate {
        appointment: changed,
        expected_version: appt.version,
    }
}

#[tokio::test]
async fn rescheduling_releases_the_old_time_and_takes_the_new() {
    let c = clinic().await;
    let first = appointment(&c.doc, &c.pat, monday_nine(), 30);
    c.db.store.book(&first, Effects::default()).await.unwrap();

    let update = moved(&first, Duration::minutes(15));
    c.db.store
        .reschedule(update.clone(), &first, Effects::default())
        .await
        .unwrap();

    assert_eq!(
        c.db.store.appointment(first.id).await.unwrap(),
        update.appointment
    );
    let freed = appointment(&c.doc, &c.other_pat, monday_nine(), 15);
    c.db.store.book(&freed, Effects::default()).await.unwrap();
    let still_held = appointment(
        &c.doc,
        &c.other_pat,
        monday_nine() + Duration::minutes(40),
        5,
    );
    assert_eq!(
        conflict(c.db.store.book(&still_held, Effects::default()).await),
        ConflictKind::DoctorTime
    );
}

#[tokio::test]
async fn a_reschedule_onto_taken_time_keeps_the_old_time() {
    let c = clinic().await;
    let first = appointment(&c.doc, &c.pat, monday_nine(), 30);
    let blocker = appointment(&c.doc, &c.other_pat, monday_nine() + Duration::hours(1), 30);
    c.db.store.book(&first, Effects::default()).await.unwrap();
    c.db.store.book(&blocker, Effects::default()).await.unwrap();

    let result =
        c.db.store
            .reschedule(
                moved(&first, Duration::hours(1)),
                &first,
                booking_effects(&first),
            )
            .await;

    assert_eq!(conflict(result), ConflictKind::DoctorTime);
    assert_eq!(c.db.store.appointment(first.id).await.unwrap(), first);
    assert_eq!(c.db.store.count_pending_events().await.unwrap(), 0);
    let old_time = appointment(&c.doc, &c.other_pat, monday_nine(), 30);
    assert_eq!(
        conflict(c.db.store.book(&old_time, Effects::default()).await),
        ConflictKind::DoctorTime
    );
}

#[tokio::test]
async fn a_stale_reschedule_fails_and_changes_nothing() {
    let c = clinic().await;
    let first = appointment(&c.doc, &c.pat, monday_nine(), 30);
    c.db.store.book(&first, Effects::default()).await.unwrap();
    let mut update = moved(&first, Duration::hours(3));
    update.expected_version = 9;

    let result =
        c.db.store
            .reschedule(update, &first, Effects::default())
            .await;

    assert_eq!(conflict(result), ConflictKind::StaleVersion);
    assert_eq!(c.db.store.appointment(first.id).await.unwrap(), first);
}

#[tokio::test]
async fn booked_for_doctor_returns_only_booked_ones_in_the_range() {
    let c = clinic().await;
    let at = |minutes| monday_nine() + Duration::minutes(minutes);
    let inside = appointment(&c.doc, &c.pat, at(60), 30);
    let early = appointment(&c.doc, &c.pat, at(0), 30);
    let cancelled = appointment(&c.doc, &c.other_pat, at(120), 30);
    let at_end = appointment(&c.doc, &c.other_pat, at(180), 30);
    let other = appointment(&c.other_doc, &c.other_pat, at(60), 30);
    for appt in [&inside, &early, &cancelled, &at_end, &other] {
        c.db.store.book(appt, Effects::default()).await.unwrap();
    }
    let cancel = status_change(&cancelled, AppointmentStatus::Cancelled);
    c.db.store
        .update_appointment(cancel, Effects::default())
        .await
        .unwrap();

    let found =
        c.db.store
            .booked_for_doctor(doctor_id(&c.doc), at(30), at(180))
            .await
            .unwrap();

    assert_eq!(found, vec![inside]);
}

#[tokio::test]
async fn appointments_list_by_start_both_ways_in_pages() {
    let c = clinic().await;
    let mut booked = Vec::new();
    for slot in 0..5 {
        let appt = appointment(&c.doc, &c.pat, monday_nine() + Duration::hours(slot), 30);
        c.db.store.book(&appt, Effects::default()).await.unwrap();
        booked.push(appt);
    }
    let query = |ascending| AppointmentQuery {
        party: Party::Patient(c.pat.id.as_patient()),
        status: Some(AppointmentStatus::Booked),
        from: Some(monday_nine() + Duration::hours(1)),
        to: None,
        ascending,
    };

    let first =
        c.db.store
            .list_appointments(&query(true), PageRequest::first(2))
            .await
            .unwrap();
    let next = PageRequest {
        cursor: first.next_cursor.clone(),
        limit: 2,
    };
    let second =
        c.db.store
            .list_appointments(&query(true), next)
            .await
            .unwrap();
    let newest =
        c.db.store
            .list_appointments(&query(false), PageRequest::first(10))
            .await
            .unwrap();

    assert_eq!(first.items, booked[1..3]);
    assert_eq!(second.items, booked[3..5]);
    assert_eq!(second.next_cursor, None);
    let mut reversed = booked[1..].to_vec();
    reversed.reverse();
    assert_eq!(newest.items, reversed);
}

#[tokio::test]
async fn care_follows_kept_booked_and_late_cancelled_appointments() {
    let c = clinic().await;
    let (doc, pat, other) = (
        doctor_id(&c.doc),
        c.pat.id.as_patient(),
        c.other_pat.id.as_patient(),
    );
    let early_cancel = appointment(&c.doc, &c.other_pat, monday_nine(), 30);
    c.db.store
        .book(&early_cancel, Effects::default())
        .await
        .unwrap();
    let mut cancel = status_change(&early_cancel, AppointmentStatus::Cancelled);
    cancel.appointment.cancelled_at = Some(early_cancel.start - Duration::hours(1));
    c.db.store
        .update_appointment(cancel, Effects::default())
        .await
        .unwrap();

    assert!(!c.db.store.has_care_relationship(doc, pat).await.unwrap());
    assert!(!c.db.store.has_care_relationship(doc, other).await.unwrap());

    let seen = appointment(&c.doc, &c.pat, monday_nine() + Duration::hours(1), 30);
    c.db.store.book(&seen, Effects::default()).await.unwrap();
    assert!(c.db.store.has_care_relationship(doc, pat).await.unwrap());
    let late = appointment(&c.doc, &c.other_pat, monday_nine() + Duration::hours(2), 30);
    c.db.store.book(&late, Effects::default()).await.unwrap();
    let mut cancel = status_change(&late, AppointmentStatus::Cancelled);
    cancel.appointment.cancelled_at = Some(late.start + Duration::minutes(5));
    c.db.store
        .update_appointment(cancel, Effects::default())
        .await
        .unwrap();
    assert!(c.db.store.has_care_relationship(doc, other).await.unwrap());
}
