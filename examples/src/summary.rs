//! What a replayed week did, counted, and printed as plain tables.
//!
//! Every count is a pure function of the seed: the summary holds no ids (they are random
//! UUIDs), no wall time and nothing that depends on which racing task won, so two runs with
//! one seed compare equal.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};

use crate::demo::ClinicSeed;

/// Why a booking was attempted; each scenario is a kind of request a clinic sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scenario {
    /// A patient picks a slot from a fresh listing.
    Regular,
    /// A patient asks for two consecutive slots.
    LongVisit,
    /// A patient picks a slot from a listing loaded earlier in the day.
    StaleListing,
    /// The same patient, after a refusal, reloads the listing and tries again.
    AfterRefresh,
    /// Several patients ask for one popular slot at the same moment.
    Contested,
    /// A patient with an appointment books another doctor at an overlapping time.
    DoubleBooking,
    /// A request at night, on a Sunday, or off the slot grid.
    OutsideHours,
    /// A request for a past slot or one inside the doctor's minimum notice.
    TooSoon,
    /// A request further ahead than the doctor's booking horizon.
    BeyondHorizon,
    /// A request for a doctor the admin has not approved yet.
    PendingDoctor,
}

impl Scenario {
    /// A short description for the summary table.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Regular => "regular, from a fresh listing",
            Self::LongVisit => "long visit (two slots)",
            Self::StaleListing => "from a listing loaded earlier",
            Self::AfterRefresh => "retry after reloading the listing",
            Self::Contested => "contested slot (concurrent tasks)",
            Self::DoubleBooking => "patient double-books another doctor",
            Self::OutsideHours => "night, Sunday or off the slot grid",
            Self::TooSoon => "past slot or inside minimum notice",
            Self::BeyondHorizon => "beyond the booking horizon",
            Self::PendingDoctor => "doctor awaiting approval",
        }
    }
}

/// Attempts at one kind of operation: how many, how many succeeded, and why the others
/// were refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attempts {
    /// Calls made.
    pub attempts: u64,
    /// Calls that succeeded.
    pub succeeded: u64,
    /// Refusals by their error's name (`SlotTaken`, `TooLate`, `NotFound`, ...).
    pub refused: BTreeMap<&'static str, u64>,
}

impl Attempts {
    /// How many calls were refused.
    pub fn refused_total(&self) -> u64 {
        self.refused.values().sum()
    }
}

/// The contested-slot races.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RaceCounts {
    /// How many slots were raced for.
    pub races: u64,
    /// Patients in each race.
    pub racers_per_race: u64,
    /// Races that exactly one patient won.
    pub single_winner: u64,
    /// Losing requests refused with `SlotTaken`.
    pub slot_taken: u64,
}

/// One doctor's week: what they offered and what was booked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorUse {
    /// The doctor's name.
    pub name: String,
    /// What they practise.
    pub specialty: &'static str,
    /// Their zone's name.
    pub zone: &'static str,
    /// Their slot length.
    pub slot_minutes: u32,
    /// Slots their published hours offered during the week.
    pub offered: u64,
    /// Slots held by appointments that were not cancelled.
    pub booked: u64,
    /// Whether patients could book them.
    pub approved: bool,
}

impl DoctorUse {
    /// Booked slots per offered slot, from 0 to 1.
    pub fn share(&self) -> f64 {
        if self.offered == 0 {
            0.0
        } else {
            self.booked as f64 / self.offered as f64
        }
    }
}

/// A doctor who took a day off during the week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayOff {
    /// The doctor's name.
    pub doctor: String,
    /// The day, in the doctor's zone.
    pub date: NaiveDate,
    /// Bookings that fell outside the changed hours; the doctor cancelled each.
    pub outside_hours: u64,
}

/// Everything a replayed week did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeekSummary {
    /// The clinic that was generated.
    pub seed: ClinicSeed,
    /// The simulated week, `[start, end)`.
    pub week: (DateTime<Utc>, DateTime<Utc>),
    /// Doctors by specialty.
    pub specialties: BTreeMap<&'static str, u64>,
    /// Doctors by zone.
    pub zones: BTreeMap<&'static str, u64>,
    /// Doctors the admin approved.
    pub doctors_approved: u64,
    /// Patients registered.
    pub patients: u64,
    /// Logins during the week (sessions expire after 30 idle minutes).
    pub sign_ins: u64,
    /// Expired sessions removed by the nightly purge.
    pub sessions_purged: u64,
    /// Booking attempts by scenario.
    pub bookings: BTreeMap<Scenario, Attempts>,
    /// Patients who found no free slot with up to four doctors.
    pub gave_up: u64,
    /// The contested-slot races.
    pub race: RaceCounts,
    /// Cancellations by patients.
    pub cancellations: Attempts,
    /// Appointments the doctor cancelled after a schedule change.
    pub doctor_cancellations: u64,
    /// Reschedules by patients.
    pub reschedules: Attempts,
    /// The day off a doctor took mid-week, if any.
    pub day_off: Option<DayOff>,
    /// Appointments at the end, by status.
    pub statuses: BTreeMap<&'static str, u64>,
    /// Every doctor's week, busiest first.
    pub utilisation: Vec<DoctorUse>,
    /// First diagnoses written (each completes an appointment).
    pub diagnoses: u64,
    /// Diagnoses amended afterwards.
    pub amendments: u64,
    /// Prescriptions in first diagnoses.
    pub prescriptions: u64,
    /// Appointments marked as no-shows.
    pub no_shows: u64,
    /// Health reports patients added.
    pub reports: u64,
    /// Medical records read by treating doctors.
    pub reads_by_doctors: u64,
    /// Medical records read by their own patients.
    pub reads_by_patients: u64,
    /// Accesses the policy must deny, by what was tried.
    pub probes: BTreeMap<&'static str, Attempts>,
    /// Notifications delivered, by event kind.
    pub notifications: BTreeMap<&'static str, u64>,
    /// Delivery attempts that failed (while the channel was down) and were retried.
    pub failed_deliveries: u64,
    /// Events delivered more than once.
    pub duplicate_deliveries: u64,
    /// Events still pending at the end.
    pub pending_events: u64,
    /// Audit entries by action: (allowed, denied).
    pub audit: BTreeMap<&'static str, (u64, u64)>,
}

impl WeekSummary {
    /// Refusals of every booking scenario, by reason.
    pub fn refusals(&self) -> BTreeMap<&'static str, u64> {
        let mut total = BTreeMap::new();
        for attempts in self.bookings.values() {
            for (reason, count) in &attempts.refused {
                *total.entry(*reason).or_default() += count;
            }
        }
        total
    }

    /// All booking attempts, over every scenario.
    pub fn booking_totals(&self) -> Attempts {
        Attempts {
            attempts: self.bookings.values().map(|a| a.attempts).sum(),
            succeeded: self.bookings.values().map(|a| a.succeeded).sum(),
            refused: self.refusals(),
        }
    }

    /// Audit entries allowed and denied, over every action.
    pub fn audit_totals(&self) -> (u64, u64) {
        self.audit
            .values()
            .fold((0, 0), |(a, d), (allowed, denied)| {
                (a + allowed, d + denied)
            })
    }

    /// Notifications delivered, over every kind.
    pub fn delivered(&self) -> u64 {
        self.notifications.values().sum()
    }

    fn write_accounts(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let doctors = self.utilisation.len() as u64;
        writeln!(f, "Accounts")?;
        writeln!(
            f,
            "  1 admin, {} doctors ({} approved by the admin, {} awaiting approval), {} patients",
            doctors,
            self.doctors_approved,
            doctors - self.doctors_approved,
            n(self.patients)
        )?;
        write_wrapped(f, "  specialties: ", &joined(&self.specialties))?;
        write_wrapped(f, "  time zones:  ", &joined(&self.zones))?;
        writeln!(
            f,
            "  sign-ins during the week: {} (sessions end after 30 idle minutes);\n  \
             expired sessions purged: {}",
            n(self.sign_ins),
            n(self.sessions_purged)
        )
    }

    fn write_bookings(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Booking attempts")?;
        writeln!(
            f,
            "  {:<40} {:>9} {:>8} {:>8}",
            "scenario", "attempts", "booked", "refused"
        )?;
        for (scenario, attempts) in &self.bookings {
            write_attempt_row(f, scenario.describe(), attempts)?;
        }
        write_attempt_row(f, "total", &self.booking_totals())?;
        writeln!(
            f,
            "  patients who found nothing free with four doctors: {}",
            n(self.gave_up)
        )?;
        writeln!(f, "Refusals by reason")?;
        for (reason, count) in self.refusals() {
            writeln!(f, "  {reason:<22} {:>7}", n(count))?;
        }
        let race = &self.race;
        writeln!(
            f,
            "Contested slots: {} races of {} patients booking at the same moment;\n  \
             {} had exactly one winner, and the other {} requests got SlotTaken",
            race.races,
            race.racers_per_race,
            race.single_winner,
            n(race.slot_taken)
        )
    }

    fn write_changes(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Changes")?;
        writeln!(
            f,
            "  cancellations by patients: {} of {} ({})",
            n(self.cancellations.succeeded),
            n(self.cancellations.attempts),
            refused_text(&self.cancellations)
        )?;
        writeln!(
            f,
            "  reschedules by patients:   {} of {} ({})",
            n(self.reschedules.succeeded),
            n(self.reschedules.attempts),
            refused_text(&self.reschedules)
        )?;
        if let Some(day_off) = &self.day_off {
            writeln!(
                f,
                "  Dr {} took {} off: {} bookings fell outside the new hours,\n    \
                 and the doctor cancelled them ({} cancellations by doctors)",
                day_off.doctor,
                day_off.date.format("%a %-d %b"),
                day_off.outside_hours,
                self.doctor_cancellations
            )?;
        }
        writeln!(
            f,
            "  appointments at the end (booked ones are still to come):\n    {}",
            joined(&self.statuses)
        )
    }

    fn write_utilisation(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let approved: Vec<&DoctorUse> = self.utilisation.iter().filter(|d| d.approved).collect();
        let shown = if approved.len() > 10 {
            format!("the top 10 of {} bookable doctors", approved.len())
        } else {
            format!("all {} bookable doctors", approved.len())
        };
        writeln!(
            f,
            "Utilisation (booked slots / offered slots in the week), {shown}"
        )?;
        writeln!(
            f,
            "  {:<24} {:<20} {:<19} {:>4} {:>7} {:>6} {:>6}",
            "doctor", "specialty", "zone", "slot", "offered", "booked", "use"
        )?;
        for doctor in approved.iter().take(10) {
            writeln!(
                f,
                "  {:<24} {:<20} {:<19} {:>4} {:>7} {:>6} {:>5.1}%",
                clip(&format!("Dr {}", doctor.name), 24),
                clip(doctor.specialty, 20),
                doctor.zone,
                doctor.slot_minutes,
                n(doctor.offered),
                n(doctor.booked),
                100.0 * doctor.share()
            )?;
        }
        let offered: u64 = approved.iter().map(|d| d.offered).sum();
        let booked: u64 = approved.iter().map(|d| d.booked).sum();
        let share = if offered == 0 {
            0.0
        } else {
            booked as f64 / offered as f64
        };
        writeln!(
            f,
            "  {:<24} {:<20} {:<19} {:>4} {:>7} {:>6} {:>5.1}%",
            "all bookable doctors",
            "",
            "",
            "",
            n(offered),
            n(booked),
            100.0 * share
        )
    }

    fn write_records(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Medical records")?;
        writeln!(
            f,
            "  diagnoses: {} (with {} prescriptions), {} amended later; no-shows: {}; \
             patient reports: {}",
            n(self.diagnoses),
            n(self.prescriptions),
            n(self.amendments),
            n(self.no_shows),
            n(self.reports)
        )?;
        writeln!(
            f,
            "  records read by treating doctors: {}, by the patients themselves: {}",
            n(self.reads_by_doctors),
            n(self.reads_by_patients)
        )?;
        writeln!(f, "  accesses the policy must deny (each one audited):")?;
        for (what, attempts) in &self.probes {
            writeln!(
                f,
                "    {what:<52} {:>3} tried, {:>3} allowed, denied: {}",
                attempts.attempts,
                attempts.succeeded,
                joined(&attempts.refused)
            )?;
        }
        Ok(())
    }

    fn write_notifications(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Notifications: {} delivered by two dispatchers sharing the outbox;\n  \
             {} failed attempts while the channel was down were retried; {} duplicates; \
             {} pending",
            n(self.delivered()),
            self.failed_deliveries,
            self.duplicate_deliveries,
            self.pending_events
        )?;
        for (kind, count) in &self.notifications {
            writeln!(f, "  {kind:<26} {:>7}", n(*count))?;
        }
        Ok(())
    }

    fn write_audit(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (allowed, denied) = self.audit_totals();
        writeln!(
            f,
            "Audit log: {} entries, {} allowed, {} denied",
            n(allowed + denied),
            n(allowed),
            n(denied)
        )?;
        writeln!(f, "  {:<26} {:>8} {:>7}", "action", "allowed", "denied")?;
        for (action, (allowed, denied)) in &self.audit {
            writeln!(f, "  {action:<26} {:>8} {:>7}", n(*allowed), n(*denied))?;
        }
        Ok(())
    }
}

impl fmt::Display for WeekSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "MedTrack clinic week (seed {}): {} to {}",
            self.seed.seed,
            self.week.0.format("%a %-d %b %Y %H:%M UTC"),
            self.week.1.format("%a %-d %b %Y %H:%M UTC")
        )?;
        writeln!(f)?;
        self.write_accounts(f)?;
        writeln!(f)?;
        self.write_bookings(f)?;
        writeln!(f)?;
        self.write_changes(f)?;
        writeln!(f)?;
        self.write_utilisation(f)?;
        writeln!(f)?;
        self.write_records(f)?;
        writeln!(f)?;
        self.write_notifications(f)?;
        writeln!(f)?;
        self.write_audit(f)?;
        writeln!(f)?;
        writeln!(
            f,
            "Passwords are hashed with light Argon2id parameters \
             (PasswordParams::INSECURE_FAST: 256 KiB, 1 pass)\nbecause every password here \
             is fake; real installations keep PasswordParams::RECOMMENDED\n(19 MiB, 2 passes)."
        )
    }
}

fn write_attempt_row(f: &mut fmt::Formatter<'_>, label: &str, attempts: &Attempts) -> fmt::Result {
    writeln!(
        f,
        "  {label:<40} {:>9} {:>8} {:>8}",
        n(attempts.attempts),
        n(attempts.succeeded),
        n(attempts.refused_total())
    )
}

/// Writes `text` after `label`, breaking at ", " so that no line passes 96 columns.
fn write_wrapped(f: &mut fmt::Formatter<'_>, label: &str, text: &str) -> fmt::Result {
    let indent = " ".repeat(label.chars().count());
    let mut line = label.to_owned();
    let mut first = true;
    for item in text.split(", ") {
        let piece = if first {
            item.to_owned()
        } else {
            format!(", {item}")
        };
        if !first && line.chars().count() + piece.chars().count() > 96 {
            writeln!(f, "{line},")?;
            line = format!("{indent}{item}");
        } else {
            line.push_str(&piece);
        }
        first = false;
    }
    writeln!(f, "{line}")
}

fn refused_text(attempts: &Attempts) -> String {
    if attempts.refused.is_empty() {
        "none refused".to_owned()
    } else {
        let reasons = joined(&attempts.refused);
        format!("refused: {reasons}")
    }
}

fn joined(counts: &BTreeMap<&'static str, u64>) -> String {
    counts
        .iter()
        .map(|(label, count)| format!("{label} {}", n(*count)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut clipped: String = text.chars().take(width - 1).collect();
        clipped.push('…');
        clipped
    }
}

/// A count with thousands separators: 12345 becomes "12,345".
fn n(count: u64) -> String {
    let digits = count.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (position, digit) in digits.chars().enumerate() {
        if position > 0 && (digits.len() - position).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(n(0), "0");
        assert_eq!(n(999), "999");
        assert_eq!(n(1000), "1,000");
        assert_eq!(n(1234567), "1,234,567");
    }

    #[test]
    fn refusals_add_up_over_scenarios() {
        let mut summary = WeekSummary::default();
        for scenario in [Scenario::Regular, Scenario::Contested] {
            let attempts = summary.bookings.entry(scenario).or_default();
            attempts.attempts = 3;
            attempts.succeeded = 1;
            attempts.refused.insert("SlotTaken", 2);
        }
        assert_eq!(summary.refusals().get("SlotTaken"), Some(&4));
        assert_eq!(summary.booking_totals().attempts, 6);
    }
}
