//! Unit tests of the parts that are easy to get wrong: collision kinds, reschedules that
//! overlap their own old time, cursors across pages, lease exclusivity, and writes that
//! fail without leaving effects behind.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use medtrack_core::error::{ConflictKind, StoreError};
use medtrack_core::id::{AppointmentId, AuditId, DoctorId, EventId, PatientId, UserId};
use medtrack_core::model::{
    AccountStatus, Appointment, AppointmentStatus, AuditAction, AuditEntry, AuditOutcome,
    DeliveryStatus, Diagnosis, EventKind, Lease, NotificationText, OutboxEvent, PasswordHash, Role,
    Session, TokenHash, User,
};
use medtrack_core::store::{
    AccountStore, AppointmentQuery, AppointmentStore, AppointmentUpdate, AuditStore, Effects,
    OutboxStore, PageRequest, Party, RecordStore, SessionStore, Store, UserFilter,
};
use medtrack_core::text::{ClinicalText, Email, PersonName};

use crate::MemoryStore;

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 7, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn visit(doctor: DoctorId, patient: PatientId, start: i64, minutes: i64) -> Appointment {
    Appointment {
        id: AppointmentId::new(),
        doctor_id: doctor,
        patient_id: patient,
        start: at(start),
        end: at(start + minutes),
        buffer_before_minutes: 0,
        buffer_after_minutes: 0,
        reason: ClinicalText::parse("check-up").unwrap(),
        status: AppointmentStatus::Booked,
        created_at: at(-1000),
        updated_at: at(-1000),
        cancelled_at: None,
        version: 1,
    }
}

/// A doctor account stored in `store`, for appointments to refer to.
async fn known_doctor<S: AccountStore + ?Sized>(store: &S) -> DoctorId {
    known_account(store, Role::Doctor).await.as_doctor()
}

/// A patient account stored in `store`, for appointments to refer to.
async fn known_patient<S: AccountStore + ?Sized>(store: &S) -> PatientId {
    known_account(store, Role::Patient).await.as_patient()
}

async fn known_account<S: AccountStore + ?Sized>(store: &S, role: Role) -> UserId {
    let account = user(&format!("{}@example.org", UserId::new()), role);
    store
        .create_user(&account, Effects::default())
        .await
        .expect("the account is stored");
    account.id
}

fn changed(appointment: &Appointment, change: impl FnOnce(&mut Appointment)) -> AppointmentUpdate {
    let mut next = appointment.clone();
    change(&mut next);
    next.version += 1;
    AppointmentUpdate {
        appointment: next,
        expected_version: appointment.version,
    }
}

fn cancelled(appointment: &Appointment) -> AppointmentUpdate {
    changed(appointment, |a| {
        a.status = AppointmentStatus::Cancelled;
        a.cancelled_at = Some(at(-10));
    })
}

fn moved(appointment: &Appointment, by_minutes: i64) -> AppointmentUpdate {
    changed(appointment, |a| {
        a.start += Duration::minutes(by_minutes);
        a.end += Duration::minutes(by_minutes);
    })
}

fn user(email: &str, role: Role) -> User {
    User {
        id: UserId::new(),
        email: Email::parse(email).unwrap(),
        name: PersonName::parse("Test Person").unwrap(),
        role,
        status: AccountStatus::Active,
        phone: None,
        birth_date: None,
        time_zone: None,
        doctor: None,
        password_hash: PasswordHash::from_phc("$argon2id$v=19$test".to_owned()),
        created_at: at(0),
        updated_at: at(0),
        version: 1,
    }
}

fn audit(patient: PatientId, minutes: i64) -> AuditEntry {
    AuditEntry {
        id: AuditId::new(),
        at: at(minutes),
        actor_id: patient.user_id(),
        actor_role: Role::Patient,
        patient_id: patient,
        action: AuditAction::BookAppointment,
        outcome: AuditOutcome::Allowed,
        appointment_id: None,
    }
}

fn event(due_minutes: i64) -> OutboxEvent {
    OutboxEvent {
        id: EventId::new(),
        kind: EventKind::AppointmentBooked,
        recipients: Vec::new(),
        appointment_id: None,
        message: NotificationText("booked".to_owned()),
        created_at: at(0),
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: at(due_minutes),
        lease: None,
        delivered_at: None,
    }
}

fn effects_for(patient: PatientId) -> Effects {
    Effects {
        audit: vec![audit(patient, 0)],
        events: vec![event(0)],
    }
}

fn lease(owner: &str, until_minutes: i64) -> Lease {
    Lease {
        owner: owner.to_owned(),
        until: at(until_minutes),
    }
}

async fn assert_no_effects(store: &MemoryStore) {
    assert_eq!(store.count_pending_events().await.unwrap(), 0);
    let audit = store
        .list_audit(None, PageRequest::first(10))
        .await
        .unwrap();
    assert!(audit.items.is_empty());
}

fn conflict(result: Result<(), StoreError>) -> ConflictKind {
    match result {
        Err(StoreError::Conflict(kind)) => kind,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn the_memory_store_is_usable_as_a_dyn_store() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());

    let missing = store.appointment(AppointmentId::new()).await;

    assert!(matches!(missing, Err(StoreError::NotFound { .. })));
}

#[tokio::test]
async fn an_overlapping_doctor_cell_is_a_doctor_time_conflict() {
    let store = MemoryStore::new();
    let doctor = known_doctor(&store).await;
    store
        .book(
            &visit(doctor, known_patient(&store).await, 0, 30),
            Effects::default(),
        )
        .await
        .unwrap();

    let overlapping = visit(doctor, known_patient(&store).await, 25, 30);
    let result = store.book(&overlapping, Effects::default()).await;

    assert_eq!(conflict(result), ConflictKind::DoctorTime);
}

#[tokio::test]
async fn a_buffer_holds_the_doctors_time() {
    let store = MemoryStore::new();
    let doctor = known_doctor(&store).await;
    let mut first = visit(doctor, known_patient(&store).await, 0, 30);
    first.buffer_after_minutes = 10;
    store.book(&first, Effects::default()).await.unwrap();

    let in_buffer = visit(doctor, known_patient(&store).await, 35, 30);
    let after_buffer = visit(doctor, known_patient(&store).await, 40, 30);

    let refused = store.book(&in_buffer, Effects::default()).await;
    assert_eq!(conflict(refused), ConflictKind::DoctorTime);
    store.book(&after_buffer, Effects::default()).await.unwrap();
}

#[tokio::test]
async fn an_overlapping_patient_cell_with_another_doctor_is_a_patient_time_conflict() {
    let store = MemoryStore::new();
    let patient = known_patient(&store).await;
    store
        .book(
            &visit(known_doctor(&store).await, patient, 0, 30),
            Effects::default(),
        )
        .await
        .unwrap();

    let elsewhere = visit(known_doctor(&store).await, patient, 15, 30);
    let result = store.book(&elsewhere, Effects::default()).await;

    assert_eq!(conflict(result), ConflictKind::PatientTime);
}

#[tokio::test]
async fn a_doctor_collision_is_reported_before_a_patient_collision() {
    let store = MemoryStore::new();
    let (doctor, patient) = (known_doctor(&store).await, known_patient(&store).await);
    store
        .book(&visit(doctor, patient, 0, 30), Effects::default())
        .await
        .unwrap();

    let result = store
        .book(&visit(doctor, patient, 0, 30), Effects::default())
        .await;

    assert_eq!(conflict(result), ConflictKind::DoctorTime);
}

#[tokio::test]
async fn a_refused_booking_writes_no_claims_and_no_effects() {
    let store = MemoryStore::new();
    let doctor = known_doctor(&store).await;
    store
        .book(
            &visit(doctor, known_patient(&store).await, 0, 30),
            Effects::default(),
        )
        .await
        .unwrap();
    let partly_free = visit(doctor, known_patient(&store).await, 15, 30);

    let patient = partly_free.patient_id;
    let refused = store.book(&partly_free, effects_for(patient)).await;

    assert_eq!(conflict(refused), ConflictKind::DoctorTime);
    assert_no_effects(&store).await;
    let lost = store.appointment(partly_free.id).await;
    assert!(matches!(lost, Err(StoreError::NotFound { .. })));
    let later = visit(doctor, known_patient(&store).await, 30, 15);
    store.book(&later, Effects::default()).await.unwrap();
}

#[tokio::test]
async fn a_booking_stores_its_effects() {
    let store = MemoryStore::new();
    let appointment = visit(
        known_doctor(&store).await,
        known_patient(&store).await,
        0,
        30,
    );

    let effects = effects_for(appointment.patient_id);
    store.book(&appointment, effects).await.unwrap();

    assert_eq!(store.count_pending_events().await.unwrap(), 1);
    let audit = store.list_audit(Some(appointment.patient_id), PageRequest::first(10));
    assert_eq!(audit.await.unwrap().items.len(), 1);
}

#[tokio::test]
async fn cancelling_frees_the_time_at_once() {
    let store = MemoryStore::new();
    let doctor = known_doctor(&store).await;
    let first = visit(doctor, known_patient(&store).await, 0, 30);
    store.book(&first, Effects::default()).await.unwrap();

    let update = cancelled(&first);
    store
        .update_appointment(update, Effects::default())
        .await
        .unwrap();

    let again = visit(doctor, known_patient(&store).await, 0, 30);
    store.book(&again, Effects::default()).await.unwrap();
    let booked = store
        .booked_for_doctor(doctor, at(0), at(60))
        .await
        .unwrap();
    assert_eq!(booked, vec![again]);
}

#[tokio::test]
async fn a_reschedule_may_overlap_its_own_old_time() {
    let store = MemoryStore::new();
    let doctor = known_doctor(&store).await;
    let appointment = visit(doctor, known_patient(&store).await, 0, 30);
    store.book(&appointment, Effects::default()).await.unwrap();

    let update = moved(&appointment, 15);
    store
        .reschedule(update, &appointment, Effects::default())
        .await
        .unwrap();

    let freed = visit(doctor, known_patient(&store).await, 0, 15);
    store.book(&freed, Effects::default()).await.unwrap();
    let still_held = visit(doctor, known_patient(&store).await, 40, 10);
    let refused = store.book(&still_held, Effects::default()).await;
    assert_eq!(conflict(refused), ConflictKind::DoctorTime);
}

#[tokio::test]
async fn a_reschedule_into_taken_time_keeps_the_old_time_and_writes_nothing() {
    let store = MemoryStore::new();
    let doctor = known_doctor(&store).await;
    let appointment = visit(doctor, known_patient(&store).await, 0, 30);
    let other = visit(doctor, known_patient(&store).await, 60, 30);
    store.book(&appointment, Effects::default()).await.unwrap();
    store.book(&other, Effects::default()).await.unwrap();

    let update = moved(&appointment, 45);
    let effects = effects_for(appointment.patient_id);
    let refused = store.reschedule(update, &appointment, effects).await;

    assert_eq!(conflict(refused), ConflictKind::DoctorTime);
    assert_eq!(
        store.appointment(appointment.id).await.unwrap(),
        appointment
    );
    assert_no_effects(&store).await;
    let old_time = visit(doctor, known_patient(&store).await, 0, 30);
    let taken = store.book(&old_time, Effects::default()).await;
    assert_eq!(conflict(taken), ConflictKind::DoctorTime);
}

#[tokio::test]
async fn a_stale_version_is_refused_and_writes_nothing() {
    let store = MemoryStore::new();
    let appointment = visit(
        known_doctor(&store).await,
        known_patient(&store).await,
        0,
        30,
    );
    store.book(&appointment, Effects::default()).await.unwrap();

    let mut update = cancelled(&appointment);
    update.expected_version = 7;
    let effects = effects_for(appointment.patient_id);
    let refused = store.update_appointment(update, effects).await;

    assert_eq!(conflict(refused), ConflictKind::StaleVersion);
    assert_eq!(
        store.appointment(appointment.id).await.unwrap(),
        appointment
    );
    assert_no_effects(&store).await;
}

#[tokio::test]
async fn effects_with_a_stored_id_fail_the_whole_write() {
    let store = MemoryStore::new();
    let patient = known_patient(&store).await;
    let entry = audit(patient, 0);
    store.append_audit(&entry).await.unwrap();

    let appointment = visit(known_doctor(&store).await, patient, 0, 30);
    let effects = Effects {
        audit: vec![entry],
        events: vec![event(0)],
    };
    let refused = store.book(&appointment, effects).await;

    assert_eq!(conflict(refused), ConflictKind::AlreadyExists);
    assert!(store.appointment(appointment.id).await.is_err());
    assert_eq!(store.count_pending_events().await.unwrap(), 0);
}

fn diagnosis_of(appointment: &Appointment, version: u32) -> Diagnosis {
    Diagnosis {
        appointment_id: appointment.id,
        version,
        patient_id: appointment.patient_id,
        doctor_id: appointment.doctor_id,
        diagnosis: ClinicalText::parse("fine").unwrap(),
        code: None,
        treatment_plan: ClinicalText::parse("rest").unwrap(),
        prescriptions: Vec::new(),
        authored_at: at(40 + i64::from(version)),
    }
}

fn completed(appointment: &Appointment) -> AppointmentUpdate {
    changed(appointment, |a| a.status = AppointmentStatus::Completed)
}

#[tokio::test]
async fn a_first_diagnosis_completes_the_appointment_and_frees_its_time() {
    let store = MemoryStore::new();
    let appointment = visit(
        known_doctor(&store).await,
        known_patient(&store).await,
        0,
        30,
    );
    store.book(&appointment, Effects::default()).await.unwrap();

    let diagnosis = diagnosis_of(&appointment, 1);
    let update = Some(completed(&appointment));
    let effects = effects_for(appointment.patient_id);
    store
        .add_diagnosis(&diagnosis, update, effects)
        .await
        .unwrap();

    let stored = store.appointment(appointment.id).await.unwrap();
    assert_eq!(stored.status, AppointmentStatus::Completed);
    let (doctor, patient) = (appointment.doctor_id, appointment.patient_id);
    let booked = store
        .booked_for_doctor(doctor, at(0), at(60))
        .await
        .unwrap();
    assert!(booked.is_empty());
    let record = store.diagnoses_for_patient(patient).await.unwrap();
    assert_eq!(record, vec![diagnosis]);
    assert_eq!(store.count_pending_events().await.unwrap(), 1);
}

#[tokio::test]
async fn a_repeated_diagnosis_version_changes_nothing() {
    let store = MemoryStore::new();
    let appointment = visit(
        known_doctor(&store).await,
        known_patient(&store).await,
        0,
        30,
    );
    store.book(&appointment, Effects::default()).await.unwrap();
    let first = diagnosis_of(&appointment, 1);
    store
        .add_diagnosis(&first, None, Effects::default())
        .await
        .unwrap();

    let update = Some(completed(&appointment));
    let effects = effects_for(appointment.patient_id);
    let refused = store.add_diagnosis(&first, update, effects).await;

    assert_eq!(conflict(refused), ConflictKind::AlreadyExists);
    assert_eq!(
        store.appointment(appointment.id).await.unwrap(),
        appointment
    );
    assert_no_effects(&store).await;
}

#[tokio::test]
async fn a_diagnosis_with_a_stale_completion_is_not_stored() {
    let store = MemoryStore::new();
    let appointment = visit(
        known_doctor(&store).await,
        known_patient(&store).await,
        0,
        30,
    );
    store.book(&appointment, Effects::default()).await.unwrap();

    let mut update = completed(&appointment);
    update.expected_version = 9;
    let diagnosis = diagnosis_of(&appointment, 1);
    let refused = store.add_diagnosis(&diagnosis, Some(update), Effects::default());

    assert_eq!(conflict(refused.await), ConflictKind::StaleVersion);
    let record = store.diagnoses_for_patient(appointment.patient_id).await;
    assert!(record.unwrap().is_empty());
}

#[tokio::test]
async fn care_needs_an_appointment_not_cancelled_before_it_began() {
    let store = MemoryStore::new();
    let (doctor, patient) = (known_doctor(&store).await, known_patient(&store).await);
    let appointment = visit(doctor, patient, 0, 30);
    store.book(&appointment, Effects::default()).await.unwrap();
    assert!(store.has_care_relationship(doctor, patient).await.unwrap());

    let update = cancelled(&appointment);
    store
        .update_appointment(update, Effects::default())
        .await
        .unwrap();

    assert!(!store.has_care_relationship(doctor, patient).await.unwrap());
    let stranger = known_doctor(&store).await;
    assert!(!store
        .has_care_relationship(stranger, patient)
        .await
        .unwrap());
}

async fn book_day(store: &MemoryStore, doctor: DoctorId, count: i64) -> Vec<Appointment> {
    let mut booked = Vec::new();
    for slot in 0..count {
        let appointment = visit(doctor, known_patient(store).await, slot * 30, 30);
        store.book(&appointment, Effects::default()).await.unwrap();
        booked.push(appointment);
    }
    booked
}

async fn all_pages(store: &MemoryStore, query: &AppointmentQuery, limit: u32) -> Vec<Appointment> {
    let mut page = PageRequest::first(limit);
    let mut seen = Vec::new();
    loop {
        let result = store.list_appointments(query, page.clone()).await.unwrap();
        assert!(result.items.len() <= limit.max(1) as usize);
        seen.extend(result.items);
        match result.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return seen,
        }
    }
}

fn doctor_query(doctor: DoctorId, ascending: bool) -> AppointmentQuery {
    AppointmentQuery {
        party: Party::Doctor(doctor),
        status: None,
        from: None,
        to: None,
        ascending,
    }
}

#[tokio::test]
async fn appointment_pages_cover_the_list_once_in_both_directions() {
    let store = MemoryStore::new();
    let doctor = known_doctor(&store).await;
    let booked = book_day(&store, doctor, 7).await;

    let ascending = all_pages(&store, &doctor_query(doctor, true), 3).await;
    let descending = all_pages(&store, &doctor_query(doctor, false), 2).await;

    assert_eq!(ascending, booked);
    let mut reversed = booked.clone();
    reversed.reverse();
    assert_eq!(descending, reversed);
}

#[tokio::test]
async fn a_full_last_page_has_no_cursor_and_limit_zero_means_one() {
    let store = MemoryStore::new();
    let doctor = known_doctor(&store).await;
    book_day(&store, doctor, 4).await;

    let query = doctor_query(doctor, true);
    let whole = store.list_appointments(&query, PageRequest::first(4)).await;
    let single = store.list_appointments(&query, PageRequest::first(0)).await;

    assert!(whole.unwrap().next_cursor.is_none());
    let single = single.unwrap();
    assert_eq!(single.items.len(), 1);
    assert!(single.next_cursor.is_some());
}

#[tokio::test]
async fn appointment_pages_respect_window_and_status() {
    let store = MemoryStore::new();
    let doctor = known_doctor(&store).await;
    let booked = book_day(&store, doctor, 6).await;
    let update = cancelled(&booked[2]);
    store
        .update_appointment(update, Effects::default())
        .await
        .unwrap();

    let query = AppointmentQuery {
        status: Some(AppointmentStatus::Booked),
        from: Some(booked[1].start),
        to: Some(booked[5].start),
        ..doctor_query(doctor, true)
    };
    let listed = all_pages(&store, &query, 1).await;

    let ids: Vec<_> = listed.iter().map(|a| a.id).collect();
    assert_eq!(ids, vec![booked[1].id, booked[3].id, booked[4].id]);
}

#[tokio::test]
async fn an_insert_before_the_cursor_does_not_repeat_items() {
    let store = MemoryStore::new();
    let doctor = known_doctor(&store).await;
    let booked = book_day(&store, doctor, 4).await;
    let query = doctor_query(doctor, true);
    let first = store
        .list_appointments(&query, PageRequest::first(2))
        .await
        .unwrap();

    let earlier = visit(doctor, known_patient(&store).await, -60, 30);
    store.book(&earlier, Effects::default()).await.unwrap();
    let page = PageRequest {
        cursor: first.next_cursor,
        limit: 10,
    };
    let rest = store.list_appointments(&query, page).await.unwrap();

    assert_eq!(rest.items, booked[2..].to_vec());
}

#[tokio::test]
async fn a_malformed_cursor_is_an_invalid_cursor_error() {
    let store = MemoryStore::new();
    let query = doctor_query(known_doctor(&store).await, true);

    for cursor in ["nonsense", "2030-01-07T09:00:00Z|not-a-uuid", "|"] {
        let page = PageRequest {
            cursor: Some(cursor.to_owned()),
            limit: 5,
        };
        let result = store.list_appointments(&query, page.clone()).await;
        assert!(
            matches!(result, Err(StoreError::InvalidCursor)),
            "cursor {cursor}: {result:?}"
        );
        assert!(store.list_audit(None, page).await.is_err());
    }
}

#[tokio::test]
async fn audit_pages_are_newest_first_and_filter_by_patient() {
    let store = MemoryStore::new();
    let (ann, bob) = (known_patient(&store).await, known_patient(&store).await);
    for minute in 0..5 {
        store.append_audit(&audit(ann, minute)).await.unwrap();
        store.append_audit(&audit(bob, minute)).await.unwrap();
    }

    let first = store
        .list_audit(Some(ann), PageRequest::first(3))
        .await
        .unwrap();
    let page = PageRequest {
        cursor: first.next_cursor.clone(),
        limit: 3,
    };
    let second = store.list_audit(Some(ann), page).await.unwrap();

    let times: Vec<_> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|e| e.at)
        .collect();
    assert_eq!(times, (0..5).rev().map(at).collect::<Vec<_>>());
    assert!(second.next_cursor.is_none());
    assert!(second.items.iter().all(|entry| entry.patient_id == ann));
    let everyone = store
        .list_audit(None, PageRequest::first(20))
        .await
        .unwrap();
    assert_eq!(everyone.items.len(), 10);
}

#[tokio::test]
async fn users_list_by_email_with_filters_across_pages() {
    let store = MemoryStore::new();
    for (email, role) in [
        ("dora@x.org", Role::Doctor),
        ("abe@x.org", Role::Patient),
        ("cat@x.org", Role::Patient),
        ("bea@x.org", Role::Doctor),
        ("eve@x.org", Role::Patient),
    ] {
        store
            .create_user(&user(email, role), Effects::default())
            .await
            .unwrap();
    }

    let filter = UserFilter {
        role: Some(Role::Patient),
        status: None,
    };
    let first = store
        .list_users(filter, PageRequest::first(2))
        .await
        .unwrap();
    let page = PageRequest {
        cursor: first.next_cursor.clone(),
        limit: 2,
    };
    let second = store.list_users(filter, page).await.unwrap();

    let emails: Vec<_> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|u| u.email.clone())
        .collect();
    let expected = ["abe@x.org", "cat@x.org", "eve@x.org"].map(|e| Email::parse(e).unwrap());
    assert_eq!(emails, expected);
    assert!(second.next_cursor.is_none());
}

#[tokio::test]
async fn a_taken_email_or_id_refuses_the_account() {
    let store = MemoryStore::new();
    let ann = user("ann@x.org", Role::Patient);
    store.create_user(&ann, Effects::default()).await.unwrap();

    let same_email = user("ann@x.org", Role::Doctor);
    let same_id = User {
        id: ann.id,
        ..user("other@x.org", Role::Patient)
    };

    let email = store
        .create_user(&same_email, effects_for(known_patient(&store).await))
        .await;
    assert_eq!(conflict(email), ConflictKind::Email);
    let id = store.create_user(&same_id, Effects::default()).await;
    assert_eq!(conflict(id), ConflictKind::AlreadyExists);
    assert_no_effects(&store).await;
}

#[tokio::test]
async fn an_account_update_checks_its_version_and_keeps_its_email() {
    let store = MemoryStore::new();
    let ann = user("ann@x.org", Role::Patient);
    store.create_user(&ann, Effects::default()).await.unwrap();

    let approved = User {
        status: AccountStatus::Deactivated,
        version: 2,
        ..ann.clone()
    };
    let stale = store.update_user(&approved, 5).await;
    assert_eq!(conflict(stale), ConflictKind::StaleVersion);
    store.update_user(&approved, 1).await.unwrap();

    let renamed = User {
        email: Email::parse("new@x.org").unwrap(),
        ..approved.clone()
    };
    let refused = store.update_user(&renamed, 2).await;
    assert!(matches!(refused, Err(StoreError::Unsupported { .. })));
    let stored = store.user_by_email(&ann.email).await.unwrap().unwrap();
    assert_eq!(stored.status, AccountStatus::Deactivated);
}

fn session(token: &str, expires_minutes: i64) -> Session {
    Session {
        token_hash: TokenHash(token.to_owned()),
        user_id: UserId::new(),
        created_at: at(0),
        last_seen_at: at(0),
        expires_at: at(expires_minutes),
    }
}

#[tokio::test]
async fn purging_removes_only_sessions_expired_before_now() {
    let store = MemoryStore::new();
    for (token, expires) in [("a", 5), ("b", 10), ("c", 15)] {
        store
            .insert_session(&session(token, expires))
            .await
            .unwrap();
    }
    let renewed = TokenHash("a".to_owned());
    store.renew_session(&renewed, at(4), at(30)).await.unwrap();

    let purged = store.purge_expired_sessions(at(11)).await.unwrap();

    assert_eq!(purged, 1);
    let gone = store.session(&TokenHash("b".to_owned())).await.unwrap();
    assert!(gone.is_none());
    let kept = store.session(&renewed).await.unwrap().unwrap();
    assert_eq!((kept.last_seen_at, kept.expires_at), (at(4), at(30)));
    assert!(store
        .session(&TokenHash("c".to_owned()))
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn a_gone_session_cannot_be_renewed_but_can_be_deleted() {
    let store = MemoryStore::new();
    let token = TokenHash("gone".to_owned());

    let renewed = store.renew_session(&token, at(0), at(10)).await;

    assert!(matches!(renewed, Err(StoreError::NotFound { .. })));
    store.delete_session(&token).await.unwrap();
}

async fn store_with_events(due_minutes: &[i64]) -> (MemoryStore, Vec<OutboxEvent>) {
    let store = MemoryStore::new();
    let events: Vec<_> = due_minutes.iter().map(|due| event(*due)).collect();
    let entry = audit(known_patient(&store).await, 0);
    let effects = Effects {
        audit: vec![entry],
        events: events.clone(),
    };
    let appointment = visit(
        known_doctor(&store).await,
        known_patient(&store).await,
        0,
        30,
    );
    store.book(&appointment, effects).await.unwrap();
    (store, events)
}

#[tokio::test]
async fn leases_hand_out_due_events_earliest_first_and_only_once() {
    let (store, events) = store_with_events(&[20, 5, 10, 90]).await;

    let first = store
        .lease_due_events(at(30), &lease("a", 40), 2)
        .await
        .unwrap();
    let second = store
        .lease_due_events(at(30), &lease("b", 40), 10)
        .await
        .unwrap();
    let third = store
        .lease_due_events(at(35), &lease("c", 40), 10)
        .await
        .unwrap();

    let ids = |leased: &[OutboxEvent]| leased.iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(ids(&first), vec![events[1].id, events[2].id]);
    assert_eq!(ids(&second), vec![events[0].id]);
    assert!(third.is_empty());
    assert!(first.iter().all(|e| e.lease == Some(lease("a", 40))));
}

#[tokio::test]
async fn an_ended_lease_lets_another_dispatcher_take_the_event() {
    let (store, events) = store_with_events(&[0]).await;
    let id = events[0].id;
    store
        .lease_due_events(at(1), &lease("a", 5), 1)
        .await
        .unwrap();

    let taken = store
        .lease_due_events(at(5), &lease("b", 10), 1)
        .await
        .unwrap();
    let late = store.mark_delivered(id, "a", at(6)).await;

    assert_eq!(taken.len(), 1);
    assert_eq!(conflict(late), ConflictKind::LeaseLost);
    store.mark_delivered(id, "b", at(6)).await.unwrap();
    assert_eq!(store.count_pending_events().await.unwrap(), 0);
    let again = store.mark_delivered(id, "b", at(7)).await;
    assert_eq!(conflict(again), ConflictKind::LeaseLost);
}

#[tokio::test]
async fn a_retry_drops_the_lease_and_waits_for_its_new_time() {
    let (store, events) = store_with_events(&[0]).await;
    let id = events[0].id;
    store
        .lease_due_events(at(1), &lease("a", 5), 1)
        .await
        .unwrap();

    let stranger = store.retry_later(id, "b", 1, at(20)).await;
    assert_eq!(conflict(stranger), ConflictKind::LeaseLost);
    store.retry_later(id, "a", 1, at(20)).await.unwrap();

    let early = store
        .lease_due_events(at(19), &lease("b", 30), 5)
        .await
        .unwrap();
    let due = store
        .lease_due_events(at(20), &lease("b", 30), 5)
        .await
        .unwrap();
    assert!(early.is_empty());
    assert_eq!((due[0].attempts, due[0].next_attempt_at), (1, at(20)));
    assert_eq!(store.count_pending_events().await.unwrap(), 1);
}

#[tokio::test]
async fn an_unknown_event_is_not_found() {
    let store = MemoryStore::new();

    let result = store.mark_delivered(EventId::new(), "a", at(0)).await;

    assert!(matches!(result, Err(StoreError::NotFound { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_bookings_of_one_slot_let_exactly_one_win() {
    let store = Arc::new(MemoryStore::new());
    let doctor = known_doctor(&*store).await;

    let mut tasks = Vec::new();
    for _ in 0..64 {
        let store = Arc::clone(&store);
        let appointment = visit(doctor, known_patient(&*store).await, 0, 30);
        tasks.push(tokio::spawn(async move {
            store.book(&appointment, Effects::default()).await
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }

    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    let mut refused = results.into_iter().filter_map(Result::err);
    assert!(refused.all(|e| matches!(e, StoreError::Conflict(ConflictKind::DoctorTime))));
}

#[test]
fn debug_output_shows_no_contents() {
    let printed = format!("{:?}", MemoryStore::new());

    assert_eq!(printed, "MemoryStore { .. }");
}
