//! Listing a doctor's free week and booking one appointment through the service, on each
//! store, with the store pre-filled with ever more appointments.
//!
//! Both operations must touch only the measured doctor's appointments in the measured week,
//! so their latency should not move when the store holds a thousand times more. Ids read
//! `<store>/<operation>/stored=<appointments>`, so the sizes of one operation sit side by
//! side in the report.
//!
//! A store is built only when a benchmark that needs it runs, so a filter such as
//! `stored=1000$` skips building the large ones.

use std::time::Instant;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use medtrack_benches::fixture::StoreFixture;
use tokio::runtime::Runtime;

/// The stores measured and the sizes each is measured at. The memory store goes to a
/// million because it fills in seconds. A SQLite file stops at 100,000: every appointment
/// is its own write transaction, so filling takes one to two minutes already, and a million
/// would take about twenty.
const BACKENDS: [(Backend, &[usize]); 2] = [
    (Backend::Memory, &[1_000, 100_000, 1_000_000]),
    (Backend::Sqlite, &[1_000, 100_000]),
];

#[derive(Debug, Clone, Copy)]
enum Backend {
    Memory,
    Sqlite,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Sqlite => "sqlite",
        }
    }

    async fn fixture(self, stored: usize) -> StoreFixture {
        match self {
            Self::Memory => StoreFixture::memory(stored).await,
            Self::Sqlite => StoreFixture::sqlite(stored).await,
        }
    }
}

fn store_scaling(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    for (backend, sizes) in BACKENDS {
        let mut group = c.benchmark_group(backend.name());
        for &stored in sizes {
            let mut fixture = None;
            let size = format!("stored={stored}");

            let id = BenchmarkId::new("free_slots_week", &size);
            group.bench_function(id, |b| {
                let fixture: &StoreFixture =
                    fixture.get_or_insert_with(|| set_up(&runtime, backend, stored));
                b.to_async(&runtime).iter(|| fixture.free_slots_week());
            });

            group.bench_function(BenchmarkId::new("book", &size), |b| {
                let fixture: &StoreFixture =
                    fixture.get_or_insert_with(|| set_up(&runtime, backend, stored));
                b.to_async(&runtime)
                    .iter_custom(|iters| fixture.timed_bookings(iters));
            });

            if let Some(fixture) = fixture {
                report_growth(backend, &fixture);
            }
        }
        group.finish();
    }
}

/// Builds a fixture and says how long it took, which is the set-up cost of its size.
fn set_up(runtime: &Runtime, backend: Backend, stored: usize) -> StoreFixture {
    let started = Instant::now();
    let fixture = runtime.block_on(backend.fixture(stored));
    eprintln!(
        "{}: stored {stored} appointments in {:.1} s; the measured week has {} free slots",
        backend.name(),
        started.elapsed().as_secs_f64(),
        fixture.free_slot_count(),
    );
    fixture
}

/// Booking leaves a cancelled appointment behind per iteration; saying how many keeps the
/// `stored=` label honest.
fn report_growth(backend: Backend, fixture: &StoreFixture) {
    eprintln!(
        "{}: stored={} ended with {} more cancelled appointments from the booking benchmark",
        backend.name(),
        fixture.stored,
        fixture.bookings_made(),
    );
}

criterion_group! {
    name = scaling;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3))
        .sample_size(20);
    targets = store_scaling
}
criterion_main!(scaling);
