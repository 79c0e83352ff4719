//! The service: every operation a clinic application performs, each naming who acts.
//!
//! Each operation follows the same steps: validate the input, load what the decision
//! needs, ask the [policy](crate::policy), then persist the change together with its audit
//! entries and outbox events in one atomic store write.
//!
//! Each operation runs in a tracing span that names the ids involved, never their contents.
//! Errors are recorded on that span at debug level, because most are expected outcomes (a
//! slot someone else took, a refused read); the embedding application decides which of them
//! deserve a louder log, typically only storage failures.

mod accounts;
mod admin;
mod appointments;
mod records;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::clock::{Clock, SystemClock};
use crate::error::{Entity, Error, Result};
use crate::id::{AppointmentId, AuditId, EventId, PatientId};
use crate::model::{
    AuditAction, AuditEntry, AuditOutcome, DeliveryStatus, EventKind, NotificationText,
    OutboxEvent, Recipient, User,
};
use crate::password::{PasswordHasher, PasswordParams};
use crate::policy::{decide, Decision, Principal, Request};
use crate::store::{Effects, Store};

#[cfg(feature = "testkit")]
pub(crate) use accounts::hash_token;
pub use accounts::{LoginSession, NewAccount, Profile, ProfileUpdate};
pub use admin::AccountSummary;
pub use appointments::{AppointmentFilter, BookingRequest, DoctorSummary};
pub use records::{DiagnosisInput, MedicalRecord, PatientSummary, PrescriptionInput, ReportInput};

/// How a [`MedTrack`] behaves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Argon2id cost of new password hashes.
    pub password_params: PasswordParams,
    /// How many password hashes may run at once (each takes `memory_kib` of memory).
    pub max_concurrent_hashes: usize,
    /// A session ends after this long without use; using it slides the end forward.
    pub session_idle_timeout: Duration,
    /// A session ends this long after login, however much it is used.
    pub session_max_lifetime: Duration,
    /// Whether self-registered doctors can be booked at once, without an admin's approval.
    /// Meant for demos.
    pub auto_approve_doctors: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            password_params: PasswordParams::RECOMMENDED,
            max_concurrent_hashes: std::thread::available_parallelism().map_or(2, |n| n.get()),
            session_idle_timeout: Duration::minutes(30),
            session_max_lifetime: Duration::hours(12),
            auto_approve_doctors: false,
        }
    }
}

/// MedTrack's operations over one store.
#[derive(Debug, Clone)]
pub struct MedTrack {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    passwords: PasswordHasher,
    settings: Settings,
}

impl std::fmt::Debug for dyn Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dyn Store")
    }
}

impl MedTrack {
    /// The service over `store`, on the system clock.
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Result<Self> {
        Self::with_clock(store, settings, Arc::new(SystemClock))
    }

    /// The service over `store`, reading time from `clock` (tests and replays move it).
    pub fn with_clock(
        store: Arc<dyn Store>,
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let passwords = PasswordHasher::new(
            settings.password_params,
            settings.max_concurrent_hashes,
        )
        .map_err(|_| {
            Error::Invalid(crate::error::ValidationError::new(
                "password_params",
                crate::error::ValidationReason::OutOfRange("are not valid Argon2 parameters"),
            ))
        })?;
        Ok(Self {
            store,
            clock,
            passwords,
            settings,
        })
    }

    /// The store underneath, for dispatchers and maintenance jobs.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The clock the service reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Asks the policy; a refusal becomes `NotFound(entity)` or `Forbidden`.
    fn authorize(&self, actor: &Principal, request: Request<'_>, entity: Entity) -> Result<()> {
        match decide(actor, request) {
            Decision::Allow => Ok(()),
            Decision::Hide => {
                tracing::warn!(actor = %actor.user_id(), ?entity, "access denied (hidden)");
                Err(Error::NotFound(entity))
            }
            Decision::Forbid => {
                tracing::warn!(actor = %actor.user_id(), ?entity, "access denied");
                Err(Error::Forbidden)
            }
        }
    }

    /// Like [`authorize`](Self::authorize) for requests that touch health information: a
    /// denial is written to the audit log before it is returned, and if the entry cannot be
    /// stored the caller gets the storage error (fail closed).
    async fn authorize_audited(
        &self,
        actor: &Principal,
        request: Request<'_>,
        subject: AuditSubject,
    ) -> Result<()> {
        let decision = self.authorize(actor, request, subject.entity);
        if decision.is_err() {
            let entry = self.audit_entry(actor, subject, AuditOutcome::Denied);
            self.store.append_audit(&entry).await?;
        }
        decision
    }

    fn audit_entry(
        &self,
        actor: &Principal,
        subject: AuditSubject,
        outcome: AuditOutcome,
    ) -> AuditEntry {
        AuditEntry {
            id: AuditId::new(),
            at: self.now(),
            actor_id: actor.user_id(),
            actor_role: actor.role(),
            patient_id: subject.patient,
            action: subject.action,
            outcome,
            appointment_id: subject.appointment,
        }
    }

    fn event(
        &self,
        kind: EventKind,
        recipients: Vec<Recipient>,
        appointment_id: Option<AppointmentId>,
        message: String,
    ) -> OutboxEvent {
        let now = self.now();
        OutboxEvent {
            id: EventId::new(),
            kind,
            recipients,
            appointment_id,
            message: NotificationText(message),
            created_at: now,
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: now,
            lease: None,
            delivered_at: None,
        }
    }

    /// Effects of an allowed write: its audit entry and its notification, if any.
    fn effects(
        &self,
        actor: &Principal,
        subject: AuditSubject,
        event: Option<OutboxEvent>,
    ) -> Effects {
        Effects {
            audit: vec![self.audit_entry(actor, subject, AuditOutcome::Allowed)],
            events: event.into_iter().collect(),
        }
    }

    async fn load_user(&self, id: crate::id::UserId, entity: Entity) -> Result<User> {
        self.store
            .user(id)
            .await
            .map_err(|err| match Error::from(err) {
                Error::NotFound(_) => Error::NotFound(entity),
                other => other,
            })
    }
}

/// What an audit entry is about.
#[derive(Debug, Clone, Copy)]
struct AuditSubject {
    patient: PatientId,
    action: AuditAction,
    appointment: Option<AppointmentId>,
    entity: Entity,
}

impl AuditSubject {
    fn record(patient: PatientId, action: AuditAction) -> Self {
        Self {
            patient,
            action,
            appointment: None,
            entity: Entity::User,
        }
    }

    fn appointment(appointment: &crate::model::Appointment, action: AuditAction) -> Self {
        Self {
            patient: appointment.patient_id,
            action,
            appointment: Some(appointment.id),
            entity: Entity::Appointment,
        }
    }
}
