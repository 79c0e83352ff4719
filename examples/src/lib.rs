//! Shared pieces of the example programs.
//!
//! - [`demo`] generates a seeded, realistic clinic and creates its accounts through the
//!   public API. Every program here (and later the web demo and the benchmarks) starts
//!   from it, so there is one generator to keep realistic.
//! - [`backend`] opens the store and notifier that the `--backend` flags name.
//! - [`week`] replays one clinic week on any store and counts what happened into a
//!   [`summary::WeekSummary`], which prints as plain tables.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod backend;
mod catalog;
pub mod demo;
pub mod summary;
pub mod web;
pub mod week;
