//! Direct tests of every storage trait against a local DynamoDB endpoint.

mod support;

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Duration, Utc};
use medtrack_core::error::{ConflictKind, Entity, StoreError};
use medtrack_core::id::EventId;
use medtrack_core::model::{
    AppointmentStatus, AuditAction, Diagnosis, EventKind, HealthReport, Lease, ReportKind, Role,
    Session, TokenHash,
};
use medtrack_core::store::{
    AppointmentQuery, AppointmentStore, Effects, OutboxStore, PageRequest, Party, SessionStore,
    UserFilter,
};
use medtrack_core::text::{ClinicalText, ShortText};
use medtrack_dynamo::sdk::dynamodb::types::AttributeValue;
use medtrack_dynamo::DynamoStore;
use support::*;

fn conflict(result: Result<(), StoreError>) -> ConflictKind {
    match result {
        Err(StoreError::Conflict(kind)) => kind,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_bookings_of_one_slot_give_exactly_one_success() {
    let store = fresh_store().await;
    let doctor = known_doctor(&*store).await;

    let mut tasks = Vec::new();
    for _ in 0..64 {
        let store = Arc::clone(&store);
        let wanted = appointment(doctor, known_patient(&*store).await, monday_nine(), 30);
        tasks.push(tokio::spawn(async move {
            store.book(&wanted, Effects::default()).await
        }));
    }
    let mut booked = 0;
    let mut taken = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => booked += 1,
            Err(StoreError::Conflict(ConflictKind::DoctorTime)) => taken += 1,
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }

    assert_eq!((booked, taken), (1, 63));
    let held = store
        .booked_for_doctor(doctor, monday_nine(), monday_nine() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_concurrent_registrations_of_one_email_give_one_account() {
    let store = fresh_store().await;

    let mut tasks = Vec::new();
    for i in 0..32 {
        let store = Arc::clone(&store);
        let email = if i % 2 == 0 {
            "Race@Example.org"
        } else {
            "race@example.ORG"
        };
        let account = user(Role::Patient, email);
        tasks.push(tokio::spawn(async move {
            store.create_user(&account, Effects::default()).await
        }));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => created += 1,
            Err(StoreError::Conflict(ConflictKind::Email)) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }

    assert_eq!(created, 1);
    let all = store
        .list_users(UserFilter::default(), PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(all.items.len(), 1);
}

#[tokio::test]
async fn a_patient_cannot_hold_two_doctors_at_overlapping_times() {
    let store = fresh_store().await;
    let patient = known_patient(&*store).await;
    let first = appointment(known_doctor(&*store).await, patient, monday_nine(), 30);
    let overlapping = appointment(
        known_doctor(&*store).await,
        patient,
        monday_nine() + Duration::minutes(15),
        30,
    );

    store.book(&first, Effects::default()).await.unwrap();

    let kind = conflict(store.book(&overlapping, Effects::default()).await);
    assert_eq!(kind, ConflictKind::PatientTime);
}

#[tokio::test]
async fn doctor_buffers_are_held_with_the_appointment() {
    let store = fresh_store().await;
    let doctor = known_doctor(&*store).await;
    let mut first = appointment(doctor, known_patient(&*store).await, monday_nine(), 30);
    first.buffer_after_minutes = 10;
    let right_after = appointment(doctor, known_patient(&*store).await, first.end, 30);
    let after_buffer = appointment(
        doctor,
        known_patient(&*store).await,
        first.end + Duration::minutes(10),
        30,
    );

    store.book(&first, Effects::default()).await.unwrap();

    let kind = conflict(store.book(&right_after, Effects::default()).await);
    assert_eq!(kind, ConflictKind::DoctorTime);
    store.book(&after_buffer, Effects::default()).await.unwrap();
}

#[tokio::test]
async fn a_refused_booking_writes_nothing() {
    let store = fresh_store().await;
    let doctor = known_doctor(&*store).await;
    let first = appointment(doctor, known_patient(&*store).await, monday_nine(), 30);
    let second = appointment(doctor, known_patient(&*store).await, monday_nine(), 30);
    let (effects, _) = booking_effects(&second, "Your appointment is booked");
    store.book(&first, Effects::default()).await.unwrap();

    conflict(store.book(&second, effects).await);

    assert_eq!(store.count_pending_events().await.unwrap(), 0);
    assert!(matches!(
        store.appointment(second.id).await,
        Err(StoreError::NotFound {
            entity: Entity::Appointment,
            ..
        })
    ));
    let trail = store
        .list_audit(Some(second.patient_id), PageRequest::first(10))
        .await
        .unwrap();
    assert!(trail.items.is_empty());
}

#[tokio::test]
async fn booking_the_same_appointment_id_twice_is_already_exists() {
    let store = fresh_store().await;
    let first = appointment(
        known_doctor(&*store).await,
        known_patient(&*store).await,
        monday_nine(),
        30,
    );
    let mut again = first.clone();
    again.start = monday_nine() + Duration::days(1);
    again.end = again.start + Duration::minutes(30);

    store.book(&first, Effects::default()).await.unwrap();

    let kind = conflict(store.book(&again, Effects::default()).await);
    assert_eq!(kind, ConflictKind::AlreadyExists);
}

#[tokio::test]
async fn cancelling_frees_the_time_at_once() {
    let store = fresh_store().await;
    let doctor = known_doctor(&*store).await;
    let booked = appointment(doctor, known_patient(&*store).await, monday_nine(), 30);
    store.book(&booked, Effects::default()).await.unwrap();

    let cancel = changed(&booked, AppointmentStatus::Cancelled);
    store
        .update_appointment(cancel, Effects::default())
        .await
        .unwrap();

    let other = appointment(doctor, known_patient(&*store).await, monday_nine(), 30);
    store.book(&other, Effects::default()).await.unwrap();
    let stored = store.appointment(booked.id).await.unwrap();
    assert_eq!(stored.status, AppointmentStatus::Cancelled);
    assert_eq!(stored.version, 2);
}

#[tokio::test]
async fn a_stale_or_unknown_appointment_update_is_refused() {
    let store = fresh_store().await;
    let booked = appointment(
        known_doctor(&*store).await,
        known_patient(&*store).await,
        monday_nine(),
        30,
    );
    store.book(&booked, Effects::default()).await.unwrap();

    let mut stale = changed(&booked, AppointmentStatus::Cancelled);
    stale.expected_version = 7;
    let kind = conflict(store.update_appointment(stale, Effects::default()).await);
    assert_eq!(kind, ConflictKind::StaleVersion);

    let unknown = appointment(
        known_doctor(&*store).await,
        known_patient(&*store).await,
        monday_nine(),
        30,
    );
    let result = store
        .update_appointment(
            changed(&unknown, AppointmentStatus::Cancelled),
            Effects::default(),
        )
        .await;
    assert!(matches!(result, Err(StoreError::NotFound { .. })));
}

#[tokio::test]
async fn rescheduling_releases_the_old_time_and_takes_the_new() {
    let store = fresh_store().await;
    let doctor = known_doctor(&*store).await;
    let booked = appointment(doctor, known_patient(&*store).await, monday_nine(), 30);
    store.book(&booked, Effects::default()).await.unwrap();

    let shifted = moved(&booked, monday_nine() + Duration::minutes(15));
    store
        .reschedule(shifted.clone(), &booked, Effects::default())
        .await
        .unwrap();

    let early = appointment(doctor, known_patient(&*store).await, monday_nine(), 15);
    store.book(&early, Effects::default()).await.unwrap();
    let clash = appointment(
        doctor,
        known_patient(&*store).await,
        monday_nine() + Duration::minutes(30),
        15,
    );
    assert_eq!(
        conflict(store.book(&clash, Effects::default()).await),
        ConflictKind::DoctorTime
    );
    let listed = store
        .booked_for_doctor(doctor, monday_nine(), monday_nine() + Duration::hours(2))
        .await
        .unwrap();
    let starts: Vec<_> = listed.iter().map(|a| a.start).collect();
    assert_eq!(
        starts,
        vec![monday_nine(), monday_nine() + Duration::minutes(15)]
    );
}

#[tokio::test]
async fn a_colliding_reschedule_keeps_the_old_time() {
    let store = fresh_store().await;
    let doctor = known_doctor(&*store).await;
    let mine = appointment(doctor, known_patient(&*store).await, monday_nine(), 30);
    let theirs = appointment(
        doctor,
        known_patient(&*store).await,
        monday_nine() + Duration::hours(1),
        30,
    );
    store.book(&mine, Effects::default()).await.unwrap();
    store.book(&theirs, Effects::default()).await.unwrap();

    let onto_theirs = moved(&mine, theirs.start);
    let kind = conflict(
        store
            .reschedule(onto_theirs, &mine, Effects::default())
            .await,
    );

    assert_eq!(kind, ConflictKind::DoctorTime);
    let same_time = appointment(doctor, known_patient(&*store).await, monday_nine(), 30);
    let kind = conflict(store.book(&same_time, Effects::default()).await);
    assert_eq!(kind, ConflictKind::DoctorTime);
    assert_eq!(store.appointment(mine.id).await.unwrap().start, mine.start);

    let mut stale = moved(&mine, monday_nine() + Duration::hours(3));
    stale.expected_version = 5;
    let kind = conflict(store.reschedule(stale, &mine, Effects::default()).await);
    assert_eq!(kind, ConflictKind::StaleVersion);
}

#[tokio::test]
async fn care_follows_the_appointments_between_doctor_and_patient() {
    let store = fresh_store().await;
    let (doctor, patient) = (known_doctor(&*store).await, known_patient(&*store).await);
    assert!(!store.has_care_relationship(doctor, patient).await.unwrap());

    let booked = appointment(doctor, patient, monday_nine(), 30);
    store.book(&booked, Effects::default()).await.unwrap();
    assert!(store.has_care_relationship(doctor, patient).await.unwrap());
    assert!(!store
        .has_care_relationship(known_doctor(&*store).await, patient)
        .await
        .unwrap());

    let cancel = changed(&booked, AppointmentStatus::Cancelled);
    store
        .update_appointment(cancel, Effects::default())
        .await
        .unwrap();
    assert!(!store.has_care_relationship(doctor, patient).await.unwrap());
}

#[tokio::test]
async fn appointments_list_in_order_with_filters_and_stable_pages() {
    let store = fresh_store().await;
    let (doctor, patient) = (known_doctor(&*store).await, known_patient(&*store).await);
    let mut ids = Vec::new();
    for slot in 0..7 {
        let start = monday_nine() + Duration::minutes(30 * slot);
        let booked = appointment(doctor, patient, start, 30);
        store.book(&booked, Effects::default()).await.unwrap();
        ids.push(booked);
    }
    let cancel = changed(&ids[2], AppointmentStatus::Cancelled);
    store
        .update_appointment(cancel, Effects::default())
        .await
        .unwrap();

    let query = AppointmentQuery {
        party: Party::Patient(patient),
        status: Some(AppointmentStatus::Booked),
        from: Some(monday_nine() + Duration::minutes(30)),
        to: Some(monday_nine() + Duration::minutes(180)),
        ascending: false,
    };
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let got = store.list_appointments(&query, page.clone()).await.unwrap();
        seen.extend(got.items.iter().map(|a| a.start));
        match got.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }

    let expected: Vec<_> = [5, 4, 3, 1]
        .iter()
        .map(|slot| monday_nine() + Duration::minutes(30 * slot))
        .collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn accounts_are_found_by_id_and_email_and_updated_by_version() {
    let store = fresh_store().await;
    let mut account = user(Role::Doctor, "Doc@Example.org");
    store
        .create_user(&account, Effects::default())
        .await
        .unwrap();

    let by_email = store
        .user_by_email(&medtrack_core::text::Email::parse("doc@EXAMPLE.org").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_email.id, account.id);
    assert!(store
        .user_by_email(&medtrack_core::text::Email::parse("nobody@example.org").unwrap())
        .await
        .unwrap()
        .is_none());

    account.version = 2;
    store.update_user(&account, 1).await.unwrap();
    assert_eq!(store.user(account.id).await.unwrap().version, 2);
    let kind = conflict(store.update_user(&account, 1).await);
    assert_eq!(kind, ConflictKind::StaleVersion);
    let mut renamed = account.clone();
    renamed.email = medtrack_core::text::Email::parse("new@example.org").unwrap();
    assert!(matches!(
        store.update_user(&renamed, 2).await,
        Err(StoreError::Unsupported { .. })
    ));
    let stranger = user(Role::Patient, "stranger@example.org");
    assert!(matches!(
        store.update_user(&stranger, 1).await,
        Err(StoreError::NotFound {
            entity: Entity::User,
            ..
        })
    ));
}

#[tokio::test]
async fn reusing_an_account_id_is_already_exists() {
    let store = fresh_store().await;
    let account = user(Role::Patient, "first@example.org");
    store
        .create_user(&account, Effects::default())
        .await
        .unwrap();

    let mut same_id = user(Role::Patient, "second@example.org");
    same_id.id = account.id;

    let kind = conflict(store.create_user(&same_id, Effects::default()).await);
    assert_eq!(kind, ConflictKind::AlreadyExists);
    assert!(store.user_by_email(&same_id.email).await.unwrap().is_none());
}

#[tokio::test]
async fn accounts_list_by_email_with_filters_across_pages() {
    let store = fresh_store().await;
    let mut emails = Vec::new();
    for i in 0..9 {
        let role = if i % 3 == 0 {
            Role::Doctor
        } else {
            Role::Patient
        };
        let account = user(role, &format!("user{i:02}@example.org"));
        store
            .create_user(&account, Effects::default())
            .await
            .unwrap();
        if role == Role::Patient {
            emails.push(account.email.as_ref().to_owned());
        }
    }

    let filter = UserFilter {
        role: Some(Role::Patient),
        status: None,
    };
    let mut seen = Vec::new();
    let mut page = PageRequest::first(4);
    loop {
        let got = store.list_users(filter, page.clone()).await.unwrap();
        seen.extend(got.items.iter().map(|u| u.email.as_ref().to_owned()));
        match got.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }

    assert_eq!(seen, emails);
}

fn session(hash: &str, expires_in: Duration) -> Session {
    let now = Utc::now();
    Session {
        token_hash: TokenHash(hash.to_owned()),
        user_id: medtrack_core::id::UserId::new(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + expires_in,
    }
}

#[tokio::test]
async fn sessions_are_stored_renewed_deleted_and_purged() {
    let store = fresh_store().await;
    let live = session("aa01", Duration::hours(1));
    let stale = session("bb02", Duration::hours(-1));
    let renewed = session("cc03", Duration::hours(-1));
    for s in [&live, &stale, &renewed] {
        store.insert_session(s).await.unwrap();
    }

    let later = Utc::now() + Duration::hours(2);
    store
        .renew_session(&renewed.token_hash, Utc::now(), later)
        .await
        .unwrap();
    assert_eq!(store.purge_expired_sessions(Utc::now()).await.unwrap(), 1);

    assert!(store.session(&stale.token_hash).await.unwrap().is_none());
    let kept = store.session(&renewed.token_hash).await.unwrap().unwrap();
    assert_eq!(kept.expires_at, later);
    store.delete_session(&live.token_hash).await.unwrap();
    store.delete_session(&live.token_hash).await.unwrap();
    assert!(store.session(&live.token_hash).await.unwrap().is_none());
    assert!(matches!(
        store
            .renew_session(&live.token_hash, Utc::now(), later)
            .await,
        Err(StoreError::NotFound {
            entity: Entity::Session,
            ..
        })
    ));
}

fn diagnosis(appointment: &medtrack_core::model::Appointment, version: u32) -> Diagnosis {
    Diagnosis {
        appointment_id: appointment.id,
        version,
        patient_id: appointment.patient_id,
        doctor_id: appointment.doctor_id,
        diagnosis: ClinicalText::parse("Seasonal allergy").unwrap(),
        code: Some(ShortText::parse("J30.2").unwrap()),
        treatment_plan: ClinicalText::parse("Antihistamines").unwrap(),
        prescriptions: Vec::new(),
        authored_at: Utc::now(),
    }
}

#[tokio::test]
async fn a_first_diagnosis_completes_the_appointment_and_frees_its_time() {
    let store = fresh_store().await;
    let booked = appointment(
        known_doctor(&*store).await,
        known_patient(&*store).await,
        monday_nine(),
        30,
    );
    store.book(&booked, Effects::default()).await.unwrap();

    let complete = changed(&booked, AppointmentStatus::Completed);
    store
        .add_diagnosis(&diagnosis(&booked, 1), Some(complete), Effects::default())
        .await
        .unwrap();
    store
        .add_diagnosis(&diagnosis(&booked, 2), None, Effects::default())
        .await
        .unwrap();

    let again = store
        .add_diagnosis(&diagnosis(&booked, 2), None, Effects::default())
        .await;
    assert_eq!(conflict(again), ConflictKind::AlreadyExists);
    let record = store
        .diagnoses_for_patient(booked.patient_id)
        .await
        .unwrap();
    assert_eq!(record.iter().map(|d| d.version).collect::<Vec<_>>(), [1, 2]);
    let stored = store.appointment(booked.id).await.unwrap();
    assert_eq!(stored.status, AppointmentStatus::Completed);
    assert!(store
        .has_care_relationship(booked.doctor_id, booked.patient_id)
        .await
        .unwrap());
    let next = appointment(
        booked.doctor_id,
        known_patient(&*store).await,
        monday_nine(),
        30,
    );
    store.book(&next, Effects::default()).await.unwrap();
}

#[tokio::test]
async fn reports_are_kept_oldest_first() {
    let store = fresh_store().await;
    let patient = known_patient(&*store).await;
    let mut titles = Vec::new();
    for i in 0..3 {
        let report = HealthReport {
            id: medtrack_core::id::ReportId::new(),
            patient_id: patient,
            kind: ReportKind::Measurement,
            title: ShortText::parse(&format!("Blood pressure {i}")).unwrap(),
            body: ClinicalText::parse("120/80").unwrap(),
            observed_at: None,
            submitted_at: monday_nine() + Duration::minutes(i),
        };
        store.add_report(&report, Effects::default()).await.unwrap();
        titles.push(report.title);
    }

    let reports = store.reports_for_patient(patient).await.unwrap();

    assert_eq!(
        reports.into_iter().map(|r| r.title).collect::<Vec<_>>(),
        titles
    );
    assert!(store
        .reports_for_patient(known_patient(&*store).await)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn audit_lists_newest_first_per_patient_and_for_everyone() {
    let store = fresh_store().await;
    let (ann, bob) = (known_patient(&*store).await, known_patient(&*store).await);
    let mut all = Vec::new();
    for i in 0..10 {
        let patient = if i % 2 == 0 { ann } else { bob };
        let entry = audit(
            patient,
            AuditAction::ReadRecord,
            monday_nine() + Duration::seconds(i),
        );
        store.append_audit(&entry).await.unwrap();
        all.push(entry);
    }
    all.reverse();

    let mut everyone = Vec::new();
    let mut page = PageRequest::first(3);
    loop {
        let got = store.list_audit(None, page.clone()).await.unwrap();
        everyone.extend(got.items);
        match got.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(everyone, all);

    let anns = store
        .list_audit(Some(ann), PageRequest::first(100))
        .await
        .unwrap();
    let expected: Vec<_> = all
        .iter()
        .filter(|e| e.patient_id == ann)
        .cloned()
        .collect();
    assert_eq!(anns.items, expected);
    assert!(anns.next_cursor.is_none());
}

fn lease(owner: &str) -> Lease {
    Lease {
        owner: owner.to_owned(),
        until: Utc::now() + Duration::seconds(30),
    }
}

#[tokio::test]
async fn outbox_events_are_written_with_their_change_and_leased_once() {
    let store = fresh_dynamo().await;
    let mut events = Vec::new();
    for slot in 0..5 {
        let booked = appointment(
            known_doctor(&store).await,
            known_patient(&store).await,
            monday_nine() + Duration::hours(slot),
            30,
        );
        let (effects, event) = booking_effects(&booked, "Booked");
        store.book(&booked, effects).await.unwrap();
        events.push(event.id);
    }
    assert_eq!(store.count_pending_events().await.unwrap(), 5);

    let now = Utc::now();
    let (lease_a, lease_b) = (lease("a"), lease("b"));
    let (first, second) = tokio::join!(
        store.lease_due_events(now, &lease_a, 3),
        store.lease_due_events(now, &lease_b, 3),
    );
    let (first, second) = (first.unwrap(), second.unwrap());

    let ids: HashSet<EventId> = first.iter().chain(&second).map(|e| e.id).collect();
    assert_eq!(ids.len(), first.len() + second.len());
    assert_eq!(ids, events.iter().copied().collect());
    assert!(first.iter().all(|e| e.lease.as_ref().unwrap().owner == "a"));
    assert!(store
        .lease_due_events(now, &lease("c"), 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn delivery_and_retry_need_the_lease() {
    let store = fresh_dynamo().await;
    let booked = appointment(
        known_doctor(&store).await,
        known_patient(&store).await,
        monday_nine(),
        30,
    );
    let (effects, event) = booking_effects(&booked, "Booked");
    store.book(&booked, effects).await.unwrap();
    let now = Utc::now();
    let leased = store.lease_due_events(now, &lease("a"), 10).await.unwrap();
    assert_eq!(leased.len(), 1);

    let lost = store.mark_delivered(event.id, "b", now).await;
    assert_eq!(conflict(lost), ConflictKind::LeaseLost);
    store
        .retry_later(event.id, "a", 1, now + Duration::minutes(1))
        .await
        .unwrap();

    assert!(store
        .lease_due_events(now, &lease("a"), 10)
        .await
        .unwrap()
        .is_empty());
    let later = now + Duration::minutes(2);
    let retried = store
        .lease_due_events(later, &lease("b"), 10)
        .await
        .unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].attempts, 1);
    store.mark_delivered(event.id, "b", later).await.unwrap();
    assert_eq!(store.count_pending_events().await.unwrap(), 0);
    let gone = store.mark_delivered(EventId::new(), "b", later).await;
    assert!(matches!(
        gone,
        Err(StoreError::NotFound {
            entity: Entity::Event,
            ..
        })
    ));
}

#[tokio::test]
async fn an_expired_lease_can_be_taken_over() {
    let store = fresh_dynamo().await;
    let booked = appointment(
        known_doctor(&store).await,
        known_patient(&store).await,
        monday_nine(),
        30,
    );
    let (effects, _) = booking_effects(&booked, "Booked");
    store.book(&booked, effects).await.unwrap();
    let now = Utc::now();
    let short = Lease {
        owner: "a".into(),
        until: now + Duration::seconds(5),
    };
    assert_eq!(
        store.lease_due_events(now, &short, 10).await.unwrap().len(),
        1
    );

    let during = store
        .lease_due_events(now + Duration::seconds(4), &lease("b"), 10)
        .await;
    let after = store
        .lease_due_events(now + Duration::seconds(5), &lease("b"), 10)
        .await;

    assert!(during.unwrap().is_empty());
    assert_eq!(after.unwrap().len(), 1);
}

#[tokio::test]
async fn booking_events_name_the_event_kind_and_recipients() {
    let store = fresh_dynamo().await;
    let booked = appointment(
        known_doctor(&store).await,
        known_patient(&store).await,
        monday_nine(),
        30,
    );
    let (effects, event) = booking_effects(&booked, "Booked");
    store.book(&booked, effects).await.unwrap();

    let leased = store
        .lease_due_events(Utc::now(), &lease("a"), 10)
        .await
        .unwrap();

    assert_eq!(leased.len(), 1);
    let got = &leased[0];
    assert_eq!(got.id, event.id);
    assert_eq!(got.kind, EventKind::AppointmentBooked);
    assert_eq!(got.recipients, event.recipients);
    assert_eq!(got.message, event.message);
}

/// The raw session item, as a purge left it.
async fn stored_session(
    store: &DynamoStore,
    hash: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    store
        .client()
        .get_item()
        .table_name(store.table_name())
        .key("PK", AttributeValue::S(format!("SESSION#{hash}")))
        .key("SK", AttributeValue::S("SESSION".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

/// A purge that stopped between claiming a session and deleting it leaves its claim: the
/// session is gone for readers at once, later purges leave it to its claimer for ten
/// minutes, and then one deletes it without counting it again.
#[tokio::test]
async fn a_session_claimed_by_a_stopped_purge_is_hidden_then_deleted_uncounted() {
    let store = fresh_dynamo().await;
    let abandoned = session("bb01", -Duration::minutes(30));
    store.insert_session(&abandoned).await.unwrap();
    let claimed_at = Utc::now();
    store
        .client()
        .update_item()
        .table_name(store.table_name())
        .key("PK", AttributeValue::S("SESSION#bb01".into()))
        .key("SK", AttributeValue::S("SESSION".into()))
        .update_expression("SET purged_by = :claim, purged_at = :at")
        .expression_attribute_values(":claim", AttributeValue::S("a purge that stopped".into()))
        .expression_attribute_values(
            ":at",
            AttributeValue::S(claimed_at.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()),
        )
        .send()
        .await
        .unwrap();

    assert!(store
        .session(&abandoned.token_hash)
        .await
        .unwrap()
        .is_none());
    let soon = claimed_at + Duration::minutes(1);
    assert_eq!(store.purge_expired_sessions(soon).await.unwrap(), 0);
    assert!(stored_session(&store, "bb01").await.is_some());

    let later = claimed_at + Duration::minutes(11);
    assert_eq!(store.purge_expired_sessions(later).await.unwrap(), 0);
    assert!(stored_session(&store, "bb01").await.is_none());
}
