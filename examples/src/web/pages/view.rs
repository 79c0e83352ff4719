//! What the templates show: appointments, slots and audit entries as text in a zone.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use medtrack_core::booking::Slot;
use medtrack_core::id::{DoctorId, PatientId};
use medtrack_core::model::{
    Appointment, AppointmentStatus, AuditAction, AuditEntry, AuditOutcome, Role,
};
use medtrack_core::store::PageRequest;
use medtrack_core::{DoctorSummary, Principal};
use serde::Serialize;

use crate::web::time;
use crate::web::AppState;

/// Every bookable doctor, by id. A clinic has few enough doctors to read them all.
pub(crate) async fn directory(
    state: &AppState,
    actor: &Principal,
) -> medtrack_core::Result<BTreeMap<DoctorId, DoctorSummary>> {
    let mut doctors = BTreeMap::new();
    let mut page = PageRequest::first(200);
    for _ in 0..25 {
        let listed = state.medtrack.doctors(actor, page.clone()).await?;
        doctors.extend(listed.items.into_iter().map(|doctor| (doctor.id, doctor)));
        match listed.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }
    Ok(doctors)
}

/// An appointment as a card shows it.
#[derive(Serialize)]
pub(crate) struct AppointmentView {
    pub(crate) id: String,
    pub(crate) patient_id: String,
    pub(crate) patient_ref: String,
    pub(crate) day: String,
    pub(crate) time: String,
    pub(crate) when: String,
    pub(crate) other_zone: Option<String>,
    pub(crate) doctor: String,
    pub(crate) specialty: String,
    pub(crate) reason: String,
    pub(crate) status: &'static str,
    pub(crate) status_label: &'static str,
    pub(crate) started: bool,
}

/// A status in plain words.
pub(crate) fn status_label(status: AppointmentStatus) -> &'static str {
    match status {
        AppointmentStatus::Booked => "Booked",
        AppointmentStatus::Completed => "Completed",
        AppointmentStatus::Cancelled => "Cancelled",
        AppointmentStatus::NoShow => "Missed",
    }
}

/// A short reference to a patient, for screens that may not show their name.
pub(crate) fn patient_ref(appointment: &Appointment) -> String {
    let id = appointment.patient_id.to_string();
    format!("Patient {}", &id[..8])
}

/// Puts the patients' names on a doctor's appointment cards, in place of the short
/// references, for every patient the doctor has a care relationship with (one audited look-up
/// per patient, however many lists the patient appears in).
pub(crate) async fn name_patients(
    state: &AppState,
    doctor: &Principal,
    lists: &mut [&mut Vec<AppointmentView>],
) -> medtrack_core::Result<()> {
    let patient_of = |view: &AppointmentView| view.patient_id.parse::<PatientId>().ok();
    let patients: Vec<PatientId> = lists
        .iter()
        .flat_map(|list| list.iter())
        .filter_map(patient_of)
        .collect();
    let names = state.medtrack.patient_names(doctor, &patients).await?;

    for view in lists.iter_mut().flat_map(|list| list.iter_mut()) {
        if let Some(name) = patient_of(view).and_then(|patient| names.get(&patient)) {
            view.patient_ref = name.as_ref().to_owned();
        }
    }
    Ok(())
}

/// Shows `appointment` in `zone`; `other` is the other party's zone, shown beside the time
/// when it differs.
pub(crate) fn appointment_view(
    appointment: &Appointment,
    zone: Tz,
    other: Option<Tz>,
    doctors: &BTreeMap<DoctorId, DoctorSummary>,
    now: DateTime<Utc>,
) -> AppointmentView {
    let doctor = doctors.get(&appointment.doctor_id);
    let other_zone = other
        .or(doctor.map(|doctor| doctor.time_zone))
        .filter(|other| *other != zone)
        .map(|other| format!("{} {}", time::clock(appointment.start, other), other.name()));
    AppointmentView {
        id: appointment.id.to_string(),
        patient_id: appointment.patient_id.to_string(),
        patient_ref: patient_ref(appointment),
        day: time::day_heading(time::local_date(appointment.start, zone)),
        time: format!(
            "{}–{}",
            time::clock(appointment.start, zone),
            time::clock(appointment.end, zone)
        ),
        when: time::date_time(appointment.start, zone),
        other_zone,
        doctor: doctor.map_or_else(
            || "A doctor no longer listed".to_owned(),
            |doctor| doctor.name.as_ref().to_owned(),
        ),
        specialty: doctor
            .map(|doctor| doctor.specialty.as_str().to_owned())
            .unwrap_or_default(),
        reason: appointment.reason.as_ref().to_owned(),
        status: appointment.status.as_str(),
        status_label: status_label(appointment.status),
        started: appointment.start <= now,
    }
}

/// One free slot as a button shows it.
#[derive(Debug, Serialize)]
pub(crate) struct SlotView {
    pub(crate) start: String,
    pub(crate) time: String,
    pub(crate) doctor_time: Option<String>,
}

/// One day of free slots.
#[derive(Debug, Serialize)]
pub(crate) struct DayView {
    pub(crate) heading: String,
    pub(crate) slots: Vec<SlotView>,
}

fn slot_view(slot: &Slot, zone: Tz, doctor_zone: Tz) -> SlotView {
    SlotView {
        start: time::rfc3339(slot.start),
        time: time::clock(slot.start, zone),
        doctor_time: (doctor_zone != zone).then(|| time::clock(slot.start, doctor_zone)),
    }
}

/// Slots grouped by their day in `zone`, one entry for each of the `days` days from `first`.
pub(crate) fn days_of_slots(
    slots: &[Slot],
    first: NaiveDate,
    days: i64,
    zone: Tz,
    doctor_zone: Tz,
) -> Vec<DayView> {
    (0..days)
        .map(|offset| {
            let date = first + Duration::days(offset);
            DayView {
                heading: time::day_heading(date),
                slots: slots
                    .iter()
                    .filter(|slot| time::local_date(slot.start, zone) == date)
                    .map(|slot| slot_view(slot, zone, doctor_zone))
                    .collect(),
            }
        })
        .collect()
}

/// A few slots as buttons, for "here are the next free ones".
pub(crate) fn slot_choices(slots: &[Slot], zone: Tz, doctor_zone: Tz) -> Vec<SlotView> {
    slots
        .iter()
        .map(|slot| SlotView {
            time: time::date_time(slot.start, zone),
            ..slot_view(slot, zone, doctor_zone)
        })
        .collect()
}

/// An audit entry in plain words.
#[derive(Debug, Serialize)]
pub(crate) struct AuditView {
    pub(crate) when: String,
    pub(crate) who: String,
    pub(crate) what: &'static str,
    pub(crate) allowed: bool,
    pub(crate) patient_ref: String,
}

/// What an audited action was, in plain words.
pub(crate) fn action_label(action: AuditAction) -> &'static str {
    match action {
        AuditAction::ReadRecord => "Opened the medical record",
        AuditAction::WriteDiagnosis => "Wrote a diagnosis",
        AuditAction::WriteReport => "Added a health report",
        AuditAction::BookAppointment => "Booked an appointment",
        AuditAction::CancelAppointment => "Cancelled an appointment",
        AuditAction::RescheduleAppointment => "Moved an appointment",
        AuditAction::MarkNoShow => "Marked an appointment as missed",
        AuditAction::ListAppointments => "Looked at appointments",
        AuditAction::ViewAppointment => "Looked at an appointment",
        AuditAction::ViewPatientName => "Looked up your name for their schedule",
    }
}

/// Shows `entry` in `zone`, naming the actor as well as `me` (the viewer) and the directory
/// of doctors allow.
pub(crate) fn audit_view(
    entry: &AuditEntry,
    zone: Tz,
    me: &Principal,
    doctors: &BTreeMap<DoctorId, DoctorSummary>,
) -> AuditView {
    let who = if entry.actor_id == me.user_id() {
        "You".to_owned()
    } else {
        match entry.actor_role {
            Role::Doctor => doctors.get(&entry.actor_id.as_doctor()).map_or_else(
                || "A doctor".to_owned(),
                |doctor| doctor.name.as_ref().to_owned(),
            ),
            Role::Admin => "A clinic administrator".to_owned(),
            Role::Patient => "Another patient".to_owned(),
        }
    };
    let patient = entry.patient_id.to_string();
    AuditView {
        when: time::date_time(entry.at, zone),
        who,
        what: action_label(entry.action),
        allowed: entry.outcome == AuditOutcome::Allowed,
        patient_ref: format!("Patient {}", &patient[..8]),
    }
}

crate::web::redacted_debug!(AppointmentView);
