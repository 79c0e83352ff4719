//! Key construction for the single-table design described in the crate docs.
//!
//! Sort keys that order by time start with [`sortable`], a fixed-width UTC timestamp whose
//! byte order is its time order, followed by an id, so equal times still order by id and no
//! two sort keys are equal.

use chrono::{DateTime, Utc};
use medtrack_core::id::{AppointmentId, AuditId, DoctorId, EventId, PatientId, ReportId, UserId};
use medtrack_core::model::{TimeClaim, TokenHash};
use medtrack_core::text::Email;
use uuid::Uuid;

/// The partition key attribute of the table.
pub(crate) const PK: &str = "PK";
/// The sort key attribute of the table.
pub(crate) const SK: &str = "SK";
/// The one global secondary index.
pub(crate) const GSI1: &str = "GSI1";
/// Its partition key attribute.
pub(crate) const GSI1_PK: &str = "GSI1PK";
/// Its sort key attribute.
pub(crate) const GSI1_SK: &str = "GSI1SK";
/// The attribute DynamoDB's time to live reads (epoch seconds).
pub(crate) const TTL: &str = "expires_at_epoch";

/// How many index partitions spread the writes of one global list (accounts, audit,
/// sessions, pending events).
pub(crate) const SHARDS: u8 = 4;

/// Sort keys of appointments on a timeline start with this.
pub(crate) const APPT_PREFIX: &str = "APPT#";
/// Sort keys of audit entries in a patient's partition start with this.
pub(crate) const AUDIT_PREFIX: &str = "AUDIT#";
/// Sort keys of diagnoses in a patient's partition start with this.
pub(crate) const DIAGNOSIS_PREFIX: &str = "DIAG#";
/// Sort keys of reports in a patient's partition start with this.
pub(crate) const REPORT_PREFIX: &str = "REPORT#";

/// A primary key: partition and sort key values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) pk: String,
    pub(crate) sk: String,
}

impl Key {
    fn new(pk: String, sk: impl Into<String>) -> Self {
        Self { pk, sk: sk.into() }
    }
}

/// A UTC instant as a fixed-width string (nanosecond precision) that sorts like the instant.
pub(crate) fn sortable(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// The index shard a uuid falls into.
pub(crate) fn shard_of(id: Uuid) -> u8 {
    id.as_bytes()[15] % SHARDS
}

pub(crate) fn user(id: UserId) -> Key {
    Key::new(format!("USER#{id}"), "USER")
}

pub(crate) fn email(email: &Email) -> Key {
    Key::new(format!("EMAIL#{}", email.as_ref()), "EMAIL")
}

pub(crate) fn users_shard(shard: u8) -> String {
    format!("USERS#{shard}")
}

pub(crate) fn session(hash: &TokenHash) -> Key {
    Key::new(format!("SESSION#{}", hash.0), "SESSION")
}

pub(crate) fn session_shard_of(hash: &TokenHash) -> u8 {
    hash.0.bytes().last().unwrap_or(0) % SHARDS
}

pub(crate) fn sessions_shard(shard: u8) -> String {
    format!("SESSIONS#{shard}")
}

pub(crate) fn appointment(id: AppointmentId) -> Key {
    Key::new(format!("APPT#{id}"), "APPT")
}

pub(crate) fn doctor_partition(id: DoctorId) -> String {
    format!("DOCTOR#{id}")
}

pub(crate) fn patient_partition(id: PatientId) -> String {
    format!("PATIENT#{id}")
}

/// Sort key of an appointment on a doctor's or patient's timeline.
pub(crate) fn timeline_sk(start: DateTime<Utc>, id: AppointmentId) -> String {
    format!("{APPT_PREFIX}{}#{id}", sortable(start))
}

pub(crate) fn doctor_timeline(doctor: DoctorId, start: DateTime<Utc>, id: AppointmentId) -> Key {
    Key::new(doctor_partition(doctor), timeline_sk(start, id))
}

pub(crate) fn patient_timeline(patient: PatientId, start: DateTime<Utc>, id: AppointmentId) -> Key {
    Key::new(patient_partition(patient), timeline_sk(start, id))
}

/// Present exactly while the appointment establishes care between its doctor and patient.
pub(crate) fn care(patient: PatientId, doctor: DoctorId, id: AppointmentId) -> Key {
    Key::new(
        patient_partition(patient),
        format!("{}{id}", care_prefix(doctor)),
    )
}

pub(crate) fn care_prefix(doctor: DoctorId) -> String {
    format!("CARE#{doctor}#")
}

pub(crate) fn claim(claim: &TimeClaim) -> Key {
    Key::new(format!("CLAIM#{}", claim.key()), "CLAIM")
}

/// Guards that each version of an appointment's diagnosis is written once.
pub(crate) fn diagnosis_marker(appointment: AppointmentId, version: u32) -> Key {
    Key::new(format!("APPT#{appointment}"), format!("DIAG#{version:010}"))
}

pub(crate) fn diagnosis(
    patient: PatientId,
    authored_at: DateTime<Utc>,
    appointment: AppointmentId,
    version: u32,
) -> Key {
    let sk = format!(
        "{DIAGNOSIS_PREFIX}{}#{appointment}#{version:010}",
        sortable(authored_at)
    );
    Key::new(patient_partition(patient), sk)
}

pub(crate) fn report(patient: PatientId, submitted_at: DateTime<Utc>, id: ReportId) -> Key {
    let sk = format!("{REPORT_PREFIX}{}#{id}", sortable(submitted_at));
    Key::new(patient_partition(patient), sk)
}

/// Position of an audit entry in every audit list: its time, then its id.
pub(crate) fn audit_position(at: DateTime<Utc>, id: AuditId) -> String {
    format!("{}#{id}", sortable(at))
}

pub(crate) fn audit(patient: PatientId, at: DateTime<Utc>, id: AuditId) -> Key {
    let sk = format!("{AUDIT_PREFIX}{}", audit_position(at, id));
    Key::new(patient_partition(patient), sk)
}

pub(crate) fn audit_shard(shard: u8) -> String {
    format!("AUDIT#{shard}")
}

pub(crate) fn event(id: EventId) -> Key {
    Key::new(format!("EVENT#{id}"), "EVENT")
}

pub(crate) fn outbox_shard(shard: u8) -> String {
    format!("OUTBOX#{shard}")
}

/// Position of a pending event in the due list: when it is next due, then its id.
pub(crate) fn due_position(next_attempt_at: DateTime<Utc>, id: EventId) -> String {
    format!("{}#{id}", sortable(next_attempt_at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn sortable_times_order_like_instants() {
        let early = Utc.with_ymd_and_hms(2027, 3, 28, 1, 59, 59).unwrap();
        let late = early + chrono::Duration::nanoseconds(1);
        let much_later = Utc.with_ymd_and_hms(2031, 1, 1, 0, 0, 0).unwrap();
        assert!(sortable(early) < sortable(late));
        assert!(sortable(late) < sortable(much_later));
        assert_eq!(sortable(early).len(), sortable(much_later).len());
    }

    #[test]
    fn timeline_keys_order_by_start_then_id() {
        let start = Utc.with_ymd_and_hms(2027, 5, 3, 9, 0, 0).unwrap();
        let a = AppointmentId::from_uuid(Uuid::from_u128(1));
        let b = AppointmentId::from_uuid(Uuid::from_u128(2));
        assert!(timeline_sk(start, a) < timeline_sk(start, b));
        assert!(timeline_sk(start, b) < timeline_sk(start + chrono::Duration::minutes(5), a));
    }
}
