//! Unit tests of the service layer and the dispatcher over a mocked store and notifier.
//!
//! No backend runs here. Each test states the store calls it expects; any other call hits
//! mockall's default and panics, so "nothing else is written" is checked by every test.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use mockall::predicate::eq;
use mockall::{mock, Sequence};
use sha2::{Digest, Sha256};

use medtrack_core::clock::ManualClock;
use medtrack_core::dispatch::{self, DispatchConfig, DispatchReport, Dispatcher};
use medtrack_core::error::{ConflictKind, StoreError};
use medtrack_core::id::{AppointmentId, DoctorId, EventId, PatientId, ReportId, UserId};
use medtrack_core::model::{
    AccountStatus, Appointment, AppointmentStatus, AuditAction, AuditEntry, AuditOutcome,
    DeliveryStatus, Diagnosis, DoctorProfile, EventKind, HealthReport, Lease, NotificationText,
    OutboxEvent, PasswordHash, Recipient, ReportKind, Role, Session, TokenHash, User,
};
use medtrack_core::notify::{Notifier, NotifyError};
use medtrack_core::password::{PasswordHasher, PasswordParams};
use medtrack_core::schedule::Schedule;
use medtrack_core::store::{
    AccountStore, AppointmentQuery, AppointmentStore, AppointmentUpdate, AuditStore, Effects,
    OutboxStore, Page, PageRequest, RecordStore, SessionStore, Store, StoreResult, UserFilter,
};
use medtrack_core::text::{ClinicalText, Email, Password, PersonName, ShortText, Specialty};
use medtrack_core::{
    BookingRefusal, BookingRequest, DiagnosisInput, Error, MedTrack, Principal, Settings,
};

mock! {
    pub Store {}

    #[async_trait]
    impl AccountStore for Store {
        async fn create_user(&self, user: &User, effects: Effects) -> StoreResult<()>;
        async fn user(&self, id: UserId) -> StoreResult<User>;
        async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>>;
        async fn update_user(&self, user: &User, expected_version: u64) -> StoreResult<()>;
        async fn list_users(&self, filter: UserFilter, page: PageRequest)
            -> StoreResult<Page<User>>;
    }

    #[async_trait]
    impl SessionStore for Store {
        async fn insert_session(&self, session: &Session) -> StoreResult<()>;
        async fn session(&self, token_hash: &TokenHash) -> StoreResult<Option<Session>>;
        async fn renew_session(
            &self,
            token_hash: &TokenHash,
            last_seen_at: DateTime<Utc>,
            expires_at: DateTime<Utc>,
        ) -> StoreResult<()>;
        async fn delete_session(&self, token_hash: &TokenHash) -> StoreResult<()>;
        async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64>;
    }

    #[async_trait]
    impl AppointmentStore for Store {
        async fn book(&self, appointment: &Appointment, effects: Effects) -> StoreResult<()>;
        async fn reschedule(
            &self,
            update: AppointmentUpdate,
            previous: &Appointment,
            effects: Effects,
        ) -> StoreResult<()>;
        async fn update_appointment(
            &self,
            update: AppointmentUpdate,
            effects: Effects,
        ) -> StoreResult<()>;
        async fn appointment(&self, id: AppointmentId) -> StoreResult<Appointment>;
        async fn booked_for_doctor(
            &self,
            doctor: DoctorId,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
        ) -> StoreResult<Vec<Appointment>>;
        async fn list_appointments(
            &self,
            query: &AppointmentQuery,
            page: PageRequest,
        ) -> StoreResult<Page<Appointment>>;
        async fn has_care_relationship(
            &self,
            doctor: DoctorId,
            patient: PatientId,
        ) -> StoreResult<bool>;
    }

    #[async_trait]
    impl RecordStore for Store {
        async fn add_diagnosis(
            &self,
            diagnosis: &Diagnosis,
            completes: Option<AppointmentUpdate>,
            effects: Effects,
        ) -> StoreResult<()>;
        async fn diagnoses_for_patient(&self, patient: PatientId) -> StoreResult<Vec<Diagnosis>>;
        async fn add_report(&self, report: &HealthReport, effects: Effects) -> StoreResult<()>;
        async fn reports_for_patient(&self, patient: PatientId)
            -> StoreResult<Vec<HealthReport>>;
    }

    #[async_trait]
    impl AuditStore for Store {
        async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
        async fn list_audit(
            &self,
            patient: Option<PatientId>,
            page: PageRequest,
        ) -> StoreResult<Page<AuditEntry>>;
    }

    #[async_trait]
    impl OutboxStore for Store {
        async fn lease_due_events(
            &self,
            now: DateTime<Utc>,
            lease: &Lease,
            limit: u32,
        ) -> StoreResult<Vec<OutboxEvent>>;
        async fn mark_delivered(
            &self,
            id: EventId,
            lease_owner: &str,
            delivered_at: DateTime<Utc>,
        ) -> StoreResult<()>;
        async fn retry_later(
            &self,
            id: EventId,
            lease_owner: &str,
            attempts: u32,
            next_attempt_at: DateTime<Utc>,
        ) -> StoreResult<()>;
        async fn count_pending_events(&self) -> StoreResult<u64>;
    }
}

mock! {
    pub Notifier {}

    #[async_trait]
    impl Notifier for Notifier {
        async fn deliver(&self, event: &OutboxEvent) -> Result<(), NotifyError>;
    }
}

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

/// Monday 4 January 2027, 08:00 UTC: "now" in every test.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 4, 8, 0, 0).unwrap()
}

const DISPATCHER: &str = "dispatcher-a";
const PASSWORD: &str = "correct horse battery staple";
const TOKEN: &str = "an-opaque-session-token";
const REASON: &str = "recurring migraine with aura";
const DIAGNOSIS: &str = "tension-type headache";

fn service(store: MockStore) -> MedTrack {
    let settings = Settings {
        password_params: PasswordParams::INSECURE_FAST,
        ..Settings::default()
    };
    let clock = Arc::new(ManualClock::new(t0()));
    MedTrack::with_clock(Arc::new(store) as Arc<dyn Store>, settings, clock)
        .expect("the test settings are valid")
}

fn dispatcher(store: MockStore, notifier: MockNotifier) -> Dispatcher {
    let config = DispatchConfig {
        name: DISPATCHER.to_owned(),
        ..DispatchConfig::default()
    };
    Dispatcher::new(
        Arc::new(store),
        Arc::new(notifier),
        Arc::new(ManualClock::new(t0())),
        config,
    )
}

/// A hash that never has to verify.
fn placeholder_hash() -> PasswordHash {
    PasswordHash::from_phc("$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".to_owned())
}

async fn real_hash(password: &str) -> PasswordHash {
    let hasher = PasswordHasher::new(PasswordParams::INSECURE_FAST, 1).unwrap();
    hasher
        .hash(Password::parse(password).unwrap())
        .await
        .unwrap()
}

fn user(role: Role, status: AccountStatus, password_hash: PasswordHash) -> User {
    let id = UserId::new();
    User {
        id,
        email: Email::parse(&format!("{id}@example.org")).unwrap(),
        name: PersonName::parse("Ann Example").unwrap(),
        role,
        status,
        phone: None,
        birth_date: None,
        time_zone: None,
        doctor: None,
        password_hash,
        created_at: t0() - Duration::days(30),
        updated_at: t0() - Duration::days(30),
        version: 1,
    }
}

fn patient() -> User {
    user(Role::Patient, AccountStatus::Active, placeholder_hash())
}

/// An active doctor on the standard schedule (weekdays 09:00 to 17:00 UTC, 30-minute slots).
fn doctor() -> User {
    let mut doctor = user(Role::Doctor, AccountStatus::Active, placeholder_hash());
    doctor.doctor = Some(DoctorProfile {
        specialty: Specialty::parse("General practice").unwrap(),
        schedule: Schedule::standard(Tz::UTC),
    });
    doctor
}

fn principal(user: &User) -> Principal {
    Principal::trusted_from_external_identity(user.id, user.role)
}

fn appointment(doctor: &User, patient: &User, start: DateTime<Utc>) -> Appointment {
    Appointment {
        id: AppointmentId::new(),
        doctor_id: doctor.id.as_doctor(),
        patient_id: patient.id.as_patient(),
        start,
        end: start + Duration::minutes(30),
        buffer_before_minutes: 0,
        buffer_after_minutes: 0,
        reason: ClinicalText::parse(REASON).unwrap(),
        status: AppointmentStatus::Booked,
        created_at: start - Duration::days(7),
        updated_at: start - Duration::days(7),
        cancelled_at: None,
        version: 1,
    }
}

fn diagnosis_of(appointment: &Appointment, version: u32) -> Diagnosis {
    Diagnosis {
        appointment_id: appointment.id,
        version,
        patient_id: appointment.patient_id,
        doctor_id: appointment.doctor_id,
        diagnosis: ClinicalText::parse(DIAGNOSIS).unwrap(),
        code: None,
        treatment_plan: ClinicalText::parse("rest").unwrap(),
        prescriptions: Vec::new(),
        authored_at: appointment.end,
    }
}

fn diagnosis_input() -> DiagnosisInput {
    DiagnosisInput {
        diagnosis: DIAGNOSIS.to_owned(),
        code: Some("G44.2".to_owned()),
        treatment_plan: "Rest, fluids, review in two weeks".to_owned(),
        prescriptions: Vec::new(),
    }
}

fn report_of(patient: &User) -> HealthReport {
    HealthReport {
        id: ReportId::new(),
        patient_id: patient.id.as_patient(),
        kind: ReportKind::Measurement,
        title: ShortText::parse("Blood pressure").unwrap(),
        body: ClinicalText::parse("128/84").unwrap(),
        observed_at: None,
        submitted_at: t0() - Duration::days(1),
    }
}

/// The session a token names, as the store keeps it: SHA-256 of the token, hex-encoded.
fn token_hash(token: &str) -> TokenHash {
    let digest = Sha256::digest(token.as_bytes());
    TokenHash(digest.iter().map(|byte| format!("{byte:02x}")).collect())
}

fn session(user: &User, expires_at: DateTime<Utc>) -> Session {
    Session {
        token_hash: token_hash(TOKEN),
        user_id: user.id,
        created_at: t0() - Duration::hours(1),
        last_seen_at: t0() - Duration::minutes(20),
        expires_at,
    }
}

fn pending_event(attempts: u32) -> OutboxEvent {
    OutboxEvent {
        id: EventId::new(),
        kind: EventKind::AppointmentBooked,
        recipients: Vec::new(),
        appointment_id: None,
        message: NotificationText("An appointment was booked.".to_owned()),
        created_at: t0() - Duration::minutes(10),
        status: DeliveryStatus::Pending,
        attempts,
        next_attempt_at: t0(),
        lease: Some(Lease {
            owner: DISPATCHER.to_owned(),
            until: t0() + Duration::seconds(60),
        }),
        delivered_at: None,
    }
}

fn unavailable() -> StoreError {
    StoreError::Unavailable {
        retryable: true,
        source: "the backend is throttling".into(),
    }
}

/// Keeps what a mocked call received, for assertions after the call.
#[derive(Debug)]
struct Captured<T>(Arc<Mutex<Vec<T>>>);

impl<T> Captured<T> {
    fn new() -> Self {
        Self(Arc::new(Mutex::new(Vec::new())))
    }

    fn sink(&self) -> Arc<Mutex<Vec<T>>> {
        Arc::clone(&self.0)
    }

    /// The only value captured; panics unless the call happened exactly once.
    fn only(self) -> T {
        let mut values = self.0.lock().unwrap();
        assert_eq!(values.len(), 1, "expected exactly one captured call");
        values.pop().unwrap()
    }
}

fn expect_user(store: &mut MockStore, user: &User) {
    let stored = user.clone();
    store
        .expect_user()
        .with(eq(user.id))
        .times(1)
        .returning(move |_| Ok(stored.clone()));
}

// ---------------------------------------------------------------------------------------
// Booking
// ---------------------------------------------------------------------------------------

fn booking_request(doctor: &User) -> BookingRequest {
    BookingRequest {
        doctor_id: doctor.id.as_doctor(),
        start: t0() + Duration::hours(2),
        slots: 1,
        reason: REASON.to_owned(),
    }
}

/// Books one slot with `book` answering `outcome`; returns the service's answer.
async fn book_with_store_answering(
    outcome: impl Fn() -> StoreResult<()> + Send + 'static,
) -> medtrack_core::Result<Appointment> {
    let (doctor, patient) = (doctor(), patient());
    let mut store = MockStore::new();
    expect_user(&mut store, &doctor);
    store
        .expect_book()
        .times(1)
        .returning(move |_, _| outcome());
    service(store)
        .book(&principal(&patient), booking_request(&doctor))
        .await
}

#[tokio::test]
async fn a_doctor_time_conflict_is_refused_as_slot_taken_and_nothing_else_is_written() {
    let result =
        book_with_store_answering(|| Err(StoreError::Conflict(ConflictKind::DoctorTime))).await;

    assert!(
        matches!(result, Err(Error::Booking(BookingRefusal::SlotTaken))),
        "got {result:?}"
    );
}

#[tokio::test]
async fn a_patient_time_conflict_is_refused_as_patient_busy_and_nothing_else_is_written() {
    let result =
        book_with_store_answering(|| Err(StoreError::Conflict(ConflictKind::PatientTime))).await;

    assert!(
        matches!(result, Err(Error::Booking(BookingRefusal::PatientBusy))),
        "got {result:?}"
    );
}

#[tokio::test]
async fn an_unavailable_store_makes_booking_fail_as_unavailable() {
    let result = book_with_store_answering(|| Err(unavailable())).await;

    assert!(
        matches!(
            result,
            Err(Error::Unavailable {
                retryable: true,
                ..
            })
        ),
        "got {result:?}"
    );
}

#[tokio::test]
async fn a_booking_writes_one_allowed_audit_entry_with_the_appointment() {
    let (doctor, patient) = (doctor(), patient());
    let mut store = MockStore::new();
    expect_user(&mut store, &doctor);
    let calls = Captured::new();
    let sink = calls.sink();
    store
        .expect_book()
        .times(1)
        .returning(move |booked, effects| {
            sink.lock().unwrap().push((booked.clone(), effects));
            Ok(())
        });

    let returned = service(store)
        .book(&principal(&patient), booking_request(&doctor))
        .await
        .unwrap();

    let (booked, effects) = calls.only();
    assert_eq!(booked, returned);
    let [entry] = effects.audit.as_slice() else {
        panic!("expected one audit entry, got {}", effects.audit.len());
    };
    assert_eq!(entry.action, AuditAction::BookAppointment);
    assert_eq!(entry.outcome, AuditOutcome::Allowed);
    assert_eq!(entry.actor_id, patient.id);
    assert_eq!(entry.patient_id, patient.id.as_patient());
    assert_eq!(entry.appointment_id, Some(booked.id));
}

#[tokio::test]
async fn a_booking_notifies_patient_and_doctor_without_the_reason() {
    let (doctor, patient) = (doctor(), patient());
    let mut store = MockStore::new();
    expect_user(&mut store, &doctor);
    let calls = Captured::new();
    let sink = calls.sink();
    store
        .expect_book()
        .times(1)
        .returning(move |booked, effects| {
            sink.lock().unwrap().push((booked.id, effects));
            Ok(())
        });

    service(store)
        .book(&principal(&patient), booking_request(&doctor))
        .await
        .unwrap();

    let (booked_id, effects) = calls.only();
    let [event] = effects.events.as_slice() else {
        panic!("expected one event, got {}", effects.events.len());
    };
    assert_eq!(event.kind, EventKind::AppointmentBooked);
    assert_eq!(event.appointment_id, Some(booked_id));
    assert_eq!(event.recipients.len(), 2);
    for (user, role) in [(&patient, Role::Patient), (&doctor, Role::Doctor)] {
        let recipient = Recipient {
            user_id: user.id,
            role,
        };
        assert!(event.recipients.contains(&recipient), "{role:?} not told");
    }
    assert!(!event.message.0.contains(REASON));
    assert!(!event.message.0.contains("migraine"));
}

// ---------------------------------------------------------------------------------------
// Medical records
// ---------------------------------------------------------------------------------------

fn expect_denied_record_read(store: &mut MockStore, doctor: &User, patient: &User) {
    expect_user(store, patient);
    store
        .expect_has_care_relationship()
        .with(eq(doctor.id.as_doctor()), eq(patient.id.as_patient()))
        .times(1)
        .returning(|_, _| Ok(false));
    store.expect_diagnoses_for_patient().never();
    store.expect_reports_for_patient().never();
}

fn is_record_read(entry: &AuditEntry, actor: UserId, patient: PatientId) -> bool {
    entry.action == AuditAction::ReadRecord
        && entry.actor_id == actor
        && entry.patient_id == patient
}

#[tokio::test]
async fn a_doctor_without_care_relationship_gets_not_found_and_one_denied_audit_entry() {
    let (doctor, patient) = (doctor(), patient());
    let mut store = MockStore::new();
    expect_denied_record_read(&mut store, &doctor, &patient);
    let (actor, subject) = (doctor.id, patient.id.as_patient());
    store
        .expect_append_audit()
        .withf(move |entry| {
            is_record_read(entry, actor, subject) && entry.outcome == AuditOutcome::Denied
        })
        .times(1)
        .returning(|_| Ok(()));

    let result = service(store)
        .medical_record(&principal(&doctor), patient.id.as_patient())
        .await;

    assert!(matches!(result, Err(Error::NotFound(_))), "got {result:?}");
}

#[tokio::test]
async fn a_denied_read_whose_audit_entry_cannot_be_stored_fails_with_the_storage_error() {
    let (doctor, patient) = (doctor(), patient());
    let mut store = MockStore::new();
    expect_denied_record_read(&mut store, &doctor, &patient);
    store
        .expect_append_audit()
        .times(1)
        .returning(|_| Err(unavailable()));

    let result = service(store)
        .medical_record(&principal(&doctor), patient.id.as_patient())
        .await;

    assert!(
        matches!(result, Err(Error::Unavailable { .. })),
        "got {result:?}"
    );
}

/// Expects the patient's own record to be read and then audited, in that order.
fn expect_own_record_read(
    store: &mut MockStore,
    patient: &User,
    report: &HealthReport,
    audit: impl Fn() -> StoreResult<()> + Send + 'static,
) {
    let mut seq = Sequence::new();
    expect_user(store, patient);
    let report = report.clone();
    let subject = patient.id.as_patient();
    store
        .expect_diagnoses_for_patient()
        .with(eq(subject))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(Vec::new()));
    store
        .expect_reports_for_patient()
        .with(eq(subject))
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |_| Ok(vec![report.clone()]));
    let actor = patient.id;
    store
        .expect_append_audit()
        .withf(move |entry| {
            is_record_read(entry, actor, subject) && entry.outcome == AuditOutcome::Allowed
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |_| audit());
}

#[tokio::test]
async fn a_patient_reading_their_own_record_is_audited_after_the_reads_before_the_return() {
    let patient = patient();
    let report = report_of(&patient);
    let mut store = MockStore::new();
    expect_own_record_read(&mut store, &patient, &report, || Ok(()));

    let record = service(store)
        .medical_record(&principal(&patient), patient.id.as_patient())
        .await
        .unwrap();

    assert_eq!(record.patient.id, patient.id.as_patient());
    assert_eq!(record.reports, vec![report]);
}

#[tokio::test]
async fn a_patients_own_record_is_not_returned_when_its_audit_entry_cannot_be_stored() {
    let patient = patient();
    let mut store = MockStore::new();
    expect_own_record_read(&mut store, &patient, &report_of(&patient), || {
        Err(unavailable())
    });

    let result = service(store)
        .medical_record(&principal(&patient), patient.id.as_patient())
        .await;

    assert!(
        matches!(result, Err(Error::Unavailable { .. })),
        "got {result:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Diagnoses
// ---------------------------------------------------------------------------------------

type DiagnosisCall = (Diagnosis, Option<AppointmentUpdate>, Effects);

/// Submits a diagnosis on `visit` as its doctor; returns what `add_diagnosis` received.
async fn submit_as_doctor(
    mut store: MockStore,
    doctor: &User,
    visit: &Appointment,
) -> DiagnosisCall {
    let stored = visit.clone();
    store
        .expect_appointment()
        .with(eq(visit.id))
        .times(1)
        .returning(move |_| Ok(stored.clone()));
    expect_user(&mut store, doctor);
    let calls = Captured::new();
    let sink = calls.sink();
    store
        .expect_add_diagnosis()
        .times(1)
        .returning(move |diagnosis, completes, effects| {
            sink.lock()
                .unwrap()
                .push((diagnosis.clone(), completes, effects));
            Ok(())
        });

    service(store)
        .submit_diagnosis(&principal(doctor), visit.id, diagnosis_input())
        .await
        .unwrap();
    calls.only()
}

/// A booked appointment that began two hours ago, stored at version 3.
fn past_booked_visit(doctor: &User, patient: &User) -> Appointment {
    let mut visit = appointment(doctor, patient, t0() - Duration::hours(2));
    visit.version = 3;
    visit
}

#[tokio::test]
async fn the_first_diagnosis_of_a_past_booked_appointment_completes_it_at_the_version_read() {
    let (doctor, patient) = (doctor(), patient());
    let visit = past_booked_visit(&doctor, &patient);

    let (diagnosis, completes, _) = submit_as_doctor(MockStore::new(), &doctor, &visit).await;

    let update = completes.expect("the first diagnosis completes the appointment");
    assert_eq!(update.appointment.id, visit.id);
    assert_eq!(update.appointment.status, AppointmentStatus::Completed);
    assert_eq!(update.expected_version, 3);
    assert_eq!(update.appointment.version, 4);
    assert_eq!(diagnosis.version, 1);
}

#[tokio::test]
async fn a_diagnosis_tells_only_the_patient_that_one_was_added_and_not_what_it_says() {
    let (doctor, patient) = (doctor(), patient());
    let visit = past_booked_visit(&doctor, &patient);

    let (_, _, effects) = submit_as_doctor(MockStore::new(), &doctor, &visit).await;

    let [entry] = effects.audit.as_slice() else {
        panic!("expected one audit entry, got {}", effects.audit.len());
    };
    assert_eq!(entry.action, AuditAction::WriteDiagnosis);
    assert_eq!(entry.outcome, AuditOutcome::Allowed);
    let [event] = effects.events.as_slice() else {
        panic!("expected one event, got {}", effects.events.len());
    };
    assert_eq!(event.kind, EventKind::DiagnosisSubmitted);
    let told = Recipient {
        user_id: patient.id,
        role: Role::Patient,
    };
    assert_eq!(event.recipients, vec![told]);
    assert!(!event.message.0.contains(DIAGNOSIS));
}

#[tokio::test]
async fn an_amendment_of_a_completed_appointment_takes_the_next_version_and_changes_no_status() {
    let (doctor, patient) = (doctor(), patient());
    let mut visit = past_booked_visit(&doctor, &patient);
    visit.status = AppointmentStatus::Completed;
    let other_visit = appointment(&doctor, &patient, t0() - Duration::days(20));
    let history = vec![
        diagnosis_of(&visit, 1),
        diagnosis_of(&other_visit, 7),
        diagnosis_of(&visit, 2),
    ];
    let mut store = MockStore::new();
    store
        .expect_diagnoses_for_patient()
        .with(eq(patient.id.as_patient()))
        .times(1)
        .returning(move |_| Ok(history.clone()));

    let (diagnosis, completes, _) = submit_as_doctor(store, &doctor, &visit).await;

    assert!(
        completes.is_none(),
        "an amendment must not touch the appointment"
    );
    assert_eq!(diagnosis.version, 3);
}

#[tokio::test]
async fn a_patient_submitting_a_diagnosis_is_forbidden_and_the_denial_is_audited() {
    let (doctor, patient) = (doctor(), patient());
    let visit = past_booked_visit(&doctor, &patient);
    let mut store = MockStore::new();
    let stored = visit.clone();
    store
        .expect_appointment()
        .with(eq(visit.id))
        .times(1)
        .returning(move |_| Ok(stored.clone()));
    let (actor, visit_id) = (patient.id, visit.id);
    store
        .expect_append_audit()
        .withf(move |entry| {
            entry.action == AuditAction::WriteDiagnosis
                && entry.outcome == AuditOutcome::Denied
                && entry.actor_id == actor
                && entry.appointment_id == Some(visit_id)
        })
        .times(1)
        .returning(|_| Ok(()));

    let result = service(store)
        .submit_diagnosis(&principal(&patient), visit.id, diagnosis_input())
        .await;

    assert!(matches!(result, Err(Error::Forbidden)), "got {result:?}");
}

// ---------------------------------------------------------------------------------------
// Dispatcher
// ---------------------------------------------------------------------------------------

fn expect_lease(store: &mut MockStore, events: Vec<OutboxEvent>) {
    store
        .expect_lease_due_events()
        .withf(|now, lease, limit| {
            *now == t0()
                && lease.owner == DISPATCHER
                && lease.until == t0() + Duration::seconds(60)
                && *limit == 50
        })
        .times(1)
        .returning(move |_, _, _| Ok(events.clone()));
}

fn expect_retry(store: &mut MockStore, id: EventId, attempts: u32, wait_seconds: i64) {
    let next = t0() + Duration::seconds(wait_seconds);
    store
        .expect_retry_later()
        .withf(move |event, owner, tried, at| {
            *event == id && owner == DISPATCHER && *tried == attempts && *at == next
        })
        .times(1)
        .returning(|_, _, _, _| Ok(()));
}

fn expect_mark_delivered(store: &mut MockStore, id: EventId, outcome: fn() -> StoreResult<()>) {
    store
        .expect_mark_delivered()
        .withf(move |event, owner, at| *event == id && owner == DISPATCHER && *at == t0())
        .times(1)
        .returning(move |_, _, _| outcome());
}

fn notifier_answering(times: usize, outcome: fn() -> Result<(), NotifyError>) -> MockNotifier {
    let mut notifier = MockNotifier::new();
    notifier
        .expect_deliver()
        .times(times)
        .returning(move |_| outcome());
    notifier
}

/// A channel that takes a notification and never answers.
struct SilentChannel;

#[async_trait]
impl Notifier for SilentChannel {
    async fn deliver(&self, _event: &OutboxEvent) -> Result<(), NotifyError> {
        std::future::pending().await
    }
}

#[tokio::test(start_paused = true)]
async fn a_delivery_that_never_answers_fails_at_the_timeout_and_is_retried() {
    let event = pending_event(0);
    let mut store = MockStore::new();
    expect_retry(&mut store, event.id, 1, 5);
    expect_lease(&mut store, vec![event]);
    let config = DispatchConfig {
        name: DISPATCHER.to_owned(),
        ..DispatchConfig::default()
    };
    let clock = Arc::new(ManualClock::new(t0()));
    let dispatcher = Dispatcher::new(Arc::new(store), Arc::new(SilentChannel), clock, config);

    let report = dispatcher.run_once().await.unwrap();

    assert_eq!((report.delivered, report.failed), (0, 1));
}

#[tokio::test]
async fn a_failed_delivery_is_retried_with_one_more_attempt_after_the_backoff() {
    let (first, third) = (pending_event(0), pending_event(2));
    let mut store = MockStore::new();
    expect_retry(&mut store, first.id, 1, 5);
    expect_retry(&mut store, third.id, 3, 20);
    expect_lease(&mut store, vec![first, third]);
    let notifier = notifier_answering(2, || Err(NotifyError::new("the channel is down")));

    let report = dispatcher(store, notifier).run_once().await.unwrap();

    let expected = DispatchReport {
        delivered: 0,
        failed: 2,
        lost: 0,
        released: 0,
    };
    assert_eq!(report, expected);
}

#[tokio::test]
async fn an_accepted_delivery_is_marked_delivered_at_the_current_time() {
    let event = pending_event(1);
    let mut store = MockStore::new();
    expect_mark_delivered(&mut store, event.id, || Ok(()));
    expect_lease(&mut store, vec![event]);
    let notifier = notifier_answering(1, || Ok(()));

    let report = dispatcher(store, notifier).run_once().await.unwrap();

    let expected = DispatchReport {
        delivered: 1,
        failed: 0,
        lost: 0,
        released: 0,
    };
    assert_eq!(report, expected);
}

#[tokio::test]
async fn a_lease_lost_while_marking_delivered_is_counted_and_the_round_goes_on() {
    let (taken_over, kept) = (pending_event(0), pending_event(0));
    let mut store = MockStore::new();
    expect_mark_delivered(&mut store, taken_over.id, || {
        Err(StoreError::Conflict(ConflictKind::LeaseLost))
    });
    expect_mark_delivered(&mut store, kept.id, || Ok(()));
    expect_lease(&mut store, vec![taken_over, kept]);
    let notifier = notifier_answering(2, || Ok(()));

    let report = dispatcher(store, notifier).run_once().await.unwrap();

    let expected = DispatchReport {
        delivered: 2,
        failed: 0,
        lost: 1,
        released: 0,
    };
    assert_eq!(report, expected);
}

#[tokio::test]
async fn a_failure_to_lease_events_surfaces_as_an_error_and_delivers_nothing() {
    let mut store = MockStore::new();
    store
        .expect_lease_due_events()
        .times(1)
        .returning(|_, _, _| Err(unavailable()));
    let notifier = notifier_answering(0, || Ok(()));

    let result = dispatcher(store, notifier).run_once().await;

    assert!(
        matches!(result, Err(StoreError::Unavailable { .. })),
        "got {result:?}"
    );
}

#[test]
fn backoff_doubles_from_the_base_after_each_failure() {
    let config = DispatchConfig::default();
    let waits: Vec<i64> = (1..=6)
        .map(|attempts| dispatch::backoff(&config, attempts).num_seconds())
        .collect();

    assert_eq!(waits, vec![5, 10, 20, 40, 80, 160]);
}

#[test]
fn backoff_never_exceeds_the_maximum() {
    let config = DispatchConfig::default();

    assert_eq!(dispatch::backoff(&config, 9), Duration::seconds(1280));
    assert_eq!(dispatch::backoff(&config, 10), Duration::minutes(30));
    assert_eq!(dispatch::backoff(&config, 50), Duration::minutes(30));
    assert_eq!(dispatch::backoff(&config, u32::MAX), Duration::minutes(30));
}

#[test]
fn backoff_follows_a_configured_base_and_maximum() {
    let config = DispatchConfig {
        base_backoff: Duration::seconds(2),
        max_backoff: Duration::seconds(7),
        ..DispatchConfig::default()
    };

    assert_eq!(dispatch::backoff(&config, 1), Duration::seconds(2));
    assert_eq!(dispatch::backoff(&config, 2), Duration::seconds(4));
    assert_eq!(dispatch::backoff(&config, 3), Duration::seconds(7));
}

// ---------------------------------------------------------------------------------------
// Accounts and sessions
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn login_with_an_unknown_email_is_unauthorized_and_opens_no_session() {
    let mut store = MockStore::new();
    store
        .expect_user_by_email()
        .withf(|email| email.as_ref() == "nobody@example.org")
        .times(1)
        .returning(|_| Ok(None));
    store.expect_insert_session().never();

    let result = service(store).login(" Nobody@Example.ORG ", PASSWORD).await;

    assert!(matches!(result, Err(Error::Unauthorized)), "got {result:?}");
}

fn expect_account(store: &mut MockStore, account: &User) {
    let stored = account.clone();
    let email = account.email.clone();
    store
        .expect_user_by_email()
        .withf(move |asked| *asked == email)
        .times(1)
        .returning(move |_| Ok(Some(stored.clone())));
}

#[tokio::test]
async fn a_deactivated_account_with_the_right_password_is_unauthorized_and_gets_no_session() {
    let hash = real_hash(PASSWORD).await;
    let account = user(Role::Patient, AccountStatus::Deactivated, hash);
    let mut store = MockStore::new();
    expect_account(&mut store, &account);
    store.expect_insert_session().never();

    let result = service(store).login(account.email.as_ref(), PASSWORD).await;

    assert!(matches!(result, Err(Error::Unauthorized)), "got {result:?}");
}

#[tokio::test]
async fn an_active_account_with_the_right_password_gets_exactly_one_session() {
    let hash = real_hash(PASSWORD).await;
    let account = user(Role::Patient, AccountStatus::Active, hash);
    let mut store = MockStore::new();
    expect_account(&mut store, &account);
    let (owner, idle_end) = (account.id, t0() + Duration::minutes(30));
    store
        .expect_insert_session()
        .withf(move |session| session.user_id == owner && session.expires_at == idle_end)
        .times(1)
        .returning(|_| Ok(()));

    let login = service(store)
        .login(account.email.as_ref(), PASSWORD)
        .await
        .unwrap();

    assert_eq!(login.principal.user_id(), account.id);
    assert_eq!(login.expires_at, idle_end);
}

fn expect_session(store: &mut MockStore, stored: Session) {
    store
        .expect_session()
        .with(eq(token_hash(TOKEN)))
        .times(1)
        .returning(move |_| Ok(Some(stored.clone())));
}

#[tokio::test]
async fn authenticating_with_an_expired_session_deletes_it_and_is_unauthorized() {
    let account = patient();
    let mut store = MockStore::new();
    expect_session(&mut store, session(&account, t0() - Duration::minutes(1)));
    store
        .expect_delete_session()
        .with(eq(token_hash(TOKEN)))
        .times(1)
        .returning(|_| Ok(()));

    let result = service(store).authenticate(TOKEN).await;

    assert!(matches!(result, Err(Error::Unauthorized)), "got {result:?}");
}

#[tokio::test]
async fn a_session_with_more_than_half_its_idle_window_left_is_not_renewed() {
    let account = patient();
    let mut store = MockStore::new();
    expect_session(&mut store, session(&account, t0() + Duration::minutes(20)));
    expect_user(&mut store, &account);
    store.expect_renew_session().never();

    let actor = service(store).authenticate(TOKEN).await.unwrap();

    assert_eq!(actor, principal(&account));
}

#[tokio::test]
async fn a_session_with_less_than_half_its_idle_window_left_is_renewed_once() {
    let account = patient();
    let mut store = MockStore::new();
    expect_session(&mut store, session(&account, t0() + Duration::minutes(10)));
    expect_user(&mut store, &account);
    store
        .expect_renew_session()
        .with(
            eq(token_hash(TOKEN)),
            eq(t0()),
            eq(t0() + Duration::minutes(30)),
        )
        .times(1)
        .returning(|_, _, _| Ok(()));

    let actor = service(store).authenticate(TOKEN).await.unwrap();

    assert_eq!(actor, principal(&account));
}
