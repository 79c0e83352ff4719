//! The pure booking engine, with no store underneath: listing a doctor's free slots for a
//! week, and planning one booking.
//!
//! Listing is measured on the demo doctor with the fullest week and on a seven-day practice
//! built from that doctor's rules, with 0, 50 and 300 appointments already booked that week,
//! to show how the cost grows with the appointments the store hands over (and with nothing
//! else: there is no store here).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use medtrack_benches::fixture::clinic_seed;
use medtrack_benches::grid::{self, bench_monday, bench_now};
use medtrack_core::booking;
use medtrack_core::schedule::Schedule;

/// The demo doctor with the fullest week: a realistic diary from the shared generator, and
/// the same doctor the store benchmarks measure.
fn demo_schedule() -> Schedule {
    let plan = clinic_seed().plan();
    plan.doctors[grid::busiest_doctor(&plan)].schedule.clone()
}

fn free_slots_week(c: &mut Criterion) {
    let demo = demo_schedule();
    let seven_day = grid::seven_day_practice(&demo);
    let cases: [(&str, &Schedule, &[usize]); 2] = [
        ("demo_doctor", &demo, &[0, 50]),
        ("seven_day_practice", &seven_day, &[0, 50, 300]),
    ];

    let mut group = c.benchmark_group("free_slots_week");
    for (name, schedule, counts) in cases {
        let (from, to) = grid::week_range(schedule, bench_monday());
        for &count in counts {
            let booked = grid::booked_week(schedule, count);
            let id = BenchmarkId::new(name, format!("booked={count}"));
            group.bench_with_input(id, &booked, |b, booked| {
                b.iter(|| {
                    let schedule = black_box(schedule);
                    booking::free_slots(schedule, black_box(booked), bench_now(), from, to)
                });
            });
        }
    }
    group.finish();
}

/// Planning is the check every booking runs before the store claims the time: one slot in
/// the middle of the week that fits, and one at 03:00 local that does not.
fn plan_booking(c: &mut Criterion) {
    let schedule = demo_schedule();
    let grid = grid::week_grid(&schedule, bench_monday());
    let inside = grid[grid.len() / 2].start;
    let (monday, _) = grid::week_range(&schedule, bench_monday());
    let night = monday + chrono::Duration::days(2) + chrono::Duration::hours(3);
    assert!(booking::plan_booking(&schedule, inside, 1, bench_now()).is_ok());
    assert!(booking::plan_booking(&schedule, night, 1, bench_now()).is_err());

    let mut group = c.benchmark_group("plan_booking");
    for (name, start) in [("inside_hours", inside), ("outside_hours", night)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                booking::plan_booking(black_box(&schedule), black_box(start), 1, bench_now())
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = engine;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3))
        .sample_size(30);
    targets = free_slots_week, plan_booking
}
criterion_main!(engine);
