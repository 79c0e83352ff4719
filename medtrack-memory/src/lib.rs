//! # medtrack-memory
//!
//! A MedTrack store that keeps everything in process memory, for tests and demos only.
//! Nothing is persisted: all accounts, appointments, records, audit entries and outbox
//! events are lost when the last handle to the store is dropped, and nothing is shared
//! between processes. Use `medtrack-sqlite` or `medtrack-dynamo` for real data.
//!
//! [`MemoryStore`] implements every trait of [`medtrack_core::store`], so an
//! `Arc<MemoryStore>` can stand wherever an `Arc<dyn Store>` is expected.
//!
//! ```
//! use std::sync::Arc;
//!
//! use medtrack_core::store::Store;
//! use medtrack_core::text::Email;
//! use medtrack_memory::MemoryStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
//!
//! let email = Email::parse("ann@example.org")?;
//! assert!(store.user_by_email(&email).await?.is_none());
//! assert_eq!(store.count_pending_events().await?, 0);
//! # Ok(())
//! # }
//! ```
//!
//! ## Atomicity
//!
//! The whole state sits behind one [`Mutex`], and every trait method runs under a single
//! acquisition of it. A write first checks everything against a shared borrow of the state
//! (versions, uniqueness, free time cells, ids of the audit entries and outbox events in its
//! [`Effects`]), and only then applies the change, the audit
//! entries and the events through an exclusive borrow. A failed check therefore returns
//! before anything is written, and no other caller can slip in between check and write.
//!
//! The apply steps cannot fail or panic, so the lock can only be poisoned by a panic that
//! left the state untouched. A poisoned lock is therefore recovered and used as it is.
//!
//! ## Indexes
//!
//! Time claims sit in a map from claim to appointment, so a double booking is refused by
//! key, as a unique constraint would refuse it. Appointments are indexed per doctor and per
//! patient by `(start, id)`, so schedules, listings and care checks read only that party's
//! appointments. Accounts are indexed by email, audit entries by `(at, id)` globally and per
//! patient, sessions by expiry and pending outbox events by `(next_attempt_at, id)`.
//!
//! ## Pagination
//!
//! Pages use keyset cursors, so a page never repeats or skips an item because of inserts
//! elsewhere in the list. An appointment or audit cursor is `<RFC 3339 instant>|<uuid>` of
//! the last item returned; an account cursor is the last account's id, which the store
//! resolves to its email (emails never change). A cursor this store cannot read fails with
//! [`StoreError::InvalidCursor`].
//!
//! ## Choices where the storage contract is silent
//!
//! - Storing a record under an id that is already taken (an appointment, a report, a
//!   session's token hash, an audit entry or outbox event in the effects) fails with
//!   `Conflict(AlreadyExists)`, as a primary key would.
//! - Only `Booked` appointments hold time claims, also when one is passed to `book` or an
//!   update returns an appointment to `Booked`.
//! - `reschedule` computes the cells to release and take from the stored appointment, which
//!   equals the caller's `previous` whenever the version check passes.
//! - `update_user` with a different email fails with [`StoreError::Unsupported`].
//! - `lease_due_events` with a limit of 0 leases nothing. A delivered event loses its lease,
//!   so marking it delivered a second time fails with `Conflict(LeaseLost)`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use medtrack_core::error::{ConflictKind, StoreError};
use medtrack_core::id::{AppointmentId, AuditId, DoctorId, EventId, PatientId, ReportId, UserId};
use medtrack_core::model::{
    Appointment, AuditEntry, Diagnosis, HealthReport, OutboxEvent, Session, TimeClaim, TokenHash,
    User,
};
use medtrack_core::store::{Effects, StoreResult};
use medtrack_core::text::Email;

mod accounts;
mod appointments;
mod outbox;
mod page;
mod records;
#[cfg(test)]
mod tests;

/// The name this backend gives in errors.
const BACKEND: &str = "memory";

/// Keys ordered by an instant and then an id, for one list.
type TimeIndex<I> = BTreeSet<(DateTime<Utc>, I)>;

/// An in-memory implementation of every MedTrack storage trait, for tests and demos.
///
/// Cheap to create; share it through an `Arc`. See the [crate docs](crate) for how it keeps
/// writes atomic and what it does where the storage contract leaves room.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs one write under the lock: `check` decides on a shared borrow, then `apply` and
    /// the effects change the state. Nothing is written when `check` or the effects fail.
    fn write<P>(
        &self,
        effects: Effects,
        check: impl FnOnce(&State) -> StoreResult<P>,
        apply: impl FnOnce(&mut State, P),
    ) -> StoreResult<()> {
        let mut state = self.lock();
        let planned = check(&state)?;
        state.check_effects(&effects)?;

        apply(&mut state, planned);
        state.apply_effects(effects);
        Ok(())
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

/// Everything the store holds, with its indexes.
#[derive(Default)]
struct State {
    users: HashMap<UserId, User>,
    users_by_email: BTreeMap<Email, UserId>,
    sessions: HashMap<TokenHash, Session>,
    sessions_by_expiry: TimeIndex<TokenHash>,
    appointments: HashMap<AppointmentId, Appointment>,
    claims: HashMap<TimeClaim, AppointmentId>,
    by_doctor: HashMap<DoctorId, TimeIndex<AppointmentId>>,
    by_patient: HashMap<PatientId, TimeIndex<AppointmentId>>,
    diagnoses: HashMap<(AppointmentId, u32), Diagnosis>,
    diagnoses_by_patient: HashMap<PatientId, BTreeSet<(DateTime<Utc>, AppointmentId, u32)>>,
    reports: HashMap<ReportId, HealthReport>,
    reports_by_patient: HashMap<PatientId, TimeIndex<ReportId>>,
    audit: HashMap<AuditId, AuditEntry>,
    audit_by_time: TimeIndex<AuditId>,
    audit_by_patient: HashMap<PatientId, TimeIndex<AuditId>>,
    events: HashMap<EventId, OutboxEvent>,
    pending: TimeIndex<EventId>,
}

impl State {
    /// Refuses effects whose audit or event ids are stored already or repeat each other.
    fn check_effects(&self, effects: &Effects) -> StoreResult<()> {
        let mut audit_ids = HashSet::new();
        let mut event_ids = HashSet::new();
        let audit_fresh = effects
            .audit
            .iter()
            .all(|entry| !self.audit.contains_key(&entry.id) && audit_ids.insert(entry.id));
        let events_fresh = effects
            .events
            .iter()
            .all(|event| !self.events.contains_key(&event.id) && event_ids.insert(event.id));

        if audit_fresh && events_fresh {
            Ok(())
        } else {
            Err(StoreError::Conflict(ConflictKind::AlreadyExists))
        }
    }

    fn apply_effects(&mut self, effects: Effects) {
        for entry in effects.audit {
            self.insert_audit(entry);
        }
        for event in effects.events {
            self.insert_event(event);
        }
    }
}

/// The README's examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
