//! Booking, cancelling and rescheduling, the way patients do it, plus the races for one
//! popular slot and the requests the booking rules must refuse.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use fake::rand::seq::IndexedRandom;
use fake::rand::Rng;
use medtrack_core::booking::Slot;
use medtrack_core::model::{Appointment, AppointmentStatus};
use medtrack_core::{AppointmentFilter, BookingRefusal, BookingRequest, Error, Principal, Result};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use super::{count, slot_starts, Week};
use crate::catalog::{self, GENERAL_PRACTICE, PAEDIATRICS};
use crate::summary::Scenario;

/// Listings of the most popular doctors as loaded at the start of a tick; some patients
/// book from these although others have booked since.
type Snapshot = BTreeMap<usize, Vec<Slot>>;

impl Week<'_> {
    /// The tick's ordinary bookings: more early in the week, fewer as it fills up.
    pub(super) async fn bookings(&mut self, tick: i64) -> Result<()> {
        let total = self.cast.regular.len() * 18 / 10;
        let weight = (super::TICKS - tick) as usize;
        let weights_sum = (super::TICKS * (super::TICKS + 1) / 2) as usize;
        let count = total * weight / weights_sum;

        let snapshot = self.snapshot().await?;
        for _ in 0..count {
            let patient = *self
                .cast
                .regular
                .choose(&mut self.rng)
                .expect("regular patients");
            self.regular_booking(patient, &snapshot).await?;
        }
        Ok(())
    }

    async fn snapshot(&mut self) -> Result<Snapshot> {
        let admin = self.admin().await?;
        let mut snapshot = Snapshot::new();
        for doctor in self.cast.by_popularity.iter().take(5).copied() {
            let free = self.free_slots_for(&admin, doctor).await?;
            snapshot.insert(doctor, free);
        }
        Ok(snapshot)
    }

    /// A patient picks a doctor and a slot; if that doctor has nothing free they try up
    /// to three more, the last two being whoever has time.
    async fn regular_booking(&mut self, patient: usize, snapshot: &Snapshot) -> Result<()> {
        let (scenario, slots) = if self.rng.random_bool(0.07) {
            (Scenario::LongVisit, 2)
        } else {
            (Scenario::Regular, 1)
        };
        let mut tried = Vec::new();
        for attempt in 0..4 {
            let Some(doctor) = self.choose_doctor(patient, &tried, attempt >= 2) else {
                break;
            };
            tried.push(doctor);
            if let Some(listing) = snapshot.get(&doctor) {
                if self.rng.random_bool(0.15) && !listing.is_empty() {
                    return self.book_from_stale(patient, doctor, listing).await;
                }
            }
            let actor = self.patient(patient).await?;
            let free = self.free_slots_for(&actor, doctor).await?;
            if let Some(slot) = pick_slot(&free, &mut self.rng) {
                self.book(scenario, patient, doctor, slot.start, slots)
                    .await?;
                return Ok(());
            }
        }
        self.summary.gave_up += 1;
        Ok(())
    }

    /// Books from an old listing; after a refusal the patient reloads and tries once more.
    async fn book_from_stale(
        &mut self,
        patient: usize,
        doctor: usize,
        listing: &[Slot],
    ) -> Result<()> {
        let slot = pick_slot(listing, &mut self.rng).expect("the listing is not empty");
        if self
            .book(Scenario::StaleListing, patient, doctor, slot.start, 1)
            .await?
            .is_some()
        {
            return Ok(());
        }

        let actor = self.patient(patient).await?;
        let free = self.free_slots_for(&actor, doctor).await?;
        if let Some(slot) = pick_slot(&free, &mut self.rng) {
            self.book(Scenario::AfterRefresh, patient, doctor, slot.start, 1)
                .await?;
        }
        Ok(())
    }

    /// Children see paediatricians (or a GP), adults anyone else. Popular doctors and
    /// specialties in demand are chosen more often, unless the patient will now take
    /// `anyone` with time; doctors in `tried` (found full) are not chosen again. `None`
    /// when no fitting doctor is left.
    fn choose_doctor(&mut self, patient: usize, tried: &[usize], anyone: bool) -> Option<usize> {
        let born = self.clinic.patients[patient].birth_date;
        let child = (self.clinic.seed.week_of - born).num_days() < 16 * 365;
        let weights: Vec<f64> = self
            .cast
            .bookable
            .iter()
            .map(|&doctor| {
                let specialty = self.clinic.doctors[doctor].specialty;
                let fit = match (specialty, child) {
                    (PAEDIATRICS, true) => 4.0,
                    (GENERAL_PRACTICE, true) => 1.0,
                    (PAEDIATRICS, false) | (_, true) => 0.0,
                    (_, false) => catalog::demand(specialty),
                };
                match (fit > 0.0 && !tried.contains(&doctor), anyone) {
                    (false, _) => 0.0,
                    (true, true) => 1.0,
                    (true, false) => self.cast.popularity[doctor] * fit,
                }
            })
            .collect();
        let total: f64 = weights.iter().sum();
        if total <= 0.0 {
            return None;
        }
        let mut target = self.rng.random_range(0.0..total);
        for (position, weight) in weights.iter().enumerate() {
            if target < *weight {
                return Some(self.cast.bookable[position]);
            }
            target -= weight;
        }
        weights
            .iter()
            .rposition(|weight| *weight > 0.0)
            .map(|position| self.cast.bookable[position])
    }

    /// What the booking page shows: the doctor's free slots over the next seven days.
    async fn free_slots_for(&self, actor: &Principal, doctor: usize) -> Result<Vec<Slot>> {
        let now = self.now();
        let id = self.clinic.doctors[doctor].id;
        self.medtrack
            .free_slots(actor, id, now, now + Duration::days(7))
            .await
    }

    /// One booking request by `patient`, counted under `scenario`.
    async fn book(
        &mut self,
        scenario: Scenario,
        patient: usize,
        doctor: usize,
        start: DateTime<Utc>,
        slots: u32,
    ) -> Result<Option<Appointment>> {
        let actor = self.patient(patient).await?;
        let seeded = &self.clinic.doctors[doctor];
        let request = BookingRequest {
            doctor_id: seeded.id,
            start,
            slots,
            reason: catalog::reason(seeded.specialty, &mut self.rng),
        };
        let outcome = self.medtrack.book(&actor, request).await;
        let booked = count(self.summary.bookings.entry(scenario).or_default(), outcome)?;
        if booked.is_some() && patient < self.cast.regular.len() {
            self.holders.insert(patient);
        }
        Ok(booked)
    }

    /// The first ticks each open a few races: several patients ask for the same slot of a
    /// popular doctor at the same moment, from concurrent tasks.
    pub(super) async fn races(&mut self, tick: i64) -> Result<()> {
        let per_tick = self.cast.races().div_ceil(3);
        let first = tick as usize * per_tick;
        for race in first..(first + per_tick).min(self.cast.races()) {
            self.race(race).await?;
        }
        Ok(())
    }

    async fn race(&mut self, race: usize) -> Result<()> {
        let popular = self.cast.by_popularity.len().min(5);
        let doctor = self.cast.by_popularity[race % popular];
        let size = self.cast.racers_per_race;
        let racers = self.cast.racers[race * size..(race + 1) * size].to_vec();
        let mut actors = Vec::with_capacity(size);
        for patient in racers {
            actors.push(self.patient(patient).await?);
        }

        let free = self.free_slots_for(&actors[0], doctor).await?;
        let tomorrow = self.now() + Duration::hours(18);
        let Some(slot) = free
            .iter()
            .find(|slot| slot.start >= tomorrow)
            .or(free.first())
        else {
            return Ok(());
        };
        let outcomes = self.run_race(doctor, slot.start, actors).await;

        self.summary.race.races += 1;
        self.summary.race.racers_per_race = size as u64;
        let winners = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
        self.summary.race.single_winner += u64::from(winners == 1);
        for outcome in outcomes {
            if matches!(outcome, Err(Error::Booking(BookingRefusal::SlotTaken))) {
                self.summary.race.slot_taken += 1;
            }
            count(
                self.summary
                    .bookings
                    .entry(Scenario::Contested)
                    .or_default(),
                outcome,
            )?;
        }
        Ok(())
    }

    /// Every racer waits at a barrier, then all book at once.
    async fn run_race(
        &mut self,
        doctor: usize,
        start: DateTime<Utc>,
        actors: Vec<Principal>,
    ) -> Vec<Result<Appointment>> {
        let barrier = Arc::new(Barrier::new(actors.len()));
        let mut tasks = JoinSet::new();
        for actor in actors {
            let request = BookingRequest {
                doctor_id: self.clinic.doctors[doctor].id,
                start,
                slots: 1,
                reason: catalog::reason(self.clinic.doctors[doctor].specialty, &mut self.rng),
            };
            let (medtrack, barrier) = (self.medtrack.clone(), barrier.clone());
            tasks.spawn(async move {
                barrier.wait().await;
                medtrack.book(&actor, request).await
            });
        }
        let mut outcomes = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            outcomes.push(joined.expect("a racing task panicked"));
        }
        outcomes
    }

    /// Requests the booking rules must refuse, a few per tick.
    pub(super) async fn rule_breakers(&mut self, tick: i64) -> Result<()> {
        let per_tick = (self.clinic.patients.len() / 600).max(1);
        for _ in 0..per_tick {
            self.double_booking().await?;
            self.outside_hours().await?;
            self.too_soon().await?;
        }
        if tick % 2 == 0 {
            self.beyond_horizon().await?;
        }
        if tick < 4 {
            self.pending_doctor().await?;
        }
        Ok(())
    }

    /// A patient with an upcoming appointment books another doctor at an overlapping time.
    /// Up to five appointments are looked at, since doctors in far-apart zones may share
    /// no hours at all.
    async fn double_booking(&mut self) -> Result<()> {
        for _ in 0..5 {
            let Some((patient, held)) = self.some_upcoming_appointment().await? else {
                return Ok(());
            };
            if let Some((doctor, slot)) = self.overlapping_slot(patient, &held).await? {
                self.book(Scenario::DoubleBooking, patient, doctor, slot.start, 1)
                    .await?;
                return Ok(());
            }
        }
        Ok(())
    }

    /// A free slot of another doctor that overlaps `held`, as `patient` would find it.
    async fn overlapping_slot(
        &mut self,
        patient: usize,
        held: &Appointment,
    ) -> Result<Option<(usize, Slot)>> {
        let actor = self.patient(patient).await?;
        let bookable = self.cast.bookable.clone();
        let offset = self.rng.random_range(0..bookable.len());
        for step in 0..bookable.len() {
            let doctor = bookable[(offset + step) % bookable.len()];
            let id = self.clinic.doctors[doctor].id;
            if id == held.doctor_id {
                continue;
            }
            let from = held.start - Duration::hours(4);
            let free = self.medtrack.free_slots(&actor, id, from, held.end).await?;
            if let Some(slot) = free
                .iter()
                .find(|s| s.start < held.end && held.start < s.end)
            {
                return Ok(Some((doctor, *slot)));
            }
        }
        Ok(None)
    }

    /// At 03:00, on a Sunday, or five minutes after a slot starts, two to four days ahead.
    async fn outside_hours(&mut self) -> Result<()> {
        let patient = *self
            .cast
            .regular
            .choose(&mut self.rng)
            .expect("regular patients");
        let doctor = *self
            .cast
            .bookable
            .choose(&mut self.rng)
            .expect("bookable doctors");
        let schedule = &self.clinic.doctors[doctor].schedule;
        let zone = schedule.time_zone();
        let today = self.now().with_timezone(&zone).date_naive();
        let day = today + Duration::days(self.rng.random_range(2..5));

        let start = match self.rng.random_range(0..3) {
            0 => local(zone, day, 3, 0),
            1 => {
                let midnight = local(zone, day, 0, 0);
                slot_starts(schedule, midnight, midnight + Duration::days(1))
                    .first()
                    .map(|start| *start + Duration::minutes(5))
                    .unwrap_or(local(zone, day, 3, 0))
            }
            _ => {
                let to_sunday = 6 - i64::from(day.weekday().num_days_from_monday());
                local(zone, day + Duration::days(to_sunday), 10, 0)
            }
        };
        self.book(Scenario::OutsideHours, patient, doctor, start, 1)
            .await?;
        Ok(())
    }

    /// A slot inside the doctor's minimum notice, or one that has already begun.
    async fn too_soon(&mut self) -> Result<()> {
        let patient = *self
            .cast
            .regular
            .choose(&mut self.rng)
            .expect("regular patients");
        let doctor = *self
            .cast
            .bookable
            .choose(&mut self.rng)
            .expect("bookable doctors");
        let schedule = &self.clinic.doctors[doctor].schedule;
        let now = self.now();
        let notice = Duration::hours(schedule.rules().min_notice_hours.into());
        let inside_notice = slot_starts(schedule, now, now + notice)
            .into_iter()
            .find(|start| *start > now);
        let start = match inside_notice {
            Some(start) if self.rng.random_bool(0.6) => start,
            _ => round_down(now - Duration::hours(self.rng.random_range(1..30))),
        };
        self.book(Scenario::TooSoon, patient, doctor, start, 1)
            .await?;
        Ok(())
    }

    async fn beyond_horizon(&mut self) -> Result<()> {
        let patient = *self
            .cast
            .regular
            .choose(&mut self.rng)
            .expect("regular patients");
        let doctor = *self
            .cast
            .bookable
            .choose(&mut self.rng)
            .expect("bookable doctors");
        let horizon = self.clinic.doctors[doctor].schedule.rules().horizon_days;
        let start = round_down(self.now() + Duration::days(i64::from(horizon) + 7));
        self.book(Scenario::BeyondHorizon, patient, doctor, start, 1)
            .await?;
        Ok(())
    }

    /// A patient follows a link to the doctor who is still awaiting approval.
    async fn pending_doctor(&mut self) -> Result<()> {
        let Some(doctor) = self.clinic.doctors.iter().position(|d| !d.approved) else {
            return Ok(());
        };
        let patient = *self
            .cast
            .regular
            .choose(&mut self.rng)
            .expect("regular patients");
        let start = round_down(self.now() + Duration::days(2));
        self.book(Scenario::PendingDoctor, patient, doctor, start, 1)
            .await?;
        Ok(())
    }

    /// Patients cancel and reschedule some of their upcoming appointments.
    pub(super) async fn changes(&mut self) -> Result<()> {
        let patients = self.clinic.patients.len();
        for _ in 0..(patients / 160).max(1) {
            self.patient_cancels().await?;
        }
        for _ in 0..(patients / 220).max(1) {
            self.patient_reschedules().await?;
        }
        Ok(())
    }

    async fn patient_cancels(&mut self) -> Result<()> {
        let Some((patient, held)) = self.some_upcoming_appointment().await? else {
            return Ok(());
        };
        let actor = self.patient(patient).await?;
        let outcome = self.medtrack.cancel(&actor, held.id).await;
        count(&mut self.summary.cancellations, outcome)?;
        Ok(())
    }

    async fn patient_reschedules(&mut self) -> Result<()> {
        let Some((patient, held)) = self.some_upcoming_appointment().await? else {
            return Ok(());
        };
        let actor = self.patient(patient).await?;
        let doctor = self.cast.doctor_index[&held.doctor_id];
        let free = self.free_slots_for(&actor, doctor).await?;
        let Some(slot) = free.choose(&mut self.rng).copied() else {
            return Ok(());
        };
        let outcome = self.medtrack.reschedule(&actor, held.id, slot.start).await;
        count(&mut self.summary.reschedules, outcome)?;
        Ok(())
    }

    /// A patient who has booked before, and one of their upcoming appointments, as they
    /// see them on their own appointments page. Up to five patients look; `None` if none
    /// of them has anything upcoming.
    pub(super) async fn some_upcoming_appointment(
        &mut self,
    ) -> Result<Option<(usize, Appointment)>> {
        for _ in 0..5 {
            if self.holders.is_empty() {
                return Ok(None);
            }
            let nth = self.rng.random_range(0..self.holders.len());
            let patient = *self.holders.iter().nth(nth).expect("nth is in range");
            let actor = self.patient(patient).await?;
            let filter = AppointmentFilter {
                status: Some(AppointmentStatus::Booked),
                from: Some(self.now()),
                to: None,
                ascending: true,
            };
            let upcoming = self.own_appointments(&actor, filter).await?;
            if let Some(held) = upcoming.choose(&mut self.rng) {
                return Ok(Some((patient, held.clone())));
            }
        }
        Ok(None)
    }
}

/// Picks a slot, preferring earlier ones as patients do.
fn pick_slot<R: Rng>(slots: &[Slot], rng: &mut R) -> Option<Slot> {
    if slots.is_empty() {
        return None;
    }
    let skew: f64 = rng.random::<f64>().powi(2);
    let position = ((skew * slots.len() as f64) as usize).min(slots.len() - 1);
    Some(slots[position])
}

/// `hour:minute` on `day` in `zone`, as an instant; a time the clocks skip moves an hour on.
pub(super) fn local(zone: Tz, day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let wall = day
        .and_hms_opt(hour, minute, 0)
        .expect("a valid wall-clock time");
    zone.from_local_datetime(&wall)
        .earliest()
        .or_else(|| {
            zone.from_local_datetime(&(wall + Duration::hours(1)))
                .earliest()
        })
        .expect("a wall-clock time exists within an hour of any gap")
        .with_timezone(&Utc)
}

/// Down to the hour, so requests sit on the five-minute grid.
fn round_down(instant: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = instant.timestamp();
    DateTime::from_timestamp(seconds - seconds.rem_euclid(3600), 0).expect("in range")
}
