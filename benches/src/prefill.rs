//! Filling a store with a clinic's accounts and many appointments, straight through the
//! storage traits.
//!
//! Going through [`MedTrack`](medtrack_core::MedTrack) would hash a password per account and
//! run the policy, audit and outbox per booking, so set-up would spend its time on Argon2
//! rather than on data. Every record written here is still one the service could have
//! written: accounts parse, every account shares one real Argon2 hash of the demo password,
//! and every appointment sits on its doctor's slot grid with the doctor's buffers and
//! overlaps no other appointment of its doctor or its patient.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use medtrack_core::booking::Slot;
use medtrack_core::error::{ConflictKind, StoreError};
use medtrack_core::id::{DoctorId, PatientId, UserId};
use medtrack_core::model::{AccountStatus, BirthDate, DoctorProfile, PasswordHash, Role, User};
use medtrack_core::schedule::Schedule;
use medtrack_core::store::{Effects, Store, StoreResult};
use medtrack_core::text::{ClinicalText, Email, PersonName, PhoneNumber, Specialty};
use medtrack_core::Result;
use medtrack_examples::demo::{ClinicPlan, DoctorSpec, PatientSpec};

use crate::grid::{self, REASON};

/// A doctor as stored.
#[derive(Debug, Clone)]
pub struct Doctor {
    /// The doctor's id.
    pub id: DoctorId,
    /// The hours and rules the doctor's appointments follow.
    pub schedule: Schedule,
    /// Whether patients can book the doctor; only those get appointments.
    pub bookable: bool,
}

/// The accounts of a stored clinic, in plan order.
#[derive(Debug, Clone)]
pub struct Clinic {
    /// Doctors.
    pub doctors: Vec<Doctor>,
    /// Patients.
    pub patients: Vec<PatientId>,
}

/// Stores every account of `plan` as created at `at`, each with `password_hash`.
pub async fn create_accounts(
    store: &dyn Store,
    plan: &ClinicPlan,
    password_hash: &PasswordHash,
    at: DateTime<Utc>,
) -> Result<Clinic> {
    let mut doctors = Vec::with_capacity(plan.doctors.len());
    for spec in &plan.doctors {
        let user = doctor_user(spec, password_hash, at)?;
        store.create_user(&user, Effects::default()).await?;
        doctors.push(Doctor {
            id: user.id.as_doctor(),
            schedule: spec.schedule.clone(),
            bookable: !spec.awaiting_approval,
        });
    }

    let mut patients = Vec::with_capacity(plan.patients.len());
    for spec in &plan.patients {
        let user = patient_user(spec, password_hash, at)?;
        store.create_user(&user, Effects::default()).await?;
        patients.push(user.id.as_patient());
    }
    Ok(Clinic { doctors, patients })
}

fn doctor_user(spec: &DoctorSpec, password_hash: &PasswordHash, at: DateTime<Utc>) -> Result<User> {
    let status = match spec.awaiting_approval {
        true => AccountStatus::PendingApproval,
        false => AccountStatus::Active,
    };
    let profile = DoctorProfile {
        specialty: Specialty::parse(spec.specialty)?,
        schedule: spec.schedule.clone(),
    };
    Ok(User {
        phone: Some(PhoneNumber::parse(&spec.phone)?),
        time_zone: Some(spec.schedule.time_zone()),
        doctor: Some(profile),
        ..account(
            &spec.email,
            &spec.name,
            Role::Doctor,
            status,
            password_hash,
            at,
        )?
    })
}

fn patient_user(
    spec: &PatientSpec,
    password_hash: &PasswordHash,
    at: DateTime<Utc>,
) -> Result<User> {
    let phone = spec.phone.as_deref().map(PhoneNumber::parse).transpose()?;
    Ok(User {
        phone,
        birth_date: Some(BirthDate(spec.birth_date)),
        time_zone: spec.time_zone,
        ..patient_account(&spec.email, &spec.name, password_hash, at)?
    })
}

/// An active patient account with nothing but a name, a login and a password.
pub fn patient_account(
    email: &str,
    name: &str,
    password_hash: &PasswordHash,
    at: DateTime<Utc>,
) -> Result<User> {
    let active = AccountStatus::Active;
    account(email, name, Role::Patient, active, password_hash, at)
}

fn account(
    email: &str,
    name: &str,
    role: Role,
    status: AccountStatus,
    password_hash: &PasswordHash,
    at: DateTime<Utc>,
) -> Result<User> {
    Ok(User {
        id: UserId::new(),
        email: Email::parse(email)?,
        name: PersonName::parse(name)?,
        role,
        status,
        phone: None,
        birth_date: None,
        time_zone: None,
        doctor: None,
        password_hash: password_hash.clone(),
        created_at: at,
        updated_at: at,
        version: 1,
    })
}

/// Books appointments for the clinic's patients, one at a time through
/// [`AppointmentStore::book`](medtrack_core::store::AppointmentStore::book), and hands them
/// out so that no patient is ever booked twice at once.
pub struct Filler<'a> {
    store: &'a dyn Store,
    patients: &'a [PatientId],
    reason: ClinicalText,
    at: DateTime<Utc>,
    next_patient: usize,
    booked: usize,
}

impl fmt::Debug for Filler<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filler")
            .field("booked", &self.booked)
            .finish_non_exhaustive()
    }
}

impl<'a> Filler<'a> {
    /// A filler writing to `store`, dating every appointment `at`.
    pub fn new(store: &'a dyn Store, clinic: &'a Clinic, at: DateTime<Utc>) -> Self {
        Self {
            store,
            patients: &clinic.patients,
            reason: ClinicalText::parse(REASON).expect("a valid reason"),
            at,
            next_patient: 0,
            booked: 0,
        }
    }

    /// How many appointments this filler has stored.
    pub fn booked(&self) -> usize {
        self.booked
    }

    /// Books `slot` with `doctor` for the next patient in turn.
    ///
    /// Patients take turns, so with more patients than appointments in a week each has at
    /// most one a week. A patient who is busy anyway (a neighbouring week's appointment in
    /// a far zone) passes the slot to the next one.
    pub async fn book(&mut self, doctor: &Doctor, slot: Slot) -> StoreResult<()> {
        let rules = doctor.schedule.rules();
        let mut attempts = 0;
        loop {
            let patient = self.patients[self.next_patient % self.patients.len()];
            self.next_patient += 1;
            let appointment = grid::booked(doctor.id, patient, slot, rules, &self.reason, self.at);
            match self.store.book(&appointment, Effects::default()).await {
                Err(StoreError::Conflict(ConflictKind::PatientTime)) if attempts < 8 => {
                    attempts += 1;
                }
                Err(err) => return Err(err),
                Ok(()) => break,
            }
        }
        self.booked += 1;
        Ok(())
    }

    /// Books every slot of `slots` with `doctor`.
    pub async fn book_all(&mut self, doctor: &Doctor, slots: &[Slot]) -> StoreResult<()> {
        for slot in slots {
            self.book(doctor, *slot).await?;
        }
        Ok(())
    }

    /// Books until this filler has stored `total` appointments, spread over every bookable
    /// doctor and over the weeks around `monday`: the week itself, then one before, one
    /// after, two before, and so on. Each doctor's week is filled up, but doctors take
    /// turns slot by slot, so a small total still touches every doctor.
    ///
    /// A doctor's week is left alone where `skip(offset, doctor)` says so: the caller fills
    /// that diary itself.
    pub async fn fill_weeks(
        &mut self,
        clinic: &Clinic,
        monday: NaiveDate,
        skip: impl Fn(i64, &Doctor) -> bool,
        total: usize,
    ) -> StoreResult<()> {
        for offset in week_offsets() {
            if self.booked >= total {
                return Ok(());
            }
            let week = monday + Duration::weeks(offset);
            let rota = week_rota(clinic, week, |doctor| skip(offset, doctor));
            assert!(!rota.is_empty(), "no doctor of the clinic offers any slot");
            for (doctor, slot) in rota.into_iter().take(total - self.booked) {
                self.book(doctor, slot).await?;
            }
        }
        Ok(())
    }
}

/// 0, -1, 1, -2, 2, …: weeks ever further from the measured one, on both sides.
fn week_offsets() -> impl Iterator<Item = i64> {
    (0_i64..).map(|n| if n % 2 == 0 { n / 2 } else { -(n + 1) / 2 })
}

/// Every slot each bookable doctor can hold in the week of `monday`, dealt out round-robin:
/// the first slot of every doctor, then the second of every doctor, and so on.
fn week_rota(
    clinic: &Clinic,
    monday: NaiveDate,
    skip: impl Fn(&Doctor) -> bool,
) -> Vec<(&Doctor, Slot)> {
    let diaries: Vec<(&Doctor, Vec<Slot>)> = clinic
        .doctors
        .iter()
        .filter(|doctor| doctor.bookable && !skip(doctor))
        .map(|doctor| {
            let grid = grid::week_grid(&doctor.schedule, monday);
            (doctor, grid::compatible(&grid, doctor.schedule.rules()))
        })
        .collect();

    let longest = diaries.iter().map(|(_, slots)| slots.len()).max();
    (0..longest.unwrap_or(0))
        .flat_map(|nth| {
            diaries
                .iter()
                .filter_map(move |(doctor, slots)| slots.get(nth).map(|slot| (*doctor, *slot)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn week_offsets_alternate_around_the_measured_week() {
        let offsets: Vec<i64> = week_offsets().take(7).collect();
        assert_eq!(offsets, [0, -1, 1, -2, 2, -3, 3]);
    }
}
