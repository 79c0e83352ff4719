//! Booking, listing, cancelling, moving and diagnosing appointments.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use medtrack_core::error::{ValidationError, ValidationReason};
use medtrack_core::id::{AppointmentId, DoctorId};
use medtrack_core::model::AppointmentStatus;
use medtrack_core::{AppointmentFilter, BookingRequest, DiagnosisInput, PrescriptionInput};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::dto::{
    AppointmentBody, BookRequest, DiagnosedAppointment, DiagnosisBody, DiagnosisRequest, ListPage,
    RescheduleRequest,
};
use super::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

/// Books an appointment for the calling patient.
#[utoipa::path(post, path = "/api/appointments", tag = "appointments", security(("bearer" = [])),
    request_body = BookRequest,
    responses(
        (status = 201, body = AppointmentBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a patient", body = ErrorBody),
        (status = 404, description = "`not_found`: no such bookable doctor", body = ErrorBody),
        (status = 409, description = "`slot_taken` or `patient_busy`", body = ErrorBody),
        (status = 422, description = "`outside_working_hours`, `too_soon`, `beyond_horizon` or `invalid`", body = ErrorBody),
    ))]
pub async fn book(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<BookRequest>,
) -> Result<(StatusCode, Json<AppointmentBody>), ApiError> {
    let request = BookingRequest {
        doctor_id: DoctorId::from_uuid(body.doctor_id),
        start: body.start,
        slots: body.slots.unwrap_or(1),
        reason: body.reason,
    };
    let appointment = state.medtrack.book(&caller.principal, request).await?;
    Ok((StatusCode::CREATED, Json(appointment.into())))
}

/// Which appointments to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only in this status: `booked`, `completed`, `cancelled` or `no_show`.
    pub status: Option<String>,
    /// Only those starting at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only those starting before this instant.
    pub to: Option<DateTime<Utc>>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page: default 50, at most 200.
    pub limit: Option<u32>,
}

/// Parses an appointment status, reporting problems against `status`.
pub(crate) fn parse_status(raw: &str) -> Result<AppointmentStatus, ValidationError> {
    match raw.trim() {
        "booked" => Ok(AppointmentStatus::Booked),
        "completed" => Ok(AppointmentStatus::Completed),
        "cancelled" => Ok(AppointmentStatus::Cancelled),
        "no_show" => Ok(AppointmentStatus::NoShow),
        _ => Err(ValidationError::new(
            "status",
            ValidationReason::Malformed("must be booked, completed, cancelled or no_show"),
        )),
    }
}

/// The caller's appointments (a patient's own, a doctor's assigned), latest start first.
#[utoipa::path(get, path = "/api/appointments", tag = "appointments", security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListPage<AppointmentBody>),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 422, description = "`invalid`: a bad status or cursor", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ListPage<AppointmentBody>>, ApiError> {
    let status = match query.status.as_deref().filter(|raw| !raw.is_empty()) {
        Some(raw) => Some(parse_status(raw).map_err(medtrack_core::Error::from)?),
        None => None,
    };
    let filter = AppointmentFilter {
        status,
        from: query.from,
        to: query.to,
        ascending: false,
    };
    let paging = super::extract::Paging {
        cursor: query.cursor,
        limit: query.limit,
    };
    let page = state
        .medtrack
        .appointments(&caller.principal, filter, paging.request())
        .await?;
    Ok(Json(ListPage::from_page(page, AppointmentBody::from)))
}

/// Cancels an appointment; its time is free again at once.
#[utoipa::path(post, path = "/api/appointments/{id}/cancel", tag = "appointments", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The appointment")),
    responses(
        (status = 200, body = AppointmentBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`too_late` or `wrong_status`", body = ErrorBody),
    ))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<AppointmentBody>, ApiError> {
    let appointment = state
        .medtrack
        .cancel(&caller.principal, AppointmentId::from_uuid(id))
        .await?;
    Ok(Json(appointment.into()))
}

/// Moves the calling patient's appointment to another free slot of the same doctor.
#[utoipa::path(post, path = "/api/appointments/{id}/reschedule", tag = "appointments", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The appointment")),
    request_body = RescheduleRequest,
    responses(
        (status = 200, body = AppointmentBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: doctors cannot move appointments", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`slot_taken`, `patient_busy`, `too_late` or `wrong_status`", body = ErrorBody),
        (status = 422, description = "`outside_working_hours`, `too_soon` or `beyond_horizon`", body = ErrorBody),
    ))]
pub async fn reschedule(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RescheduleRequest>,
) -> Result<Json<AppointmentBody>, ApiError> {
    let appointment = state
        .medtrack
        .reschedule(&caller.principal, AppointmentId::from_uuid(id), body.start)
        .await?;
    Ok(Json(appointment.into()))
}

/// Marks a past appointment as a no-show; only its doctor may.
#[utoipa::path(post, path = "/api/appointments/{id}/no-show", tag = "appointments", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The appointment")),
    responses(
        (status = 200, body = AppointmentBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: the patient of the appointment", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`wrong_status`: not booked, or not started yet", body = ErrorBody),
    ))]
pub async fn no_show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<AppointmentBody>, ApiError> {
    let appointment = state
        .medtrack
        .mark_no_show(&caller.principal, AppointmentId::from_uuid(id))
        .await?;
    Ok(Json(appointment.into()))
}

/// Writes the diagnosis of a started appointment, completing it; on a completed one, adds an
/// amended version.
#[utoipa::path(post, path = "/api/appointments/{id}/diagnosis", tag = "appointments", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The appointment")),
    request_body = DiagnosisRequest,
    responses(
        (status = 200, description = "The appointment, now `completed`, with the version written", body = DiagnosedAppointment),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: the patient of the appointment", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`wrong_status`: cancelled, no-show, or not started yet", body = ErrorBody),
        (status = 422, description = "`invalid`, with the field", body = ErrorBody),
    ))]
pub async fn diagnosis(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<DiagnosisRequest>,
) -> Result<Json<DiagnosedAppointment>, ApiError> {
    let id = AppointmentId::from_uuid(id);
    let input = DiagnosisInput {
        diagnosis: body.diagnosis,
        code: body.code,
        treatment_plan: body.treatment_plan,
        prescriptions: body
            .prescriptions
            .into_iter()
            .map(|item| PrescriptionInput {
                drug: item.drug,
                dose: item.dose,
                frequency: item.frequency,
                duration: item.duration,
            })
            .collect(),
    };
    let diagnosis = state
        .medtrack
        .submit_diagnosis(&caller.principal, id, input)
        .await?;
    // The service has just checked that the caller is this appointment's doctor, so reading
    // it back straight from the store adds no access; it also keeps a second, misleading
    // "listed appointments" entry out of the patient's audit trail.
    let appointment = state
        .medtrack
        .store()
        .appointment(id)
        .await
        .map_err(medtrack_core::Error::from)?;
    Ok(Json(DiagnosedAppointment {
        appointment: appointment.into(),
        diagnosis: DiagnosisBody::from(diagnosis),
    }))
}
