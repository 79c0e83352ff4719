//! Fixtures shared by the integration tests: file databases in temporary directories and
//! plain values of every stored type.

#![allow(dead_code)]

use std::path::PathBuf;

use chrono::{DateTime, Duration, TimeZone, Utc};
use medtrack_core::id::{AppointmentId, AuditId, DoctorId, EventId, PatientId, UserId};
use medtrack_core::model::{
    AccountStatus, Appointment, AppointmentStatus, AuditAction, AuditEntry, AuditOutcome,
    BirthDate, DeliveryStatus, DoctorProfile, EventKind, NotificationText, OutboxEvent,
    PasswordHash, Recipient, Role, User,
};
use medtrack_core::schedule::Schedule;
use medtrack_core::store::{AppointmentUpdate, Effects};
use medtrack_core::text::{ClinicalText, Email, PersonName, PhoneNumber, Specialty};
use medtrack_sqlite::{SqliteStore, SqliteStoreOptions};
use tempfile::TempDir;

/// A store on a database file in its own temporary directory, removed on drop.
pub struct TestDb {
    pub store: SqliteStore,
    pub path: PathBuf,
    _dir: TempDir,
}

impl TestDb {
    pub async fn new() -> Self {
        Self::with_options(SqliteStoreOptions::default()).await
    }

    pub async fn with_options(options: SqliteStoreOptions) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("medtrack.db");
        let store = SqliteStore::open_with(&path, options)
            .await
            .expect("open a fresh database");
        Self {
            store,
            path,
            _dir: dir,
        }
    }

    /// Opens a second, independent store (its own pools) on the same file.
    pub async fn reopen(&self) -> SqliteStore {
        SqliteStore::open(&self.path)
            .await
            .expect("reopen the database")
    }
}

/// A fixed instant, well in the future of any test machine's clock: Monday 2 August 2100,
/// 09:00 UTC.
pub fn monday_nine() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2100, 8, 2, 9, 0, 0).unwrap()
}

pub fn created_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2100, 7, 1, 8, 30, 0).unwrap() + Duration::microseconds(123_456)
}

fn hash() -> PasswordHash {
    PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into())
}

pub fn patient(email: &str) -> User {
    User {
        id: UserId::new(),
        email: Email::parse(email).unwrap(),
        name: PersonName::parse("Pat Fixture").unwrap(),
        role: Role::Patient,
        status: AccountStatus::Active,
        phone: Some(PhoneNumber::parse("+49 30 555 0100").unwrap()),
        birth_date: Some(BirthDate(
            chrono::NaiveDate::from_ymd_opt(1980, 2, 29).unwrap(),
        )),
        time_zone: Some(chrono_tz::Europe::Berlin),
        doctor: None,
        password_hash: hash(),
        created_at: created_at(),
        updated_at: created_at(),
        version: 1,
    }
}

pub fn doctor(email: &str) -> User {
    User {
        role: Role::Doctor,
        phone: None,
        birth_date: None,
        time_zone: None,
        doctor: Some(DoctorProfile {
            specialty: Specialty::parse("Cardiology").unwrap(),
            schedule: Schedule::standard(chrono_tz::Europe::Berlin),
        }),
        ..patient(email)
    }
}

/// A booked appointment of `minutes` from `start`, without buffers.
pub fn appointment(
    doctor: &User,
    patient: &User,
    start: DateTime<Utc>,
    minutes: i64,
) -> Appointment {
    Appointment {
        id: AppointmentId::new(),
        doctor_id: doctor.id.as_doctor(),
        patient_id: patient.id.as_patient(),
        start,
        end: start + Duration::minutes(minutes),
        buffer_before_minutes: 0,
        buffer_after_minutes: 0,
        reason: ClinicalText::parse("persistent cough").unwrap(),
        status: AppointmentStatus::Booked,
        created_at: created_at(),
        updated_at: created_at(),
        cancelled_at: None,
        version: 1,
    }
}

/// The same appointment changed to `status`, as an update decided on its current version.
pub fn status_change(appointment: &Appointment, status: AppointmentStatus) -> AppointmentUpdate {
    let mut changed = appointment.clone();
    changed.status = status;
    changed.version += 1;
    changed.updated_at = appointment.updated_at + Duration::minutes(1);
    if status == AppointmentStatus::Cancelled {
        changed.cancelled_at = Some(changed.updated_at);
    }
    AppointmentUpdate {
        appointment: changed,
        expected_version: appointment.version,
    }
}

pub fn audit(patient: PatientId, actor: UserId, at: DateTime<Utc>) -> AuditEntry {
    AuditEntry {
        id: AuditId::new(),
        at,
        actor_id: actor,
        actor_role: Role::Doctor,
        patient_id: patient,
        action: AuditAction::ReadRecord,
        outcome: AuditOutcome::Allowed,
        appointment_id: None,
    }
}

pub fn event(appointment: Option<AppointmentId>, due: DateTime<Utc>) -> OutboxEvent {
    OutboxEvent {
        id: EventId::new(),
        kind: EventKind::AppointmentBooked,
        recipients: vec![Recipient {
            user_id: UserId::new(),
            role: Role::Patient,
        }],
        appointment_id: appointment,
        message: NotificationText("Your appointment is booked.".into()),
        created_at: due,
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: due,
        lease: None,
        delivered_at: None,
    }
}

/// The effects a booking writes: one audit entry and one event.
pub fn booking_effects(appointment: &Appointment) -> Effects {
    let mut entry = audit(
        appointment.patient_id,
        appointment.patient_id.user_id(),
        created_at(),
    );
    entry.action = AuditAction::BookAppointment;
    entry.appointment_id = Some(appointment.id);
    Effects {
        audit: vec![entry],
        events: vec![event(Some(appointment.id), created_at())],
    }
}

/// Both values as JSON, for comparing types that do not implement `PartialEq`.
pub fn same_json<T: serde::Serialize>(a: &T, b: &T) -> bool {
    serde_json::to_value(a).unwrap() == serde_json::to_value(b).unwrap()
}

pub fn doctor_id(user: &User) -> DoctorId {
    user.id.as_doctor()
}
