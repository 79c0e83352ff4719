//! A service over a fresh store with a controllable clock, and shortcuts for the cases.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;

use crate::clock::ManualClock;
use crate::dispatch::{DispatchConfig, Dispatcher};
use crate::id::DoctorId;
use crate::model::{Appointment, OutboxEvent, Role};
use crate::notify::{MemoryNotifier, Notifier, NotifyError};
use crate::password::PasswordParams;
use crate::policy::Principal;
use crate::schedule::{BookingRules, LocalInterval, Schedule, WeeklyHours};
use crate::store::Store;
use crate::{BookingRequest, MedTrack, NewAccount, Result, Settings};

/// The password every account of the suite uses.
pub const PASSWORD: &str = "correct horse battery staple";

/// A service over one fresh store, with a manual clock that starts on Monday 2027-01-04
/// at 06:00 UTC.
#[derive(Debug, Clone)]
pub struct Harness {
    /// The service under test.
    pub clinic: MedTrack,
    /// The clock the service reads.
    pub clock: Arc<ManualClock>,
    /// The store under test.
    pub store: Arc<dyn Store>,
    /// Delivered notifications, for dispatchers built by [`Harness::dispatcher`].
    pub notifier: Arc<MemoryNotifier>,
    counter: Arc<AtomicU32>,
}

impl Harness {
    /// A harness over `store`, with light password hashing and doctors approved at once.
    pub fn new(store: Arc<dyn Store>) -> Self {
        let clock = Arc::new(ManualClock::new(Self::start()));
        let settings = Settings {
            password_params: PasswordParams::INSECURE_FAST,
            max_concurrent_hashes: 8,
            auto_approve_doctors: true,
            ..Settings::default()
        };
        let clinic = MedTrack::with_clock(store.clone(), settings, clock.clone())
            .expect("the suite's settings are valid");
        Self {
            clinic,
            clock,
            store,
            notifier: Arc::new(MemoryNotifier::new()),
            counter: Arc::new(AtomicU32::new(0)),
        }
    }

    /// The instant the clock starts at: Monday 2027-01-04, 06:00 UTC.
    pub fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 1, 4, 6, 0, 0).unwrap()
    }

    /// `hour:minute` UTC on the day `days` after the start day (0 is Monday).
    pub fn at(days: i64, hour: u32, minute: u32) -> DateTime<Utc> {
        let midnight = Utc.with_ymd_and_hms(2027, 1, 4, 0, 0, 0).unwrap();
        midnight
            + Duration::days(days)
            + Duration::hours(hour.into())
            + Duration::minutes(minute.into())
    }

    /// A fresh, unique email with `tag` in it, in mixed case to exercise normalisation.
    pub fn email(&self, tag: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        format!("{tag}.{n}.{}@Example.org", uuid::Uuid::new_v4().simple())
    }

    /// Registers an account and signs it in.
    pub async fn account(&self, mut account: NewAccount) -> Principal {
        account.password = PASSWORD.to_owned();
        let email = account.email.clone();
        self.clinic
            .register(account)
            .await
            .expect("registration succeeds");
        self.clinic
            .login(&email, PASSWORD)
            .await
            .expect("login succeeds")
            .principal
    }

    /// A new patient, signed in.
    pub async fn patient(&self) -> Principal {
        self.account(NewAccount {
            name: "Pat Example".into(),
            email: self.email("patient"),
            role: Some(Role::Patient),
            ..NewAccount::default()
        })
        .await
    }

    /// A new doctor, signed in, working Monday to Friday 09:00–17:00 UTC in 30-minute slots.
    pub async fn doctor(&self) -> Principal {
        self.account(NewAccount {
            name: "Dr Example".into(),
            email: self.email("doctor"),
            role: Some(Role::Doctor),
            specialty: Some("General Practice".into()),
            time_zone: Some("UTC".into()),
            ..NewAccount::default()
        })
        .await
    }

    /// A new doctor with the standard hours but these booking rules.
    pub async fn doctor_with_rules(&self, rules: BookingRules) -> Principal {
        let doctor = self.doctor().await;
        self.set_schedule(&doctor, Self::weekday_schedule(30, rules))
            .await;
        doctor
    }

    /// Replaces a doctor's schedule.
    pub async fn set_schedule(&self, doctor: &Principal, schedule: Schedule) {
        self.clinic
            .update_schedule(doctor, Self::doctor_id(doctor), schedule)
            .await
            .expect("the doctor edits their own schedule");
    }

    /// Monday to Friday 09:00–17:00 UTC with the given slot length and rules.
    pub fn weekday_schedule(slot_minutes: u32, rules: BookingRules) -> Schedule {
        let day = LocalInterval::parse("09:00", "17:00").unwrap();
        let weekly = WeeklyHours::weekdays(&[day]).unwrap();
        Schedule::new(Tz::UTC, slot_minutes, weekly, BTreeSet::new(), rules).unwrap()
    }

    /// A new admin, signed in.
    pub async fn admin(&self) -> Principal {
        let email = self.email("admin");
        self.clinic
            .bootstrap_admin("Ada Admin", &email, PASSWORD)
            .await
            .expect("admin creation succeeds");
        self.clinic.login(&email, PASSWORD).await.unwrap().principal
    }

    /// The doctor id of a doctor principal.
    pub fn doctor_id(doctor: &Principal) -> DoctorId {
        doctor.as_doctor().expect("a doctor principal")
    }

    /// Books one slot for `patient` with `doctor` at `start`.
    pub async fn book(
        &self,
        patient: &Principal,
        doctor: &Principal,
        start: DateTime<Utc>,
    ) -> Result<Appointment> {
        self.book_slots(patient, doctor, start, 1).await
    }

    /// Books `slots` consecutive slots.
    pub async fn book_slots(
        &self,
        patient: &Principal,
        doctor: &Principal,
        start: DateTime<Utc>,
        slots: u32,
    ) -> Result<Appointment> {
        let request = BookingRequest {
            doctor_id: Self::doctor_id(doctor),
            start,
            slots,
            reason: "persistent cough".into(),
        };
        self.clinic.book(patient, request).await
    }

    /// A dispatcher named `name` delivering into [`Harness::notifier`], with a one-minute
    /// lease and a one-second first backoff.
    pub fn dispatcher(&self, name: &str) -> Dispatcher {
        let config = DispatchConfig {
            name: name.to_owned(),
            batch_size: 100,
            lease: Duration::minutes(1),
            base_backoff: Duration::seconds(1),
            ..DispatchConfig::default()
        };
        Dispatcher::new(
            self.store.clone(),
            self.notifier.clone(),
            self.clock.clone(),
            config,
        )
    }

    /// A dispatcher like [`Harness::dispatcher`] whose every delivery takes `takes` on the
    /// harness clock, with deliveries cut off after `timeout`.
    pub fn slow_dispatcher(&self, name: &str, takes: Duration, timeout: Duration) -> Dispatcher {
        let config = DispatchConfig {
            name: name.to_owned(),
            batch_size: 100,
            lease: Duration::minutes(1),
            delivery_timeout: timeout,
            ..DispatchConfig::default()
        };
        let notifier = SlowNotifier {
            clock: self.clock.clone(),
            takes,
            then: self.notifier.clone(),
        };
        Dispatcher::new(
            self.store.clone(),
            Arc::new(notifier),
            self.clock.clone(),
            config,
        )
    }

    /// Runs the dispatcher until no event is due, returning how many were delivered.
    pub async fn deliver_all(&self) -> u32 {
        let dispatcher = self.dispatcher("suite");
        let mut delivered = 0;
        loop {
            let report = dispatcher.run_once().await.expect("dispatch works");
            delivered += report.delivered;
            if report.delivered + report.failed == 0 {
                return delivered;
            }
        }
    }
}

/// Delivers into another notifier after moving the clock on, as a slow channel would.
struct SlowNotifier {
    clock: Arc<ManualClock>,
    takes: Duration,
    then: Arc<MemoryNotifier>,
}

#[async_trait::async_trait]
impl Notifier for SlowNotifier {
    async fn deliver(&self, event: &OutboxEvent) -> std::result::Result<(), NotifyError> {
        self.clock.advance(self.takes);
        self.then.deliver(event).await
    }
}
