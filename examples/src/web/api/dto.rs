//! The JSON shapes of the API, and their conversions from and to the core's types.
//!
//! Instants are RFC 3339 in UTC (`2026-12-07T09:00:00Z`), dates `YYYY-MM-DD`, ids UUIDs.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use medtrack_core::error::{ValidationError, ValidationReason};
use medtrack_core::model::{Appointment, AuditEntry, Diagnosis, HealthReport, Prescription};
use medtrack_core::schedule::{BookingRules, LocalInterval, Schedule, WeeklyHours};
use medtrack_core::store::Page;
use medtrack_core::{AccountSummary, DoctorSummary, MedicalRecord, Profile};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListPage<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass it as `?cursor=` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> ListPage<T> {
    /// Converts a core page item by item.
    pub fn from_page<U>(page: Page<U>, convert: impl Fn(U) -> T) -> Self {
        Self {
            items: page.items.into_iter().map(convert).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

/// `POST /api/register`.
#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// The name to show.
    pub name: String,
    /// The login email.
    pub email: String,
    /// At least 12 characters.
    pub password: String,
    /// `patient` or `doctor`.
    #[schema(example = "patient")]
    pub role: String,
    /// A doctor's specialty (required for doctors).
    pub specialty: Option<String>,
    /// An IANA zone: a doctor's working zone (default `UTC`), or a patient's display zone.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: Option<String>,
    /// An optional phone number.
    pub phone: Option<String>,
    /// A patient's optional date of birth.
    pub birth_date: Option<NaiveDate>,
}

/// A newly registered account.
#[derive(Serialize, ToSchema)]
pub struct UserBody {
    /// The account's id.
    pub id: Uuid,
    /// The normalised login email.
    pub email: String,
    /// The name.
    pub name: String,
    /// `patient` or `doctor`.
    pub role: &'static str,
}

/// `POST /api/login`.
#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    /// The login email.
    pub email: String,
    /// The password.
    pub password: String,
}

/// A session token, to send as `Authorization: Bearer <token>`.
#[derive(Serialize, ToSchema)]
pub struct TokenBody {
    /// The opaque token.
    pub token: String,
}

impl std::fmt::Debug for TokenBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenBody(<redacted>)")
    }
}

/// An account as its owner or an admin sees it.
#[derive(Serialize, ToSchema)]
pub struct ProfileBody {
    /// The account's id.
    pub id: Uuid,
    /// The login email.
    pub email: String,
    /// The name.
    pub name: String,
    /// `patient`, `doctor` or `admin`.
    pub role: &'static str,
    /// `active`, `pending_approval` or `deactivated`.
    pub status: &'static str,
    /// A contact number.
    pub phone: Option<String>,
    /// A patient's date of birth.
    pub birth_date: Option<NaiveDate>,
    /// A patient's display zone, or a doctor's working zone.
    pub time_zone: Option<String>,
    /// A doctor's specialty.
    pub specialty: Option<String>,
}

/// An account as the admin endpoints show it: no phone number or date of birth, which
/// managing accounts does not need.
#[derive(Serialize, ToSchema)]
pub struct AccountBody {
    /// The account's id.
    pub id: Uuid,
    /// The login email.
    pub email: String,
    /// The name.
    pub name: String,
    /// `patient`, `doctor` or `admin`.
    pub role: &'static str,
    /// `active`, `pending_approval` or `deactivated`.
    pub status: &'static str,
    /// A patient's display zone, or a doctor's working zone.
    pub time_zone: Option<String>,
    /// A doctor's specialty.
    pub specialty: Option<String>,
}

impl From<AccountSummary> for AccountBody {
    fn from(account: AccountSummary) -> Self {
        Self {
            id: account.id.as_uuid(),
            email: account.email.as_ref().to_owned(),
            name: account.name.as_ref().to_owned(),
            role: account.role.as_str(),
            status: status_name(account.status),
            time_zone: account.time_zone.map(|zone| zone.name().to_owned()),
            specialty: account.specialty.map(String::from),
        }
    }
}

/// The name of an account status.
pub fn status_name(status: medtrack_core::model::AccountStatus) -> &'static str {
    use medtrack_core::model::AccountStatus;
    match status {
        AccountStatus::Active => "active",
        AccountStatus::PendingApproval => "pending_approval",
        AccountStatus::Deactivated => "deactivated",
    }
}

impl From<Profile> for ProfileBody {
    fn from(profile: Profile) -> Self {
        Self {
            id: profile.id.as_uuid(),
            email: profile.email.as_ref().to_owned(),
            name: profile.name.as_ref().to_owned(),
            role: profile.role.as_str(),
            status: status_name(profile.status),
            phone: profile.phone.map(String::from),
            birth_date: profile.birth_date.map(|date| date.0),
            time_zone: profile.time_zone.map(|zone| zone.name().to_owned()),
            specialty: profile.specialty.map(String::from),
        }
    }
}

/// `PATCH /api/me`: fields left out stay as they are; `""` clears phone or zone.
#[derive(Deserialize, ToSchema)]
pub struct ProfilePatch {
    /// A new name.
    pub name: Option<String>,
    /// A new phone number.
    pub phone: Option<String>,
    /// A patient's new display zone.
    pub time_zone: Option<String>,
}

/// A bookable doctor.
#[derive(Serialize, ToSchema)]
pub struct DoctorBody {
    /// The doctor's id.
    pub id: Uuid,
    /// The name.
    pub name: String,
    /// What the doctor practises.
    pub specialty: String,
    /// The zone the doctor's hours are in.
    pub time_zone: String,
}

impl From<DoctorSummary> for DoctorBody {
    fn from(doctor: DoctorSummary) -> Self {
        Self {
            id: doctor.id.as_uuid(),
            name: doctor.name.as_ref().to_owned(),
            specialty: doctor.specialty.as_str().to_owned(),
            time_zone: doctor.time_zone.name().to_owned(),
        }
    }
}

/// A free slot `[start, end)`.
#[derive(Serialize, ToSchema)]
pub struct SlotBody {
    /// The first instant.
    pub start: DateTime<Utc>,
    /// The instant after the slot.
    pub end: DateTime<Utc>,
}

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

/// A doctor's schedule, as `GET` gives it and `PUT` takes it.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ScheduleBody {
    /// The IANA zone the hours are in.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: String,
    /// The length of one slot, in minutes; it must divide every interval.
    #[schema(example = 30)]
    pub slot_minutes: u32,
    /// Intervals per weekday (`mon` … `sun`) as `["HH:MM", "HH:MM"]` pairs; `24:00` ends at
    /// midnight. A day left out has no hours.
    #[schema(value_type = Object, example = json!({"mon": [["09:00", "12:00"], ["13:00", "17:00"]]}))]
    pub weekly: BTreeMap<String, Vec<[String; 2]>>,
    /// Dates without bookings, in the doctor's zone.
    #[serde(default)]
    pub days_off: BTreeSet<NaiveDate>,
    /// Unbookable minutes before each appointment.
    #[serde(default)]
    pub buffer_before_minutes: u32,
    /// Unbookable minutes after each appointment.
    #[serde(default)]
    pub buffer_after_minutes: u32,
    /// No booking sooner than this many hours from now.
    #[serde(default)]
    pub min_notice_hours: u32,
    /// No booking further ahead than this many days.
    #[serde(default = "default_horizon")]
    pub horizon_days: u32,
    /// Patients may not cancel or move within this many hours of the start.
    #[serde(default)]
    pub cancel_notice_hours: u32,
}

fn default_horizon() -> u32 {
    BookingRules::default().horizon_days
}

fn hh_mm(time: chrono::NaiveTime, is_end: bool) -> String {
    if is_end && time == chrono::NaiveTime::MIN {
        "24:00".to_owned()
    } else {
        time.format("%H:%M").to_string()
    }
}

impl From<&Schedule> for ScheduleBody {
    fn from(schedule: &Schedule) -> Self {
        let weekly = DAYS
            .iter()
            .filter(|(_, day)| !schedule.weekly().day(*day).is_empty())
            .map(|(name, day)| {
                let intervals = schedule
                    .weekly()
                    .day(*day)
                    .iter()
                    .map(|interval| [hh_mm(interval.start(), false), hh_mm(interval.end(), true)])
                    .collect();
                ((*name).to_owned(), intervals)
            })
            .collect();
        let rules = schedule.rules();
        Self {
            time_zone: schedule.time_zone().name().to_owned(),
            slot_minutes: schedule.slot_minutes(),
            weekly,
            days_off: schedule.days_off().clone(),
            buffer_before_minutes: rules.buffer_before_minutes,
            buffer_after_minutes: rules.buffer_after_minutes,
            min_notice_hours: rules.min_notice_hours,
            horizon_days: rules.horizon_days,
            cancel_notice_hours: rules.cancel_notice_hours,
        }
    }
}

impl ScheduleBody {
    /// The checked schedule, or the first rejected field.
    pub fn to_schedule(&self) -> Result<Schedule, ValidationError> {
        let zone = Schedule::parse_time_zone("time_zone", &self.time_zone)?;
        let mut weekly = WeeklyHours::empty();
        for (name, intervals) in &self.weekly {
            let Some((_, day)) = DAYS.iter().find(|(key, _)| key == name) else {
                return Err(ValidationError::new(
                    "weekly",
                    ValidationReason::Malformed("days must be mon, tue, wed, thu, fri, sat or sun"),
                ));
            };
            let parsed = intervals
                .iter()
                .map(|[start, end]| LocalInterval::parse(start, end))
                .collect::<Result<Vec<_>, _>>()?;
            weekly = weekly.with_day(*day, parsed)?;
        }
        let rules = BookingRules {
            buffer_before_minutes: self.buffer_before_minutes,
            buffer_after_minutes: self.buffer_after_minutes,
            min_notice_hours: self.min_notice_hours,
            horizon_days: self.horizon_days,
            cancel_notice_hours: self.cancel_notice_hours,
        };
        Schedule::new(
            zone,
            self.slot_minutes,
            weekly,
            self.days_off.clone(),
            rules,
        )
    }
}

/// `POST /api/appointments`.
#[derive(Deserialize, ToSchema)]
pub struct BookRequest {
    /// The doctor to see.
    pub doctor_id: Uuid,
    /// The start of one of the doctor's free slots.
    pub start: DateTime<Utc>,
    /// Why the patient comes.
    pub reason: String,
    /// How many consecutive slots (default 1).
    pub slots: Option<u32>,
}

/// An appointment.
#[derive(Serialize, ToSchema)]
pub struct AppointmentBody {
    /// The appointment's id.
    pub id: Uuid,
    /// The doctor.
    pub doctor_id: Uuid,
    /// The patient.
    pub patient_id: Uuid,
    /// The first instant of the visit.
    pub start: DateTime<Utc>,
    /// The instant after the visit.
    pub end: DateTime<Utc>,
    /// `booked`, `completed`, `cancelled` or `no_show`.
    #[schema(example = "booked")]
    pub status: &'static str,
    /// Why the patient comes.
    pub reason: String,
}

impl From<Appointment> for AppointmentBody {
    fn from(appointment: Appointment) -> Self {
        Self {
            id: appointment.id.as_uuid(),
            doctor_id: appointment.doctor_id.as_uuid(),
            patient_id: appointment.patient_id.as_uuid(),
            start: appointment.start,
            end: appointment.end,
            status: appointment.status.as_str(),
            reason: appointment.reason.into(),
        }
    }
}

/// `POST /api/appointments/{id}/reschedule`.
#[derive(Deserialize, ToSchema)]
pub struct RescheduleRequest {
    /// The new start, one of the doctor's free slots.
    pub start: DateTime<Utc>,
}

/// One prescribed drug.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct PrescriptionBody {
    /// The drug.
    pub drug: String,
    /// How much per intake, such as "500 mg".
    pub dose: String,
    /// How often, such as "twice daily".
    pub frequency: String,
    /// For how long, such as "7 days".
    pub duration: String,
}

impl From<Prescription> for PrescriptionBody {
    fn from(item: Prescription) -> Self {
        Self {
            drug: item.drug.into(),
            dose: item.dose.into(),
            frequency: item.frequency.into(),
            duration: item.duration.into(),
        }
    }
}

/// `POST /api/appointments/{id}/diagnosis`.
#[derive(Deserialize, ToSchema)]
pub struct DiagnosisRequest {
    /// The diagnosis.
    pub diagnosis: String,
    /// An optional classification code such as ICD-10.
    pub code: Option<String>,
    /// What the patient should do.
    pub treatment_plan: String,
    /// Drugs prescribed.
    #[serde(default)]
    pub prescriptions: Vec<PrescriptionBody>,
}

/// One version of a diagnosis.
#[derive(Serialize, ToSchema)]
pub struct DiagnosisBody {
    /// The appointment diagnosed.
    pub appointment_id: Uuid,
    /// 1, then one more per amendment.
    pub version: u32,
    /// The patient.
    pub patient_id: Uuid,
    /// The author.
    pub doctor_id: Uuid,
    /// The diagnosis.
    pub diagnosis: String,
    /// The classification code, if any.
    pub code: Option<String>,
    /// The treatment plan.
    pub treatment_plan: String,
    /// Drugs prescribed.
    pub prescriptions: Vec<PrescriptionBody>,
    /// When this version was written.
    pub authored_at: DateTime<Utc>,
}

impl From<Diagnosis> for DiagnosisBody {
    fn from(diagnosis: Diagnosis) -> Self {
        Self {
            appointment_id: diagnosis.appointment_id.as_uuid(),
            version: diagnosis.version,
            patient_id: diagnosis.patient_id.as_uuid(),
            doctor_id: diagnosis.doctor_id.as_uuid(),
            diagnosis: diagnosis.diagnosis.into(),
            code: diagnosis.code.map(String::from),
            treatment_plan: diagnosis.treatment_plan.into(),
            prescriptions: diagnosis
                .prescriptions
                .into_iter()
                .map(PrescriptionBody::from)
                .collect(),
            authored_at: diagnosis.authored_at,
        }
    }
}

/// The appointment after a diagnosis (status `completed`), with the version just written.
#[derive(Serialize, ToSchema)]
pub struct DiagnosedAppointment {
    /// The appointment.
    #[serde(flatten)]
    pub appointment: AppointmentBody,
    /// The diagnosis version written.
    pub diagnosis: DiagnosisBody,
}

/// Whose record.
#[derive(Serialize, ToSchema)]
pub struct PatientBody {
    /// The patient's id.
    pub id: Uuid,
    /// The name.
    pub name: String,
    /// The date of birth, if given.
    pub birth_date: Option<NaiveDate>,
}

/// A patient's report.
#[derive(Serialize, ToSchema)]
pub struct ReportBody {
    /// The report's id.
    pub id: Uuid,
    /// Whose record.
    pub patient_id: Uuid,
    /// `symptoms`, `measurement`, `result` or `other`.
    pub kind: &'static str,
    /// A short title.
    pub title: String,
    /// The report.
    pub body: String,
    /// When it was observed, if the patient said.
    pub observed_at: Option<DateTime<Utc>>,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
}

/// The name of a report kind.
pub fn kind_name(kind: medtrack_core::model::ReportKind) -> &'static str {
    use medtrack_core::model::ReportKind;
    match kind {
        ReportKind::Symptoms => "symptoms",
        ReportKind::Measurement => "measurement",
        ReportKind::Result => "result",
        ReportKind::Other => "other",
    }
}

/// Parses a report kind, reporting problems against `kind`.
pub fn parse_kind(raw: &str) -> Result<medtrack_core::model::ReportKind, ValidationError> {
    use medtrack_core::model::ReportKind;
    match raw.trim() {
        "symptoms" => Ok(ReportKind::Symptoms),
        "measurement" => Ok(ReportKind::Measurement),
        "result" => Ok(ReportKind::Result),
        "other" => Ok(ReportKind::Other),
        _ => Err(ValidationError::new(
            "kind",
            ValidationReason::Malformed("must be symptoms, measurement, result or other"),
        )),
    }
}

impl From<HealthReport> for ReportBody {
    fn from(report: HealthReport) -> Self {
        Self {
            id: report.id.as_uuid(),
            patient_id: report.patient_id.as_uuid(),
            kind: kind_name(report.kind),
            title: report.title.into(),
            body: report.body.into(),
            observed_at: report.observed_at,
            submitted_at: report.submitted_at,
        }
    }
}

/// A medical record, newest first.
#[derive(Serialize, ToSchema)]
pub struct RecordBody {
    /// Whose record.
    pub patient: PatientBody,
    /// Every diagnosis version.
    pub diagnoses: Vec<DiagnosisBody>,
    /// The patient's own reports.
    pub reports: Vec<ReportBody>,
}

impl From<MedicalRecord> for RecordBody {
    fn from(record: MedicalRecord) -> Self {
        Self {
            patient: PatientBody {
                id: record.patient.id.as_uuid(),
                name: record.patient.name.into(),
                birth_date: record.patient.birth_date.map(|date| date.0),
            },
            diagnoses: record
                .diagnoses
                .into_iter()
                .map(DiagnosisBody::from)
                .collect(),
            reports: record.reports.into_iter().map(ReportBody::from).collect(),
        }
    }
}

/// `POST /api/patients/me/reports`.
#[derive(Deserialize, ToSchema)]
pub struct ReportRequest {
    /// `symptoms`, `measurement`, `result` or `other`.
    #[schema(example = "measurement")]
    pub kind: String,
    /// A short title.
    pub title: String,
    /// The report.
    pub body: String,
    /// When it was observed.
    pub observed_at: Option<DateTime<Utc>>,
}

/// One touch of a patient's health information.
#[derive(Serialize, ToSchema)]
pub struct AuditBody {
    /// The entry's id.
    pub id: Uuid,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who acted.
    pub actor_id: Uuid,
    /// In which role.
    pub actor_role: &'static str,
    /// Whose information.
    pub patient_id: Uuid,
    /// What was done, such as `read_record` or `write_diagnosis`.
    pub action: &'static str,
    /// `allowed` or `denied`.
    pub outcome: &'static str,
    /// The appointment concerned, if any.
    pub appointment_id: Option<Uuid>,
}

impl From<AuditEntry> for AuditBody {
    fn from(entry: AuditEntry) -> Self {
        use medtrack_core::model::AuditOutcome;
        Self {
            id: entry.id.as_uuid(),
            at: entry.at,
            actor_id: entry.actor_id.as_uuid(),
            actor_role: entry.actor_role.as_str(),
            patient_id: entry.patient_id.as_uuid(),
            action: entry.action.as_str(),
            outcome: match entry.outcome {
                AuditOutcome::Allowed => "allowed",
                AuditOutcome::Denied => "denied",
            },
            appointment_id: entry.appointment_id.map(|id| id.as_uuid()),
        }
    }
}

/// `GET /healthz`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

crate::web::redacted_debug!(
    RegisterRequest,
    UserBody,
    LoginRequest,
    ProfileBody,
    AccountBody,
    ProfilePatch,
    DoctorBody,
    SlotBody,
    ScheduleBody,
    BookRequest,
    AppointmentBody,
    RescheduleRequest,
    PrescriptionBody,
    DiagnosisRequest,
    DiagnosisBody,
    DiagnosedAppointment,
    PatientBody,
    ReportBody,
    RecordBody,
    ReportRequest,
    AuditBody,
    Health
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies_never_print_passwords_or_emails() {
        let login = LoginRequest {
            email: "ann@example.org".into(),
            password: "correct horse battery".into(),
        };
        let printed = format!("{login:?}");
        assert_eq!(printed, "LoginRequest(<redacted>)");
    }
}
