//! Replays a realistic clinic week on MedTrack and prints what happened.
//!
//! ```text
//! cargo run --release -p medtrack-examples --bin clinic-week -- --seed 7 --patients 2000
//! ```
//!
//! The clinic, the week and every choice in it come from the seed, so the same seed prints
//! the same summary; only the wall time differs.

use std::error::Error as StdError;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use medtrack_examples::backend::{self, BackendArgs, BackendKind};
use medtrack_examples::demo::ClinicSeed;
use medtrack_examples::week::{replay_week_through, MIN_PATIENTS};
use tracing_subscriber::EnvFilter;

/// Replays one week of a generated clinic (registrations, logins, bookings, races,
/// cancellations, diagnoses, reports, notifications) and prints a summary.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Seeds the clinic and every choice made during the week.
    #[arg(long, env = "CLINIC_WEEK_SEED", default_value_t = 2027)]
    seed: u64,
    /// How many patients register.
    #[arg(long, env = "CLINIC_WEEK_PATIENTS", default_value_t = 2000)]
    patients: usize,
    /// How many doctors register; the last one is still awaiting approval.
    #[arg(long, env = "CLINIC_WEEK_DOCTORS", default_value_t = 25)]
    doctors: usize,
    /// Where the data lives, and where notifications go.
    #[command(flatten)]
    backend: BackendArgs,
}

fn check_sizes(args: &Args) -> Result<(), String> {
    if !(2..=500).contains(&args.doctors) {
        return Err("--doctors must be from 2 to 500".to_owned());
    }
    if !(MIN_PATIENTS..=200_000).contains(&args.patients) {
        return Err(format!("--patients must be from {MIN_PATIENTS} to 200000"));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // Warnings, but only errors from the core: the replay provokes denied reads and a
    // notifier outage on purpose, which the core reports as warnings, and the summary
    // counts each of them. A real failure ends the replay with its cause. RUST_LOG
    // replaces this default.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,medtrack_core=error"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    if let Err(message) = check_sizes(&args) {
        eprintln!("clinic-week: {message}");
        return ExitCode::from(2);
    }
    let opened = match backend::open(&args.backend).await {
        Ok(opened) => opened,
        Err(err) => {
            eprintln!("clinic-week: {}", chain(&err));
            return ExitCode::from(2);
        }
    };
    // Only a real channel is worth forwarding to; on memory and SQLite the summary's own
    // record of the notifications is the channel.
    let channel = (opened.kind == BackendKind::Dynamo).then(|| opened.notifier.clone());
    let seed = ClinicSeed {
        seed: args.seed,
        doctors: args.doctors,
        patients: args.patients,
        ..ClinicSeed::default()
    };

    let started = Instant::now();
    match replay_week_through(opened.store, channel, seed).await {
        Ok(run) => {
            println!("{}", run.summary);
            println!(
                "Backend: {}. Wall time: {:.2?}.",
                opened.kind.name(),
                started.elapsed()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("clinic-week: the replay failed: {}", chain(&err));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes, joined by ": ".
fn chain(err: &dyn StdError) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
