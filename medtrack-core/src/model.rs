//! The records MedTrack stores: accounts, appointments, medical records, audit entries and
//! notification events.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::id::{AppointmentId, AuditId, DoctorId, EventId, PatientId, ReportId, UserId};
use crate::schedule::{Schedule, CELL_MINUTES};
use crate::text::{ClinicalText, Email, PersonName, PhoneNumber, ShortText, Specialty};

/// What an account may do; see the access policy in [`crate::policy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Books appointments and owns a medical record.
    Patient,
    /// Sees patients and writes diagnoses.
    Doctor,
    /// Manages accounts; does not read clinical records.
    Admin,
}

impl Role {
    /// The role's name as stored and shown: `patient`, `doctor` or `admin`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::Doctor => "doctor",
            Self::Admin => "admin",
        }
    }
}

/// Whether an account can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Fully usable.
    Active,
    /// A self-registered doctor waiting for an admin; can sign in but cannot be booked.
    PendingApproval,
    /// Switched off by an admin; cannot sign in.
    Deactivated,
}

/// An Argon2id hash in PHC string form. Never printed.
#[derive(Clone, Serialize, Deserialize)]
pub struct PasswordHash(#[serde(serialize_with = "expose_hash")] SecretString);

impl PasswordHash {
    /// Wraps a PHC string read from storage.
    pub fn from_phc(phc: String) -> Self {
        Self(SecretString::from(phc))
    }

    /// The PHC string, for storing and verifying.
    pub fn expose_phc(&self) -> &str {
        self.0.expose_secret()
    }
}

fn expose_hash<S: serde::Serializer>(hash: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(hash.expose_secret())
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// A doctor's public details and schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorProfile {
    /// What the doctor practises.
    pub specialty: Specialty,
    /// Working hours, days off and booking rules.
    pub schedule: Schedule,
}

/// A date of birth; identifies a person, so `Debug` redacts it.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BirthDate(pub NaiveDate);

impl fmt::Debug for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BirthDate(<redacted>)")
    }
}

/// An account as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// The account's id.
    pub id: UserId,
    /// The normalised login email; unique across accounts.
    pub email: Email,
    /// The name to show.
    pub name: PersonName,
    /// What the account may do.
    pub role: Role,
    /// Whether it can be used.
    pub status: AccountStatus,
    /// An optional contact number.
    pub phone: Option<PhoneNumber>,
    /// A patient's date of birth, if given.
    pub birth_date: Option<BirthDate>,
    /// The zone a patient wants times shown in; doctors use their schedule's zone.
    pub time_zone: Option<Tz>,
    /// Present exactly when the role is doctor.
    pub doctor: Option<DoctorProfile>,
    /// The Argon2id hash of the password.
    pub password_hash: PasswordHash,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Incremented on every change, for optimistic concurrency.
    pub version: u64,
}

impl User {
    /// Whether patients can book this account as a doctor.
    pub fn is_bookable_doctor(&self) -> bool {
        self.role == Role::Doctor && self.status == AccountStatus::Active && self.doctor.is_some()
    }

    /// The zone this account's times are shown in: a doctor's working zone, or a patient's
    /// chosen display zone.
    pub fn shown_time_zone(&self) -> Option<Tz> {
        self.doctor
            .as_ref()
            .map(|doctor| doctor.schedule.time_zone())
            .or(self.time_zone)
    }

    /// A doctor's specialty.
    pub fn specialty(&self) -> Option<Specialty> {
        self.doctor.as_ref().map(|doctor| doctor.specialty.clone())
    }
}

/// Where an appointment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    /// Upcoming or under way; holds its time.
    Booked,
    /// The doctor submitted a diagnosis.
    Completed,
    /// Called off by the patient or the doctor.
    Cancelled,
    /// The patient did not come.
    NoShow,
}

impl AppointmentStatus {
    /// The status as stored and shown: `booked`, `completed`, `cancelled`, `no_show`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Booked => "booked",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::NoShow => "no_show",
        }
    }
}

/// An appointment between one doctor and one patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appointment {
    /// The appointment's id.
    pub id: AppointmentId,
    /// The doctor seen.
    pub doctor_id: DoctorId,
    /// The patient seen.
    pub patient_id: PatientId,
    /// The first instant of the visit.
    pub start: DateTime<Utc>,
    /// The instant after the visit ends.
    pub end: DateTime<Utc>,
    /// The doctor's preparation time held before `start`, fixed at booking time.
    pub buffer_before_minutes: u32,
    /// The doctor's time held after `end`, fixed at booking time.
    pub buffer_after_minutes: u32,
    /// Why the patient comes; health information.
    pub reason: ClinicalText,
    /// Where it is in its life.
    pub status: AppointmentStatus,
    /// When it was booked.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was cancelled, if it was.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Incremented on every change, for optimistic concurrency.
    pub version: u64,
}

impl Appointment {
    /// The doctor's time this appointment holds, buffers included: `[start - before, end + after)`.
    pub fn doctor_span(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            self.start - Duration::minutes(self.buffer_before_minutes.into()),
            self.end + Duration::minutes(self.buffer_after_minutes.into()),
        )
    }

    /// Whether this appointment gives its doctor a care relationship with its patient: it was
    /// kept, is still booked, or was called off only after it began.
    pub fn establishes_care(&self) -> bool {
        match self.status {
            AppointmentStatus::Booked
            | AppointmentStatus::Completed
            | AppointmentStatus::NoShow => true,
            AppointmentStatus::Cancelled => self.cancelled_at.is_some_and(|at| at >= self.start),
        }
    }

    /// The time cells this appointment claims while booked: the doctor's span and the
    /// patient's visit, each cut into [`CELL_MINUTES`] cells.
    ///
    /// Backends store one row or item per claim under a uniqueness guarantee, so a second
    /// appointment claiming any of the same cells fails inside the same atomic write.
    pub fn time_claims(&self) -> Vec<TimeClaim> {
        let (doctor_from, doctor_to) = self.doctor_span();
        let doctor = cells(doctor_from, doctor_to).map(|cell| TimeClaim {
            owner: ClaimOwner::Doctor(self.doctor_id),
            cell,
        });
        let patient = cells(self.start, self.end).map(|cell| TimeClaim {
            owner: ClaimOwner::Patient(self.patient_id),
            cell,
        });
        doctor.chain(patient).collect()
    }
}

fn cells(from: DateTime<Utc>, to: DateTime<Utc>) -> impl Iterator<Item = i64> {
    let cell_seconds = i64::from(CELL_MINUTES) * 60;
    let first = from.timestamp().div_euclid(cell_seconds);
    let last = (to.timestamp() + cell_seconds - 1).div_euclid(cell_seconds);
    first..last
}

/// Whose time a claim holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClaimOwner {
    /// A doctor's working time, buffers included.
    Doctor(DoctorId),
    /// A patient's time.
    Patient(PatientId),
}

/// One five-minute cell of someone's time, held by a booked appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimeClaim {
    /// Whose time.
    pub owner: ClaimOwner,
    /// The cell: seconds since the Unix epoch divided by the cell length.
    pub cell: i64,
}

impl TimeClaim {
    /// A stable text key for the claim, such as `d:<uuid>:5895360`, for backends that store
    /// claims as rows or items.
    pub fn key(&self) -> String {
        match self.owner {
            ClaimOwner::Doctor(id) => format!("d:{id}:{}", self.cell),
            ClaimOwner::Patient(id) => format!("p:{id}:{}", self.cell),
        }
    }
}

/// The claims a reschedule must release and take: cells held by both the old and the new
/// time stay with the appointment and appear in neither list.
pub fn claims_diff(old: &Appointment, new: &Appointment) -> (Vec<TimeClaim>, Vec<TimeClaim>) {
    let before: std::collections::BTreeSet<_> = old.time_claims().into_iter().collect();
    let after: std::collections::BTreeSet<_> = new.time_claims().into_iter().collect();
    let release = before.difference(&after).copied().collect();
    let take = after.difference(&before).copied().collect();
    (release, take)
}

/// One prescribed drug.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prescription {
    /// The drug's name.
    pub drug: ShortText,
    /// How much per intake, such as "500 mg".
    pub dose: ShortText,
    /// How often, such as "twice daily".
    pub frequency: ShortText,
    /// For how long, such as "7 days".
    pub duration: ShortText,
}

/// One version of the diagnosis of an appointment. Amending adds a version; earlier ones
/// stay in the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// The appointment diagnosed.
    pub appointment_id: AppointmentId,
    /// 1 for the first diagnosis, then one more per amendment.
    pub version: u32,
    /// The patient diagnosed.
    pub patient_id: PatientId,
    /// The author.
    pub doctor_id: DoctorId,
    /// The diagnosis itself.
    pub diagnosis: ClinicalText,
    /// An optional classification code such as an ICD-10 code.
    pub code: Option<ShortText>,
    /// What the patient should do.
    pub treatment_plan: ClinicalText,
    /// Drugs prescribed.
    pub prescriptions: Vec<Prescription>,
    /// When this version was written.
    pub authored_at: DateTime<Utc>,
}

/// What kind of information a patient reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// How the patient feels.
    Symptoms,
    /// A measurement such as blood pressure.
    Measurement,
    /// A test result.
    Result,
    /// Anything else.
    Other,
}

/// A report a patient added to their own record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    /// The report's id.
    pub id: ReportId,
    /// Whose record it belongs to.
    pub patient_id: PatientId,
    /// What kind of information.
    pub kind: ReportKind,
    /// A short title.
    pub title: ShortText,
    /// The report itself.
    pub body: ClinicalText,
    /// When it was observed, if the patient said.
    pub observed_at: Option<DateTime<Utc>>,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
}

/// What was done to a patient's health information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// The medical record was read.
    ReadRecord,
    /// A diagnosis was written or amended.
    WriteDiagnosis,
    /// The patient submitted a report.
    WriteReport,
    /// An appointment (whose reason is health information) was booked.
    BookAppointment,
    /// An appointment was cancelled.
    CancelAppointment,
    /// An appointment was moved.
    RescheduleAppointment,
    /// An appointment was marked as a no-show.
    MarkNoShow,
    /// Appointments and their reasons were listed.
    ListAppointments,
    /// One appointment and its reason were read.
    ViewAppointment,
    /// A doctor read the patient's name, to show it beside their appointments.
    ViewPatientName,
}

impl AuditAction {
    /// The action's name as stored and shown.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ReadRecord => "read_record",
            Self::WriteDiagnosis => "write_diagnosis",
            Self::WriteReport => "write_report",
            Self::BookAppointment => "book_appointment",
            Self::CancelAppointment => "cancel_appointment",
            Self::RescheduleAppointment => "reschedule_appointment",
            Self::MarkNoShow => "mark_no_show",
            Self::ListAppointments => "list_appointments",
            Self::ViewAppointment => "view_appointment",
            Self::ViewPatientName => "view_patient_name",
        }
    }
}

/// Whether the policy let the action happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// Allowed and done.
    Allowed,
    /// Refused by the access policy.
    Denied,
}

/// One touch of a patient's health information.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The entry's id.
    pub id: AuditId,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who acted.
    pub actor_id: UserId,
    /// In which role.
    pub actor_role: Role,
    /// Whose information.
    pub patient_id: PatientId,
    /// What was done.
    pub action: AuditAction,
    /// Allowed or denied.
    pub outcome: AuditOutcome,
    /// The appointment concerned, if any.
    pub appointment_id: Option<AppointmentId>,
}

/// What happened, for a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An account was created.
    AccountRegistered,
    /// An appointment was booked.
    AppointmentBooked,
    /// An appointment was cancelled.
    AppointmentCancelled,
    /// An appointment was moved.
    AppointmentRescheduled,
    /// A diagnosis was submitted or amended.
    DiagnosisSubmitted,
}

impl EventKind {
    /// The kind's name as stored, published and filtered on.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::AccountRegistered => "account_registered",
            Self::AppointmentBooked => "appointment_booked",
            Self::AppointmentCancelled => "appointment_cancelled",
            Self::AppointmentRescheduled => "appointment_rescheduled",
            Self::DiagnosisSubmitted => "diagnosis_submitted",
        }
    }
}

/// Someone a notification is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Recipient {
    /// Their account.
    pub user_id: UserId,
    /// Their role, so channels can address patients and doctors differently.
    pub role: Role,
}

/// The short text of a notification: the minimum necessary, never clinical content, but
/// still about a person, so `Debug` redacts it and it is never logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NotificationText(pub String);

impl fmt::Debug for NotificationText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NotificationText(<redacted>)")
    }
}

/// Whether an event still waits for delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not yet delivered.
    Pending,
    /// Handed to the notifier successfully.
    Delivered,
}

/// A notification waiting in, or delivered from, the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEvent {
    /// Stable across attempts, so receivers can drop duplicates.
    pub id: EventId,
    /// What happened.
    pub kind: EventKind,
    /// Who is told.
    pub recipients: Vec<Recipient>,
    /// The appointment concerned, if any.
    pub appointment_id: Option<AppointmentId>,
    /// The text to send.
    pub message: NotificationText,
    /// When the change happened.
    pub created_at: DateTime<Utc>,
    /// Pending or delivered.
    pub status: DeliveryStatus,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Not to be tried before this instant.
    pub next_attempt_at: DateTime<Utc>,
    /// The dispatcher holding the event, and until when.
    pub lease: Option<Lease>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A dispatcher's hold on an event, so two dispatchers never deliver it at the same time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The dispatcher's name.
    pub owner: String,
    /// The hold ends at this instant; then another dispatcher may take the event.
    pub until: DateTime<Utc>,
}

/// A login session as stored: only a hash of the token is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// SHA-256 of the token, hex-encoded.
    pub token_hash: TokenHash,
    /// The account signed in.
    pub user_id: UserId,
    /// When the session was opened.
    pub created_at: DateTime<Utc>,
    /// When it was last renewed.
    pub last_seen_at: DateTime<Utc>,
    /// It ends at this instant unless renewed.
    pub expires_at: DateTime<Utc>,
}

/// The hex SHA-256 of a session token. Safe to store, but still never logged.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenHash(pub String);

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(<redacted>)")
    }
}
