//! A doctor's week: its range in real time, the slots it offers, and booked appointments
//! placed on those slots the way a store would accept them.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use medtrack_core::booking::{self, Slot};
use medtrack_core::id::{AppointmentId, DoctorId, PatientId};
use medtrack_core::model::{Appointment, AppointmentStatus};
use medtrack_core::schedule::{BookingRules, LocalInterval, Schedule, WeeklyHours};
use medtrack_core::text::ClinicalText;
use medtrack_examples::demo::{ClinicPlan, ClinicSeed, DoctorSpec};

/// Why every generated patient comes; one text keeps set-up cheap and says nothing real.
pub const REASON: &str = "Follow-up visit";

/// The Monday of the week the benchmarks measure: the demo generator's own week, so its
/// days off fall inside it as they would in the demos.
pub fn bench_monday() -> NaiveDate {
    ClinicSeed::default().week_of
}

/// The instant the benchmarks run at: the Friday before the measured week, 00:00 UTC.
///
/// From there the whole week lies past the longest minimum notice and the longest
/// cancellation notice the demo catalogue sets (24 hours) and inside its shortest horizon
/// (14 days), in every zone it uses, so every slot of the week is offered and bookable.
pub fn bench_now() -> DateTime<Utc> {
    (bench_monday() - Duration::days(3))
        .and_time(NaiveTime::MIN)
        .and_utc()
}

/// `[Monday 00:00, next Monday 00:00)` of the week of `monday`, in the schedule's zone.
pub fn week_range(schedule: &Schedule, monday: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let zone = schedule.time_zone();
    (
        local_midnight(zone, monday),
        local_midnight(zone, monday + Duration::days(7)),
    )
}

/// Midnight of `date` in `zone`; none of the catalogue's zones changes its clocks at
/// midnight, and a zone that did would get the earlier of two midnights.
fn local_midnight(zone: Tz, date: NaiveDate) -> DateTime<Utc> {
    let local = date.and_time(NaiveTime::MIN);
    zone.from_local_datetime(&local)
        .earliest()
        .map_or_else(|| local.and_utc(), |at| at.with_timezone(&Utc))
}

/// Every slot the schedule offers in the week of `monday` when nothing is booked.
///
/// Asks the booking engine itself, from two days before the week, so the grid is exactly
/// the one booking checks against (days off and clock changes included) and no demo notice
/// or horizon cuts it.
pub fn week_grid(schedule: &Schedule, monday: NaiveDate) -> Vec<Slot> {
    let (from, to) = week_range(schedule, monday);
    booking::free_slots(schedule, &[], from - Duration::days(2), from, to)
}

/// The slots of `grid` that one doctor can hold together, earliest first: each starts only
/// after the previous one's buffers, as the store's claims of doctor time demand.
pub fn compatible(grid: &[Slot], rules: &BookingRules) -> Vec<Slot> {
    let (before, after) = buffers(rules);
    let mut held_until: Option<DateTime<Utc>> = None;
    let mut slots = Vec::new();
    for slot in grid {
        if held_until.is_none_or(|end| slot.start - before >= end) {
            held_until = Some(slot.end + after);
            slots.push(*slot);
        }
    }
    slots
}

fn buffers(rules: &BookingRules) -> (Duration, Duration) {
    (
        Duration::minutes(rules.buffer_before_minutes.into()),
        Duration::minutes(rules.buffer_after_minutes.into()),
    )
}

/// `count` of `slots`, spread evenly from first to last, so booked time is scattered over
/// the week as in a real diary rather than packed at its start.
///
/// # Panics
///
/// When fewer than `count` slots are given.
pub fn spread(slots: &[Slot], count: usize) -> Vec<Slot> {
    assert!(
        count <= slots.len(),
        "{count} appointments do not fit in {} slots",
        slots.len()
    );
    (0..count)
        .map(|nth| slots[nth * slots.len() / count.max(1)])
        .collect()
}

/// A booked one-slot appointment on `slot`, holding the schedule's buffers, as
/// [`MedTrack::book`](medtrack_core::MedTrack::book) would store it at `at`.
pub fn booked(
    doctor: DoctorId,
    patient: PatientId,
    slot: Slot,
    rules: &BookingRules,
    reason: &ClinicalText,
    at: DateTime<Utc>,
) -> Appointment {
    Appointment {
        id: AppointmentId::new(),
        doctor_id: doctor,
        patient_id: patient,
        start: slot.start,
        end: slot.end,
        buffer_before_minutes: rules.buffer_before_minutes,
        buffer_after_minutes: rules.buffer_after_minutes,
        reason: reason.clone(),
        status: AppointmentStatus::Booked,
        created_at: at,
        updated_at: at,
        cancelled_at: None,
        version: 1,
    }
}

/// The index of the demo doctor with the fullest bench week among those patients can book
/// and who keep no buffers: the diary where listing free slots has the most to compute.
///
/// # Panics
///
/// When the plan has no such doctor (the default seed has several).
pub fn busiest_doctor(plan: &ClinicPlan) -> usize {
    let monday = bench_monday();
    let unbuffered = |spec: &DoctorSpec| {
        let rules = spec.schedule.rules();
        rules.buffer_before_minutes == 0 && rules.buffer_after_minutes == 0
    };
    (0..plan.doctors.len())
        .filter(|&index| !plan.doctors[index].awaiting_approval)
        .filter(|&index| unbuffered(&plan.doctors[index]))
        .max_by_key(|&index| week_grid(&plan.doctors[index].schedule, monday).len())
        .expect("the plan has a bookable doctor without buffers")
}

/// `schedule` reshaped into a practice open 08:00 to 20:00 every day with 15-minute slots:
/// same zone and booking rules, no days off.
///
/// No demo doctor's week has room for 300 appointments (the fullest has 160 slots), so this
/// is the smallest plausible diary that holds that many without overlaps.
pub fn seven_day_practice(schedule: &Schedule) -> Schedule {
    let day = LocalInterval::parse("08:00", "20:00").expect("a valid interval");
    let mut weekly = WeeklyHours::empty();
    for weekday in [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ] {
        weekly = weekly
            .with_day(weekday, vec![day])
            .expect("one interval a day cannot overlap");
    }
    let zone = schedule.time_zone();
    Schedule::new(zone, 15, weekly, BTreeSet::new(), *schedule.rules())
        .expect("12 hours divide into 15-minute slots")
}

/// `count` booked appointments of one doctor in the bench week of `schedule`, spread over
/// its free slots, each with a patient of its own: what the store would hand the engine.
pub fn booked_week(schedule: &Schedule, count: usize) -> Vec<Appointment> {
    let reason = ClinicalText::parse(REASON).expect("a valid reason");
    let doctor = DoctorId::new();
    let rules = schedule.rules();
    let slots = compatible(&week_grid(schedule, bench_monday()), rules);
    spread(&slots, count)
        .into_iter()
        .map(|slot| booked(doctor, PatientId::new(), slot, rules, &reason, bench_now()))
        .collect()
}
