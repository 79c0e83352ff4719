//! # medtrack-core
//!
//! The domain of MedTrack: accounts, doctors' schedules, appointments, medical records, the
//! access policy, the audit log and the notification outbox, with the storage and
//! notification ports every backend implements.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod clock;
pub mod error;
pub mod id;
pub mod model;
pub mod notify;
pub mod schedule;
pub mod store;
pub mod text;
