//! Shared set-up of the integration tests: the local endpoint, fresh tables and fixtures.
#![allow(dead_code)]

use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use chrono::{DateTime, Duration, TimeZone, Utc};
use medtrack_core::id::{AppointmentId, AuditId, DoctorId, EventId, PatientId, UserId};
use medtrack_core::model::{
    AccountStatus, Appointment, AppointmentStatus, AuditAction, AuditEntry, AuditOutcome,
    DeliveryStatus, EventKind, NotificationText, OutboxEvent, PasswordHash, Recipient, Role, User,
};
use medtrack_core::store::{AccountStore, AppointmentUpdate, Effects, Store};
use medtrack_core::text::{ClinicalText, Email, PersonName};
use medtrack_dynamo::{DynamoSettings, DynamoStore};

pub mod lost_responses;

/// The command that starts a local endpoint, named in every failure about a missing one.
pub const START_HINT: &str =
    "AWS_ENDPOINT_URL is not set: run `export AWS_ENDPOINT_URL=$(scripts/dynamodb-local)` (or use scripts/test)";

/// The AWS configuration of a test: the endpoint from `AWS_ENDPOINT_URL` (or
/// `AWS_ENDPOINT_URL_DYNAMODB`), one of which must be set, and dummy credentials and region
/// unless the environment gives its own.
pub async fn aws() -> SdkConfig {
    let endpoint_set = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"]
        .iter()
        .any(|name| std::env::var_os(name).is_some());
    if !endpoint_set {
        panic!("{START_HINT}");
    }

    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        loader = loader.region(Region::new("us-east-1"));
    }
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        loader = loader.credentials_provider(Credentials::new("test", "test", None, None, "tests"));
    }
    loader.load().await
}

/// A name no other test uses.
pub fn unique_name(what: &str) -> String {
    format!("medtrack-test-{what}-{}", uuid::Uuid::new_v4().simple())
}

/// A store on a new table of its own.
pub async fn fresh_dynamo() -> DynamoStore {
    let settings = DynamoSettings::new(unique_name("table"));
    let store = DynamoStore::new(&aws().await, &settings);
    store.create_tables().await.expect("create the test table");
    store
}

/// The same, as the trait object core works with.
pub async fn fresh_store() -> Arc<dyn Store> {
    Arc::new(fresh_dynamo().await)
}

/// A doctor account stored in `store`, for appointments to refer to.
pub async fn known_doctor<S: AccountStore + ?Sized>(store: &S) -> DoctorId {
    known_account(store, Role::Doctor).await.as_doctor()
}

/// A patient account stored in `store`, for appointments to refer to.
pub async fn known_patient<S: AccountStore + ?Sized>(store: &S) -> PatientId {
    known_account(store, Role::Patient).await.as_patient()
}

async fn known_account<S: AccountStore + ?Sized>(store: &S, role: Role) -> UserId {
    let email = format!("{}@example.org", uuid::Uuid::new_v4().simple());
    let account = user(role, &email);
    store
        .create_user(&account, Effects::default())
        .await
        .expect("the account is stored");
    account.id
}

/// A fixed instant in the future, on the five-minute grid.
pub fn monday_nine() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2031, 3, 3, 9, 0, 0).unwrap()
}

pub fn user(role: Role, email: &str) -> User {
    let now = Utc::now();
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
        password_hash: PasswordHash::from_phc(
            "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        ),
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

/// A booked appointment of `minutes` from `start`, without buffers.
pub fn appointment(
    doctor: DoctorId,
    patient: PatientId,
    start: DateTime<Utc>,
    minutes: i64,
) -> Appointment {
    let now = Utc::now();
    Appointment {
        id: AppointmentId::new(),
        doctor_id: doctor,
        patient_id: patient,
        start,
        end: start + Duration::minutes(minutes),
        buffer_before_minutes: 0,
        buffer_after_minutes: 0,
        reason: ClinicalText::parse("Routine check").unwrap(),
        status: AppointmentStatus::Booked,
        created_at: now,
        updated_at: now,
        cancelled_at: None,
        version: 1,
    }
}

/// The appointment moved to `status`, one version on.
pub fn changed(appointment: &Appointment, status: AppointmentStatus) -> AppointmentUpdate {
    let mut next = appointment.clone();
    next.status = status;
    next.version += 1;
    next.updated_at = Utc::now();
    if status == AppointmentStatus::Cancelled {
        next.cancelled_at = Some(Utc::now());
    }
    AppointmentUpdate {
        appointment: next,
        expected_version: appointment.version,
    }
}

/// The appointment moved to start at `start`, keeping its length, one version on.
pub fn moved(appointment: &Appointment, start: DateTime<Utc>) -> AppointmentUpdate {
    let mut next = appointment.clone();
    next.end = start + (appointment.end - appointment.start);
    next.start = start;
    next.version += 1;
    AppointmentUpdate {
        appointment: next,
        expected_version: appointment.version,
    }
}

pub fn event(kind: EventKind, appointment: &Appointment, text: &str) -> OutboxEvent {
    let now = Utc::now();
    OutboxEvent {
        id: EventId::new(),
        kind,
        recipients: vec![
            Recipient {
                user_id: appointment.patient_id.user_id(),
                role: Role::Patient,
            },
            Recipient {
                user_id: appointment.doctor_id.user_id(),
                role: Role::Doctor,
            },
        ],
        appointment_id: Some(appointment.id),
        message: NotificationText(text.to_owned()),
        created_at: now,
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: now - Duration::seconds(1),
        lease: None,
        delivered_at: None,
    }
}

pub fn audit(patient: PatientId, action: AuditAction, at: DateTime<Utc>) -> AuditEntry {
    AuditEntry {
        id: AuditId::new(),
        at,
        actor_id: patient.user_id(),
        actor_role: Role::Patient,
        patient_id: patient,
        action,
        outcome: AuditOutcome::Allowed,
        appointment_id: None,
    }
}

/// Effects holding one booking event and one audit entry for `appointment`.
pub fn booking_effects(appointment: &Appointment, text: &str) -> (Effects, OutboxEvent) {
    let event = event(EventKind::AppointmentBooked, appointment, text);
    let entry = audit(
        appointment.patient_id,
        AuditAction::BookAppointment,
        Utc::now(),
    );
    let effects = Effects {
        audit: vec![entry],
        events: vec![event.clone()],
    };
    (effects, event)
}
