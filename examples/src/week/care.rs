//! Care: doctors see their patients, write diagnoses and mark no-shows, patients read
//! their records and add reports, a doctor takes a day off, and a few people try to read
//! what the policy keeps from them.

use chrono::Duration;
use fake::rand::seq::IndexedRandom;
use fake::rand::Rng;
use medtrack_core::model::{Appointment, AppointmentStatus};
use medtrack_core::schedule::Schedule;
use medtrack_core::{AppointmentFilter, Error, Principal, Result};

use super::{count, Week};
use crate::catalog;
use crate::summary::DayOff;

impl Week<'_> {
    /// Every bookable doctor signs in and handles the appointments that have begun.
    pub(super) async fn rounds(&mut self) -> Result<()> {
        for doctor in self.cast.bookable.clone() {
            let actor = self.doctor(doctor).await?;
            let filter = AppointmentFilter {
                status: Some(AppointmentStatus::Booked),
                from: None,
                to: Some(self.now()),
                ascending: true,
            };
            for appointment in self.own_appointments(&actor, filter).await? {
                self.see(&actor, doctor, &appointment).await?;
            }
        }
        Ok(())
    }

    /// The doctor reads the record, then writes a diagnosis (sometimes amending it after
    /// lab results) or marks a no-show.
    async fn see(
        &mut self,
        actor: &Principal,
        doctor: usize,
        appointment: &Appointment,
    ) -> Result<()> {
        self.medtrack
            .medical_record(actor, appointment.patient_id)
            .await?;
        self.summary.reads_by_doctors += 1;
        if self.rng.random_bool(0.07) {
            self.medtrack.mark_no_show(actor, appointment.id).await?;
            self.summary.no_shows += 1;
            return Ok(());
        }

        let specialty = self.clinic.doctors[doctor].specialty;
        let input = catalog::diagnosis(specialty, &mut self.rng);
        let written = self
            .medtrack
            .submit_diagnosis(actor, appointment.id, input)
            .await?;
        self.summary.diagnoses += 1;
        self.summary.prescriptions += written.prescriptions.len() as u64;
        if self.rng.random_bool(0.04) {
            let mut amended = catalog::diagnosis(specialty, &mut self.rng);
            amended
                .treatment_plan
                .push_str("; amended after lab results");
            self.medtrack
                .submit_diagnosis(actor, appointment.id, amended)
                .await?;
            self.summary.amendments += 1;
        }
        self.diagnosed.push(appointment.patient_id);
        Ok(())
    }

    /// Some patients told of a new diagnosis sign in and read their record.
    pub(super) async fn patients_read_records(&mut self) -> Result<()> {
        for patient_id in std::mem::take(&mut self.diagnosed) {
            if !self.rng.random_bool(0.4) {
                continue;
            }
            let patient = self.cast.patient_index[&patient_id];
            let actor = self.patient(patient).await?;
            self.medtrack.medical_record(&actor, patient_id).await?;
            self.summary.reads_by_patients += 1;
        }
        Ok(())
    }

    /// Patients add blood pressure readings, symptoms and results to their records. Racers
    /// do not: which of them won a race is down to the scheduler, and a winner who also
    /// reported in the tick they read their record would share one login between the two.
    pub(super) async fn reports(&mut self) -> Result<()> {
        let patients = self.clinic.patients.len();
        let others = patients - self.cast.racers.len();
        for _ in 0..(patients / 80).max(1) {
            let patient = self.cast.non_racer(self.rng.random_range(0..others));
            let actor = self.patient(patient).await?;
            let report = catalog::report(self.now(), &mut self.rng);
            self.medtrack.submit_report(&actor, report).await?;
            self.summary.reports += 1;
        }
        Ok(())
    }

    /// The most popular doctor takes a later day of the week off. Their bookings on that
    /// day stay valid until they list them and cancel each one, which tells the patients.
    pub(super) async fn day_off(&mut self) -> Result<()> {
        let doctor = self.cast.by_popularity[0];
        let seeded = &self.clinic.doctors[doctor];
        let actor = self.doctor(doctor).await?;
        let current = self.medtrack.schedule_of(&actor, seeded.id).await?;
        let zone = current.time_zone();
        let Some(date) = [4, 3, 5]
            .map(|offset| self.clinic.seed.week_of + Duration::days(offset))
            .into_iter()
            .filter(|date| catalog::works_on(&current, *date))
            .find(|date| super::booking::local(zone, *date, 0, 0) > self.now())
        else {
            return Ok(());
        };

        let mut days_off = current.days_off().clone();
        days_off.insert(date);
        let weekly = current.weekly().clone();
        let changed = Schedule::new(
            zone,
            current.slot_minutes(),
            weekly,
            days_off,
            *current.rules(),
        )?;
        self.medtrack
            .update_schedule(&actor, seeded.id, changed)
            .await?;

        let outside = self.medtrack.bookings_outside_hours(&actor).await?;
        for appointment in &outside {
            self.medtrack.cancel(&actor, appointment.id).await?;
            self.summary.doctor_cancellations += 1;
        }
        self.summary.day_off = Some(DayOff {
            doctor: seeded.name.clone(),
            date,
            outside_hours: outside.len() as u64,
        });
        Ok(())
    }

    /// Accesses the policy must refuse: each is counted by its outcome, and each refusal
    /// leaves a denied audit entry.
    pub(super) async fn probes(&mut self, tick: i64) -> Result<()> {
        let unseen = *self
            .cast
            .unseen
            .choose(&mut self.rng)
            .expect("unseen patients");
        let unseen_id = self.clinic.patients[unseen].id;

        let doctor = *self
            .cast
            .bookable
            .choose(&mut self.rng)
            .expect("bookable doctors");
        let actor = self.doctor(doctor).await?;
        let outcome = self.medtrack.medical_record(&actor, unseen_id).await;
        self.probe(
            "a doctor opens a record without a care relationship",
            outcome,
        )?;

        if tick % 2 == 1 {
            let patient = *self
                .cast
                .regular
                .choose(&mut self.rng)
                .expect("regular patients");
            let actor = self.patient(patient).await?;
            let outcome = self.medtrack.medical_record(&actor, unseen_id).await;
            self.probe("a patient opens another patient's record", outcome)?;
        }
        if tick == 6 {
            let admin = self.admin().await?;
            let outcome = self.medtrack.medical_record(&admin, unseen_id).await;
            self.probe("the admin opens a medical record", outcome)?;
        }
        if tick == 8 || tick == 9 {
            self.cancel_someone_elses().await?;
        }
        Ok(())
    }

    async fn cancel_someone_elses(&mut self) -> Result<()> {
        let Some((owner, held)) = self.some_upcoming_appointment().await? else {
            return Ok(());
        };
        let intruder = self.cast.regular[(owner + 1) % self.cast.regular.len()];
        let actor = self.patient(intruder).await?;
        let outcome = self.medtrack.cancel(&actor, held.id).await;
        self.probe("a patient cancels someone else's appointment", outcome)
    }

    fn probe<T>(&mut self, what: &'static str, outcome: Result<T, Error>) -> Result<()> {
        count(self.summary.probes.entry(what).or_default(), outcome)?;
        Ok(())
    }
}
