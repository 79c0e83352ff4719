//! Appointments, their time claims and the per-doctor and per-patient indexes.

use std::ops::Bound;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use medtrack_core::error::{ConflictKind, Entity, StoreError};
use medtrack_core::id::{AppointmentId, DoctorId, PatientId};
use medtrack_core::model::{claims_diff, Appointment, AppointmentStatus, ClaimOwner, TimeClaim};
use medtrack_core::store::{
    AppointmentQuery, AppointmentStore, AppointmentUpdate, Effects, Page, PageRequest, Party,
    StoreResult,
};
use uuid::Uuid;

use crate::page::{collect, decode, encode, range};
use crate::{MemoryStore, State, TimeIndex};

/// A sort key of the appointment indexes: start, then id.
type Key = (DateTime<Utc>, AppointmentId);

/// A checked change to one appointment, ready to apply.
pub(crate) struct Change {
    appointment: Appointment,
    release: Vec<TimeClaim>,
    take: Vec<TimeClaim>,
}

#[async_trait]
impl AppointmentStore for MemoryStore {
    async fn book(&self, appointment: &Appointment, effects: Effects) -> StoreResult<()> {
        let check = |state: &State| state.check_booking(appointment);
        self.write(effects, check, State::apply_change)
    }

    async fn reschedule(
        &self,
        update: AppointmentUpdate,
        _previous: &Appointment,
        effects: Effects,
    ) -> StoreResult<()> {
        let check = |state: &State| state.check_update(update);
        self.write(effects, check, State::apply_change)
    }

    async fn update_appointment(
        &self,
        update: AppointmentUpdate,
        effects: Effects,
    ) -> StoreResult<()> {
        let check = |state: &State| state.check_update(update);
        self.write(effects, check, State::apply_change)
    }

    async fn appointment(&self, id: AppointmentId) -> StoreResult<Appointment> {
        self.lock().stored_appointment(id).cloned()
    }

    async fn booked_for_doctor(
        &self,
        doctor: DoctorId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<Appointment>> {
        Ok(self.lock().booked_for_doctor(doctor, from, to))
    }

    async fn list_appointments(
        &self,
        query: &AppointmentQuery,
        page: PageRequest,
    ) -> StoreResult<Page<Appointment>> {
        self.lock().list_appointments(query, page)
    }

    async fn has_care_relationship(
        &self,
        doctor: DoctorId,
        patient: PatientId,
    ) -> StoreResult<bool> {
        Ok(self.lock().has_care_relationship(doctor, patient))
    }
}

impl State {
    pub(crate) fn stored_appointment(&self, id: AppointmentId) -> StoreResult<&Appointment> {
        self.appointments
            .get(&id)
            .ok_or_else(|| StoreError::not_found(Entity::Appointment, id))
    }

    fn check_booking(&self, appointment: &Appointment) -> StoreResult<Change> {
        if self.appointments.contains_key(&appointment.id) {
            return Err(StoreError::Conflict(ConflictKind::AlreadyExists));
        }
        let parties = [
            appointment.doctor_id.user_id(),
            appointment.patient_id.user_id(),
        ];
        if let Some(missing) = parties.into_iter().find(|id| !self.users.contains_key(id)) {
            return Err(StoreError::not_found(Entity::User, missing));
        }

        let take = held_claims(appointment);
        self.check_free(&take, appointment.id)?;
        Ok(Change {
            appointment: appointment.clone(),
            release: Vec::new(),
            take,
        })
    }

    /// Checks a change against the stored appointment: it must exist, have the expected
    /// version, and every cell the change takes must be free or already its own.
    pub(crate) fn check_update(&self, update: AppointmentUpdate) -> StoreResult<Change> {
        let stored = self.stored_appointment(update.appointment.id)?;
        if stored.version != update.expected_version {
            return Err(StoreError::Conflict(ConflictKind::StaleVersion));
        }

        let (release, take) = claim_changes(stored, &update.appointment);
        self.check_free(&take, stored.id)?;
        Ok(Change {
            appointment: update.appointment,
            release,
            take,
        })
    }

    /// Fails with the kind of the first collision class found: any doctor cell held by
    /// another appointment wins over a patient cell.
    fn check_free(&self, claims: &[TimeClaim], owner: AppointmentId) -> StoreResult<()> {
        let taken = |claim: &&TimeClaim| self.claims.get(*claim).is_some_and(|id| *id != owner);
        let collisions: Vec<&TimeClaim> = claims.iter().filter(taken).collect();

        let doctor_hit = collisions
            .iter()
            .any(|claim| matches!(claim.owner, ClaimOwner::Doctor(_)));
        match (doctor_hit, collisions.is_empty()) {
            (true, _) => Err(StoreError::Conflict(ConflictKind::DoctorTime)),
            (false, false) => Err(StoreError::Conflict(ConflictKind::PatientTime)),
            (false, true) => Ok(()),
        }
    }

    pub(crate) fn apply_change(&mut self, change: Change) {
        let id = change.appointment.id;
        for claim in change.release {
            if self.claims.get(&claim) == Some(&id) {
                self.claims.remove(&claim);
            }
        }
        for claim in change.take {
            self.claims.insert(claim, id);
        }

        if let Some(old) = self.appointments.remove(&id) {
            self.unindex(&old);
        }
        self.index(&change.appointment);
        self.appointments.insert(id, change.appointment);
    }

    fn index(&mut self, appointment: &Appointment) {
        let key = (appointment.start, appointment.id);
        let by_doctor = self.by_doctor.entry(appointment.doctor_id).or_default();
        by_doctor.insert(key);
        let by_patient = self.by_patient.entry(appointment.patient_id).or_default();
        by_patient.insert(key);
    }

    fn unindex(&mut self, appointment: &Appointment) {
        let key = (appointment.start, appointment.id);
        if let Some(index) = self.by_doctor.get_mut(&appointment.doctor_id) {
            index.remove(&key);
        }
        if let Some(index) = self.by_patient.get_mut(&appointment.patient_id) {
            index.remove(&key);
        }
    }

    fn booked_for_doctor(
        &self,
        doctor: DoctorId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<Appointment> {
        let Some(index) = self.by_doctor.get(&doctor) else {
            return Vec::new();
        };
        let keys = range(
            index,
            Bound::Included(first_key(from)),
            Bound::Excluded(first_key(to)),
        );

        keys.filter_map(|(_, id)| self.appointments.get(id))
            .filter(|appointment| appointment.status == AppointmentStatus::Booked)
            .cloned()
            .collect()
    }

    fn list_appointments(
        &self,
        query: &AppointmentQuery,
        page: PageRequest,
    ) -> StoreResult<Page<Appointment>> {
        let after = page.cursor.as_deref().map(decode).transpose()?;
        let after = after.map(|(start, id)| (start, AppointmentId::from_uuid(id)));
        let (lower, upper) = window(query, after);
        let keys = self
            .party_index(query.party)
            .map(|index| range(index, lower, upper));
        let keys = keys.into_iter().flatten();

        let load = |(start, id): &&Key| self.listed(query, *start, *id);
        let cursor = |(start, id): &&Key| encode(*start, id.as_uuid());
        Ok(if query.ascending {
            collect(keys, page.limit, load, cursor)
        } else {
            collect(keys.rev(), page.limit, load, cursor)
        })
    }

    fn party_index(&self, party: Party) -> Option<&TimeIndex<AppointmentId>> {
        match party {
            Party::Doctor(doctor) => self.by_doctor.get(&doctor),
            Party::Patient(patient) => self.by_patient.get(&patient),
        }
    }

    /// The appointment under an index key, if the query lists it.
    fn listed(
        &self,
        query: &AppointmentQuery,
        start: DateTime<Utc>,
        id: AppointmentId,
    ) -> Option<Appointment> {
        let after_from = query.from.is_none_or(|from| start >= from);
        let before_to = query.to.is_none_or(|to| start < to);
        let appointment = self.appointments.get(&id)?;
        let status_ok = query.status.is_none_or(|s| appointment.status == s);

        (after_from && before_to && status_ok).then(|| appointment.clone())
    }

    fn has_care_relationship(&self, doctor: DoctorId, patient: PatientId) -> bool {
        let Some(index) = self.by_patient.get(&patient) else {
            return false;
        };
        index
            .iter()
            .filter_map(|(_, id)| self.appointments.get(id))
            .any(|appointment| appointment.doctor_id == doctor && appointment.establishes_care())
    }
}

/// The claims an appointment holds in its current status: all of them while booked.
fn held_claims(appointment: &Appointment) -> Vec<TimeClaim> {
    if appointment.status == AppointmentStatus::Booked {
        appointment.time_claims()
    } else {
        Vec::new()
    }
}

/// The claims to release and to take when `old` becomes `new`.
fn claim_changes(old: &Appointment, new: &Appointment) -> (Vec<TimeClaim>, Vec<TimeClaim>) {
    let booked = AppointmentStatus::Booked;
    if old.status == booked && new.status == booked {
        claims_diff(old, new)
    } else {
        (held_claims(old), held_claims(new))
    }
}

/// The smallest key starting at `at`.
fn first_key(at: DateTime<Utc>) -> Key {
    (at, AppointmentId::from_uuid(Uuid::nil()))
}

/// The index bounds of a query's page: its time window, narrowed by the cursor on the side
/// the listing moves towards. Keys outside the window are still filtered out when loaded,
/// so a cursor from another query cannot widen it.
fn window(query: &AppointmentQuery, after: Option<Key>) -> (Bound<Key>, Bound<Key>) {
    let from = query
        .from
        .map_or(Bound::Unbounded, |at| Bound::Included(first_key(at)));
    let to = query
        .to
        .map_or(Bound::Unbounded, |at| Bound::Excluded(first_key(at)));

    match after {
        Some(key) if query.ascending => (Bound::Excluded(key), to),
        Some(key) => (from, Bound::Excluded(key)),
        None => (from, to),
    }
}
