//! # medtrack-core
//!
//! The domain of MedTrack: accounts, doctors' schedules, appointments, medical records, the
//! access policy, the audit log and the notification outbox, with the storage and
//! notification ports every backend implements.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod booking;
pub mod clock;
pub mod dispatch;
pub mod error;
pub mod id;
pub mod model;
pub mod notify;
pub mod password;
pub mod policy;
pub mod schedule;
mod service;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod text;

pub use error::{BookingRefusal, Error, Result};
pub use policy::Principal;
pub use service::*;
