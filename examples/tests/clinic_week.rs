//! A small replayed week, checked against what the booking rules promise.

use std::collections::BTreeMap;
use std::sync::Arc;

use medtrack_core::model::{Appointment, AppointmentStatus};
use medtrack_core::store::{Party, Store};
use medtrack_examples::demo::ClinicSeed;
use medtrack_examples::summary::Scenario;
use medtrack_examples::week::{appointments_of, replay_week, WeekRun};
use medtrack_memory::MemoryStore;

fn small_clinic() -> ClinicSeed {
    ClinicSeed {
        seed: 11,
        doctors: 4,
        patients: 60,
        ..ClinicSeed::default()
    }
}

async fn small_week() -> WeekRun {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    replay_week(store, small_clinic())
        .await
        .expect("the replay runs to the end")
}

/// Appointments that held time: everything but cancellations.
fn held(appointments: Vec<Appointment>) -> Vec<Appointment> {
    appointments
        .into_iter()
        .filter(|a| a.status != AppointmentStatus::Cancelled)
        .collect()
}

fn overlapping_pairs(
    spans: &[(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)],
) -> usize {
    let mut sorted = spans.to_vec();
    sorted.sort();
    sorted
        .windows(2)
        .filter(|pair| pair[1].0 < pair[0].1)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_doctor_holds_two_appointments_at_once() {
    let run = small_week().await;
    let store = run.medtrack.store().as_ref();

    let mut checked = 0;
    for doctor in &run.clinic.doctors {
        let appointments = held(
            appointments_of(store, Party::Doctor(doctor.id))
                .await
                .unwrap(),
        );
        let spans: Vec<_> = appointments.iter().map(Appointment::doctor_span).collect();
        assert_eq!(
            overlapping_pairs(&spans),
            0,
            "doctor {} is double-booked",
            doctor.id
        );
        checked += appointments.len();
    }
    assert!(checked > 50, "only {checked} appointments were booked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_patient_holds_two_appointments_at_once() {
    let run = small_week().await;
    let store = run.medtrack.store().as_ref();

    for patient in &run.clinic.patients {
        let appointments = held(
            appointments_of(store, Party::Patient(patient.id))
                .await
                .unwrap(),
        );
        let spans: Vec<_> = appointments.iter().map(|a| (a.start, a.end)).collect();
        assert_eq!(
            overlapping_pairs(&spans),
            0,
            "patient {} is double-booked",
            patient.id
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_contested_slot_has_one_winner_and_the_rest_get_slot_taken() {
    let summary = small_week().await.summary;
    let race = summary.race;

    assert!(race.races >= 2, "{race:?}");
    assert_eq!(race.single_winner, race.races);
    assert_eq!(race.slot_taken, race.races * (race.racers_per_race - 1));
    let contested = &summary.bookings[&Scenario::Contested];
    assert_eq!(contested.succeeded, race.races);
    assert_eq!(contested.refused.get("SlotTaken"), Some(&race.slot_taken));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_counted_by_the_reason_each_rule_gives() {
    let summary = small_week().await.summary;
    let only = |scenario: Scenario, reason: &str| {
        let attempts = &summary.bookings[&scenario];
        assert!(attempts.attempts > 0, "no {scenario:?} attempt");
        assert_eq!(attempts.succeeded, 0, "{scenario:?} was booked");
        let expected = BTreeMap::from([(reason, attempts.attempts)]);
        let refused: BTreeMap<&str, u64> = attempts.refused.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(refused, expected, "{scenario:?}");
    };

    only(Scenario::DoubleBooking, "PatientBusy");
    only(Scenario::OutsideHours, "OutsideWorkingHours");
    only(Scenario::TooSoon, "TooSoon");
    only(Scenario::BeyondHorizon, "BeyondHorizon");
    only(Scenario::PendingDoctor, "NotFound");
    let totals = summary.booking_totals();
    assert_eq!(
        totals.attempts,
        totals.succeeded + totals.refused.values().sum::<u64>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_outbox_event_is_delivered_exactly_once() {
    let run = small_week().await;

    assert_eq!(
        run.medtrack.store().count_pending_events().await.unwrap(),
        0
    );
    assert_eq!(run.summary.pending_events, 0);
    assert_eq!(run.summary.duplicate_deliveries, 0);
    assert!(
        run.summary.failed_deliveries > 0,
        "the outage round failed nothing"
    );
    assert_eq!(
        run.notifier.delivered().len() as u64,
        run.summary.delivered()
    );
    let bookings = run.summary.booking_totals().succeeded;
    assert_eq!(run.summary.notifications["appointment_booked"], bookings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_denied_access_is_refused_and_audited() {
    let summary = small_week().await.summary;

    let mut denied = 0;
    for (what, attempts) in &summary.probes {
        assert_eq!(attempts.succeeded, 0, "{what} was allowed");
        denied += attempts.refused_total();
    }
    assert!(denied > 0);
    assert_eq!(summary.audit_totals().1, denied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_replays_the_same_week() {
    let (first, second) = (small_week().await, small_week().await);

    assert_eq!(first.summary, second.summary);
    assert_eq!(first.summary.to_string(), second.summary.to_string());
}
