//! Checks that the fixtures hold what the benchmarks claim they hold.

use medtrack_core::store::Store;
use medtrack_examples::demo::ClinicSeed;

use crate::fixture::StoreFixture;
use crate::grid::{self, bench_monday, bench_now};

#[test]
fn the_busiest_doctor_keeps_no_buffers_and_has_a_full_week() {
    let plan = ClinicSeed::default().plan();
    let doctor = &plan.doctors[grid::busiest_doctor(&plan)];
    let rules = doctor.schedule.rules();
    assert_eq!(
        (rules.buffer_before_minutes, rules.buffer_after_minutes),
        (0, 0)
    );
    assert!(grid::week_grid(&doctor.schedule, bench_monday()).len() >= 50);
}

#[test]
fn the_seven_day_practice_holds_three_hundred_appointments() {
    let plan = ClinicSeed::default().plan();
    let schedule = &plan.doctors[grid::busiest_doctor(&plan)].schedule;
    let booked = grid::booked_week(&grid::seven_day_practice(schedule), 300);
    assert_eq!(booked.len(), 300);
}

#[test]
fn booked_appointments_take_their_slots_from_the_free_list() {
    let plan = ClinicSeed::default().plan();
    let schedule = &plan.doctors[grid::busiest_doctor(&plan)].schedule;
    let (from, to) = grid::week_range(schedule, bench_monday());
    let all = grid::week_grid(schedule, bench_monday());
    let booked = grid::booked_week(schedule, 50);
    let free = medtrack_core::booking::free_slots(schedule, &booked, bench_now(), from, to);
    assert_eq!(free.len(), all.len() - 50);
}

#[test]
fn compatible_slots_leave_room_for_buffers() {
    let plan = ClinicSeed::default().plan();
    let buffered = plan
        .doctors
        .iter()
        .find(|doctor| doctor.schedule.rules().buffer_after_minutes > 0)
        .expect("the demo has a doctor with buffers");
    let grid = grid::week_grid(&buffered.schedule, bench_monday());
    let held = grid::compatible(&grid, buffered.schedule.rules());
    assert!(!held.is_empty() && held.len() < grid.len());
}

#[tokio::test]
async fn a_memory_fixture_stores_what_it_says_and_books_for_real() {
    let fixture = StoreFixture::memory(2_000).await;
    let (from, to) = fixture.week;
    let store = fixture.medtrack.store();
    let booked = store
        .booked_for_doctor(fixture.doctor, from, to)
        .await
        .unwrap();
    assert_eq!(
        booked.len() + fixture.free_slot_count(),
        all_slots(&fixture).await
    );

    assert!(fixture.timed_bookings(3).await > std::time::Duration::ZERO);
    assert_eq!(fixture.bookings_made(), 3);
    assert_eq!(
        fixture.free_slots_week().await.len(),
        fixture.free_slot_count()
    );
}

#[tokio::test]
async fn a_sqlite_fixture_books_for_real() {
    let fixture = StoreFixture::sqlite(1_000).await;
    assert!(fixture.timed_bookings(2).await > std::time::Duration::ZERO);
    assert_eq!(
        fixture.free_slots_week().await.len(),
        fixture.free_slot_count()
    );
}

/// Every slot of the measured week, booked or not.
async fn all_slots(fixture: &StoreFixture) -> usize {
    let store: &dyn Store = &**fixture.medtrack.store();
    let doctor = store.user(fixture.doctor.user_id()).await.unwrap();
    let schedule = doctor.doctor.expect("a doctor profile").schedule;
    grid::week_grid(&schedule, bench_monday()).len()
}
