//! The medical record: the `diagnoses` and `reports` tables.

use async_trait::async_trait;
use medtrack_core::error::Entity;
use medtrack_core::id::PatientId;
use medtrack_core::model::{Diagnosis, HealthReport};
use medtrack_core::store::{AppointmentUpdate, Effects, RecordStore, StoreResult};
use sqlx::{FromRow, SqliteConnection};

use crate::appointments::apply_update;
use crate::codec;
use crate::effects::write_effects;
use crate::error::{or_missing, SqliteError};
use crate::SqliteStore;

const DIAGNOSIS_COLUMNS: &str = "appointment_id, version, patient_id, doctor_id, diagnosis, \
                                 code, treatment_plan, prescriptions, authored_at";

const REPORT_COLUMNS: &str = "id, patient_id, kind, title, body, observed_at, submitted_at";

#[derive(FromRow)]
struct DiagnosisRow {
    appointment_id: String,
    version: i64,
    patient_id: String,
    doctor_id: String,
    diagnosis: String,
    code: Option<String>,
    treatment_plan: String,
    prescriptions: String,
    authored_at: String,
}

impl TryFrom<DiagnosisRow> for Diagnosis {
    type Error = SqliteError;

    fn try_from(row: DiagnosisRow) -> Result<Self, Self::Error> {
        Ok(Diagnosis {
            appointment_id: codec::parse("diagnoses.appointment_id", &row.appointment_id)?,
            version: codec::parse_int("diagnoses.version", row.version)?,
            patient_id: codec::parse("diagnoses.patient_id", &row.patient_id)?,
            doctor_id: codec::parse("diagnoses.doctor_id", &row.doctor_id)?,
            diagnosis: codec::parse_text("diagnoses.diagnosis", &row.diagnosis)?,
            code: row
                .code
                .map(|code| codec::parse_text("diagnoses.code", &code))
                .transpose()?,
            treatment_plan: codec::parse_text("diagnoses.treatment_plan", &row.treatment_plan)?,
            prescriptions: codec::parse_json("diagnoses.prescriptions", &row.prescriptions)?,
            authored_at: codec::parse_instant("diagnoses.authored_at", &row.authored_at)?,
        })
    }
}

#[derive(FromRow)]
struct ReportRow {
    id: String,
    patient_id: String,
    kind: String,
    title: String,
    body: String,
    observed_at: Option<String>,
    submitted_at: String,
}

impl TryFrom<ReportRow> for HealthReport {
    type Error = SqliteError;

    fn try_from(row: ReportRow) -> Result<Self, Self::Error> {
        Ok(HealthReport {
            id: codec::parse("reports.id", &row.id)?,
            patient_id: codec::parse("reports.patient_id", &row.patient_id)?,
            kind: codec::parse_label("reports.kind", &row.kind)?,
            title: codec::parse_text("reports.title", &row.title)?,
            body: codec::parse_text("reports.body", &row.body)?,
            observed_at: codec::parse_opt_instant(
                "reports.observed_at",
                row.observed_at.as_deref(),
            )?,
            submitted_at: codec::parse_instant("reports.submitted_at", &row.submitted_at)?,
        })
    }
}

async fn insert_diagnosis(
    conn: &mut SqliteConnection,
    diagnosis: &Diagnosis,
) -> Result<(), SqliteError> {
    let sql =
        format!("INSERT INTO diagnoses ({DIAGNOSIS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    sqlx::query(&sql)
        .bind(diagnosis.appointment_id.to_string())
        .bind(i64::from(diagnosis.version))
        .bind(diagnosis.patient_id.to_string())
        .bind(diagnosis.doctor_id.to_string())
        .bind(diagnosis.diagnosis.as_ref())
        .bind(diagnosis.code.as_ref().map(|code| code.as_ref()))
        .bind(diagnosis.treatment_plan.as_ref())
        .bind(codec::json(&diagnosis.prescriptions)?)
        .bind(codec::instant(diagnosis.authored_at)?)
        .execute(conn)
        .await
        .map_err(|err| or_missing(err, Entity::Appointment, diagnosis.appointment_id))?;
    Ok(())
}

impl SqliteStore {
    async fn store_diagnosis(
        &self,
        diagnosis: &Diagnosis,
        completes: Option<AppointmentUpdate>,
        effects: Effects,
    ) -> Result<(), SqliteError> {
        let mut tx = self.begin_write().await?;
        insert_diagnosis(&mut tx, diagnosis).await?;
        if let Some(update) = &completes {
            apply_update(&mut tx, update).await?;
        }
        write_effects(&mut tx, &effects).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn fetch_diagnoses(&self, patient: PatientId) -> Result<Vec<Diagnosis>, SqliteError> {
        let sql = format!(
            "SELECT {DIAGNOSIS_COLUMNS} FROM diagnoses WHERE patient_id = ? \
             ORDER BY authored_at, appointment_id, version"
        );
        let rows: Vec<DiagnosisRow> = sqlx::query_as(&sql)
            .bind(patient.to_string())
            .fetch_all(self.read_pool())
            .await?;
        rows.into_iter().map(Diagnosis::try_from).collect()
    }

    async fn store_report(
        &self,
        report: &HealthReport,
        effects: Effects,
    ) -> Result<(), SqliteError> {
        let sql = format!("INSERT INTO reports ({REPORT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)");

        let mut tx = self.begin_write().await?;
        sqlx::query(&sql)
            .bind(report.id.to_string())
            .bind(report.patient_id.to_string())
            .bind(codec::label(&report.kind)?)
            .bind(report.title.as_ref())
            .bind(report.body.as_ref())
            .bind(codec::opt_instant(report.observed_at)?)
            .bind(codec::instant(report.submitted_at)?)
            .execute(&mut *tx)
            .await
            .map_err(|err| or_missing(err, Entity::User, report.patient_id))?;
        write_effects(&mut tx, &effects).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn fetch_reports(&self, patient: PatientId) -> Result<Vec<HealthReport>, SqliteError> {
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM reports WHERE patient_id = ? ORDER BY submitted_at, id"
        );
        let rows: Vec<ReportRow> = sqlx::query_as(&sql)
            .bind(patient.to_string())
            .fetch_all(self.read_pool())
            .await?;
        rows.into_iter().map(HealthReport::try_from).collect()
    }
}

#[async_trait]
impl RecordStore for SqliteStore {
    async fn add_diagnosis(
        &self,
        diagnosis: &Diagnosis,
        completes: Option<AppointmentUpdate>,
        effects: Effects,
    ) -> StoreResult<()> {
        Ok(self.store_diagnosis(diagnosis, completes, effects).await?)
    }

    async fn diagnoses_for_patient(&self, patient: PatientId) -> StoreResult<Vec<Diagnosis>> {
        Ok(self.fetch_diagnoses(patient).await?)
    }

    async fn add_report(&self, report: &HealthReport, effects: Effects) -> StoreResult<()> {
        Ok(self.store_report(report, effects).await?)
    }

    async fn reports_for_patient(&self, patient: PatientId) -> StoreResult<Vec<HealthReport>> {
        Ok(self.fetch_reports(patient).await?)
    }
}
