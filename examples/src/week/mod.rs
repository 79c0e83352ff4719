//! The clinic-week replay: a generated clinic lives through one simulated week.
//!
//! A [`ManualClock`] starts on the Monday at 07:00 UTC and moves in half-day ticks. At each
//! tick doctors see the patients whose appointments have started, patients book, cancel and
//! reschedule, some race for one popular slot, some try what the rules forbid, patients add
//! health reports, and the outbox is drained through two dispatchers. Everything goes
//! through the public [`MedTrack`] API, signed in as the person who would do it.
//!
//! I made the replay deterministic on purpose: every choice comes from one seeded ChaCha
//! stream and is made in a fixed order. The only concurrency with an unpredictable
//! interleaving is the contested-slot races, and their racers take part in nothing else,
//! so which of them wins changes no count.

mod booking;
mod care;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use medtrack_core::booking::working_windows;
use medtrack_core::clock::{Clock, ManualClock};
use medtrack_core::dispatch::{DispatchConfig, Dispatcher};
use medtrack_core::error::{BookingRefusal, ValidationError, ValidationReason};
use medtrack_core::id::{DoctorId, PatientId, UserId};
use medtrack_core::model::{Appointment, AppointmentStatus, OutboxEvent};
use medtrack_core::notify::{MemoryNotifier, Notifier, NotifyError};
use medtrack_core::schedule::Schedule;
use medtrack_core::store::{AppointmentQuery, PageRequest, Party, Store};
use medtrack_core::{AppointmentFilter, Error, MedTrack, Principal, Result};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use secrecy::{ExposeSecret, SecretString};

use crate::demo::{demo_settings, ClinicSeed, DemoClinic, DEMO_PASSWORD};
use crate::summary::{Attempts, DoctorUse, WeekSummary};

/// Half-day steps of the simulated week.
const TICKS: i64 = 14;
/// The tick on which the notification channel is down for one dispatch round.
const OUTAGE_TICK: i64 = 3;
/// The fewest patients a replay needs for its pools (regular, racers, never seen).
pub const MIN_PATIENTS: usize = 20;

/// A finished replay: its summary and what it ran on, for checks after the fact.
#[derive(Debug)]
pub struct WeekRun {
    /// What happened.
    pub summary: WeekSummary,
    /// The service, with the clock at the end of the week.
    pub medtrack: MedTrack,
    /// The accounts that were created.
    pub clinic: DemoClinic,
    /// Every notification the dispatchers delivered.
    pub notifier: Arc<MemoryNotifier>,
}

/// Monday 07:00 UTC of the week of `monday`: where the replay's clock starts.
pub fn week_start(monday: NaiveDate) -> DateTime<Utc> {
    let seven = NaiveTime::from_hms_opt(7, 0, 0).expect("a valid time");
    monday.and_time(seven).and_utc()
}

/// Generates the clinic of `seed` on `store` and replays its week; notifications are only
/// recorded.
pub async fn replay_week(store: Arc<dyn Store>, seed: ClinicSeed) -> Result<WeekRun> {
    replay_week_through(store, None, seed).await
}

/// Like [`replay_week`], but every notification is also handed to `channel` (an SNS topic,
/// say) before it is recorded, so the summary counts what the channel accepted.
pub async fn replay_week_through(
    store: Arc<dyn Store>,
    channel: Option<Arc<dyn Notifier>>,
    seed: ClinicSeed,
) -> Result<WeekRun> {
    if seed.patients < MIN_PATIENTS || seed.doctors < 2 {
        let reason = ValidationReason::OutOfRange("needs at least 2 doctors and 20 patients");
        return Err(ValidationError::new("clinic", reason).into());
    }
    let start = week_start(seed.week_of);
    let clock = Arc::new(ManualClock::new(start));
    let medtrack = MedTrack::with_clock(store, demo_settings(), clock.clone())?;
    let clinic = seed.plan().create(&medtrack).await?;
    let notifier = Arc::new(MemoryNotifier::new());
    let delivery: Arc<dyn Notifier> = Arc::new(Recording {
        channel,
        record: notifier.clone(),
    });

    let mut week = Week::new(&medtrack, clock, &clinic, notifier.clone(), delivery);
    for tick in 0..TICKS {
        week.tick(tick).await?;
    }
    week.close().await?;
    let summary = week.summarise().await?;
    Ok(WeekRun {
        summary,
        medtrack,
        clinic,
        notifier,
    })
}

/// Every appointment of `party`, in any status, earliest first, read straight from the
/// store (an operator's report, so nobody's access is audited).
pub async fn appointments_of(store: &dyn Store, party: Party) -> Result<Vec<Appointment>> {
    let query = AppointmentQuery {
        party,
        status: None,
        from: None,
        to: None,
        ascending: true,
    };
    let mut page = PageRequest::first(200);
    let mut all = Vec::new();
    loop {
        let listed = store.list_appointments(&query, page.clone()).await?;
        all.extend(listed.items);
        match listed.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Ok(all),
        }
    }
}

/// Slot starts of `schedule` in `[from, to)` under its hours and days off, ignoring
/// bookings and notice: what the doctor's published hours offer.
pub fn slot_starts(
    schedule: &Schedule,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let slot = Duration::minutes(schedule.slot_minutes().into());
    let mut starts = BTreeSet::new();
    for (window_start, window_end) in working_windows(schedule, from, to) {
        let mut at = window_start;
        while at + slot <= window_end {
            if from <= at && at < to {
                starts.insert(at);
            }
            at += slot;
        }
    }
    starts.into_iter().collect()
}

/// Who plays which part during the week, fixed up front.
#[derive(Debug)]
struct Cast {
    /// Patients who book, cancel and reschedule.
    regular: Vec<usize>,
    /// Patients who only race for contested slots, `racers_per_race` per race.
    racers: Vec<usize>,
    racers_per_race: usize,
    /// Patients nobody treats, whose records the probes try to open.
    unseen: Vec<usize>,
    /// Doctors patients can book.
    bookable: Vec<usize>,
    /// Bookable doctors, most popular first.
    by_popularity: Vec<usize>,
    /// A weight per doctor (zero for those not bookable).
    popularity: Vec<f64>,
    doctor_index: HashMap<DoctorId, usize>,
    patient_index: HashMap<PatientId, usize>,
}

impl Cast {
    fn new(clinic: &DemoClinic, rng: &mut ChaCha8Rng) -> Self {
        use fake::rand::Rng as _;

        let patients = clinic.patients.len();
        let unseen_count = (patients / 50).max(2);
        let races = (patients / 200).clamp(2, 12);
        let racers_per_race = (patients / 250).clamp(3, 8);
        let regular_count = patients - unseen_count - races * racers_per_race;

        let bookable = clinic.approved_doctors();
        let mut popularity = vec![0.0; clinic.doctors.len()];
        for &doctor in &bookable {
            popularity[doctor] = rng.random_range(0.2..1.0_f64).powi(2);
        }
        let mut by_popularity = bookable.clone();
        by_popularity.sort_by(|a, b| popularity[*b].total_cmp(&popularity[*a]).then(a.cmp(b)));

        Self {
            regular: (0..regular_count).collect(),
            racers: (regular_count..patients - unseen_count).collect(),
            racers_per_race,
            unseen: (patients - unseen_count..patients).collect(),
            bookable,
            by_popularity,
            popularity,
            doctor_index: clinic
                .doctors
                .iter()
                .enumerate()
                .map(|(i, d)| (d.id, i))
                .collect(),
            patient_index: clinic
                .patients
                .iter()
                .enumerate()
                .map(|(i, p)| (p.id, i))
                .collect(),
        }
    }

    fn races(&self) -> usize {
        self.racers.len() / self.racers_per_race
    }

    /// The `nth` patient who is not a racer (regular patients, then unseen ones).
    fn non_racer(&self, nth: usize) -> usize {
        if nth < self.regular.len() {
            self.regular[nth]
        } else {
            self.unseen[nth - self.regular.len()]
        }
    }
}

/// The replay's state between ticks.
struct Week<'a> {
    medtrack: &'a MedTrack,
    clock: Arc<ManualClock>,
    clinic: &'a DemoClinic,
    notifier: Arc<MemoryNotifier>,
    dispatchers: [Dispatcher; 2],
    rng: ChaCha8Rng,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    sessions: HashMap<UserId, (SecretString, DateTime<Utc>)>,
    cast: Cast,
    /// Regular patients who booked at least once, so may have something to change.
    holders: BTreeSet<usize>,
    /// Patients told of a new diagnosis since the last tick.
    diagnosed: Vec<PatientId>,
    summary: WeekSummary,
}

impl<'a> Week<'a> {
    fn new(
        medtrack: &'a MedTrack,
        clock: Arc<ManualClock>,
        clinic: &'a DemoClinic,
        notifier: Arc<MemoryNotifier>,
        delivery: Arc<dyn Notifier>,
    ) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(clinic.seed.seed);
        rng.set_stream(1);
        let cast = Cast::new(clinic, &mut rng);
        let start = week_start(clinic.seed.week_of);
        let dispatcher = |name: &str, batch_size| {
            let config = DispatchConfig {
                name: name.to_owned(),
                batch_size,
                ..DispatchConfig::default()
            };
            Dispatcher::new(
                medtrack.store().clone(),
                delivery.clone(),
                clock.clone(),
                config,
            )
        };
        Self {
            dispatchers: [dispatcher("front-desk", 100), dispatcher("night-shift", 5)],
            medtrack,
            clinic,
            notifier: notifier.clone(),
            clock: clock.clone(),
            rng,
            start,
            end: start + Duration::days(7),
            sessions: HashMap::new(),
            cast,
            holders: BTreeSet::new(),
            diagnosed: Vec::new(),
            summary: WeekSummary {
                seed: clinic.seed,
                week: (start, start + Duration::days(7)),
                ..WeekSummary::default()
            },
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// One half-day: the clock moves, then everyone does what they would.
    async fn tick(&mut self, tick: i64) -> Result<()> {
        self.clock.set(self.start + Duration::hours(12 * tick));
        self.rounds().await?;
        self.patients_read_records().await?;
        if tick < 3 {
            self.races(tick).await?;
        }
        self.bookings(tick).await?;
        self.rule_breakers(tick).await?;
        self.changes().await?;
        if tick == 5 {
            self.day_off().await?;
        }
        self.reports().await?;
        self.probes(tick).await?;
        self.end_of_tick(tick == OUTAGE_TICK).await
    }

    /// The Monday after: doctors finish the week's notes and the outbox empties.
    async fn close(&mut self) -> Result<()> {
        self.clock.set(self.end);
        self.rounds().await?;
        self.patients_read_records().await?;
        self.end_of_tick(false).await
    }

    async fn end_of_tick(&mut self, channel_down: bool) -> Result<()> {
        self.summary.sessions_purged += self.medtrack.purge_expired_sessions().await?;
        if channel_down {
            self.notifier.set_failing(true);
            let report = self.dispatchers[1].run_once().await?;
            self.summary.failed_deliveries += u64::from(report.failed);
            self.notifier.set_failing(false);
        }
        self.drain_outbox().await
    }

    /// Runs both dispatchers side by side until nothing is pending, moving the clock on
    /// when the only events left wait for their retry.
    async fn drain_outbox(&mut self) -> Result<()> {
        let store = self.medtrack.store().clone();
        for _ in 0..100_000 {
            if store.count_pending_events().await? == 0 {
                return Ok(());
            }
            let (first, second) = tokio::join!(
                self.dispatchers[0].run_once(),
                self.dispatchers[1].run_once()
            );
            let (first, second) = (first?, second?);
            self.summary.failed_deliveries += u64::from(first.failed + second.failed);
            if first.delivered + first.failed + second.delivered + second.failed == 0 {
                self.clock.advance(Duration::seconds(30));
            }
        }
        Err(Error::Unavailable {
            retryable: true,
            source: "the outbox did not drain".into(),
        })
    }

    /// The principal of `user`, from their session while it lasts, else from a new login.
    ///
    /// Like a browser holding a cookie, the client knows when its session ends and does
    /// not send a token it knows has expired.
    async fn sign_in(&mut self, user: UserId, email: &str) -> Result<Principal> {
        if let Some((token, expires_at)) = self.sessions.get(&user) {
            if *expires_at > self.now() {
                match self.medtrack.authenticate(token.expose_secret()).await {
                    Ok(principal) => return Ok(principal),
                    Err(Error::Unauthorized) => {}
                    Err(other) => return Err(other),
                }
            }
        }
        let session = self.medtrack.login(email, DEMO_PASSWORD).await?;
        self.summary.sign_ins += 1;
        self.sessions
            .insert(user, (session.token, session.expires_at));
        Ok(session.principal)
    }

    async fn patient(&mut self, patient: usize) -> Result<Principal> {
        let clinic = self.clinic;
        let seeded = &clinic.patients[patient];
        self.sign_in(seeded.id.user_id(), &seeded.email).await
    }

    async fn doctor(&mut self, doctor: usize) -> Result<Principal> {
        let clinic = self.clinic;
        let seeded = &clinic.doctors[doctor];
        self.sign_in(seeded.id.user_id(), &seeded.email).await
    }

    async fn admin(&mut self) -> Result<Principal> {
        let clinic = self.clinic;
        self.sign_in(clinic.admin.id, &clinic.admin.email).await
    }

    /// The acting user's own appointments with `filter`, all pages.
    async fn own_appointments(
        &self,
        actor: &Principal,
        filter: AppointmentFilter,
    ) -> Result<Vec<Appointment>> {
        let mut page = PageRequest::first(100);
        let mut all = Vec::new();
        loop {
            let listed = self
                .medtrack
                .appointments(actor, filter, page.clone())
                .await?;
            all.extend(listed.items);
            match listed.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => return Ok(all),
            }
        }
    }

    /// What the week left behind, counted from the store, the audit log and the notifier.
    async fn summarise(mut self) -> Result<WeekSummary> {
        self.count_accounts();
        self.count_appointments().await?;
        self.count_audit().await?;
        self.count_notifications().await?;
        Ok(self.summary)
    }

    fn count_accounts(&mut self) {
        let clinic = self.clinic;
        for doctor in &clinic.doctors {
            *self
                .summary
                .specialties
                .entry(doctor.specialty)
                .or_default() += 1;
            *self
                .summary
                .zones
                .entry(doctor.schedule.time_zone().name())
                .or_default() += 1;
        }
        self.summary.doctors_approved = self.cast.bookable.len() as u64;
        self.summary.patients = clinic.patients.len() as u64;
    }

    async fn count_appointments(&mut self) -> Result<()> {
        let clinic = self.clinic;
        let store = self.medtrack.store().clone();
        for doctor in &clinic.doctors {
            let appointments = appointments_of(store.as_ref(), Party::Doctor(doctor.id)).await?;
            for appointment in &appointments {
                *self
                    .summary
                    .statuses
                    .entry(appointment.status.as_str())
                    .or_default() += 1;
            }
            let usage = self.usage(doctor, &appointments);
            self.summary.utilisation.push(usage);
        }
        self.summary.utilisation.sort_by(|a, b| {
            b.share()
                .total_cmp(&a.share())
                .then_with(|| b.booked.cmp(&a.booked))
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(())
    }

    fn usage(&self, doctor: &crate::demo::SeededDoctor, appointments: &[Appointment]) -> DoctorUse {
        let (start, end) = (self.start, self.end);
        let slot = i64::from(doctor.schedule.slot_minutes());
        let booked = appointments
            .iter()
            .filter(|a| a.status != AppointmentStatus::Cancelled)
            .filter(|a| start <= a.start && a.start < end)
            .map(|a| ((a.end - a.start).num_minutes() / slot) as u64)
            .sum();
        DoctorUse {
            name: doctor.name.clone(),
            specialty: doctor.specialty,
            zone: doctor.schedule.time_zone().name(),
            slot_minutes: doctor.schedule.slot_minutes(),
            offered: slot_starts(&doctor.schedule, start, end).len() as u64,
            booked,
            approved: doctor.approved,
        }
    }

    async fn count_audit(&mut self) -> Result<()> {
        use medtrack_core::model::AuditOutcome;

        let admin = self.admin().await?;
        let mut page = PageRequest::first(500);
        loop {
            let listed = self.medtrack.audit_log(&admin, None, page.clone()).await?;
            for entry in &listed.items {
                let counts = self.summary.audit.entry(entry.action.as_str()).or_default();
                match entry.outcome {
                    AuditOutcome::Allowed => counts.0 += 1,
                    AuditOutcome::Denied => counts.1 += 1,
                }
            }
            match listed.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => return Ok(()),
            }
        }
    }

    async fn count_notifications(&mut self) -> Result<()> {
        let delivered = self.notifier.delivered();
        let mut ids = BTreeSet::new();
        for event in &delivered {
            *self
                .summary
                .notifications
                .entry(event.kind.as_str())
                .or_default() += 1;
            if !ids.insert(event.id) {
                self.summary.duplicate_deliveries += 1;
            }
        }
        self.summary.pending_events = self.medtrack.store().count_pending_events().await?;
        Ok(())
    }
}

/// Counts one outcome into `attempts`. A refusal the scenario can meet is counted by name
/// and becomes `None`; anything else (a storage failure) ends the replay.
fn count<T>(attempts: &mut Attempts, outcome: Result<T>) -> Result<Option<T>> {
    attempts.attempts += 1;
    match outcome {
        Ok(value) => {
            attempts.succeeded += 1;
            Ok(Some(value))
        }
        Err(err) => {
            let label = refusal_name(&err).ok_or(err)?;
            *attempts.refused.entry(label).or_default() += 1;
            Ok(None)
        }
    }
}

fn refusal_name(err: &Error) -> Option<&'static str> {
    let name = match err {
        Error::Booking(refusal) => match refusal {
            BookingRefusal::SlotTaken => "SlotTaken",
            BookingRefusal::PatientBusy => "PatientBusy",
            BookingRefusal::OutsideWorkingHours => "OutsideWorkingHours",
            BookingRefusal::TooSoon => "TooSoon",
            BookingRefusal::BeyondHorizon => "BeyondHorizon",
            BookingRefusal::TooLate => "TooLate",
            BookingRefusal::DoctorUnavailable => "DoctorUnavailable",
            BookingRefusal::WrongStatus => "WrongStatus",
            _ => "OtherRefusal",
        },
        Error::NotFound(_) => "NotFound",
        Error::Forbidden => "Forbidden",
        Error::Invalid(_) => "Invalid",
        _ => return None,
    };
    Some(name)
}

/// Delivers to an outside channel first, if there is one, then records the event, so an
/// event counts as delivered only once the channel took it. The memory notifier's simulated
/// outage still fails the delivery after the channel took it; the event is then sent to the
/// channel again later, which at-least-once delivery allows.
struct Recording {
    channel: Option<Arc<dyn Notifier>>,
    record: Arc<MemoryNotifier>,
}

#[async_trait::async_trait]
impl Notifier for Recording {
    async fn deliver(&self, event: &OutboxEvent) -> std::result::Result<(), NotifyError> {
        if let Some(channel) = &self.channel {
            channel.deliver(event).await?;
        }
        self.record.deliver(event).await
    }
}
