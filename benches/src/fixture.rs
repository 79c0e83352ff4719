//! A service over a pre-filled store, with one patient signed in and the doctor and week
//! that the store benchmarks measure.
//!
//! Every fixture holds the same clinic, whatever its size: [`DOCTORS`] doctors and
//! [`PATIENTS`] patients from the demo generator. Only the number of stored appointments
//! changes, so a difference in latency between two sizes can only come from that number.
//! The measured doctor's diary around the measured week is the same in every fixture too:
//! in that week and in the week on each side (the service reads a day beyond each end of
//! the range it lists), every other slot is booked and the rest are free.

use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration as Elapsed, Instant};

use chrono::{DateTime, Duration, Utc};
use medtrack_core::booking::Slot;
use medtrack_core::clock::ManualClock;
use medtrack_core::id::DoctorId;
use medtrack_core::model::PasswordHash;
use medtrack_core::password::PasswordHasher;
use medtrack_core::store::Store;
use medtrack_core::text::Password;
use medtrack_core::{BookingRequest, MedTrack, Principal};
use medtrack_examples::demo::{demo_settings, ClinicSeed, DEMO_PASSWORD};
use medtrack_memory::MemoryStore;
use medtrack_sqlite::SqliteStore;
use tempfile::TempDir;

use crate::grid::{self, bench_monday, bench_now, REASON};
use crate::prefill::{self, Clinic, Doctor, Filler};

/// Doctors in every fixture.
pub const DOCTORS: usize = 100;
/// Patients in every fixture: more than all doctors together offer slots in a week, so
/// taking turns gives nobody two appointments in one week.
pub const PATIENTS: usize = 12_000;

/// The measured doctor's weeks, as offsets from the measured one, that every fixture fills
/// alike.
const KEPT_WEEKS: RangeInclusive<i64> = -1..=1;

const BENCH_PATIENT_EMAIL: &str = "measured.patient@bench.example";
const BENCH_PATIENT_NAME: &str = "Measured Patient";

/// A service over a store holding `stored` appointments, ready to list and book.
#[derive(Debug)]
pub struct StoreFixture {
    /// The service, on a clock standing at [`bench_now`].
    pub medtrack: MedTrack,
    /// A patient with no appointments of their own, signed in through the service.
    pub patient: Principal,
    /// The doctor whose week is measured.
    pub doctor: DoctorId,
    /// That week, `[from, to)`, in the doctor's zone.
    pub week: (DateTime<Utc>, DateTime<Utc>),
    /// Appointments stored before any benchmark ran.
    pub stored: usize,
    free: Vec<Slot>,
    bookings: AtomicU64,
    _dir: Option<TempDir>,
}

impl StoreFixture {
    /// A [`MemoryStore`] holding `stored` appointments.
    pub async fn memory(stored: usize) -> Self {
        build(Arc::new(MemoryStore::new()), stored, None).await
    }

    /// A [`SqliteStore`] on a file in a fresh temporary directory, holding `stored`
    /// appointments. The directory goes when the fixture does.
    pub async fn sqlite(stored: usize) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = SqliteStore::open(dir.path().join("medtrack.db"))
            .await
            .expect("a new SQLite database");
        build(Arc::new(store), stored, Some(dir)).await
    }

    /// The measured doctor's free slots in the measured week, through the service.
    pub async fn free_slots_week(&self) -> Vec<Slot> {
        let (from, to) = self.week;
        self.medtrack
            .free_slots(&self.patient, self.doctor, from, to)
            .await
            .expect("the doctor's week lists")
    }

    /// Books `iters` appointments through the service and returns the time the bookings
    /// took. Each booking is cancelled again, untimed, so its slot is free for a later
    /// iteration; slots are taken in turn from the week's free ones.
    ///
    /// # Panics
    ///
    /// When a booking is refused: every iteration must store a real appointment, never
    /// measure a quick `SlotTaken`.
    pub async fn timed_bookings(&self, iters: u64) -> Elapsed {
        let mut spent = Elapsed::ZERO;
        for _ in 0..iters {
            let nth = self.bookings.fetch_add(1, Ordering::Relaxed);
            let slot = self.free[(nth % self.free.len() as u64) as usize];
            let request = BookingRequest {
                doctor_id: self.doctor,
                start: slot.start,
                slots: 1,
                reason: REASON.to_owned(),
            };

            let started = Instant::now();
            let booked = self.medtrack.book(&self.patient, request).await;
            spent += started.elapsed();

            let booked = booked.expect("a free slot is bookable");
            self.medtrack
                .cancel(&self.patient, booked.id)
                .await
                .expect("the patient may cancel days ahead");
        }
        spent
    }

    /// How many bookings [`timed_bookings`](Self::timed_bookings) made so far. Each left a
    /// cancelled appointment behind, so the store now holds that many more than
    /// [`stored`](Self::stored).
    pub fn bookings_made(&self) -> u64 {
        self.bookings.load(Ordering::Relaxed)
    }

    /// How many of the measured week's slots are free.
    pub fn free_slot_count(&self) -> usize {
        self.free.len()
    }
}

/// The clinic every fixture holds.
pub fn clinic_seed() -> ClinicSeed {
    ClinicSeed {
        doctors: DOCTORS,
        patients: PATIENTS,
        ..ClinicSeed::default()
    }
}

async fn build(store: Arc<dyn Store>, stored: usize, dir: Option<TempDir>) -> StoreFixture {
    let clock = Arc::new(ManualClock::new(bench_now()));
    let medtrack = MedTrack::with_clock(store.clone(), demo_settings(), clock)
        .expect("the demo settings are valid");
    let hash = demo_password_hash(&medtrack).await;

    let plan = clinic_seed().plan();
    let opened = bench_now() - Duration::weeks(156);
    let clinic = prefill::create_accounts(&*store, &plan, &hash, opened)
        .await
        .expect("the demo accounts store");
    let doctor = &clinic.doctors[grid::busiest_doctor(&plan)];
    fill(&*store, &clinic, doctor, stored, opened).await;

    let patient = sign_in_patient(&medtrack, &hash, opened).await;
    let week = grid::week_range(&doctor.schedule, bench_monday());
    let free = medtrack
        .free_slots(&patient, doctor.id, week.0, week.1)
        .await
        .expect("the doctor's week lists");
    assert!(!free.is_empty(), "the measured week has free slots");
    StoreFixture {
        medtrack,
        patient,
        doctor: doctor.id,
        week,
        stored,
        free,
        bookings: AtomicU64::new(0),
        _dir: dir,
    }
}

/// Books every other slot of `doctor`'s [`KEPT_WEEKS`], then everyone else's appointments
/// up to `stored` in all.
async fn fill(
    store: &dyn Store,
    clinic: &Clinic,
    doctor: &Doctor,
    stored: usize,
    at: DateTime<Utc>,
) {
    let mut filler = Filler::new(store, clinic, at);
    for offset in KEPT_WEEKS {
        let monday = bench_monday() + Duration::weeks(offset);
        let grid = grid::week_grid(&doctor.schedule, monday);
        let diary = grid::compatible(&grid, doctor.schedule.rules());
        let half: Vec<Slot> = diary.iter().step_by(2).copied().collect();
        filler
            .book_all(doctor, &half)
            .await
            .expect("the measured doctor's weeks book");
    }
    assert!(
        filler.booked() <= stored,
        "{stored} is too few for the measured doctor"
    );

    let kept = |offset, other: &Doctor| other.id == doctor.id && KEPT_WEEKS.contains(&offset);
    filler
        .fill_weeks(clinic, bench_monday(), kept, stored)
        .await
        .expect("the other appointments book");
    assert_eq!(filler.booked(), stored);
}

/// One real Argon2 hash of the demo password, made with the service's own parameters, for
/// every stored account to share.
async fn demo_password_hash(medtrack: &MedTrack) -> PasswordHash {
    let params = medtrack.settings().password_params;
    let hasher = PasswordHasher::new(params, 1).expect("valid parameters");
    let password = Password::parse(DEMO_PASSWORD).expect("the demo password is long enough");
    hasher.hash(password).await.expect("hashing works")
}

/// Stores the measured patient and signs them in through the service, the way a real
/// caller gets a principal.
async fn sign_in_patient(medtrack: &MedTrack, hash: &PasswordHash, at: DateTime<Utc>) -> Principal {
    let user = prefill::patient_account(BENCH_PATIENT_EMAIL, BENCH_PATIENT_NAME, hash, at)
        .expect("a valid account");
    medtrack
        .store()
        .create_user(&user, Default::default())
        .await
        .expect("the measured patient stores");
    let session = medtrack
        .login(BENCH_PATIENT_EMAIL, DEMO_PASSWORD)
        .await
        .expect("the measured patient signs in");
    session.principal
}
