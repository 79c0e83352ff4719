//! The doctor's pages: today's and upcoming appointments, patients seen, the diagnosis form
//! and working hours.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, NaiveDate};
use medtrack_core::id::{AppointmentId, PatientId};
use medtrack_core::model::{AccountStatus, AppointmentStatus, Role};
use medtrack_core::store::PageRequest;
use medtrack_core::{AppointmentFilter, DiagnosisInput, Error, PrescriptionInput};
use minijinja::context;
use serde::Serialize;
use uuid::Uuid;

use super::account::NoticeQuery;
use super::view::{appointment_view, directory, name_patients};
use super::{field_error, notice, render, FieldErrors, PageError, PageForm, PagePath, Session};
use crate::web::api::dto::ScheduleBody;
use crate::web::time;
use crate::web::AppState;

/// How many prescription rows the diagnosis form offers.
const PRESCRIPTION_ROWS: usize = 3;
const WEEKDAYS: [(&str, &str); 7] = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

pub(crate) async fn dashboard(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    session.require(Role::Doctor)?;
    let actor = &session.principal;
    let zone = session.zone();
    let now = state.medtrack.clock().now();
    let today = time::local_date(now, zone);
    let doctors = directory(&state, actor).await?;

    let coming = AppointmentFilter {
        from: Some(time::start_of_day(today, zone)),
        to: Some(time::start_of_day(today + Duration::days(15), zone)),
        ascending: true,
        ..AppointmentFilter::default()
    };
    let coming = state
        .medtrack
        .appointments(actor, coming, PageRequest::first(200))
        .await?;
    let waiting = AppointmentFilter {
        status: Some(AppointmentStatus::Booked),
        from: Some(now - Duration::days(30)),
        to: Some(time::start_of_day(today, zone)),
        ascending: true,
    };
    let waiting = state
        .medtrack
        .appointments(actor, waiting, PageRequest::first(50))
        .await?;

    let view = |appointment| appointment_view(appointment, zone, None, &doctors, now);
    let tomorrow = time::start_of_day(today + Duration::days(1), zone);
    let mut today_list: Vec<_> = coming
        .items
        .iter()
        .filter(|appointment| appointment.start < tomorrow)
        .map(view)
        .collect();
    let mut upcoming: Vec<_> = coming
        .items
        .iter()
        .filter(|appointment| appointment.start >= tomorrow)
        .filter(|appointment| appointment.status == AppointmentStatus::Booked)
        .map(view)
        .collect();
    let mut waiting: Vec<_> = waiting.items.iter().map(view).collect();
    name_patients(
        &state,
        actor,
        &mut [&mut today_list, &mut upcoming, &mut waiting],
    )
    .await?;

    let page = render(
        "doctor/dashboard.html",
        context! {
            today_heading => time::day_heading(today),
            today => today_list,
            upcoming => upcoming,
            waiting => waiting,
            zone => zone.name(),
            pending => session.profile.status == AccountStatus::PendingApproval,
            specialty => session.profile.specialty.as_ref().map(|specialty| specialty.as_str()),
            notice => notice(query.notice.as_deref()),
            ..session.layout()
        },
    )?;
    Ok(page.into_response())
}

#[derive(Serialize)]
struct PatientRow {
    id: String,
    reference: String,
    visits: usize,
    last: Option<String>,
    next: Option<String>,
}

/// The patients on the doctor's appointments, by name, each linking to their record.
pub(crate) async fn patients(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, PageError> {
    session.require(Role::Doctor)?;
    let zone = session.zone();
    let now = state.medtrack.clock().now();
    let mut seen: BTreeMap<PatientId, PatientRow> = BTreeMap::new();
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
        for appointment in &listed.items {
            let row = seen
                .entry(appointment.patient_id)
                .or_insert_with(|| PatientRow {
                    id: appointment.patient_id.to_string(),
                    reference: super::view::patient_ref(appointment),
                    visits: 0,
                    last: None,
                    next: None,
                });
            if !appointment.establishes_care() {
                continue;
            }
            row.visits += 1;
            let when = time::date_time(appointment.start, zone);
            if appointment.start <= now {
                row.last.get_or_insert(when);
            } else {
                row.next = Some(when);
            }
        }
        match listed.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }
    seen.retain(|_, row| row.visits > 0);
    let patients: Vec<PatientId> = seen.keys().copied().collect();
    let names = state
        .medtrack
        .patient_names(&session.principal, &patients)
        .await?;
    for (patient, row) in &mut seen {
        if let Some(name) = names.get(patient) {
            row.reference = name.as_ref().to_owned();
        }
    }
    let rows: Vec<_> = seen.into_values().collect();
    let page = render(
        "doctor/patients.html",
        context! { patients => rows, ..session.layout() },
    )?;
    Ok(page.into_response())
}

/// What the diagnosis form holds.
#[derive(Default, Serialize)]
struct DiagnosisValues {
    diagnosis: String,
    code: String,
    treatment_plan: String,
    prescriptions: Vec<[String; 4]>,
}

async fn appointment_page(
    state: &AppState,
    session: &Session,
    id: AppointmentId,
    values: &DiagnosisValues,
    errors: &FieldErrors,
    notice_code: Option<&str>,
) -> Result<Response, PageError> {
    let appointment = state.medtrack.appointment(&session.principal, id).await?;
    let doctors = directory(state, &session.principal).await?;
    let now = state.medtrack.clock().now();
    let mut views = vec![appointment_view(
        &appointment,
        session.zone(),
        None,
        &doctors,
        now,
    )];
    name_patients(state, &session.principal, &mut [&mut views]).await?;
    let view = views.remove(0);
    let started = appointment.start <= now;
    let booked = appointment.status == AppointmentStatus::Booked;
    let completed = appointment.status == AppointmentStatus::Completed;
    let mut values_shown = context! { ..minijinja::Value::from_serialize(values) };
    if values.prescriptions.is_empty() {
        values_shown = context! {
            prescriptions => vec![["", "", "", ""]; PRESCRIPTION_ROWS],
            ..values_shown
        };
    }
    let page = render(
        "doctor/appointment.html",
        context! {
            appointment => view,
            can_diagnose => (booked && started) || completed,
            amending => completed,
            can_mark_missed => booked && started,
            can_cancel => booked,
            values => values_shown,
            errors => errors,
            notice => notice(notice_code),
            ..session.layout()
        },
    )?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, page).into_response())
}

pub(crate) async fn appointment(
    State(state): State<AppState>,
    session: Session,
    PagePath(id): PagePath<Uuid>,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    session.require(Role::Doctor)?;
    let id = AppointmentId::from_uuid(id);
    let values = DiagnosisValues::default();
    appointment_page(
        &state,
        &session,
        id,
        &values,
        &FieldErrors::new(),
        query.notice.as_deref(),
    )
    .await
}

/// Reads the diagnosis form. Prescription rows left wholly empty are skipped; the second
/// value maps each submitted prescription back to its row, for error messages.
fn read_diagnosis(fields: &[(String, String)]) -> (DiagnosisValues, Vec<usize>) {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    let prescriptions: Vec<[String; 4]> = (0..PRESCRIPTION_ROWS)
        .map(|row| {
            ["drug", "dose", "frequency", "duration"].map(|part| get(&format!("{part}_{row}")))
        })
        .collect();
    let rows = prescriptions
        .iter()
        .enumerate()
        .filter(|(_, row)| row.iter().any(|part| !part.trim().is_empty()))
        .map(|(index, _)| index)
        .collect();
    let values = DiagnosisValues {
        diagnosis: get("diagnosis"),
        code: get("code"),
        treatment_plan: get("treatment_plan"),
        prescriptions,
    };
    (values, rows)
}

/// `prescriptions[1].dose` becomes `dose_<row>`, the form's own field name.
fn form_field(field: &str, rows: &[usize]) -> String {
    let Some(rest) = field.strip_prefix("prescriptions[") else {
        return field.to_owned();
    };
    let Some((index, part)) = rest.split_once("].") else {
        return field.to_owned();
    };
    match index
        .parse::<usize>()
        .ok()
        .and_then(|index| rows.get(index))
    {
        Some(row) => format!("{part}_{row}"),
        None => field.to_owned(),
    }
}

pub(crate) async fn diagnosis(
    State(state): State<AppState>,
    session: Session,
    PagePath(id): PagePath<Uuid>,
    PageForm(fields): PageForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    session.require(Role::Doctor)?;
    let id = AppointmentId::from_uuid(id);
    let (values, rows) = read_diagnosis(&fields);
    let input = DiagnosisInput {
        diagnosis: values.diagnosis.clone(),
        code: Some(values.code.clone()),
        treatment_plan: values.treatment_plan.clone(),
        prescriptions: rows
            .iter()
            .map(|&row| {
                let [drug, dose, frequency, duration] = values.prescriptions[row].clone();
                PrescriptionInput {
                    drug,
                    dose,
                    frequency,
                    duration,
                }
            })
            .collect(),
    };
    match state
        .medtrack
        .submit_diagnosis(&session.principal, id, input)
        .await
    {
        Ok(_) => {
            let target = format!("/doctor/appointments/{id}?notice=diagnosis_saved");
            Ok(Redirect::to(&target).into_response())
        }
        Err(Error::Invalid(err)) => {
            let (field, text) = field_error(&err);
            let errors = FieldErrors::from([(form_field(&field, &rows), text)]);
            appointment_page(&state, &session, id, &values, &errors, None).await
        }
        Err(Error::Booking(_)) => {
            let target = format!("/doctor/appointments/{id}?notice=wrong_status");
            Ok(Redirect::to(&target).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

pub(crate) async fn no_show(
    State(state): State<AppState>,
    session: Session,
    PagePath(id): PagePath<Uuid>,
) -> Result<Response, PageError> {
    session.require(Role::Doctor)?;
    let id = AppointmentId::from_uuid(id);
    let notice = match state.medtrack.mark_no_show(&session.principal, id).await {
        Ok(_) => "no_show",
        Err(Error::Booking(_)) => "wrong_status",
        Err(other) => return Err(other.into()),
    };
    Ok(Redirect::to(&format!("/doctor/appointments/{id}?notice={notice}")).into_response())
}

pub(crate) async fn cancel(
    State(state): State<AppState>,
    session: Session,
    PagePath(id): PagePath<Uuid>,
) -> Result<Response, PageError> {
    session.require(Role::Doctor)?;
    let id = AppointmentId::from_uuid(id);
    let notice = match state.medtrack.cancel(&session.principal, id).await {
        Ok(_) => "cancelled",
        Err(Error::Booking(_)) => "wrong_status",
        Err(other) => return Err(other.into()),
    };
    Ok(Redirect::to(&format!("/doctor/appointments/{id}?notice={notice}")).into_response())
}

/// What the working-hours form holds, as text.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
pub(crate) struct ScheduleForm {
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    slot_minutes: String,
    #[serde(default)]
    mon: String,
    #[serde(default)]
    tue: String,
    #[serde(default)]
    wed: String,
    #[serde(default)]
    thu: String,
    #[serde(default)]
    fri: String,
    #[serde(default)]
    sat: String,
    #[serde(default)]
    sun: String,
    #[serde(default)]
    days_off: String,
    #[serde(default)]
    buffer_before_minutes: String,
    #[serde(default)]
    buffer_after_minutes: String,
    #[serde(default)]
    min_notice_hours: String,
    #[serde(default)]
    horizon_days: String,
    #[serde(default)]
    cancel_notice_hours: String,
}

impl ScheduleForm {
    fn day(&self, key: &str) -> &str {
        match key {
            "mon" => &self.mon,
            "tue" => &self.tue,
            "wed" => &self.wed,
            "thu" => &self.thu,
            "fri" => &self.fri,
            "sat" => &self.sat,
            _ => &self.sun,
        }
    }

    fn from_body(body: &ScheduleBody) -> Self {
        let day = |key: &str| {
            body.weekly
                .get(key)
                .map(|intervals| {
                    intervals
                        .iter()
                        .map(|[start, end]| format!("{start}-{end}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
        };
        Self {
            time_zone: body.time_zone.clone(),
            slot_minutes: body.slot_minutes.to_string(),
            mon: day("mon"),
            tue: day("tue"),
            wed: day("wed"),
            thu: day("thu"),
            fri: day("fri"),
            sat: day("sat"),
            sun: day("sun"),
            days_off: body
                .days_off
                .iter()
                .map(NaiveDate::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
            buffer_before_minutes: body.buffer_before_minutes.to_string(),
            buffer_after_minutes: body.buffer_after_minutes.to_string(),
            min_notice_hours: body.min_notice_hours.to_string(),
            horizon_days: body.horizon_days.to_string(),
            cancel_notice_hours: body.cancel_notice_hours.to_string(),
        }
    }

    /// The schedule the form describes, or the first field that does not read.
    fn to_body(&self) -> Result<ScheduleBody, (String, String)> {
        let number = |field: &str, raw: &str| {
            raw.trim()
                .parse::<u32>()
                .map_err(|_| (field.to_owned(), "Give a whole number.".to_owned()))
        };
        let mut weekly = BTreeMap::new();
        for (key, _) in WEEKDAYS {
            let mut intervals = Vec::new();
            for part in self
                .day(key)
                .split(',')
                .map(str::trim)
                .filter(|part| !part.is_empty())
            {
                let Some((start, end)) = part.split_once('-') else {
                    return Err((
                        key.to_owned(),
                        "Write hours like 09:00-12:00, 13:00-17:00.".to_owned(),
                    ));
                };
                intervals.push([start.trim().to_owned(), end.trim().to_owned()]);
            }
            if !intervals.is_empty() {
                weekly.insert(key.to_owned(), intervals);
            }
        }
        let mut days_off = std::collections::BTreeSet::new();
        for line in self
            .days_off
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
        {
            let date = NaiveDate::parse_from_str(line, "%Y-%m-%d").map_err(|_| {
                (
                    "days_off".to_owned(),
                    "Write one date per line, like 2026-12-24.".to_owned(),
                )
            })?;
            days_off.insert(date);
        }
        Ok(ScheduleBody {
            time_zone: self.time_zone.trim().to_owned(),
            slot_minutes: number("slot_minutes", &self.slot_minutes)?,
            weekly,
            days_off,
            buffer_before_minutes: number("buffer_before_minutes", &self.buffer_before_minutes)?,
            buffer_after_minutes: number("buffer_after_minutes", &self.buffer_after_minutes)?,
            min_notice_hours: number("min_notice_hours", &self.min_notice_hours)?,
            horizon_days: number("horizon_days", &self.horizon_days)?,
            cancel_notice_hours: number("cancel_notice_hours", &self.cancel_notice_hours)?,
        })
    }
}

async fn schedule_page(
    state: &AppState,
    session: &Session,
    values: &ScheduleForm,
    errors: &FieldErrors,
    notice_code: Option<&str>,
) -> Result<Response, PageError> {
    let outside = state
        .medtrack
        .bookings_outside_hours(&session.principal)
        .await?;
    let doctors = directory(state, &session.principal).await?;
    let now = state.medtrack.clock().now();
    let mut outside: Vec<_> = outside
        .iter()
        .map(|appointment| appointment_view(appointment, session.zone(), None, &doctors, now))
        .collect();
    name_patients(state, &session.principal, &mut [&mut outside]).await?;
    let days: Vec<_> = WEEKDAYS
        .iter()
        .map(|(key, label)| context! { key => key, label => label, value => values.day(key) })
        .collect();
    let page = render(
        "doctor/schedule.html",
        context! {
            values => values,
            days => days,
            errors => errors,
            outside => outside,
            notice => notice(notice_code),
            ..session.layout()
        },
    )?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, page).into_response())
}

pub(crate) async fn schedule_form(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    session.require(Role::Doctor)?;
    let doctor = session.principal.user_id().as_doctor();
    let schedule = state
        .medtrack
        .schedule_of(&session.principal, doctor)
        .await?;
    let values = ScheduleForm::from_body(&ScheduleBody::from(&schedule));
    schedule_page(
        &state,
        &session,
        &values,
        &FieldErrors::new(),
        query.notice.as_deref(),
    )
    .await
}

pub(crate) async fn schedule(
    State(state): State<AppState>,
    session: Session,
    PageForm(form): PageForm<ScheduleForm>,
) -> Result<Response, PageError> {
    session.require(Role::Doctor)?;
    let doctor = session.principal.user_id().as_doctor();
    let schedule = form
        .to_body()
        .and_then(|body| body.to_schedule().map_err(|err| field_error(&err)));
    let schedule = match schedule {
        Ok(schedule) => schedule,
        Err(error) => {
            return schedule_page(&state, &session, &form, &FieldErrors::from([error]), None).await
        }
    };
    match state
        .medtrack
        .update_schedule(&session.principal, doctor, schedule)
        .await
    {
        Ok(_) => Ok(Redirect::to("/doctor/schedule?notice=schedule_saved").into_response()),
        Err(Error::Invalid(err)) => {
            let errors = FieldErrors::from([field_error(&err)]);
            schedule_page(&state, &session, &form, &errors, None).await
        }
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prescription_errors_point_at_the_row_the_doctor_filled() {
        assert_eq!(form_field("prescriptions[1].dose", &[0, 2]), "dose_2");
        assert_eq!(form_field("diagnosis", &[0]), "diagnosis");
        assert_eq!(
            form_field("prescriptions[5].dose", &[0]),
            "prescriptions[5].dose"
        );
    }

    #[test]
    fn the_schedule_form_reads_hours_and_days_off() {
        let form = ScheduleForm {
            time_zone: "Europe/Berlin".into(),
            slot_minutes: "30".into(),
            mon: "09:00-12:00, 13:00-17:00".into(),
            days_off: "2026-12-24\n\n2026-12-31".into(),
            buffer_before_minutes: "0".into(),
            buffer_after_minutes: "5".into(),
            min_notice_hours: "2".into(),
            horizon_days: "60".into(),
            cancel_notice_hours: "24".into(),
            ..ScheduleForm::default()
        };
        let schedule = form.to_body().unwrap().to_schedule().unwrap();
        assert_eq!(schedule.days_off().len(), 2);
        assert_eq!(schedule.weekly().day(chrono::Weekday::Mon).len(), 2);
        let broken = ScheduleForm {
            tue: "nine to five".into(),
            ..form
        };
        assert_eq!(broken.to_body().unwrap_err().0, "tue");
    }
}

crate::web::redacted_debug!(PatientRow, DiagnosisValues);
