//! A patient's medical record, for the patient and for doctors who cared for them.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use medtrack_core::id::PatientId;
use medtrack_core::model::Role;
use medtrack_core::store::PageRequest;
use medtrack_core::{AppointmentFilter, Error};
use minijinja::context;
use serde::Serialize;
use uuid::Uuid;

use super::account::NoticeQuery;
use super::view::{appointment_view, directory, AppointmentView};
use super::{notice, render, PageError, PagePath, Session};
use crate::web::api::dto::kind_name;
use crate::web::time;
use crate::web::AppState;

#[derive(Debug, Serialize)]
struct PrescriptionView {
    drug: String,
    dose: String,
    frequency: String,
    duration: String,
}

#[derive(Debug, Serialize)]
struct DiagnosisView {
    when: String,
    doctor: String,
    diagnosis: String,
    code: Option<String>,
    treatment_plan: String,
    prescriptions: Vec<PrescriptionView>,
    amended: bool,
    version: u32,
}

#[derive(Debug, Serialize)]
struct ReportView {
    kind: &'static str,
    title: String,
    body: String,
    observed: Option<String>,
    submitted: String,
}

pub(crate) async fn show(
    State(state): State<AppState>,
    session: Session,
    PagePath(patient): PagePath<Uuid>,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let record = match state
        .medtrack
        .medical_record(&session.principal, PatientId::from_uuid(patient))
        .await
    {
        Ok(record) => record,
        Err(Error::Forbidden | Error::NotFound(_)) => {
            return Err(PageError::status(StatusCode::NOT_FOUND))
        }
        Err(other) => return Err(other.into()),
    };
    let doctors = directory(&state, &session.principal).await?;
    let zone = session.zone();
    let visits = visits_with(&state, &session, record.patient.id, &doctors).await?;
    let diagnoses: Vec<_> = record
        .diagnoses
        .into_iter()
        .map(|diagnosis| DiagnosisView {
            when: time::date_time(diagnosis.authored_at, zone),
            doctor: doctors.get(&diagnosis.doctor_id).map_or_else(
                || "A doctor".to_owned(),
                |doctor| doctor.name.as_ref().to_owned(),
            ),
            diagnosis: diagnosis.diagnosis.into(),
            code: diagnosis.code.map(String::from),
            treatment_plan: diagnosis.treatment_plan.into(),
            prescriptions: diagnosis
                .prescriptions
                .into_iter()
                .map(|item| PrescriptionView {
                    drug: item.drug.into(),
                    dose: item.dose.into(),
                    frequency: item.frequency.into(),
                    duration: item.duration.into(),
                })
                .collect(),
            amended: diagnosis.version > 1,
            version: diagnosis.version,
        })
        .collect();
    let reports: Vec<_> = record
        .reports
        .into_iter()
        .map(|report| ReportView {
            kind: kind_name(report.kind),
            title: report.title.into(),
            body: report.body.into(),
            observed: report.observed_at.map(|at| time::date_time(at, zone)),
            submitted: time::date_time(report.submitted_at, zone),
        })
        .collect();
    let page = render(
        "record.html",
        context! {
            patient => context! {
                name => record.patient.name.as_ref(),
                birth_date => record.patient.birth_date.map(|date| date.0.format("%-d %B %Y").to_string()),
            },
            own => session.principal.role() == Role::Patient,
            visits => visits,
            diagnoses => diagnoses,
            reports => reports,
            zone => zone.name(),
            notice => notice(query.notice.as_deref()),
            ..session.layout()
        },
    )?;
    Ok(page.into_response())
}

/// For a doctor, their own appointments with the patient, latest first: the history of the
/// care relationship. Empty for anyone else.
async fn visits_with(
    state: &AppState,
    session: &Session,
    patient: PatientId,
    doctors: &std::collections::BTreeMap<medtrack_core::id::DoctorId, medtrack_core::DoctorSummary>,
) -> Result<Vec<AppointmentView>, PageError> {
    if session.principal.role() != Role::Doctor {
        return Ok(Vec::new());
    }
    let now = state.medtrack.clock().now();
    let mut visits = Vec::new();
    let mut page = PageRequest::first(200);
    for _ in 0..10 {
        let listed = state
            .medtrack
            .appointments(
                &session.principal,
                AppointmentFilter::default(),
                page.clone(),
            )
            .await?;
        visits.extend(
            listed
                .items
                .iter()
                .filter(|appointment| appointment.patient_id == patient)
                .map(|appointment| {
                    appointment_view(appointment, session.zone(), None, doctors, now)
                }),
        );
        match listed.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }
    Ok(visits)
}
