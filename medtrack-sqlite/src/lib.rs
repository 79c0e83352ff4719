//! # medtrack-sqlite
//!
//! A durable SQLite backend for MedTrack, built on [`sqlx`]: [`SqliteStore`] implements every
//! storage trait of `medtrack-core` over one database file, for a clinic that runs on a
//! single machine.
//!
//! ```no_run
//! # async fn demo() -> Result<(), medtrack_sqlite::OpenError> {
//! use std::sync::Arc;
//! use medtrack_core::store::Store;
//! use medtrack_sqlite::SqliteStore;
//!
//! let store: Arc<dyn Store> = Arc::new(SqliteStore::connect("sqlite://medtrack.db").await?);
//! # Ok(()) }
//! ```
//!
//! ## Opening
//!
//! [`SqliteStore::connect`] takes a `sqlite://path` URL and creates the file if it is
//! missing; [`SqliteStore::open`] takes a path; [`SqliteStore::in_memory`] gives a private
//! database for tests. Opening applies the migrations in `migrations/` (embedded at build
//! time); [`SqliteStoreOptions::migrate_on_open`] turns that off for deployments that manage
//! the schema themselves and call [`SqliteStore::migrate`].
//!
//! An existing file is checked before anything may write to it. A file that does not start
//! with SQLite's header is refused with [`OpenError::NotADatabase`] without SQLite ever
//! opening it; one that SQLite cannot read is refused with [`OpenError::Corrupt`] after a
//! read-only look; a database migrated by a newer build is refused with
//! [`OpenError::SchemaTooNew`], also read-only. The database file is left byte for byte as it
//! was (see [`OpenError`] for the side files SQLite may create).
//!
//! ## Pragmas
//!
//! - `journal_mode=WAL`: readers read a snapshot while the writer appends to the log, so
//!   reads never wait for writes and a write never waits for readers.
//! - `synchronous=NORMAL`: in WAL mode a commit is written to the log but the log is not
//!   flushed to disk on every commit, only at checkpoints. The database can never be
//!   corrupted by a crash, but a power loss or operating-system crash (not a crash of the
//!   program) may lose the last transactions committed before it. That trade buys commits an
//!   order of magnitude cheaper than `FULL`; a clinic that must not lose a single booking to a
//!   power cut should put the file on a battery-backed disk.
//! - `foreign_keys=ON`: appointments, diagnoses, reports, sessions and outbox events must
//!   refer to rows that exist. The audit log deliberately refers to nothing, so that denied
//!   attempts on unknown ids can be logged.
//! - `busy_timeout` (5 s by default): how long a connection waits for a lock held by another
//!   process before failing with a retryable `Unavailable` error.
//!
//! ## One writer connection
//!
//! SQLite lets one transaction write at a time. With several writing connections, each one
//! that finds the lock taken sleeps in the busy handler's backoff and retries, and under load
//! those sleeps grow to seconds while the lock sits idle between them. All writes therefore
//! go through a single connection of their own, and writers queue for it in the pool's fair
//! queue instead: each write runs as soon as the previous one ends. Every write transaction
//! starts with `BEGIN IMMEDIATE`, taking the write lock at once, so it can never fail half-way
//! with `SQLITE_BUSY` on upgrading a read lock (that matters when another process writes to
//! the same file). Reads use a separate pool of read-only connections (four by default) and
//! run in parallel with the writer. An in-memory database has one connection for both.
//!
//! ## How data is kept
//!
//! Each stored type has its own table, and every column that is filtered or ordered on is a
//! real column with an index for each list the core needs: a doctor's and a patient's
//! appointments by start, a patient's diagnoses and reports by time, the audit log by patient
//! and time, pending outbox events by due time. Nested values that are only ever read whole
//! (a doctor's schedule, prescriptions, an event's recipients) are JSON text. Instants are UTC
//! text with nine fractional digits, so they round-trip exactly and sort as text; ids are UUID
//! text.
//!
//! The double-booking guarantee lives in the `time_claims` table: one row per cell of time
//! from [`Appointment::time_claims`](medtrack_core::model::Appointment::time_claims), whose
//! primary key (owner kind, owner id, cell) makes a second claim of the same cell fail inside
//! the transaction that books, moves or completes the appointment. Normalised emails are unique
//! through a unique index. Audit entries and outbox events of a write are inserted in the
//! write's own transaction.
//!
//! ## Errors
//!
//! A collision of time claims becomes `Conflict(DoctorTime)` or `Conflict(PatientTime)`, a
//! taken email `Conflict(Email)`, a taken id `Conflict(AlreadyExists)`, a lost optimistic race
//! `Conflict(StaleVersion)`; `SQLITE_BUSY`, `SQLITE_LOCKED` and a pool timeout become
//! `Unavailable { retryable: true }`; anything else is `Backend` with the driver's error as its
//! source. SQLite's messages name tables and columns, never values, and a stored row that
//! cannot be read back is reported by column only.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod accounts;
mod appointments;
mod audit;
mod codec;
mod effects;
mod error;
mod open;
mod outbox;
mod page;
mod records;
mod sessions;

pub use error::OpenError;
pub use open::{SqliteStore, SqliteStoreOptions};
pub use sqlx;
