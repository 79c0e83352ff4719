//! Medical records: diagnoses, patient reports, and the audit log of who touched them.

use std::fmt;

use chrono::{DateTime, Utc};
use tracing::instrument;

use super::appointments::local_time;
use super::{AuditSubject, MedTrack};
use crate::error::{BookingRefusal, Entity, Error, Result, ValidationError};
use crate::id::{AppointmentId, PatientId, ReportId};
use crate::model::{
    AppointmentStatus, AuditAction, AuditEntry, AuditOutcome, BirthDate, Diagnosis, EventKind,
    HealthReport, Prescription, Recipient, ReportKind, Role,
};
use crate::policy::{Principal, Request};
use crate::store::{Page, PageRequest};
use crate::text::{ClinicalText, PersonName, ShortText};

/// One prescription as the doctor types it.
#[derive(Clone, Default)]
pub struct PrescriptionInput {
    /// The drug.
    pub drug: String,
    /// How much per intake.
    pub dose: String,
    /// How often.
    pub frequency: String,
    /// For how long.
    pub duration: String,
}

/// A diagnosis as the doctor types it.
#[derive(Clone, Default)]
pub struct DiagnosisInput {
    /// The diagnosis.
    pub diagnosis: String,
    /// An optional code, such as ICD-10.
    pub code: Option<String>,
    /// The treatment plan.
    pub treatment_plan: String,
    /// Drugs prescribed.
    pub prescriptions: Vec<PrescriptionInput>,
}

/// A health report as the patient types it.
#[derive(Clone)]
pub struct ReportInput {
    /// What kind of information.
    pub kind: ReportKind,
    /// A short title.
    pub title: String,
    /// The report.
    pub body: String,
    /// When it was observed, if known.
    pub observed_at: Option<DateTime<Utc>>,
}

macro_rules! redacted_debug {
    ($($name:ident),*) => {$(
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(<redacted>)", stringify!($name))
            }
        }
    )*};
}
redacted_debug!(PrescriptionInput, DiagnosisInput, ReportInput);

/// Who a medical record belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientSummary {
    /// The patient's id.
    pub id: PatientId,
    /// The patient's name.
    pub name: PersonName,
    /// The patient's date of birth, if given.
    pub birth_date: Option<BirthDate>,
}

/// A patient's medical record: every diagnosis version and every report, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedicalRecord {
    /// Whose record.
    pub patient: PatientSummary,
    /// Diagnoses, newest first; amended diagnoses appear once per version.
    pub diagnoses: Vec<Diagnosis>,
    /// The patient's own reports, newest first.
    pub reports: Vec<HealthReport>,
}

impl MedTrack {
    /// Writes the diagnosis of one of the acting doctor's appointments. On a booked
    /// appointment whose start has passed it completes the appointment; on a completed one
    /// it adds an amended version, keeping the earlier ones. The patient is told a diagnosis
    /// was added, never what it says.
    #[instrument(skip_all, fields(actor = %actor.user_id(), %appointment_id), err(level = "debug"))]
    pub async fn submit_diagnosis(
        &self,
        actor: &Principal,
        appointment_id: AppointmentId,
        input: DiagnosisInput,
    ) -> Result<Diagnosis> {
        let appointment = self.store.appointment(appointment_id).await?;
        let subject = AuditSubject::appointment(&appointment, AuditAction::WriteDiagnosis);
        self.authorize_audited(actor, Request::WriteDiagnosis(&appointment), subject)
            .await?;
        let now = self.now();
        let completes = match appointment.status {
            AppointmentStatus::Booked if appointment.start <= now => {
                let mut completed = appointment.clone();
                completed.status = AppointmentStatus::Completed;
                Some(self.next_version(completed, appointment.version))
            }
            AppointmentStatus::Completed => None,
            _ => return Err(BookingRefusal::WrongStatus.into()),
        };

        let version = match completes {
            Some(_) => 1,
            None => self.latest_diagnosis_version(&appointment).await? + 1,
        };
        let diagnosis = parse_diagnosis(input, &appointment, version, now)?;
        let (_, profile) = self.doctor_profile(appointment.doctor_id).await?;
        let message = format!(
            "A diagnosis was added to your appointment of {}. Sign in to read it.",
            local_time(appointment.start, profile.schedule.time_zone())
        );
        let patient = Recipient {
            user_id: appointment.patient_id.user_id(),
            role: Role::Patient,
        };
        let event = self.event(
            EventKind::DiagnosisSubmitted,
            vec![patient],
            Some(appointment.id),
            message,
        );
        let effects = self.effects(actor, subject, Some(event));
        self.store
            .add_diagnosis(&diagnosis, completes, effects)
            .await?;
        tracing::info!(%appointment_id, version, "diagnosis submitted");
        Ok(diagnosis)
    }

    async fn latest_diagnosis_version(
        &self,
        appointment: &crate::model::Appointment,
    ) -> Result<u32> {
        let diagnoses = self
            .store
            .diagnoses_for_patient(appointment.patient_id)
            .await?;
        Ok(diagnoses
            .iter()
            .filter(|diagnosis| diagnosis.appointment_id == appointment.id)
            .map(|diagnosis| diagnosis.version)
            .max()
            .unwrap_or(0))
    }

    /// Adds a report to the acting patient's own record.
    #[instrument(skip_all, fields(actor = %actor.user_id()), err(level = "debug"))]
    pub async fn submit_report(
        &self,
        actor: &Principal,
        input: ReportInput,
    ) -> Result<HealthReport> {
        let patient_id = actor.user_id().as_patient();
        let subject = AuditSubject::record(patient_id, AuditAction::WriteReport);
        self.authorize(actor, Request::WriteReport(patient_id), Entity::User)?;
        let report = HealthReport {
            id: ReportId::new(),
            patient_id,
            kind: input.kind,
            title: ShortText::parse_field("title", &input.title)?,
            body: ClinicalText::parse_field("body", &input.body)?,
            observed_at: input.observed_at,
            submitted_at: self.now(),
        };

        self.store
            .add_report(&report, self.effects(actor, subject, None))
            .await?;
        tracing::info!(report_id = %report.id, "health report submitted");
        Ok(report)
    }

    /// A patient's medical record, for the patient or a doctor with a care relationship.
    /// Anyone else gets `NotFound`. Every attempt, allowed or denied, is audited, and the
    /// record is returned only once the audit entry is stored.
    #[instrument(skip_all, fields(actor = %actor.user_id(), %patient_id), err(level = "debug"))]
    pub async fn medical_record(
        &self,
        actor: &Principal,
        patient_id: PatientId,
    ) -> Result<MedicalRecord> {
        let user = self.load_user(patient_id.user_id(), Entity::User).await?;
        if user.role != Role::Patient {
            return Err(Error::NotFound(Entity::User));
        }
        let care = match actor.as_doctor() {
            Some(doctor) => self.store.has_care_relationship(doctor, patient_id).await?,
            None => false,
        };
        let subject = AuditSubject::record(patient_id, AuditAction::ReadRecord);
        self.authorize_audited(
            actor,
            Request::ReadRecord {
                patient: patient_id,
                care,
            },
            subject,
        )
        .await?;

        let mut diagnoses = self.store.diagnoses_for_patient(patient_id).await?;
        let mut reports = self.store.reports_for_patient(patient_id).await?;
        diagnoses.reverse();
        reports.reverse();
        let entry = self.audit_entry(actor, subject, AuditOutcome::Allowed);
        self.store.append_audit(&entry).await?;
        Ok(MedicalRecord {
            patient: PatientSummary {
                id: patient_id,
                name: user.name,
                birth_date: user.birth_date,
            },
            diagnoses,
            reports,
        })
    }

    /// Who read or changed the acting patient's record, newest first.
    #[instrument(skip_all, fields(actor = %actor.user_id()), err(level = "debug"))]
    pub async fn my_audit_trail(
        &self,
        actor: &Principal,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>> {
        let patient_id = actor.user_id().as_patient();
        self.authorize(actor, Request::ReadPatientAudit(patient_id), Entity::User)?;
        Ok(self.store.list_audit(Some(patient_id), page).await?)
    }
}

fn parse_diagnosis(
    input: DiagnosisInput,
    appointment: &crate::model::Appointment,
    version: u32,
    now: DateTime<Utc>,
) -> Result<Diagnosis> {
    let code = match input.code.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(ShortText::parse_field("code", raw)?),
    };
    let prescriptions = input
        .prescriptions
        .iter()
        .enumerate()
        .map(|(index, item)| {
            parse_prescription(item).map_err(|err| err.within(&format!("prescriptions[{index}]")))
        })
        .collect::<Result<Vec<_>, ValidationError>>()?;
    Ok(Diagnosis {
        appointment_id: appointment.id,
        version,
        patient_id: appointment.patient_id,
        doctor_id: appointment.doctor_id,
        diagnosis: non_empty_text("diagnosis", &input.diagnosis)?,
        code,
        treatment_plan: ClinicalText::parse_field("treatment_plan", &input.treatment_plan)?,
        prescriptions,
        authored_at: now,
    })
}

fn parse_prescription(input: &PrescriptionInput) -> Result<Prescription, ValidationError> {
    Ok(Prescription {
        drug: ShortText::parse_field("drug", &input.drug)?,
        dose: ShortText::parse_field("dose", &input.dose)?,
        frequency: ShortText::parse_field("frequency", &input.frequency)?,
        duration: ShortText::parse_field("duration", &input.duration)?,
    })
}

fn non_empty_text(field: &str, raw: &str) -> Result<ClinicalText, ValidationError> {
    if raw.trim().is_empty() {
        return Err(ValidationError::new(
            field,
            crate::error::ValidationReason::Empty,
        ));
    }
    ClinicalText::parse_field(field, raw)
}
