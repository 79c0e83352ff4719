//! Doctors, free slots, booking, cancelling, rescheduling and schedules.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use tracing::instrument;

use super::{AuditSubject, MedTrack};
use crate::booking::{self, Slot, MAX_SLOT_RANGE_DAYS};
use crate::error::{BookingRefusal, Entity, Error, Result, ValidationError, ValidationReason};
use crate::id::{AppointmentId, DoctorId, PatientId};
use crate::model::{
    Appointment, AppointmentStatus, AuditAction, AuditOutcome, DoctorProfile, EventKind, Recipient,
    Role, User,
};
use crate::policy::{Principal, Request};
use crate::schedule::{Schedule, MAX_HORIZON_DAYS};
use crate::store::{AppointmentQuery, AppointmentUpdate, Page, PageRequest, Party, UserFilter};
use crate::text::{ClinicalText, PersonName, Specialty};

/// A patient's request for an appointment.
#[derive(Clone)]
pub struct BookingRequest {
    /// The doctor to see.
    pub doctor_id: DoctorId,
    /// The first instant; must start one of the doctor's slots.
    pub start: DateTime<Utc>,
    /// How many consecutive slots (1 for a normal visit).
    pub slots: u32,
    /// Why the patient comes.
    pub reason: String,
}

impl fmt::Debug for BookingRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BookingRequest")
            .field("doctor_id", &self.doctor_id)
            .field("start", &self.start)
            .field("slots", &self.slots)
            .finish_non_exhaustive()
    }
}

/// Which of one's own appointments to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppointmentFilter {
    /// Only in this status.
    pub status: Option<AppointmentStatus>,
    /// Only those starting at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only those starting before this instant.
    pub to: Option<DateTime<Utc>>,
    /// Earliest first when true; latest first otherwise.
    pub ascending: bool,
}

/// A bookable doctor as patients see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorSummary {
    /// The doctor's id.
    pub id: DoctorId,
    /// The doctor's name.
    pub name: PersonName,
    /// What the doctor practises.
    pub specialty: Specialty,
    /// The zone the doctor's hours are in.
    pub time_zone: Tz,
}

impl MedTrack {
    /// Doctors patients can book (approved and active), ordered by email.
    #[instrument(skip_all, fields(actor = %actor.user_id()), err(level = "debug"))]
    pub async fn doctors(
        &self,
        actor: &Principal,
        page: PageRequest,
    ) -> Result<Page<DoctorSummary>> {
        let filter = UserFilter {
            role: Some(Role::Doctor),
            status: Some(crate::model::AccountStatus::Active),
        };
        let users = self.store.list_users(filter, page).await?;
        Ok(Page {
            items: users.items.iter().filter_map(doctor_summary).collect(),
            next_cursor: users.next_cursor,
        })
    }

    /// A doctor's schedule: anyone signed in may see a bookable doctor's; a doctor always
    /// sees their own.
    #[instrument(skip_all, fields(actor = %actor.user_id(), %doctor_id), err(level = "debug"))]
    pub async fn schedule_of(&self, actor: &Principal, doctor_id: DoctorId) -> Result<Schedule> {
        let user = self.load_user(doctor_id.user_id(), Entity::User).await?;
        let visible = user.is_bookable_doctor() || actor.as_doctor() == Some(doctor_id);
        match (&user.doctor, visible) {
            (Some(profile), true) => Ok(profile.schedule.clone()),
            _ => Err(Error::NotFound(Entity::User)),
        }
    }

    /// Free slots of a doctor whose start lies in `[from, to)`, a range of at most 31 days,
    /// after the doctor's booking rules. Each listed slot is bookable unless someone takes
    /// it first.
    #[instrument(skip_all, fields(actor = %actor.user_id(), %doctor_id), err(level = "debug"))]
    pub async fn free_slots(
        &self,
        actor: &Principal,
        doctor_id: DoctorId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Slot>> {
        check_range(from, to)?;
        let (_, profile) = self.bookable_doctor(doctor_id).await?;
        let margin = Duration::days(1);
        let booked = self
            .store
            .booked_for_doctor(doctor_id, from - margin, to + margin)
            .await?;
        tracing::debug!(actor = %actor.user_id(), booked = booked.len(), "computing free slots");
        Ok(booking::free_slots(
            &profile.schedule,
            &booked,
            self.now(),
            from,
            to,
        ))
    }

    /// Books `request` for the acting patient. The time is claimed atomically: of any number
    /// of concurrent requests for overlapping time, exactly one succeeds and the others get
    /// [`BookingRefusal::SlotTaken`] (the doctor's time) or [`BookingRefusal::PatientBusy`]
    /// (the patient's own other appointment).
    #[instrument(skip_all, fields(actor = %actor.user_id(), doctor_id = %request.doctor_id, start = %request.start), err(level = "debug"))]
    pub async fn book(&self, actor: &Principal, request: BookingRequest) -> Result<Appointment> {
        let patient_id = actor.user_id().as_patient();
        self.authorize(actor, Request::Book(patient_id), Entity::Appointment)?;
        let reason = ClinicalText::parse_field("reason", &request.reason)?;
        let (doctor, profile) = self.bookable_doctor(request.doctor_id).await?;

        let now = self.now();
        let plan = booking::plan_booking(&profile.schedule, request.start, request.slots, now)?;
        let appointment = Appointment {
            id: AppointmentId::new(),
            doctor_id: request.doctor_id,
            patient_id,
            start: plan.start,
            end: plan.end,
            buffer_before_minutes: plan.buffer_before_minutes,
            buffer_after_minutes: plan.buffer_after_minutes,
            reason,
            status: AppointmentStatus::Booked,
            created_at: now,
            updated_at: now,
            cancelled_at: None,
            version: 1,
        };

        let message = format!(
            "An appointment was booked for {}. Sign in to see the details.",
            local_time(appointment.start, profile.schedule.time_zone())
        );
        let event = self.appointment_event(EventKind::AppointmentBooked, &appointment, message);
        let subject = AuditSubject::appointment(&appointment, AuditAction::BookAppointment);
        let effects = self.effects(actor, subject, Some(event));
        self.store.book(&appointment, effects).await?;
        tracing::info!(appointment_id = %appointment.id, doctor_id = %doctor.id, start = %appointment.start, "appointment booked");
        Ok(appointment)
    }

    /// Cancels a booked appointment and frees its time at once. The patient must respect
    /// the doctor's cancellation notice; the doctor may always cancel, and the patient is
    /// told.
    #[instrument(skip_all, fields(actor = %actor.user_id(), %id), err(level = "debug"))]
    pub async fn cancel(&self, actor: &Principal, id: AppointmentId) -> Result<Appointment> {
        let appointment = self.store.appointment(id).await?;
        let subject = AuditSubject::appointment(&appointment, AuditAction::CancelAppointment);
        self.authorize_audited(actor, Request::Cancel(&appointment), subject)
            .await?;
        require_booked(&appointment)?;
        let now = self.now();
        let (_, profile) = self.doctor_profile(appointment.doctor_id).await?;
        if actor.role() == Role::Patient {
            booking::check_change_notice(profile.schedule.rules(), appointment.start, now)?;
        }

        let mut cancelled = appointment.clone();
        cancelled.status = AppointmentStatus::Cancelled;
        cancelled.cancelled_at = Some(now);
        let message = format!(
            "Your appointment of {} was cancelled.",
            local_time(appointment.start, profile.schedule.time_zone())
        );
        let event = self.appointment_event(EventKind::AppointmentCancelled, &cancelled, message);
        let effects = self.effects(actor, subject, Some(event));
        self.store
            .update_appointment(self.next_version(cancelled, appointment.version), effects)
            .await?;
        tracing::info!(appointment_id = %id, doctor_id = %appointment.doctor_id, start = %appointment.start, "appointment cancelled");
        self.store.appointment(id).await.map_err(Error::from)
    }

    /// Moves the acting patient's appointment to `new_start`, keeping its length. Atomic:
    /// the old time is released only if the new time is claimed.
    #[instrument(skip_all, fields(actor = %actor.user_id(), %id, %new_start), err(level = "debug"))]
    pub async fn reschedule(
        &self,
        actor: &Principal,
        id: AppointmentId,
        new_start: DateTime<Utc>,
    ) -> Result<Appointment> {
        let appointment = self.store.appointment(id).await?;
        let subject = AuditSubject::appointment(&appointment, AuditAction::RescheduleAppointment);
        self.authorize_audited(actor, Request::Reschedule(&appointment), subject)
            .await?;
        require_booked(&appointment)?;
        let (_, profile) = self.doctor_profile(appointment.doctor_id).await?;
        let now = self.now();
        booking::check_change_notice(profile.schedule.rules(), appointment.start, now)?;

        let slots = slot_count(&appointment, &profile.schedule)?;
        let plan = booking::plan_booking(&profile.schedule, new_start, slots, now)?;
        let mut moved = appointment.clone();
        moved.start = plan.start;
        moved.end = plan.end;
        moved.buffer_before_minutes = plan.buffer_before_minutes;
        moved.buffer_after_minutes = plan.buffer_after_minutes;

        let message = format!(
            "Your appointment was moved to {}. Sign in to see the details.",
            local_time(moved.start, profile.schedule.time_zone())
        );
        let event = self.appointment_event(EventKind::AppointmentRescheduled, &moved, message);
        let effects = self.effects(actor, subject, Some(event));
        let update = self.next_version(moved, appointment.version);
        let moved = update.appointment.clone();
        self.store.reschedule(update, &appointment, effects).await?;
        tracing::info!(appointment_id = %id, doctor_id = %moved.doctor_id, start = %moved.start, "appointment rescheduled");
        Ok(moved)
    }

    /// Marks a booked appointment whose start has passed as a no-show; only its doctor may.
    #[instrument(skip_all, fields(actor = %actor.user_id(), %id), err(level = "debug"))]
    pub async fn mark_no_show(&self, actor: &Principal, id: AppointmentId) -> Result<Appointment> {
        let appointment = self.store.appointment(id).await?;
        let subject = AuditSubject::appointment(&appointment, AuditAction::MarkNoShow);
        self.authorize_audited(actor, Request::MarkNoShow(&appointment), subject)
            .await?;
        require_booked(&appointment)?;
        if appointment.start > self.now() {
            return Err(BookingRefusal::WrongStatus.into());
        }

        let mut missed = appointment.clone();
        missed.status = AppointmentStatus::NoShow;
        let update = self.next_version(missed, appointment.version);
        let missed = update.appointment.clone();
        let effects = self.effects(actor, subject, None);
        self.store.update_appointment(update, effects).await?;
        tracing::info!(appointment_id = %id, "appointment marked as no-show");
        Ok(missed)
    }

    /// One appointment, for its patient or its doctor. The read is audited.
    #[instrument(skip_all, fields(actor = %actor.user_id(), %id), err(level = "debug"))]
    pub async fn appointment(&self, actor: &Principal, id: AppointmentId) -> Result<Appointment> {
        let appointment = self.store.appointment(id).await?;
        let subject = AuditSubject::appointment(&appointment, AuditAction::ViewAppointment);
        self.authorize_audited(actor, Request::ViewAppointment(&appointment), subject)
            .await?;
        let entry = self.audit_entry(actor, subject, AuditOutcome::Allowed);
        self.store.append_audit(&entry).await?;
        Ok(appointment)
    }

    /// The acting patient's bookings or the acting doctor's schedule, by start. Reading
    /// them is audited once per patient on the page.
    #[instrument(skip_all, fields(actor = %actor.user_id()), err(level = "debug"))]
    pub async fn appointments(
        &self,
        actor: &Principal,
        filter: AppointmentFilter,
        page: PageRequest,
    ) -> Result<Page<Appointment>> {
        self.authorize(actor, Request::ListOwnAppointments, Entity::Appointment)?;
        let party = match actor.as_doctor() {
            Some(doctor) => Party::Doctor(doctor),
            None => Party::Patient(actor.user_id().as_patient()),
        };
        let query = AppointmentQuery {
            party,
            status: filter.status,
            from: filter.from,
            to: filter.to,
            ascending: filter.ascending,
        };
        let listed = self.store.list_appointments(&query, page).await?;
        self.audit_listing(actor, &listed.items).await?;
        Ok(listed)
    }

    async fn audit_listing(&self, actor: &Principal, items: &[Appointment]) -> Result<()> {
        let patients: BTreeSet<_> = items.iter().map(|item| item.patient_id).collect();
        for patient in patients {
            let subject = AuditSubject::record(patient, AuditAction::ListAppointments);
            let entry = self.audit_entry(actor, subject, AuditOutcome::Allowed);
            self.store.append_audit(&entry).await?;
        }
        Ok(())
    }

    /// The names of those among `patients` with whom the acting doctor has a care
    /// relationship, for showing beside the doctor's appointments; others are left out, as
    /// if unknown. Each name read is audited.
    #[instrument(skip_all, fields(actor = %actor.user_id(), patients = patients.len()), err(level = "debug"))]
    pub async fn patient_names(
        &self,
        actor: &Principal,
        patients: &[PatientId],
    ) -> Result<BTreeMap<PatientId, PersonName>> {
        let doctor = actor.as_doctor().ok_or(Error::Forbidden)?;
        let mut names = BTreeMap::new();
        for &patient in patients.iter().collect::<BTreeSet<_>>() {
            if !self.store.has_care_relationship(doctor, patient).await? {
                continue;
            }
            let subject = AuditSubject::record(patient, AuditAction::ViewPatientName);
            let entry = self.audit_entry(actor, subject, AuditOutcome::Allowed);
            self.store.append_audit(&entry).await?;
            let user = self.load_user(patient.user_id(), Entity::User).await?;
            names.insert(patient, user.name);
        }
        Ok(names)
    }

    /// Replaces the acting doctor's schedule. Existing bookings stay valid; the change
    /// applies to new bookings, and [`bookings_outside_hours`](Self::bookings_outside_hours)
    /// lists the ones that no longer fit.
    #[instrument(skip_all, fields(actor = %actor.user_id(), %doctor_id), err(level = "debug"))]
    pub async fn update_schedule(
        &self,
        actor: &Principal,
        doctor_id: DoctorId,
        schedule: Schedule,
    ) -> Result<Schedule> {
        self.authorize(actor, Request::EditSchedule(doctor_id), Entity::User)?;
        let mut user = self.load_user(doctor_id.user_id(), Entity::User).await?;
        let Some(profile) = user.doctor.as_mut() else {
            return Err(Error::NotFound(Entity::User));
        };
        profile.schedule = schedule.clone();

        let expected = user.version;
        user.version += 1;
        user.updated_at = self.now();
        self.store.update_user(&user, expected).await?;
        tracing::info!(%doctor_id, "schedule changed");
        Ok(schedule)
    }

    /// The acting doctor's upcoming bookings that fall outside their current hours, days
    /// off or slot grid, typically after a schedule change.
    #[instrument(skip_all, fields(actor = %actor.user_id()), err(level = "debug"))]
    pub async fn bookings_outside_hours(&self, actor: &Principal) -> Result<Vec<Appointment>> {
        let doctor_id = actor.as_doctor().ok_or(Error::Forbidden)?;
        let (_, profile) = self.doctor_profile(doctor_id).await?;
        let now = self.now();
        let horizon = now + Duration::days(MAX_HORIZON_DAYS.into());
        let booked = self
            .store
            .booked_for_doctor(doctor_id, now, horizon)
            .await?;
        self.audit_listing(actor, &booked).await?;
        Ok(booking::outside_hours(&profile.schedule, &booked)
            .into_iter()
            .cloned()
            .collect())
    }

    async fn bookable_doctor(&self, doctor_id: DoctorId) -> Result<(User, DoctorProfile)> {
        let (user, profile) = self.doctor_profile(doctor_id).await?;
        if !user.is_bookable_doctor() {
            return Err(Error::NotFound(Entity::User));
        }
        Ok((user, profile))
    }

    pub(super) async fn doctor_profile(
        &self,
        doctor_id: DoctorId,
    ) -> Result<(User, DoctorProfile)> {
        let user = self.load_user(doctor_id.user_id(), Entity::User).await?;
        match user.doctor.clone() {
            Some(profile) if user.role == Role::Doctor => Ok((user, profile)),
            _ => Err(Error::NotFound(Entity::User)),
        }
    }

    fn appointment_event(
        &self,
        kind: EventKind,
        appointment: &Appointment,
        message: String,
    ) -> crate::model::OutboxEvent {
        let recipients = vec![
            Recipient {
                user_id: appointment.patient_id.user_id(),
                role: Role::Patient,
            },
            Recipient {
                user_id: appointment.doctor_id.user_id(),
                role: Role::Doctor,
            },
        ];
        self.event(kind, recipients, Some(appointment.id), message)
    }

    pub(super) fn next_version(&self, mut changed: Appointment, version: u64) -> AppointmentUpdate {
        changed.version = version + 1;
        changed.updated_at = self.now();
        AppointmentUpdate {
            appointment: changed,
            expected_version: version,
        }
    }
}

pub(super) fn require_booked(appointment: &Appointment) -> Result<()> {
    if appointment.status == AppointmentStatus::Booked {
        Ok(())
    } else {
        Err(BookingRefusal::WrongStatus.into())
    }
}

fn doctor_summary(user: &User) -> Option<DoctorSummary> {
    let profile = user.doctor.as_ref()?;
    Some(DoctorSummary {
        id: user.id.as_doctor(),
        name: user.name.clone(),
        specialty: profile.specialty.clone(),
        time_zone: profile.schedule.time_zone(),
    })
}

fn check_range(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<()> {
    if to <= from {
        return Err(
            ValidationError::new("to", ValidationReason::OutOfRange("must be after from")).into(),
        );
    }
    if to - from > Duration::days(MAX_SLOT_RANGE_DAYS) {
        return Err(ValidationError::new(
            "to",
            ValidationReason::OutOfRange("must be at most 31 days after from"),
        )
        .into());
    }
    Ok(())
}

/// How many of the doctor's current slots the appointment spans; a reschedule keeps the
/// length, which must still be a whole number of slots.
fn slot_count(appointment: &Appointment, schedule: &Schedule) -> Result<u32> {
    let minutes = (appointment.end - appointment.start).num_minutes();
    let slot = i64::from(schedule.slot_minutes());
    if minutes <= 0 || minutes % slot != 0 {
        return Err(ValidationError::new(
            "start",
            ValidationReason::Malformed("the doctor's slot length changed; book a new appointment"),
        )
        .into());
    }
    u32::try_from(minutes / slot).map_err(|_| Error::Booking(BookingRefusal::OutsideWorkingHours))
}

/// "Mon 7 Dec 2026 09:00 (Europe/Berlin)": the doctor's wall-clock time.
pub(super) fn local_time(instant: DateTime<Utc>, zone: Tz) -> String {
    format!(
        "{} ({})",
        instant.with_timezone(&zone).format("%a %-d %b %Y %H:%M"),
        zone.name()
    )
}
