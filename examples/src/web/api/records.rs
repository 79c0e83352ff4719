//! Medical records, patients' reports and their audit trail.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use medtrack_core::id::PatientId;
use medtrack_core::ReportInput;
use uuid::Uuid;

use super::dto::{parse_kind, AuditBody, ListPage, RecordBody, ReportBody, ReportRequest};
use super::extract::{ApiJson, ApiPath, ApiQuery, Caller, Paging};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

/// A patient's medical record, for the patient or a doctor who has cared for them.
#[utoipa::path(get, path = "/api/patients/{id}/records", tag = "records", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The patient")),
    responses(
        (status = 200, body = RecordBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such patient, or not visible to the caller", body = ErrorBody),
    ))]
pub async fn record(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<RecordBody>, ApiError> {
    let record = state
        .medtrack
        .medical_record(&caller.principal, PatientId::from_uuid(id))
        .await
        .map_err(hide_forbidden)?;
    Ok(Json(record.into()))
}

/// Someone who may not read a record learns nothing, not even that it exists.
fn hide_forbidden(err: medtrack_core::Error) -> medtrack_core::Error {
    match err {
        medtrack_core::Error::Forbidden => {
            medtrack_core::Error::NotFound(medtrack_core::error::Entity::User)
        }
        other => other,
    }
}

/// Adds a report to the calling patient's own record.
#[utoipa::path(post, path = "/api/patients/me/reports", tag = "records", security(("bearer" = [])),
    request_body = ReportRequest,
    responses(
        (status = 201, body = ReportBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a patient", body = ErrorBody),
        (status = 422, description = "`invalid`, with the field", body = ErrorBody),
    ))]
pub async fn submit_report(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ReportRequest>,
) -> Result<(StatusCode, Json<ReportBody>), ApiError> {
    let kind = parse_kind(&body.kind).map_err(medtrack_core::Error::from)?;
    let input = ReportInput {
        kind,
        title: body.title,
        body: body.body,
        observed_at: body.observed_at,
    };
    let report = state
        .medtrack
        .submit_report(&caller.principal, input)
        .await?;
    Ok((StatusCode::CREATED, Json(report.into())))
}

/// Who read or changed the calling patient's record, when, and the outcome; newest first.
#[utoipa::path(get, path = "/api/patients/me/audit", tag = "records", security(("bearer" = [])),
    params(Paging),
    responses(
        (status = 200, body = ListPage<AuditBody>),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a patient", body = ErrorBody),
    ))]
pub async fn my_audit(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<ListPage<AuditBody>>, ApiError> {
    let page = state
        .medtrack
        .my_audit_trail(&caller.principal, paging.request())
        .await?;
    Ok(Json(ListPage::from_page(page, AuditBody::from)))
}
