//! Storage ports: what a backend must hold and which writes it must make atomic.
//!
//! The service decides; the store only persists. Every write that changes state takes the
//! audit entries and outbox events describing that change and must persist all of it in one
//! atomic step, or none of it. The booking guarantee rests on [`Appointment::time_claims`]:
//! a backend stores each claim under a uniqueness constraint, inside the same atomic write as
//! the appointment, so two appointments can never hold the same cell of anyone's time, no
//! matter how calls interleave. The conformance suite in `testkit` checks every statement
//! made in these docs.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::id::{AppointmentId, DoctorId, EventId, PatientId, UserId};
use crate::model::{
    AccountStatus, Appointment, AppointmentStatus, AuditEntry, Diagnosis, HealthReport, Lease,
    OutboxEvent, Role, Session, TokenHash, User,
};
use crate::text::Email;

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// The audit entries and notification events that describe one write. Persisted in the
/// same atomic step as the write itself.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    /// Audit entries of the write.
    pub audit: Vec<AuditEntry>,
    /// Outbox events of the write.
    pub events: Vec<OutboxEvent>,
}

/// Asks for one page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Where the previous page ended, as its `next_cursor` said; `None` for the first page.
    /// A cursor the store did not hand out fails with `StoreError::InvalidCursor`.
    pub cursor: Option<String>,
    /// How many items at most; backends treat 0 as 1.
    pub limit: u32,
}

impl PageRequest {
    /// The first page, with at most `limit` items.
    pub fn first(limit: u32) -> Self {
        Self {
            cursor: None,
            limit,
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// Present when more items follow; pass it back to get them.
    pub next_cursor: Option<String>,
}

/// Which accounts to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Only accounts of this role.
    pub role: Option<Role>,
    /// Only accounts in this status.
    pub status: Option<AccountStatus>,
}

/// Whose appointments to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The doctor's appointments.
    Doctor(DoctorId),
    /// The patient's appointments.
    Patient(PatientId),
}

/// Which appointments to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentQuery {
    /// Whose.
    pub party: Party,
    /// Only in this status.
    pub status: Option<AppointmentStatus>,
    /// Only those starting at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only those starting before this instant.
    pub to: Option<DateTime<Utc>>,
    /// Earliest first when true, latest first otherwise.
    pub ascending: bool,
}

/// A change to an existing appointment (cancel, complete, no-show).
#[derive(Debug, Clone)]
pub struct AppointmentUpdate {
    /// The appointment as it must be stored, `version` already incremented.
    pub appointment: Appointment,
    /// The version the change was decided on; the write fails with
    /// `Conflict(StaleVersion)` if the stored one differs.
    pub expected_version: u64,
}

/// Accounts.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Stores a new account. Fails with `Conflict(Email)` when another account has the same
    /// normalised email, and `Conflict(AlreadyExists)` when the id is taken; nothing is
    /// written then.
    async fn create_user(&self, user: &User, effects: Effects) -> StoreResult<()>;

    /// The account with this id, or `NotFound`.
    async fn user(&self, id: UserId) -> StoreResult<User>;

    /// The account with this normalised email, if any.
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>>;

    /// Replaces an account. Fails with `Conflict(StaleVersion)` unless the stored version is
    /// `expected_version`, and `NotFound` when it does not exist. The email never changes.
    async fn update_user(&self, user: &User, expected_version: u64) -> StoreResult<()>;

    /// Accounts matching `filter`, ordered by email; pages are stable under inserts.
    async fn list_users(&self, filter: UserFilter, page: PageRequest) -> StoreResult<Page<User>>;
}

/// Login sessions.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session.
    async fn insert_session(&self, session: &Session) -> StoreResult<()>;

    /// The session with this token hash, if any, expired or not.
    async fn session(&self, token_hash: &TokenHash) -> StoreResult<Option<Session>>;

    /// Moves a session's `last_seen_at` and `expires_at`; `NotFound` if it is gone.
    async fn renew_session(
        &self,
        token_hash: &TokenHash,
        last_seen_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Removes a session; removing one that is gone is not an error.
    async fn delete_session(&self, token_hash: &TokenHash) -> StoreResult<()>;

    /// Removes every session that expired before `now`, returning how many.
    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64>;
}

/// Appointments and the claims of time that keep them from overlapping.
#[async_trait]
pub trait AppointmentStore: Send + Sync {
    /// Stores a new booked appointment together with all its [`Appointment::time_claims`].
    /// If any cell is already claimed, fails with `Conflict(DoctorTime)` when a doctor cell
    /// collides, else `Conflict(PatientTime)`, and writes nothing.
    async fn book(&self, appointment: &Appointment, effects: Effects) -> StoreResult<()>;

    /// Moves a booked appointment: releases the cells only the old time held and claims the
    /// cells only the new time holds, in one atomic step. Collisions fail as in
    /// [`book`](Self::book) and leave the old time held; a stored version other than
    /// `expected_version` fails with `Conflict(StaleVersion)`.
    async fn reschedule(
        &self,
        update: AppointmentUpdate,
        previous: &Appointment,
        effects: Effects,
    ) -> StoreResult<()>;

    /// Stores a status change. When the new status is not `Booked`, every claim of the
    /// appointment is released in the same step, so the time is bookable at once.
    async fn update_appointment(
        &self,
        update: AppointmentUpdate,
        effects: Effects,
    ) -> StoreResult<()>;

    /// The appointment with this id, or `NotFound`.
    async fn appointment(&self, id: AppointmentId) -> StoreResult<Appointment>;

    /// The doctor's `Booked` appointments starting in `[from, to)`, earliest first. Must
    /// read only that doctor's appointments in that range, never scan all of them.
    async fn booked_for_doctor(
        &self,
        doctor: DoctorId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<Appointment>>;

    /// One page of appointments matching `query`, ordered by start and then id.
    async fn list_appointments(
        &self,
        query: &AppointmentQuery,
        page: PageRequest,
    ) -> StoreResult<Page<Appointment>>;

    /// Whether any appointment between the two [`establishes care`](Appointment::establishes_care).
    /// Must reflect every write that completed before the call.
    async fn has_care_relationship(
        &self,
        doctor: DoctorId,
        patient: PatientId,
    ) -> StoreResult<bool>;
}

/// Diagnoses and patient reports: the medical record.
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// Stores a diagnosis version and, when given, the appointment change it causes (the
    /// first diagnosis completes the appointment), atomically. Fails with
    /// `Conflict(AlreadyExists)` when this version of the appointment's diagnosis exists,
    /// and as [`AppointmentStore::update_appointment`] for the appointment change.
    async fn add_diagnosis(
        &self,
        diagnosis: &Diagnosis,
        completes: Option<AppointmentUpdate>,
        effects: Effects,
    ) -> StoreResult<()>;

    /// Every diagnosis version of the patient, oldest first (by authoring time, then
    /// appointment id, then version).
    async fn diagnoses_for_patient(&self, patient: PatientId) -> StoreResult<Vec<Diagnosis>>;

    /// Stores a patient's report.
    async fn add_report(&self, report: &HealthReport, effects: Effects) -> StoreResult<()>;

    /// Every report of the patient, oldest first (by submission time, then id).
    async fn reports_for_patient(&self, patient: PatientId) -> StoreResult<Vec<HealthReport>>;
}

/// The audit log of touches of health information.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Stores one entry on its own (for reads and denials, which change nothing else).
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()>;

    /// Entries about `patient` (or everyone's when `None`), newest first (by time, then id).
    async fn list_audit(
        &self,
        patient: Option<PatientId>,
        page: PageRequest,
    ) -> StoreResult<Page<AuditEntry>>;
}

/// Notification events waiting for delivery.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Takes up to `limit` pending events due at `now` (next attempt not later than `now`)
    /// whose lease is absent or ended, sets `lease` on each in one conditional step per
    /// event, and returns them with the lease set, earliest due first. Two concurrent
    /// callers never receive the same event while a lease holds.
    async fn lease_due_events(
        &self,
        now: DateTime<Utc>,
        lease: &Lease,
        limit: u32,
    ) -> StoreResult<Vec<OutboxEvent>>;

    /// Marks an event delivered, if `lease_owner` still holds its lease; otherwise fails with
    /// `Conflict(LeaseLost)` and changes nothing.
    async fn mark_delivered(
        &self,
        id: EventId,
        lease_owner: &str,
        delivered_at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Records a failed attempt: sets `attempts` and `next_attempt_at` and drops the lease, if
    /// `lease_owner` still holds it; otherwise fails with `Conflict(LeaseLost)`.
    async fn retry_later(
        &self,
        id: EventId,
        lease_owner: &str,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// How many events are still pending.
    async fn count_pending_events(&self) -> StoreResult<u64>;
}

/// Everything a backend stores; implemented for any type that implements each part.
pub trait Store:
    AccountStore + SessionStore + AppointmentStore + RecordStore + AuditStore + OutboxStore
{
}

impl<T> Store for T where
    T: AccountStore + SessionStore + AppointmentStore + RecordStore + AuditStore + OutboxStore
{
}
