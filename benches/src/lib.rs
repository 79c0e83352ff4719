//! # medtrack-benches
//!
//! What MedTrack's benchmarks measure on: realistic doctors from the demo generator, their
//! weekly slot grids, and stores pre-filled with many appointments. The bench targets under
//! `benches/` only time calls; everything they time against is built here, outside the
//! timed code, so both targets share one idea of "a doctor's week".
//!
//! - [`grid`]: a doctor's week in real time, its slots, and appointments placed on them.
//! - [`prefill`]: accounts and appointments written straight through the storage traits.
//! - [`fixture`]: a service over a pre-filled store, signed in and ready to list and book.
//!
//! See `README.md` beside this crate for how to run the benchmarks and what they showed.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod fixture;
pub mod grid;
pub mod prefill;

#[cfg(test)]
mod tests;
