//! Doctors, their free slots and their schedules.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use medtrack_core::id::DoctorId;
use medtrack_core::store::PageRequest;
use medtrack_core::Error;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::dto::{DoctorBody, ScheduleBody, SlotBody};
use super::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

/// Every approved doctor patients can book, ordered by email, as one array: a clinic's
/// roster is small enough that the booking page wants it whole.
#[utoipa::path(get, path = "/api/doctors", tag = "doctors", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<DoctorBody>),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<DoctorBody>>, ApiError> {
    let mut doctors = Vec::new();
    let mut request = PageRequest::first(200);
    loop {
        let page = state
            .medtrack
            .doctors(&caller.principal, request.clone())
            .await?;
        doctors.extend(page.items.into_iter().map(DoctorBody::from));
        match page.next_cursor {
            Some(cursor) => request.cursor = Some(cursor),
            None => return Ok(Json(doctors)),
        }
    }
}

/// The range of a slot listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlotRange {
    /// The first instant (inclusive).
    pub from: DateTime<Utc>,
    /// The last instant (exclusive); at most 31 days after `from`.
    pub to: DateTime<Utc>,
}

/// Free slots whose start lies in `[from, to)`, ordered by start.
#[utoipa::path(get, path = "/api/doctors/{id}/slots", tag = "doctors", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The doctor"), SlotRange),
    responses(
        (status = 200, body = Vec<SlotBody>),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such bookable doctor", body = ErrorBody),
        (status = 422, description = "`invalid`: the range is empty or longer than 31 days", body = ErrorBody),
    ))]
pub async fn slots(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(range): ApiQuery<SlotRange>,
) -> Result<Json<Vec<SlotBody>>, ApiError> {
    let slots = state
        .medtrack
        .free_slots(
            &caller.principal,
            DoctorId::from_uuid(id),
            range.from,
            range.to,
        )
        .await?;
    let slots = slots
        .into_iter()
        .map(|slot| SlotBody {
            start: slot.start,
            end: slot.end,
        })
        .collect();
    Ok(Json(slots))
}

/// A doctor's schedule, in the shape `PUT /api/doctors/me/schedule` takes.
#[utoipa::path(get, path = "/api/doctors/{id}/schedule", tag = "doctors", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The doctor")),
    responses(
        (status = 200, body = ScheduleBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ))]
pub async fn schedule(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ScheduleBody>, ApiError> {
    let schedule = state
        .medtrack
        .schedule_of(&caller.principal, DoctorId::from_uuid(id))
        .await?;
    Ok(Json(ScheduleBody::from(&schedule)))
}

/// Replaces the calling doctor's working hours, days off and booking rules.
#[utoipa::path(put, path = "/api/doctors/me/schedule", tag = "doctors", security(("bearer" = [])),
    request_body = ScheduleBody,
    responses(
        (status = 200, body = ScheduleBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a doctor", body = ErrorBody),
        (status = 422, description = "`invalid`: bad zone, overlapping intervals, or a slot length that does not divide an interval", body = ErrorBody),
    ))]
pub async fn update_schedule(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> Result<Json<ScheduleBody>, ApiError> {
    let Some(doctor) = caller.principal.as_doctor() else {
        return Err(Error::Forbidden.into());
    };
    let schedule = body.to_schedule().map_err(Error::from)?;
    let schedule = state
        .medtrack
        .update_schedule(&caller.principal, doctor, schedule)
        .await?;
    Ok(Json(ScheduleBody::from(&schedule)))
}
