//! The patient's pages: dashboard, booking, changing appointments, reports and the audit
//! trail of their record.

use std::collections::BTreeSet;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use medtrack_core::id::{AppointmentId, DoctorId};
use medtrack_core::model::{AppointmentStatus, Role};
use medtrack_core::store::PageRequest;
use medtrack_core::{
    AppointmentFilter, BookingRefusal, BookingRequest, DoctorSummary, Error, ReportInput,
};
use minijinja::context;
use minijinja::value::merge_maps;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::account::NoticeQuery;
use super::view::{appointment_view, audit_view, days_of_slots, directory, slot_choices};
use super::{field_error, notice, render, FieldErrors, PageError, PageForm, PagePath, Session};
use crate::web::api::dto::parse_kind;
use crate::web::time;
use crate::web::AppState;

/// How many days one page of free slots covers.
const DAYS_SHOWN: i64 = 7;
/// How many other slots a refused booking offers.
const ALTERNATIVES: usize = 6;

pub(crate) async fn dashboard(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    session.require(Role::Patient)?;
    let actor = &session.principal;
    let now = state.medtrack.clock().now();
    let zone = session.zone();
    let doctors = directory(&state, actor).await?;

    let coming = AppointmentFilter {
        from: Some(now),
        ascending: true,
        ..AppointmentFilter::default()
    };
    let coming = state
        .medtrack
        .appointments(actor, coming, PageRequest::first(100))
        .await?;
    let past = AppointmentFilter {
        to: Some(now),
        ..AppointmentFilter::default()
    };
    let past = state
        .medtrack
        .appointments(actor, past, PageRequest::first(20))
        .await?;

    let (upcoming, called_off): (Vec<_>, Vec<_>) = coming
        .items
        .iter()
        .partition(|appointment| appointment.status == AppointmentStatus::Booked);
    let upcoming: Vec<_> = upcoming
        .into_iter()
        .map(|appointment| appointment_view(appointment, zone, None, &doctors, now))
        .collect();
    let history: Vec<_> = called_off
        .into_iter()
        .chain(past.items.iter())
        .map(|appointment| appointment_view(appointment, zone, None, &doctors, now))
        .collect();

    let page = render(
        "patient/dashboard.html",
        context! {
            upcoming => upcoming,
            history => history,
            zone => zone.name(),
            zone_chosen => session.profile.time_zone.is_some(),
            notice => notice(query.notice.as_deref()),
            ..session.layout()
        },
    )?;
    Ok(page.into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct DoctorsQuery {
    specialty: Option<String>,
}

#[derive(Debug, Serialize)]
struct DoctorView {
    id: String,
    name: String,
    specialty: String,
    zone: String,
}

fn doctor_view(doctor: &DoctorSummary) -> DoctorView {
    DoctorView {
        id: doctor.id.to_string(),
        name: doctor.name.as_ref().to_owned(),
        specialty: doctor.specialty.as_str().to_owned(),
        zone: doctor.time_zone.name().to_owned(),
    }
}

pub(crate) async fn doctors(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<DoctorsQuery>,
) -> Result<Response, PageError> {
    session.require(Role::Patient)?;
    let doctors = directory(&state, &session.principal).await?;
    let specialties: BTreeSet<&str> = doctors
        .values()
        .map(|doctor| doctor.specialty.as_str())
        .collect();
    let chosen = query.specialty.filter(|specialty| !specialty.is_empty());
    let mut shown: Vec<_> = doctors
        .values()
        .filter(|doctor| {
            chosen
                .as_deref()
                .is_none_or(|chosen| doctor.specialty.as_str() == chosen)
        })
        .map(doctor_view)
        .collect();
    shown.sort_by(|a, b| (&a.specialty, &a.name).cmp(&(&b.specialty, &b.name)));

    let page = render(
        "patient/doctors.html",
        context! {
            specialties => specialties,
            chosen => chosen,
            doctors => shown,
            ..session.layout()
        },
    )?;
    Ok(page.into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct WeekQuery {
    from: Option<String>,
}

/// The first day to show: the one asked for, but never before today.
fn first_day(query: &WeekQuery, today: NaiveDate) -> NaiveDate {
    query
        .from
        .as_deref()
        .and_then(|raw| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok())
        .filter(|date| *date > today && *date < today + Duration::days(400))
        .unwrap_or(today)
}

async fn bookable(
    state: &AppState,
    session: &Session,
    doctor: Uuid,
) -> Result<DoctorSummary, PageError> {
    let doctors = directory(state, &session.principal).await?;
    doctors
        .get(&DoctorId::from_uuid(doctor))
        .cloned()
        .ok_or(PageError::status(StatusCode::NOT_FOUND))
}

/// The week of free slots starting `first`, with links to the weeks around it.
async fn week_of_slots(
    state: &AppState,
    session: &Session,
    doctor: &DoctorSummary,
    first: NaiveDate,
) -> Result<minijinja::Value, PageError> {
    let zone = session.zone();
    let today = time::local_date(state.medtrack.clock().now(), zone);
    let from = time::start_of_day(first, zone);
    let to = time::start_of_day(first + Duration::days(DAYS_SHOWN), zone);
    let slots = state
        .medtrack
        .free_slots(&session.principal, doctor.id, from, to)
        .await?;
    let days = days_of_slots(&slots, first, DAYS_SHOWN, zone, doctor.time_zone);
    let previous = (first > today).then(|| (first - Duration::days(DAYS_SHOWN)).max(today));
    Ok(context! {
        days => days,
        any_free => !slots.is_empty(),
        previous => previous.map(|date| date.to_string()),
        next => (first + Duration::days(DAYS_SHOWN)).to_string(),
        zone => zone.name(),
        doctor => doctor_view(doctor),
        different_zones => zone != doctor.time_zone,
    })
}

pub(crate) async fn slots(
    State(state): State<AppState>,
    session: Session,
    PagePath(doctor): PagePath<Uuid>,
    Query(query): Query<WeekQuery>,
) -> Result<Response, PageError> {
    session.require(Role::Patient)?;
    let doctor = bookable(&state, &session, doctor).await?;
    let today = time::local_date(state.medtrack.clock().now(), session.zone());
    let week = week_of_slots(&state, &session, &doctor, first_day(&query, today)).await?;
    let page = render("patient/slots.html", merge_maps([week, session.layout()]))?;
    Ok(page.into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct StartQuery {
    start: String,
}

/// What the confirmation form shows, and what it keeps when it comes back.
struct Confirmation<'a> {
    doctor: &'a DoctorSummary,
    start: chrono::DateTime<chrono::Utc>,
    reason: &'a str,
    slots: u32,
    errors: FieldErrors,
    problem: Option<&'static str>,
    alternatives: Vec<super::view::SlotView>,
}

fn confirm_page(
    session: &Session,
    form: Confirmation<'_>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let zone = session.zone();
    let doctor_zone = form.doctor.time_zone;
    let page = render(
        "patient/confirm.html",
        context! {
            doctor => doctor_view(form.doctor),
            start => time::rfc3339(form.start),
            when => time::date_time(form.start, zone),
            doctor_when => (doctor_zone != zone).then(|| time::date_time(form.start, doctor_zone)),
            zone => zone.name(),
            reason => form.reason,
            slots => form.slots,
            errors => form.errors,
            problem => form.problem,
            alternatives => form.alternatives,
            ..session.layout()
        },
    )?;
    Ok((status, page).into_response())
}

pub(crate) async fn confirm(
    State(state): State<AppState>,
    session: Session,
    PagePath(doctor): PagePath<Uuid>,
    Query(query): Query<StartQuery>,
) -> Result<Response, PageError> {
    session.require(Role::Patient)?;
    let doctor = bookable(&state, &session, doctor).await?;
    let start =
        time::parse_instant(&query.start).ok_or(PageError::status(StatusCode::NOT_FOUND))?;
    let form = Confirmation {
        doctor: &doctor,
        start,
        reason: "",
        slots: 1,
        errors: FieldErrors::new(),
        problem: None,
        alternatives: Vec::new(),
    };
    confirm_page(&session, form, StatusCode::OK)
}

/// What the booking form sends.
#[derive(Deserialize)]
pub(crate) struct BookForm {
    start: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    slots: Option<String>,
}

/// Why a booking was refused, in words, and whether other times should be offered.
pub(crate) fn refusal_text(refusal: BookingRefusal) -> (&'static str, bool) {
    match refusal {
        BookingRefusal::SlotTaken => (
            "This slot was just taken. Here are the next free ones.",
            true,
        ),
        BookingRefusal::PatientBusy => (
            "You already have an appointment at that time. Here are other free times.",
            true,
        ),
        BookingRefusal::OutsideWorkingHours => (
            "The doctor does not see patients at that time. Here are the next free times.",
            true,
        ),
        BookingRefusal::TooSoon => (
            "That time is too soon to book. Here are the next free ones.",
            true,
        ),
        BookingRefusal::BeyondHorizon => ("That time is too far ahead to book yet.", false),
        BookingRefusal::TooLate => ("It is too late to change this appointment.", false),
        BookingRefusal::DoctorUnavailable => {
            ("This doctor is not taking bookings right now.", false)
        }
        _ => ("This appointment can no longer be changed.", false),
    }
}

/// Free slots of `doctor` from `after` on, at most [`ALTERNATIVES`], leaving out `except`.
pub(crate) async fn next_free(
    state: &AppState,
    session: &Session,
    doctor: DoctorId,
    after: chrono::DateTime<chrono::Utc>,
    except: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<medtrack_core::booking::Slot>, PageError> {
    let now = state.medtrack.clock().now();
    let from = after.max(now);
    let slots = state
        .medtrack
        .free_slots(&session.principal, doctor, from, from + Duration::days(14))
        .await?;
    Ok(slots
        .into_iter()
        .filter(|slot| slot.start != except)
        .take(ALTERNATIVES)
        .collect())
}

pub(crate) async fn book(
    State(state): State<AppState>,
    session: Session,
    PagePath(doctor): PagePath<Uuid>,
    PageForm(form): PageForm<BookForm>,
) -> Result<Response, PageError> {
    session.require(Role::Patient)?;
    let doctor = bookable(&state, &session, doctor).await?;
    let start =
        time::parse_instant(&form.start).ok_or(PageError::status(StatusCode::BAD_REQUEST))?;
    let slots = form
        .slots
        .as_deref()
        .and_then(|raw| raw.parse().ok())
        .unwrap_or(1);
    let request = BookingRequest {
        doctor_id: doctor.id,
        start,
        slots,
        reason: form.reason.clone(),
    };
    let mut confirmation = Confirmation {
        doctor: &doctor,
        start,
        reason: &form.reason,
        slots,
        errors: FieldErrors::new(),
        problem: None,
        alternatives: Vec::new(),
    };
    match state.medtrack.book(&session.principal, request).await {
        Ok(_) => Ok(Redirect::to("/patient?notice=booked").into_response()),
        Err(Error::Invalid(err)) => {
            confirmation.errors = FieldErrors::from([field_error(&err)]);
            confirm_page(&session, confirmation, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(Error::Booking(refusal)) => {
            let (problem, offer) = refusal_text(refusal);
            confirmation.problem = Some(problem);
            if offer {
                let free = next_free(&state, &session, doctor.id, start, start).await?;
                confirmation.alternatives = slot_choices(&free, session.zone(), doctor.time_zone);
            }
            let status = crate::web::error::refusal_class(refusal).status;
            confirm_page(&session, confirmation, status)
        }
        Err(other) => Err(other.into()),
    }
}

pub(crate) async fn cancel(
    State(state): State<AppState>,
    session: Session,
    PagePath(id): PagePath<Uuid>,
) -> Result<Response, PageError> {
    session.require(Role::Patient)?;
    let notice = match state
        .medtrack
        .cancel(&session.principal, AppointmentId::from_uuid(id))
        .await
    {
        Ok(_) => "cancelled",
        Err(Error::Booking(BookingRefusal::TooLate)) => "too_late",
        Err(Error::Booking(_)) => "wrong_status",
        Err(other) => return Err(other.into()),
    };
    Ok(Redirect::to(&format!("/patient?notice={notice}")).into_response())
}

async fn reschedule_page(
    state: &AppState,
    session: &Session,
    id: AppointmentId,
    first: Option<NaiveDate>,
    problem: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let appointment = state.medtrack.appointment(&session.principal, id).await?;
    let doctors = directory(state, &session.principal).await?;
    let doctor = doctors
        .get(&appointment.doctor_id)
        .cloned()
        .ok_or(PageError::status(StatusCode::NOT_FOUND))?;
    let zone = session.zone();
    let now = state.medtrack.clock().now();
    let today = time::local_date(now, zone);
    let first = first.unwrap_or(today).max(today);
    let week = week_of_slots(state, session, &doctor, first).await?;
    let current = appointment_view(&appointment, zone, None, &doctors, now);
    let page = render(
        "patient/reschedule.html",
        context! {
            appointment => current,
            problem => problem,
            ..merge_maps([week, session.layout()])
        },
    )?;
    Ok((status, page).into_response())
}

pub(crate) async fn reschedule_form(
    State(state): State<AppState>,
    session: Session,
    PagePath(id): PagePath<Uuid>,
    Query(query): Query<WeekQuery>,
) -> Result<Response, PageError> {
    session.require(Role::Patient)?;
    let today = time::local_date(state.medtrack.clock().now(), session.zone());
    let first = first_day(&query, today);
    reschedule_page(
        &state,
        &session,
        AppointmentId::from_uuid(id),
        Some(first),
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(crate) struct RescheduleForm {
    start: String,
}

pub(crate) async fn reschedule(
    State(state): State<AppState>,
    session: Session,
    PagePath(id): PagePath<Uuid>,
    PageForm(form): PageForm<RescheduleForm>,
) -> Result<Response, PageError> {
    session.require(Role::Patient)?;
    let id = AppointmentId::from_uuid(id);
    let start =
        time::parse_instant(&form.start).ok_or(PageError::status(StatusCode::BAD_REQUEST))?;
    match state
        .medtrack
        .reschedule(&session.principal, id, start)
        .await
    {
        Ok(_) => Ok(Redirect::to("/patient?notice=rescheduled").into_response()),
        Err(Error::Booking(refusal)) => {
            let (problem, _) = refusal_text(refusal);
            let status = crate::web::error::refusal_class(refusal).status;
            let first = time::local_date(start, session.zone());
            reschedule_page(&state, &session, id, Some(first), Some(problem), status).await
        }
        Err(other) => Err(other.into()),
    }
}

/// What the report form sends.
#[derive(Default, Deserialize, Serialize)]
pub(crate) struct ReportForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    observed_at: String,
}

fn report_page(
    session: &Session,
    values: &ReportForm,
    errors: &FieldErrors,
) -> Result<Response, PageError> {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = render(
        "patient/report.html",
        context! { values => values, errors => errors, zone => session.zone().name(), ..session.layout() },
    )?;
    Ok((status, page).into_response())
}

pub(crate) async fn report_form(session: Session) -> Result<Response, PageError> {
    session.require(Role::Patient)?;
    let values = ReportForm {
        kind: "symptoms".to_owned(),
        ..ReportForm::default()
    };
    report_page(&session, &values, &FieldErrors::new())
}

pub(crate) async fn report(
    State(state): State<AppState>,
    session: Session,
    PageForm(form): PageForm<ReportForm>,
) -> Result<Response, PageError> {
    session.require(Role::Patient)?;
    let invalid = |field: &str, text: &str| {
        let errors = FieldErrors::from([(field.to_owned(), text.to_owned())]);
        report_page(&session, &form, &errors)
    };
    let kind = match parse_kind(&form.kind) {
        Ok(kind) => kind,
        Err(_) => return invalid("kind", "Choose what kind of report this is."),
    };
    let observed_at = match form.observed_at.trim() {
        "" => None,
        raw => match NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M") {
            Ok(local) => Some(time::local_instant(local, session.zone())),
            Err(_) => return invalid("observed_at", "Give a date and time, or leave this empty."),
        },
    };
    let input = ReportInput {
        kind,
        title: form.title.clone(),
        body: form.body.clone(),
        observed_at,
    };
    match state
        .medtrack
        .submit_report(&session.principal, input)
        .await
    {
        Ok(_) => {
            let target = format!(
                "/records/{}?notice=report_saved",
                session.principal.user_id()
            );
            Ok(Redirect::to(&target).into_response())
        }
        Err(Error::Invalid(err)) => {
            report_page(&session, &form, &FieldErrors::from([field_error(&err)]))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct CursorQuery {
    cursor: Option<String>,
}

pub(crate) async fn audit(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<CursorQuery>,
) -> Result<Response, PageError> {
    session.require(Role::Patient)?;
    let page = PageRequest {
        cursor: query.cursor.filter(|cursor| !cursor.is_empty()),
        limit: 50,
    };
    let entries = state
        .medtrack
        .my_audit_trail(&session.principal, page)
        .await?;
    let doctors = directory(&state, &session.principal).await?;
    let zone = session.zone();
    let rows: Vec<_> = entries
        .items
        .iter()
        .map(|entry| audit_view(entry, zone, &session.principal, &doctors))
        .collect();
    let page = render(
        "patient/audit.html",
        context! { entries => rows, next_cursor => entries.next_cursor, zone => zone.name(), ..session.layout() },
    )?;
    Ok(page.into_response())
}

crate::web::redacted_debug!(BookForm, ReportForm);
