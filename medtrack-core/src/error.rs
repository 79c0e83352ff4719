//! Errors: validation, storage and the service's own.
//!
//! Messages name fields, entities and ids, never the values a person typed, so they are safe
//! to show and to log.

use std::borrow::Cow;
use std::fmt;

/// Why a field was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationReason {
    /// Nothing was given where something is required.
    Empty,
    /// Longer than allowed.
    TooLong {
        /// The maximum length.
        max: usize,
    },
    /// Shorter than allowed.
    TooShort {
        /// The minimum length.
        min: usize,
    },
    /// Not of the expected form; the text says what form is expected.
    Malformed(&'static str),
    /// A number or duration outside its allowed range; the text says which range.
    OutOfRange(&'static str),
}

impl fmt::Display for ValidationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("is required"),
            Self::TooLong { max } => write!(f, "must be at most {max} characters"),
            Self::TooShort { min } => write!(f, "must be at least {min} characters"),
            Self::Malformed(expected) | Self::OutOfRange(expected) => f.write_str(expected),
        }
    }
}

/// A rejected field: which one, and why. Never holds the rejected value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {reason}")]
pub struct ValidationError {
    field: Cow<'static, str>,
    reason: ValidationReason,
}

impl ValidationError {
    /// A rejection of `field` for `reason`.
    pub fn new(field: impl Into<String>, reason: ValidationReason) -> Self {
        Self {
            field: Cow::Owned(field.into()),
            reason,
        }
    }

    /// The field's name as the caller spelled it in the request, such as `email` or
    /// `prescriptions[1].dose`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// Why it was rejected.
    pub fn reason(&self) -> &ValidationReason {
        &self.reason
    }

    /// The same rejection, reported under a parent field (`drug` becomes `prescriptions[0].drug`).
    pub fn within(self, parent: &str) -> Self {
        Self::new(format!("{parent}.{}", self.field), self.reason)
    }
}

/// The kinds of stored things, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Entity {
    /// An account.
    User,
    /// A login session.
    Session,
    /// An appointment.
    Appointment,
    /// A diagnosis.
    Diagnosis,
    /// A health report.
    Report,
    /// An outbox event.
    Event,
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::User => "user",
            Self::Session => "session",
            Self::Appointment => "appointment",
            Self::Diagnosis => "diagnosis",
            Self::Report => "report",
            Self::Event => "event",
        })
    }
}

/// What a conflicting write collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConflictKind {
    /// Some of the doctor's time (appointment or buffer) is already claimed.
    DoctorTime,
    /// Some of the patient's time is already claimed by another appointment.
    PatientTime,
    /// The normalised email belongs to another account.
    Email,
    /// The record changed since it was read (optimistic concurrency).
    StaleVersion,
    /// A record with this id already exists.
    AlreadyExists,
    /// The outbox lease is held by another dispatcher or has expired.
    LeaseLost,
}

/// A boxed error cause, kept whole so callers can inspect the chain.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error from a storage backend, mapped from the driver's own at the backend boundary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// What kind of thing.
        entity: Entity,
        /// Its id, as text.
        id: String,
    },
    /// A write collided with stored state; nothing was written.
    #[error("conflict: {0:?}")]
    Conflict(ConflictKind),
    /// The backend is throttling, timing out or unreachable; nothing was written.
    #[error("storage unavailable (retryable: {retryable})")]
    Unavailable {
        /// Whether trying again later may succeed.
        retryable: bool,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// A page cursor that this store did not hand out; nothing was read.
    #[error("the page cursor is malformed or was not issued by this store")]
    InvalidCursor,
    /// The backend cannot do this operation; nothing was written.
    #[error("{backend} does not support {operation}")]
    Unsupported {
        /// The backend's name.
        backend: &'static str,
        /// The operation.
        operation: &'static str,
    },
    /// Any other backend failure; nothing was written.
    #[error("{backend} storage error")]
    Backend {
        /// The backend's name.
        backend: &'static str,
        /// The cause.
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    /// A `NotFound` for `entity` with `id`.
    pub fn not_found(entity: Entity, id: impl fmt::Display) -> Self {
        Self::NotFound {
            entity,
            id: id.to_string(),
        }
    }
}

/// Why a booking, cancellation or reschedule could not be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BookingRefusal {
    /// The doctor's time (or a buffer around it) is taken.
    #[error("this slot was just taken")]
    SlotTaken,
    /// The patient has another appointment at an overlapping time.
    #[error("the patient has another appointment at that time")]
    PatientBusy,
    /// The start is not on the doctor's slot grid or outside working hours, or a day off.
    #[error("the time is outside the doctor's working hours or off the slot grid")]
    OutsideWorkingHours,
    /// The start is in the past or sooner than the doctor's minimum notice.
    #[error("the time is too soon to book")]
    TooSoon,
    /// The start is further ahead than the doctor's booking horizon.
    #[error("the time is beyond the doctor's booking horizon")]
    BeyondHorizon,
    /// A patient may no longer cancel or reschedule: the cancellation notice has passed.
    #[error("it is too late to change this appointment")]
    TooLate,
    /// The doctor is not accepting bookings (pending approval or deactivated).
    #[error("the doctor is not accepting bookings")]
    DoctorUnavailable,
    /// The appointment is not in a state that allows this (e.g. already cancelled).
    #[error("the appointment can no longer be changed this way")]
    WrongStatus,
}

/// The service's error: what an operation on [`crate::MedTrack`] may fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field of the request was rejected.
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationError),
    /// The login failed or the session is unknown, expired or revoked.
    #[error("not signed in, or the credentials are wrong")]
    Unauthorized,
    /// The caller may see the thing but not do this to it.
    #[error("not allowed")]
    Forbidden,
    /// Not found, or not visible to the caller (the two are deliberately indistinguishable).
    #[error("{0} not found")]
    NotFound(Entity),
    /// Another account has this email.
    #[error("an account with this email already exists")]
    EmailTaken,
    /// A booking rule refused the change.
    #[error(transparent)]
    Booking(#[from] BookingRefusal),
    /// The record changed concurrently; reload and try again.
    #[error("the record changed meanwhile, try again")]
    Conflict,
    /// The storage backend is unavailable; nothing was written.
    #[error("service unavailable, try again later")]
    Unavailable {
        /// Whether trying again later may succeed.
        retryable: bool,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// An unexpected storage failure; nothing was written.
    #[error("storage failure")]
    Storage(#[source] StoreError),
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { entity, .. } => Self::NotFound(entity),
            StoreError::Conflict(ConflictKind::DoctorTime) => BookingRefusal::SlotTaken.into(),
            StoreError::Conflict(ConflictKind::PatientTime) => BookingRefusal::PatientBusy.into(),
            StoreError::Conflict(ConflictKind::Email) => Self::EmailTaken,
            StoreError::Conflict(_) => Self::Conflict,
            StoreError::Unavailable { retryable, source } => {
                Self::Unavailable { retryable, source }
            }
            StoreError::InvalidCursor => Self::Invalid(ValidationError::new(
                "cursor",
                ValidationReason::Malformed("is not a cursor this list handed out"),
            )),
            other => Self::Storage(other),
        }
    }
}

/// Shorthand for results of service operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
