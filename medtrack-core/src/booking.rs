//! The booking engine: which slots a doctor offers and whether a booking obeys the schedule.
//!
//! Everything here is a pure function of a [`Schedule`], the instants involved and, for free
//! slots, the doctor's booked appointments in the range. There is no I/O, so the service,
//! the tests and the benchmarks all run the very same decision. Collisions with other
//! appointments are decided by the store, atomically with the appointment's time claims;
//! [`plan_booking`] only checks what the schedule and the booking rules allow.
//!
//! # Working hours in real time
//!
//! A working interval `[a, b)` on a local date `D` that is not a day off becomes the real
//! window `[start of D a, end of D b)` in the doctor's time zone, where an interval ending at
//! 00:00 ends at local midnight of `D + 1`. On the days the clocks change:
//!
//! - a local time the clocks skip stands for the instant they jump to, so no slot is ever
//!   offered at a local time that does not exist;
//! - a local time that occurs twice stands for its earlier instant when it starts an interval
//!   and its later instant when it ends one, so a repeated hour inside working hours is
//!   offered in both passes and nothing is lost.
//!
//! An interval that starts or ends inside a repeated hour therefore covers that part of the
//! hour in both passes: 02:30–04:00 on Berlin's autumn change also offers 02:00 in winter
//! time. Two intervals meeting inside a repeated hour overlap in real time, and each instant
//! is still listed once.
//!
//! Slots step through each window in real time, one slot length at a time, while the slot
//! still ends inside the window. On ordinary days that is the local grid the doctor set: a
//! 09:00–17:00 schedule is 09:00–17:00 local on both sides of a change. A booking of several
//! slots must fit one window; intervals that touch (09:00–12:00 and 12:00–13:00) are not
//! joined into one.

use chrono::{
    DateTime, Datelike, Duration, MappedLocalTime, NaiveDate, NaiveDateTime, TimeZone, Utc,
};
use chrono_tz::Tz;
use serde::Serialize;

use crate::error::{BookingRefusal, Error, ValidationError, ValidationReason};
use crate::model::{Appointment, AppointmentStatus};
use crate::schedule::{BookingRules, LocalInterval, Schedule, CELL_MINUTES};

/// The most time cells (the doctor's, buffers included, plus the patient's) one appointment
/// may claim. A reschedule releases the old cells and takes the new ones in one atomic write,
/// and this bound keeps that write within DynamoDB's 100-item transactions.
pub const MAX_CLAIM_CELLS: usize = 44;

/// The longest range, in days, that one listing of free slots covers; [`free_slots`] cuts a
/// longer range to its first days, so callers should reject longer requests up front.
pub const MAX_SLOT_RANGE_DAYS: i64 = 31;

/// The longest run of skipped local time searched for the instant the clocks jump to. The
/// longest gap in the time zone database is a whole skipped day (Samoa, December 2011).
const MAX_GAP_MINUTES: i64 = 26 * 60;

/// A real-time span `[start, end)`.
type Window = (DateTime<Utc>, DateTime<Utc>);

/// One bookable slot of a doctor: `[start, end)` in real time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Slot {
    /// The first instant of the slot.
    pub start: DateTime<Utc>,
    /// The instant after the slot ends.
    pub end: DateTime<Utc>,
}

/// What the schedule allows for a requested booking: the visit's times and the buffers the
/// appointment holds from now on, whatever the doctor's rules say later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingPlan {
    /// The first instant of the visit.
    pub start: DateTime<Utc>,
    /// The instant after the visit ends.
    pub end: DateTime<Utc>,
    /// The doctor's preparation time held before `start`.
    pub buffer_before_minutes: u32,
    /// The doctor's time held after `end`.
    pub buffer_after_minutes: u32,
}

/// Which instant a repeated local time stands for.
#[derive(Debug, Clone, Copy)]
enum Fold {
    Earlier,
    Later,
}

/// Real-time working windows `[start, end)` for the local dates (in the doctor's zone) that
/// overlap `[from, to)`, in date order. Windows that vanish on a day the clocks change (an
/// interval lying wholly in skipped time) are left out.
pub fn working_windows(
    schedule: &Schedule,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    if to <= from {
        return Vec::new();
    }

    let last_instant = to - Duration::nanoseconds(1);
    windows_on(
        schedule,
        local_date(schedule, from),
        local_date(schedule, last_instant),
    )
    .collect()
}

/// Free slots, one slot long, whose start lies in `[from, to)`: ordered by start, each start
/// once.
///
/// A slot is free when the booking rules allow it at `now` (after `now`, at least the
/// minimum notice ahead, within the horizon) and its doctor span under the current rules
/// (the slot with the buffers around it) overlaps no booked appointment's
/// [`Appointment::doctor_span`]. Only appointments with status booked count. This is the
/// same decision [`plan_booking`] makes, so a listed slot is bookable unless someone takes it
/// meanwhile; in particular a schedule whose single slot would claim more than
/// [`MAX_CLAIM_CELLS`] offers nothing. A range longer than [`MAX_SLOT_RANGE_DAYS`] is cut to
/// that many days.
pub fn free_slots(
    schedule: &Schedule,
    booked: &[Appointment],
    now: DateTime<Utc>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<Slot> {
    let to = to.min(later(from, Duration::days(MAX_SLOT_RANGE_DAYS)));
    if to <= from || run_length(schedule, 1).is_err() {
        return Vec::new();
    }

    let taken = taken_spans(booked);
    let rules = schedule.rules();
    let mut slots: Vec<Slot> = slots_around(schedule, from, to)
        .filter(|slot| from <= slot.start && slot.start < to)
        .filter(|slot| check_timing(rules, slot.start, now).is_ok())
        .filter(|slot| !is_taken(&taken, doctor_span(rules, slot)))
        .collect();

    // Windows may overlap where an interval starts or ends in a repeated hour.
    slots.sort_by_key(|slot| slot.start);
    slots.dedup();
    slots
}

/// Decides whether a booking of `slots` consecutive slots starting at `start` obeys the
/// schedule and the booking rules at `now`.
///
/// The checks run in this order: the number of slots (at least one, and few enough that the
/// appointment's time claims stay within [`MAX_CLAIM_CELLS`]), then [`BookingRefusal::TooSoon`],
/// [`BookingRefusal::BeyondHorizon`] and [`BookingRefusal::OutsideWorkingHours`] (the start
/// is not a slot start of a working window, or the run does not end inside that window).
/// Collisions with other appointments are not checked here: the store refuses them
/// atomically when it takes the time claims.
pub fn plan_booking(
    schedule: &Schedule,
    start: DateTime<Utc>,
    slots: u32,
    now: DateTime<Utc>,
) -> Result<BookingPlan, Error> {
    let length = run_length(schedule, slots)?;

    let rules = schedule.rules();
    check_timing(rules, start, now)?;

    if !fits_one_window(schedule, start, length) {
        return Err(BookingRefusal::OutsideWorkingHours.into());
    }

    Ok(BookingPlan {
        start,
        end: later(start, length),
        buffer_before_minutes: rules.buffer_before_minutes,
        buffer_after_minutes: rules.buffer_after_minutes,
    })
}

/// Whether a patient may still cancel or reschedule an appointment starting at `start`: it
/// has not begun and starts at least the doctor's cancellation notice after `now`. Doctors
/// are not bound by this notice.
pub fn check_change_notice(
    rules: &BookingRules,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), BookingRefusal> {
    let notice = later(now, hours(rules.cancel_notice_hours));
    if start <= now || start < notice {
        return Err(BookingRefusal::TooLate);
    }
    Ok(())
}

/// Booked appointments that no longer fit the (changed) schedule: their start is not a slot
/// start of a working window any more, their length is not a whole number of slots, their run
/// overruns the window, or their day became a day off.
///
/// Such appointments stay valid; this list lets the doctor see and handle them. Buffers are
/// not compared: each appointment keeps the buffers fixed when it was booked.
pub fn outside_hours<'a>(
    schedule: &Schedule,
    appointments: &'a [Appointment],
) -> Vec<&'a Appointment> {
    appointments
        .iter()
        .filter(|appointment| appointment.status == AppointmentStatus::Booked)
        .filter(|appointment| !is_slot_run(schedule, appointment.start, appointment.end))
        .collect()
}

/// Whether `[start, end)` is a whole number of slots inside one working window.
fn is_slot_run(schedule: &Schedule, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    let length = end - start;
    let slot = slot_length(schedule);
    let whole_slots = length >= slot
        && length.subsec_nanos() == 0
        && length.num_seconds() % slot.num_seconds() == 0;
    whole_slots && fits_one_window(schedule, start, length)
}

/// Whether a run of `length` starting at `start` begins on a slot start of some working
/// window and ends inside that same window.
fn fits_one_window(schedule: &Schedule, start: DateTime<Utc>, length: Duration) -> bool {
    let date = local_date(schedule, start);
    let slot = slot_length(schedule);
    let end = later(start, length);
    windows_on(schedule, previous_day(date), next_day(date)).any(|window| {
        end <= window.1
            && slot_walk(window, slot)
                .take_while(|candidate| candidate.start <= start)
                .any(|candidate| candidate.start == start)
    })
}

/// The length of a run of `slots` slots, refused when it is empty or when the appointment's
/// claims (the doctor's span in cells plus the visit in cells) would exceed
/// [`MAX_CLAIM_CELLS`].
fn run_length(schedule: &Schedule, slots: u32) -> Result<Duration, Error> {
    if slots == 0 {
        return Err(invalid_slots("must be at least 1"));
    }

    let rules = schedule.rules();
    let visit = i64::from(slots) * i64::from(schedule.slot_minutes());
    let buffers = i64::from(rules.buffer_before_minutes) + i64::from(rules.buffer_after_minutes);
    let cells = (buffers + 2 * visit) / i64::from(CELL_MINUTES);
    if cells > MAX_CLAIM_CELLS as i64 {
        return Err(invalid_slots(
            "must be few enough that the visit and the doctor's buffers fit one booking",
        ));
    }
    Ok(Duration::minutes(visit))
}

fn invalid_slots(expected: &'static str) -> Error {
    ValidationError::new("slots", ValidationReason::OutOfRange(expected)).into()
}

/// The rules on when a booking may start, shared by listing and booking so they agree.
fn check_timing(
    rules: &BookingRules,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), BookingRefusal> {
    let notice = later(now, hours(rules.min_notice_hours));
    if start <= now || start < notice {
        return Err(BookingRefusal::TooSoon);
    }

    let horizon = later(now, Duration::days(i64::from(rules.horizon_days)));
    if start > horizon {
        return Err(BookingRefusal::BeyondHorizon);
    }
    Ok(())
}

/// Every slot of the windows of the local dates around `[from, to)`, one day wider on each
/// side so that windows reaching across a date boundary are not lost.
fn slots_around(
    schedule: &Schedule,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> impl Iterator<Item = Slot> + '_ {
    let first = previous_day(local_date(schedule, from));
    let last = next_day(local_date(schedule, to));
    let slot = slot_length(schedule);
    windows_on(schedule, first, last).flat_map(move |window| slot_walk(window, slot))
}

/// The slots of one window: stepping in real time from its start while a slot still ends
/// inside it. This is the one slot grid that listing, booking and the hours check share.
fn slot_walk(window: Window, slot: Duration) -> impl Iterator<Item = Slot> {
    let (start, end) = window;
    std::iter::successors(Some(start), move |at| at.checked_add_signed(slot))
        .map(move |at| Slot {
            start: at,
            end: later(at, slot),
        })
        .take_while(move |candidate| candidate.end <= end)
}

/// The non-empty working windows of the local dates `first..=last`, skipping days off.
fn windows_on(
    schedule: &Schedule,
    first: NaiveDate,
    last: NaiveDate,
) -> impl Iterator<Item = Window> + '_ {
    let zone = schedule.time_zone();
    first
        .iter_days()
        .take_while(move |date| *date <= last)
        .filter(|date| !schedule.days_off().contains(date))
        .flat_map(move |date| {
            let intervals = schedule.weekly().day(date.weekday());
            intervals
                .iter()
                .map(move |interval| window_of(zone, date, interval))
        })
        .filter(|(start, end)| start < end)
}

/// The real-time window of `interval` on the local `date`.
fn window_of(zone: Tz, date: NaiveDate, interval: &LocalInterval) -> Window {
    let end_date = if interval.ends_at_midnight() {
        next_day(date)
    } else {
        date
    };

    let start = resolve(zone, date.and_time(interval.start()), Fold::Earlier);
    let end = resolve(zone, end_date.and_time(interval.end()), Fold::Later);
    (start, end)
}

/// The instant a local time stands for in `zone`: `fold` picks the pass of a repeated time,
/// and a skipped time stands for the instant the clocks jump to.
fn resolve(zone: Tz, local: NaiveDateTime, fold: Fold) -> DateTime<Utc> {
    let instant = match zone.from_local_datetime(&local) {
        MappedLocalTime::Single(instant) => instant,
        MappedLocalTime::Ambiguous(earlier, later) => match fold {
            Fold::Earlier => earlier,
            Fold::Later => later,
        },
        MappedLocalTime::None => return end_of_gap(zone, local),
    };
    instant.with_timezone(&Utc)
}

/// The first instant after the skipped local time `local`: the first whole minute after it
/// that exists. Clock changes in the time zone database fall on whole minutes, so this is
/// exactly the instant the clocks jump to. No zone skips more than a day; should one ever,
/// the local time is read as UTC rather than searched for without end.
fn end_of_gap(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    (1..=MAX_GAP_MINUTES)
        .find_map(|minutes| {
            let probe = local.checked_add_signed(Duration::minutes(minutes))?;
            zone.from_local_datetime(&probe).earliest()
        })
        .map_or_else(|| local.and_utc(), |instant| instant.with_timezone(&Utc))
}

/// The doctor spans of the booked appointments, merged into disjoint spans in order.
fn taken_spans(booked: &[Appointment]) -> Vec<Window> {
    let mut spans: Vec<Window> = booked
        .iter()
        .filter(|appointment| appointment.status == AppointmentStatus::Booked)
        .map(Appointment::doctor_span)
        .filter(|(start, end)| start < end)
        .collect();
    spans.sort();

    let mut merged: Vec<Window> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// Whether `span` overlaps any of the disjoint, ordered `taken` spans.
fn is_taken(taken: &[Window], span: Window) -> bool {
    let first_ending_after = taken.partition_point(|(_, end)| *end <= span.0);
    taken
        .get(first_ending_after)
        .is_some_and(|(start, _)| *start < span.1)
}

/// The doctor's time a new booking of `slot` would hold under `rules`.
fn doctor_span(rules: &BookingRules, slot: &Slot) -> Window {
    let before = Duration::minutes(i64::from(rules.buffer_before_minutes));
    let after = Duration::minutes(i64::from(rules.buffer_after_minutes));
    (
        slot.start
            .checked_sub_signed(before)
            .unwrap_or(DateTime::<Utc>::MIN_UTC),
        later(slot.end, after),
    )
}

fn slot_length(schedule: &Schedule) -> Duration {
    Duration::minutes(i64::from(schedule.slot_minutes()))
}

fn hours(hours: u32) -> Duration {
    Duration::hours(i64::from(hours))
}

/// `at + by`, held at the last representable instant rather than overflowing.
fn later(at: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    at.checked_add_signed(by)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn local_date(schedule: &Schedule, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&schedule.time_zone()).date_naive()
}

fn previous_day(date: NaiveDate) -> NaiveDate {
    date.pred_opt().unwrap_or(date)
}

fn next_day(date: NaiveDate) -> NaiveDate {
    date.succ_opt().unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::Weekday;
    use chrono_tz::Atlantic::Azores;
    use chrono_tz::Australia::Sydney;
    use chrono_tz::Europe::Berlin;

    use super::*;
    use crate::id::{AppointmentId, DoctorId, PatientId};
    use crate::schedule::WeeklyHours;
    use crate::text::ClinicalText;

    fn intervals(pairs: &[(&str, &str)]) -> Vec<LocalInterval> {
        pairs
            .iter()
            .map(|(start, end)| LocalInterval::parse(start, end).expect("valid test interval"))
            .collect()
    }

    fn every_day(pairs: &[(&str, &str)]) -> WeeklyHours {
        let mut hours = WeeklyHours::empty();
        let mut day = Weekday::Mon;
        for _ in 0..7 {
            hours = hours.with_day(day, intervals(pairs)).expect("no overlap");
            day = day.succ();
        }
        hours
    }

    fn open_rules() -> BookingRules {
        BookingRules {
            horizon_days: 366,
            ..BookingRules::default()
        }
    }

    fn build(zone: Tz, weekly: WeeklyHours, days_off: &[&str], rules: BookingRules) -> Schedule {
        let days_off = days_off.iter().map(|raw| date(raw)).collect();
        Schedule::new(zone, 30, weekly, days_off, rules).expect("valid test schedule")
    }

    fn daily(zone: Tz, pairs: &[(&str, &str)]) -> Schedule {
        build(zone, every_day(pairs), &[], open_rules())
    }

    fn with_rules(rules: BookingRules) -> Schedule {
        build(Berlin, every_day(&[("09:00", "17:00")]), &[], rules)
    }

    fn date(raw: &str) -> NaiveDate {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").expect("test date")
    }

    /// The earlier instant of an existing local time such as `2027-03-28 09:00` in `zone`.
    fn at(zone: Tz, raw: &str) -> DateTime<Utc> {
        let local = NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M").expect("test time");
        let instant = zone.from_local_datetime(&local).earliest();
        instant.expect("existing local time").with_timezone(&Utc)
    }

    fn berlin(raw: &str) -> DateTime<Utc> {
        at(Berlin, raw)
    }

    fn minutes(count: i64) -> Duration {
        Duration::minutes(count)
    }

    /// A time long before every test date, so only the schedule decides.
    fn early() -> DateTime<Utc> {
        at(chrono_tz::UTC, "2027-01-01 00:00")
    }

    /// The free slots of a whole local day when nothing is booked.
    fn day_slots(schedule: &Schedule, day: &str) -> Vec<Slot> {
        let zone = schedule.time_zone();
        let from = at(zone, &format!("{day} 00:00"));
        let to = at(zone, &format!("{} 00:00", next_day(date(day))));
        free_slots(schedule, &[], early(), from, to)
    }

    fn local_times(zone: Tz, slots: &[Slot]) -> Vec<String> {
        let show = |at: DateTime<Utc>| at.with_timezone(&zone).format("%H:%M").to_string();
        slots.iter().map(|slot| show(slot.start)).collect()
    }

    fn nine_to_five() -> Vec<String> {
        (18..34)
            .map(|half_hours| format!("{:02}:{:02}", half_hours / 2, half_hours % 2 * 30))
            .collect()
    }

    fn assert_steps_of_thirty_minutes(slots: &[Slot]) {
        for pair in slots.windows(2) {
            assert_eq!(pair[1].start - pair[0].start, minutes(30));
        }
        for slot in slots {
            assert_eq!(slot.end - slot.start, minutes(30));
        }
    }

    fn appointment(start: DateTime<Utc>, length: i64, before: u32, after: u32) -> Appointment {
        Appointment {
            id: AppointmentId::new(),
            doctor_id: DoctorId::new(),
            patient_id: PatientId::new(),
            start,
            end: start + minutes(length),
            buffer_before_minutes: before,
            buffer_after_minutes: after,
            reason: ClinicalText::parse("check-up").expect("valid text"),
            status: AppointmentStatus::Booked,
            created_at: start,
            updated_at: start,
            cancelled_at: None,
            version: 1,
        }
    }

    fn refusal(result: Result<BookingPlan, Error>) -> BookingRefusal {
        match result {
            Err(Error::Booking(refusal)) => refusal,
            other => panic!("expected a booking refusal, got {other:?}"),
        }
    }

    fn invalid_field(result: Result<BookingPlan, Error>) -> String {
        match result {
            Err(Error::Invalid(invalid)) => invalid.field().to_owned(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn spring_forward_in_berlin_keeps_the_day_schedule_at_sixteen_local_slots() {
        let slots = day_slots(&daily(Berlin, &[("09:00", "17:00")]), "2027-03-28");

        assert_eq!(local_times(Berlin, &slots), nine_to_five());
        assert_steps_of_thirty_minutes(&slots);
    }

    #[test]
    fn spring_forward_in_berlin_offers_no_local_time_that_does_not_exist() {
        let slots = day_slots(&daily(Berlin, &[("00:00", "04:00")]), "2027-03-28");

        let expected = ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30"];
        assert_eq!(local_times(Berlin, &slots), expected);
        assert_steps_of_thirty_minutes(&slots);
    }

    #[test]
    fn fall_back_in_berlin_keeps_the_day_schedule_at_sixteen_local_slots() {
        let slots = day_slots(&daily(Berlin, &[("09:00", "17:00")]), "2027-10-31");

        assert_eq!(local_times(Berlin, &slots), nine_to_five());
        assert_steps_of_thirty_minutes(&slots);
    }

    #[test]
    fn fall_back_in_berlin_offers_the_repeated_hour_in_both_passes_and_loses_nothing() {
        let slots = day_slots(&daily(Berlin, &[("00:00", "04:00")]), "2027-10-31");

        let expected = [
            "00:00", "00:30", "01:00", "01:30", "02:00", "02:30", "02:00", "02:30", "03:00",
            "03:30",
        ];
        assert_eq!(local_times(Berlin, &slots), expected);
        assert_steps_of_thirty_minutes(&slots);
        assert_eq!(slots[0].start, berlin("2027-10-31 00:00"));
        assert_eq!(slots[9].end, berlin("2027-10-31 04:00"));
    }

    #[test]
    fn fall_back_in_sydney_offers_the_repeated_hour_in_both_passes() {
        let night = day_slots(&daily(Sydney, &[("00:00", "04:00")]), "2027-04-04");
        let day = day_slots(&daily(Sydney, &[("09:00", "17:00")]), "2027-04-04");

        let expected = [
            "00:00", "00:30", "01:00", "01:30", "02:00", "02:30", "02:00", "02:30", "03:00",
            "03:30",
        ];
        assert_eq!(local_times(Sydney, &night), expected);
        assert_steps_of_thirty_minutes(&night);
        assert_eq!(local_times(Sydney, &day), nine_to_five());
    }

    #[test]
    fn spring_forward_in_sydney_skips_the_missing_hour() {
        let night = day_slots(&daily(Sydney, &[("00:00", "04:00")]), "2027-10-03");
        let day = day_slots(&daily(Sydney, &[("09:00", "17:00")]), "2027-10-03");

        let expected = ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30"];
        assert_eq!(local_times(Sydney, &night), expected);
        assert_steps_of_thirty_minutes(&night);
        assert_eq!(local_times(Sydney, &day), nine_to_five());
    }

    #[test]
    fn nine_to_five_stays_nine_to_five_local_on_both_sides_of_every_change() {
        let changes = [
            (Berlin, "2027-03-28"),
            (Berlin, "2027-10-31"),
            (Sydney, "2027-04-04"),
            (Sydney, "2027-10-03"),
        ];
        for (zone, change) in changes {
            let schedule = daily(zone, &[("09:00", "17:00")]);
            let before = previous_day(date(change)).to_string();
            let after = next_day(date(change)).to_string();
            for day in [&before, &after] {
                assert_eq!(
                    local_times(zone, &day_slots(&schedule, day)),
                    nine_to_five()
                );
            }
            let first_of = |day: &str| day_slots(&schedule, day)[0].start;
            let shift = first_of(&after) - first_of(&before);
            assert_ne!(
                shift,
                Duration::days(2),
                "{zone} should change offset on {change}"
            );
        }
    }

    #[test]
    fn an_interval_starting_in_the_repeated_hour_starts_in_its_first_pass() {
        let slots = day_slots(&daily(Berlin, &[("02:30", "04:00")]), "2027-10-31");

        let expected = ["02:30", "02:00", "02:30", "03:00", "03:30"];
        assert_eq!(local_times(Berlin, &slots), expected);
        assert_steps_of_thirty_minutes(&slots);
    }

    #[test]
    fn an_interval_ending_in_the_repeated_hour_ends_in_its_second_pass() {
        let slots = day_slots(&daily(Berlin, &[("01:00", "02:30")]), "2027-10-31");

        let expected = ["01:00", "01:30", "02:00", "02:30", "02:00"];
        assert_eq!(local_times(Berlin, &slots), expected);
        assert_steps_of_thirty_minutes(&slots);
    }

    #[test]
    fn intervals_meeting_in_the_repeated_hour_offer_each_instant_once() {
        let schedule = daily(Berlin, &[("01:00", "02:30"), ("02:30", "04:00")]);

        let slots = day_slots(&schedule, "2027-10-31");

        assert_eq!(slots.len(), 8);
        assert_steps_of_thirty_minutes(&slots);
        assert_eq!(slots[0].start, berlin("2027-10-31 01:00"));
    }

    #[test]
    fn working_windows_have_the_real_length_of_a_changed_night() {
        let schedule = daily(Berlin, &[("00:00", "04:00")]);
        let length = |day: &str| {
            let from = berlin(&format!("{day} 00:00"));
            let windows = working_windows(&schedule, from, from + minutes(60));
            assert_eq!(windows.len(), 1);
            windows[0].1 - windows[0].0
        };

        assert_eq!(length("2027-03-28"), minutes(180));
        assert_eq!(length("2027-10-31"), minutes(300));
        assert_eq!(length("2027-06-01"), minutes(240));
    }

    #[test]
    fn an_interval_ending_at_midnight_ends_at_the_next_local_midnight() {
        let schedule = daily(Berlin, &[("20:00", "24:00")]);
        let from = berlin("2027-06-01 12:00");

        let windows = working_windows(&schedule, from, from + minutes(60));

        assert_eq!(
            windows,
            [(berlin("2027-06-01 20:00"), berlin("2027-06-02 00:00"))]
        );
    }

    #[test]
    fn an_interval_starting_in_skipped_time_starts_when_the_clocks_jump() {
        let schedule = daily(Berlin, &[("02:30", "04:00")]);
        let from = berlin("2027-03-28 00:00");

        let windows = working_windows(&schedule, from, from + minutes(60));

        assert_eq!(
            windows,
            [(berlin("2027-03-28 03:00"), berlin("2027-03-28 04:00"))]
        );
    }

    #[test]
    fn a_window_of_the_day_before_is_not_lost_when_midnight_repeats() {
        let schedule = daily(Azores, &[("20:00", "24:00")]);
        let from = at(Azores, "2027-10-31 00:00");

        let slots = free_slots(&schedule, &[], early(), from, from + Duration::hours(12));

        assert_eq!(local_times(Azores, &slots), ["00:00", "00:30"]);
        assert_eq!(slots[1].end, at(chrono_tz::UTC, "2027-10-31 01:00"));
    }

    #[test]
    fn an_interval_ending_at_a_skipped_midnight_ends_when_the_clocks_jump() {
        let schedule = daily(Azores, &[("20:00", "24:00")]);
        let from = at(Azores, "2027-03-27 12:00");

        let slots = free_slots(&schedule, &[], early(), from, from + Duration::hours(12));

        assert_eq!(slots.len(), 8);
        assert_eq!(slots[7].end, at(Azores, "2027-03-28 01:00"));
    }

    #[test]
    fn days_off_and_days_without_hours_offer_nothing() {
        let weekly = WeeklyHours::weekdays(&intervals(&[("09:00", "17:00")])).expect("valid");
        let schedule = build(Berlin, weekly, &["2027-06-02"], open_rules());

        assert!(
            day_slots(&schedule, "2027-06-02").is_empty(),
            "a Wednesday off"
        );
        assert!(day_slots(&schedule, "2027-06-05").is_empty(), "a Saturday");
        assert_eq!(
            day_slots(&schedule, "2027-06-03").len(),
            16,
            "a working Thursday"
        );

        let on_day_off = plan_booking(&schedule, berlin("2027-06-02 10:00"), 1, early());
        assert_eq!(refusal(on_day_off), BookingRefusal::OutsideWorkingHours);
    }

    #[test]
    fn buffers_keep_appointments_apart_by_after_plus_before() {
        let rules = BookingRules {
            buffer_before_minutes: 10,
            buffer_after_minutes: 15,
            ..open_rules()
        };
        let schedule = with_rules(rules);
        let booked = [appointment(berlin("2027-06-01 10:00"), 30, 10, 15)];
        let existing = &booked[0];

        let from = berlin("2027-06-01 00:00");
        let slots = free_slots(&schedule, &booked, early(), from, from + Duration::days(1));

        let starts = local_times(Berlin, &slots);
        assert!(starts.contains(&"09:00".to_owned()));
        assert!(starts.contains(&"11:00".to_owned()));
        for taken in ["09:30", "10:00", "10:30"] {
            assert!(
                !starts.contains(&taken.to_owned()),
                "{taken} must not be offered"
            );
        }
        for slot in &slots {
            let after_existing = slot.start - existing.end >= minutes(15 + 10);
            let before_existing = existing.start - slot.end >= minutes(15 + 10);
            assert!(after_existing || before_existing);
        }
    }

    #[test]
    fn a_booked_appointment_keeps_the_buffers_it_was_booked_with() {
        let schedule = with_rules(open_rules());
        let existing = appointment(berlin("2027-06-01 10:00"), 30, 0, 60);

        let from = berlin("2027-06-01 10:30");
        let slots = free_slots(&schedule, &[existing], early(), from, from + minutes(120));

        assert_eq!(local_times(Berlin, &slots), ["11:30", "12:00"]);
    }

    #[test]
    fn an_appointment_inside_another_does_not_shorten_the_blocked_time() {
        let schedule = with_rules(open_rules());
        let long = appointment(berlin("2027-06-01 10:00"), 120, 0, 0);
        let inside = appointment(berlin("2027-06-01 10:30"), 30, 0, 0);

        let from = berlin("2027-06-01 09:00");
        let slots = free_slots(
            &schedule,
            &[long, inside],
            early(),
            from,
            from + minutes(240),
        );

        assert_eq!(
            local_times(Berlin, &slots),
            ["09:00", "09:30", "12:00", "12:30"]
        );
    }

    #[test]
    fn only_booked_appointments_block_time() {
        let schedule = with_rules(open_rules());
        let start = berlin("2027-06-01 10:00");
        let mut cancelled = appointment(start, 30, 0, 0);
        cancelled.status = AppointmentStatus::Cancelled;
        let mut completed = appointment(start, 30, 0, 0);
        completed.status = AppointmentStatus::Completed;
        let mut no_show = appointment(start, 30, 0, 0);
        no_show.status = AppointmentStatus::NoShow;

        let booked = [cancelled, completed, no_show];
        let slots = free_slots(&schedule, &booked, early(), start, start + minutes(30));

        assert_eq!(
            slots,
            [Slot {
                start,
                end: start + minutes(30)
            }]
        );
    }

    #[test]
    fn minimum_notice_holds_back_the_next_hours() {
        let rules = BookingRules {
            min_notice_hours: 2,
            ..open_rules()
        };
        let schedule = with_rules(rules);
        let now = berlin("2027-06-01 08:00");

        let slots = free_slots(&schedule, &[], now, now, now + Duration::hours(3));

        assert_eq!(local_times(Berlin, &slots), ["10:00", "10:30"]);
        let too_soon = plan_booking(&schedule, berlin("2027-06-01 09:30"), 1, now);
        assert_eq!(refusal(too_soon), BookingRefusal::TooSoon);
        assert!(plan_booking(&schedule, berlin("2027-06-01 10:00"), 1, now).is_ok());
    }

    #[test]
    fn the_past_and_the_present_are_never_offered() {
        let schedule = with_rules(open_rules());
        let now = berlin("2027-06-01 10:00");

        let slots = free_slots(&schedule, &[], now, now - minutes(60), now + minutes(60));

        assert_eq!(local_times(Berlin, &slots), ["10:30"]);
        assert_eq!(
            refusal(plan_booking(&schedule, now, 1, now)),
            BookingRefusal::TooSoon
        );
        let past = plan_booking(&schedule, now - minutes(30), 1, now);
        assert_eq!(refusal(past), BookingRefusal::TooSoon);
    }

    #[test]
    fn nothing_is_offered_beyond_the_horizon() {
        let rules = BookingRules {
            horizon_days: 1,
            ..open_rules()
        };
        let schedule = with_rules(rules);
        let now = berlin("2027-06-01 12:00");
        let next_day = berlin("2027-06-02 00:00");

        let slots = free_slots(&schedule, &[], now, next_day, next_day + Duration::days(1));

        let expected: Vec<String> = nine_to_five().into_iter().take(7).collect();
        assert_eq!(local_times(Berlin, &slots), expected);
        assert!(plan_booking(&schedule, berlin("2027-06-02 12:00"), 1, now).is_ok());
        let far = plan_booking(&schedule, berlin("2027-06-02 12:30"), 1, now);
        assert_eq!(refusal(far), BookingRefusal::BeyondHorizon);
    }

    #[test]
    fn plan_booking_validates_the_number_of_slots_first() {
        let schedule = with_rules(open_rules());
        let past_and_off_grid = berlin("2027-06-01 03:10");

        let none = plan_booking(&schedule, past_and_off_grid, 0, berlin("2027-06-02 00:00"));
        let too_many = plan_booking(&schedule, past_and_off_grid, 4, berlin("2027-06-02 00:00"));

        assert_eq!(invalid_field(none), "slots");
        assert_eq!(invalid_field(too_many), "slots");
        assert!(plan_booking(&schedule, berlin("2027-06-01 09:00"), 3, early()).is_ok());
    }

    #[test]
    fn a_schedule_whose_single_slot_claims_too_much_is_refused() {
        let rules = BookingRules {
            buffer_before_minutes: 60,
            buffer_after_minutes: 60,
            ..open_rules()
        };
        let weekly = every_day(&[("09:00", "17:00")]);
        let refused = Schedule::new(Berlin, 60, weekly, BTreeSet::new(), rules).unwrap_err();
        assert_eq!(refused.field(), "slot_minutes");
    }

    #[test]
    fn plan_booking_checks_timing_before_working_hours() {
        let rules = BookingRules {
            horizon_days: 1,
            ..open_rules()
        };
        let schedule = with_rules(rules);
        let now = berlin("2027-06-01 12:00");

        let past_off_grid = plan_booking(&schedule, berlin("2027-06-01 03:10"), 1, now);
        let far_off_grid = plan_booking(&schedule, berlin("2027-06-05 03:10"), 1, now);

        assert_eq!(refusal(past_off_grid), BookingRefusal::TooSoon);
        assert_eq!(refusal(far_off_grid), BookingRefusal::BeyondHorizon);
    }

    #[test]
    fn plan_booking_refuses_starts_off_the_grid_and_runs_past_the_window() {
        let schedule = daily(Berlin, &[("09:00", "12:00"), ("13:00", "17:00")]);
        let refused =
            |raw: &str, slots: u32| refusal(plan_booking(&schedule, berlin(raw), slots, early()));

        assert_eq!(
            refused("2027-06-01 09:10", 1),
            BookingRefusal::OutsideWorkingHours
        );
        assert_eq!(
            refused("2027-06-01 08:30", 1),
            BookingRefusal::OutsideWorkingHours
        );
        assert_eq!(
            refused("2027-06-01 12:00", 1),
            BookingRefusal::OutsideWorkingHours
        );
        assert_eq!(
            refused("2027-06-01 11:30", 2),
            BookingRefusal::OutsideWorkingHours
        );
        assert_eq!(
            refused("2027-06-01 16:30", 2),
            BookingRefusal::OutsideWorkingHours
        );
    }

    #[test]
    fn plan_booking_returns_the_run_and_the_current_buffers() {
        let rules = BookingRules {
            buffer_before_minutes: 5,
            buffer_after_minutes: 10,
            ..open_rules()
        };
        let start = berlin("2027-06-01 16:00");

        let plan = plan_booking(&with_rules(rules), start, 2, early()).expect("bookable");

        let expected = BookingPlan {
            start,
            end: berlin("2027-06-01 17:00"),
            buffer_before_minutes: 5,
            buffer_after_minutes: 10,
        };
        assert_eq!(plan, expected);
    }

    #[test]
    fn plan_booking_accepts_a_night_run_across_the_skipped_hour() {
        let schedule = daily(Berlin, &[("00:00", "04:00")]);
        let start = berlin("2027-03-28 01:30");

        let plan = plan_booking(&schedule, start, 2, early()).expect("bookable");

        assert_eq!(plan.end, berlin("2027-03-28 03:30"));
        assert_eq!(plan.end - plan.start, minutes(60));
    }

    #[test]
    fn free_slots_respect_the_range_edges_and_its_limit() {
        let schedule = with_rules(open_rules());
        let from = berlin("2027-06-01 09:10");

        let edge = free_slots(&schedule, &[], early(), from, berlin("2027-06-01 09:40"));
        let long = free_slots(&schedule, &[], early(), from, from + Duration::days(60));

        assert_eq!(local_times(Berlin, &edge), ["09:30"]);
        assert!(free_slots(&schedule, &[], early(), from, from).is_empty());
        let limit = from + Duration::days(MAX_SLOT_RANGE_DAYS);
        assert!(long.iter().all(|slot| slot.start < limit));
        assert_eq!(long.len(), 16 * 31);
    }

    #[test]
    fn change_notice_ends_the_given_hours_before_the_start() {
        let rules = BookingRules {
            cancel_notice_hours: 24,
            ..open_rules()
        };
        let start = berlin("2027-06-02 10:00");

        assert_eq!(
            check_change_notice(&rules, start, start - Duration::hours(24)),
            Ok(())
        );
        let late = check_change_notice(&rules, start, start - Duration::hours(23));
        assert_eq!(late, Err(BookingRefusal::TooLate));

        let no_notice = open_rules();
        assert_eq!(
            check_change_notice(&no_notice, start, start - minutes(1)),
            Ok(())
        );
        assert_eq!(
            check_change_notice(&no_notice, start, start),
            Err(BookingRefusal::TooLate)
        );
    }

    #[test]
    fn outside_hours_lists_bookings_the_new_hours_no_longer_cover() {
        let weekly = WeeklyHours::weekdays(&intervals(&[("09:00", "12:00"), ("13:00", "16:00")]));
        let changed = build(
            Berlin,
            weekly.expect("valid"),
            &["2027-06-02"],
            open_rules(),
        );
        let kept = appointment(berlin("2027-06-01 09:00"), 30, 0, 0);
        let evening = appointment(berlin("2027-06-01 16:30"), 30, 0, 0);
        let lunch = appointment(berlin("2027-06-01 11:30"), 60, 0, 0);
        let day_off = appointment(berlin("2027-06-02 10:00"), 30, 0, 0);
        let mut cancelled = appointment(berlin("2027-06-01 16:30"), 30, 0, 0);
        cancelled.status = AppointmentStatus::Cancelled;

        let all = [
            kept,
            evening.clone(),
            lunch.clone(),
            day_off.clone(),
            cancelled,
        ];
        let outside: Vec<AppointmentId> =
            outside_hours(&changed, &all).iter().map(|a| a.id).collect();

        assert_eq!(outside, [evening.id, lunch.id, day_off.id]);
    }

    #[test]
    fn outside_hours_lists_bookings_off_a_longer_slot_grid() {
        let weekly = every_day(&[("09:00", "17:00")]);
        let hourly = Schedule::new(Berlin, 60, weekly, BTreeSet::new(), open_rules());
        let on_grid = appointment(berlin("2027-06-01 09:00"), 60, 0, 0);
        let off_grid = appointment(berlin("2027-06-01 10:30"), 60, 0, 0);
        let half_slot = appointment(berlin("2027-06-01 11:00"), 30, 0, 0);

        let all = [on_grid, off_grid.clone(), half_slot.clone()];
        let outside = outside_hours(&hourly.expect("valid"), &all);

        assert_eq!(outside, [&off_grid, &half_slot]);
    }
}

#[cfg(test)]
mod properties {
    use std::collections::BTreeSet;

    use chrono::{NaiveTime, Weekday};
    use chrono_tz::{America, Asia, Atlantic, Australia, Europe, Pacific};
    use proptest::prelude::*;

    use super::*;
    use crate::id::{AppointmentId, DoctorId, PatientId};
    use crate::schedule::WeeklyHours;
    use crate::text::ClinicalText;

    const ZONES: [Tz; 7] = [
        Europe::Berlin,
        America::New_York,
        Australia::Sydney,
        Asia::Kolkata,
        Pacific::Chatham,
        Atlantic::Azores,
        chrono_tz::UTC,
    ];

    /// Zones with a date in 2027 on which their clocks change, so that generated ranges often
    /// cross a change. The Azores change at midnight, where windows reach across dates.
    const CHANGES: [(Tz, &str); 10] = [
        (Europe::Berlin, "2027-03-28"),
        (Europe::Berlin, "2027-10-31"),
        (America::New_York, "2027-03-14"),
        (America::New_York, "2027-11-07"),
        (Australia::Sydney, "2027-04-04"),
        (Australia::Sydney, "2027-10-03"),
        (Pacific::Chatham, "2027-04-04"),
        (Pacific::Chatham, "2027-09-26"),
        (Atlantic::Azores, "2027-03-28"),
        (Atlantic::Azores, "2027-10-31"),
    ];

    const SLOT_MINUTES: [u32; 7] = [5, 10, 15, 20, 30, 45, 60];

    /// One generated situation: a schedule, what is booked, the moment and the range asked.
    #[derive(Debug, Clone)]
    struct Case {
        schedule: Schedule,
        booked: Vec<Appointment>,
        now: DateTime<Utc>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    }

    impl Case {
        fn slots(&self) -> Vec<Slot> {
            free_slots(&self.schedule, &self.booked, self.now, self.from, self.to)
        }

        /// Whether a new booking of `[start, end)` with the current buffers would overlap a
        /// booked appointment, checked one appointment at a time.
        fn collides(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
            let rules = self.schedule.rules();
            let from = start - Duration::minutes(rules.buffer_before_minutes.into());
            let to = end + Duration::minutes(rules.buffer_after_minutes.into());
            self.booked
                .iter()
                .filter(|appointment| appointment.status == AppointmentStatus::Booked)
                .map(Appointment::doctor_span)
                .any(|(taken_from, taken_to)| from < taken_to && taken_from < to)
        }
    }

    fn date(raw: &str) -> NaiveDate {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").expect("test date")
    }

    fn clock(minute: u32) -> NaiveTime {
        let time = NaiveTime::from_hms_opt(minute / 60 % 24, minute % 60, 0);
        time.expect("a minute of the day")
    }

    /// A day's intervals: up to three, each a whole number of slots, apart by a gap of whole
    /// cells (possibly none, so intervals may touch).
    fn day_hours(slot: u32) -> impl Strategy<Value = Vec<LocalInterval>> {
        prop::collection::vec((0u32..=144, 1u32..=8), 0..=3).prop_map(move |pieces| {
            let mut cursor = 0;
            let mut day = Vec::new();
            for (gap, slots) in pieces {
                let start = cursor + gap * CELL_MINUTES;
                let end = start + slots * slot;
                if end > 24 * 60 {
                    break;
                }
                day.push(LocalInterval::new(clock(start), clock(end)).expect("on the grid"));
                cursor = end;
            }
            day
        })
    }

    fn weekly(slot: u32) -> impl Strategy<Value = WeeklyHours> {
        prop::collection::vec(day_hours(slot), 7).prop_map(|days| {
            let mut hours = WeeklyHours::empty();
            let mut weekday = Weekday::Mon;
            for day in days {
                hours = hours.with_day(weekday, day).expect("generated apart");
                weekday = weekday.succ();
            }
            hours
        })
    }

    fn rules() -> impl Strategy<Value = BookingRules> {
        (0u32..=12, 0u32..=12, 0u32..=12, 1u32..=30).prop_map(|(before, after, notice, horizon)| {
            BookingRules {
                buffer_before_minutes: before * CELL_MINUTES,
                buffer_after_minutes: after * CELL_MINUTES,
                min_notice_hours: notice,
                horizon_days: horizon,
                cancel_notice_hours: 0,
            }
        })
    }

    /// A zone and a date: mostly a date on which that zone's clocks change.
    fn anchor() -> impl Strategy<Value = (Tz, NaiveDate)> {
        let change =
            prop::sample::select(CHANGES.to_vec()).prop_map(|(zone, day)| (zone, date(day)));
        let zone = prop::sample::select(ZONES.to_vec());
        let any_day = (zone, 0i64..365)
            .prop_map(|(zone, day)| (zone, date("2027-01-01") + Duration::days(day)));
        prop_oneof![3 => change, 1 => any_day]
    }

    /// A booked appointment made from `plan`.
    fn planned(plan: &BookingPlan) -> Appointment {
        Appointment {
            id: AppointmentId::new(),
            doctor_id: DoctorId::new(),
            patient_id: PatientId::new(),
            start: plan.start,
            end: plan.end,
            buffer_before_minutes: plan.buffer_before_minutes,
            buffer_after_minutes: plan.buffer_after_minutes,
            reason: ClinicalText::parse("").expect("empty text is allowed"),
            status: AppointmentStatus::Booked,
            created_at: plan.start,
            updated_at: plan.start,
            cancelled_at: None,
            version: 1,
        }
    }

    fn booked(origin: DateTime<Utc>) -> impl Strategy<Value = Vec<Appointment>> {
        let status = prop::sample::select(vec![
            AppointmentStatus::Booked,
            AppointmentStatus::Booked,
            AppointmentStatus::Cancelled,
            AppointmentStatus::Completed,
            AppointmentStatus::NoShow,
        ]);
        let one = (-288i64..=5 * 288, 1i64..=12, 0u32..=6, 0u32..=6, status);
        let appointment = one.prop_map(move |(cell, cells, before, after, status)| {
            let start = origin + Duration::minutes(cell * 5);
            let plan = BookingPlan {
                start,
                end: start + Duration::minutes(cells * 5),
                buffer_before_minutes: before * CELL_MINUTES,
                buffer_after_minutes: after * CELL_MINUTES,
            };
            Appointment {
                status,
                ..planned(&plan)
            }
        });
        prop::collection::vec(appointment, 0..=8)
    }

    fn schedule_near(zone: Tz, anchor: NaiveDate) -> impl Strategy<Value = Schedule> {
        let slot = prop::sample::select(SLOT_MINUTES.to_vec());
        let off = (-1i64..=4).prop_map(move |day| anchor + Duration::days(day));
        let days_off = prop::collection::btree_set(off, 0..=2);
        (slot, days_off, rules())
            .prop_flat_map(move |(slot, days_off, rules)| {
                (
                    Just(zone),
                    Just(slot),
                    weekly(slot),
                    Just(days_off),
                    Just(rules),
                )
            })
            .prop_filter_map(
                "one slot with its buffers must fit the claim limit",
                |(zone, slot, weekly, days_off, rules)| {
                    Schedule::new(zone, slot, weekly, days_off, rules).ok()
                },
            )
    }

    fn case() -> impl Strategy<Value = Case> {
        anchor().prop_flat_map(|(zone, anchor)| {
            let origin = anchor.and_time(NaiveTime::MIN).and_utc();
            let from = (-36 * 60i64..=36 * 60).prop_map(move |m| origin + Duration::minutes(m));
            let length = 0i64..=4 * 24 * 60;
            let now = -3 * 86_400i64..=12 * 3_600;
            (
                schedule_near(zone, anchor),
                booked(origin),
                from,
                length,
                now,
            )
                .prop_map(|(schedule, booked, from, length, now)| Case {
                    schedule,
                    booked,
                    now: from + Duration::seconds(now),
                    from,
                    to: from + Duration::minutes(length),
                })
        })
    }

    /// Whether `start` lies within a working interval of its local date (or the day before)
    /// when read on the wall clock. A repeated local time also counts when an interval of that
    /// date starts or ends in the repeated hour: the interval then covers both passes.
    fn inside_local_hours(schedule: &Schedule, start: DateTime<Utc>) -> bool {
        let zone = schedule.time_zone();
        let local = start.with_timezone(&zone).naive_local();
        let repeated = |at: NaiveDateTime| {
            let ambiguous = matches!(
                zone.from_local_datetime(&at),
                MappedLocalTime::Ambiguous(..)
            );
            ambiguous && at.date() == local.date()
        };
        let date = local.date();
        [previous_day(date), date]
            .into_iter()
            .filter(|day| !schedule.days_off().contains(day))
            .flat_map(|day| {
                schedule
                    .weekly()
                    .day(day.weekday())
                    .iter()
                    .map(move |i| (day, i))
            })
            .map(|(day, interval)| local_bounds(day, interval))
            .any(|(a, b)| {
                (a <= local && local < b) || (repeated(local) && (repeated(a) || repeated(b)))
            })
    }

    fn local_bounds(day: NaiveDate, interval: &LocalInterval) -> (NaiveDateTime, NaiveDateTime) {
        let end_day = if interval.ends_at_midnight() {
            next_day(day)
        } else {
            day
        };
        (
            day.and_time(interval.start()),
            end_day.and_time(interval.end()),
        )
    }

    fn on_cell_grid(at: DateTime<Utc>) -> bool {
        at.timestamp() % (i64::from(CELL_MINUTES) * 60) == 0 && at.timestamp_subsec_nanos() == 0
    }

    proptest! {
        #[test]
        fn free_slots_are_ordered_distinct_and_start_inside_the_range(case in case()) {
            let slots = case.slots();

            for pair in slots.windows(2) {
                prop_assert!(pair[0].start < pair[1].start);
            }
            for slot in &slots {
                prop_assert!(case.from <= slot.start && slot.start < case.to);
                prop_assert_eq!(slot.end - slot.start, slot_length(&case.schedule));
            }
        }

        #[test]
        fn every_free_slot_is_bookable_at_the_same_moment(case in case()) {
            for slot in case.slots() {
                let plan = plan_booking(&case.schedule, slot.start, 1, case.now);
                prop_assert!(plan.is_ok(), "{slot:?} refused: {plan:?}");
                prop_assert_eq!(plan.expect("checked").end, slot.end);
            }
        }

        #[test]
        fn no_free_slot_overlaps_a_booked_appointment(case in case()) {
            for slot in case.slots() {
                prop_assert!(!case.collides(slot.start, slot.end), "{slot:?} collides");
            }
        }

        #[test]
        fn every_free_slot_starts_inside_local_working_hours(case in case()) {
            for slot in case.slots() {
                prop_assert!(inside_local_hours(&case.schedule, slot.start), "{slot:?}");
            }
        }

        #[test]
        fn free_slots_hold_every_bookable_free_start_in_the_range(case in case()) {
            let slots = case.slots();
            let listed: BTreeSet<DateTime<Utc>> = slots.iter().map(|slot| slot.start).collect();
            prop_assert!(listed.iter().all(|start| on_cell_grid(*start)));

            let cell = i64::from(CELL_MINUTES) * 60;
            let first = (case.from.timestamp() + cell - 1).div_euclid(cell) * cell;
            let first = DateTime::from_timestamp(first, 0).expect("in range");
            let grid = std::iter::successors(Some(first), |at| Some(*at + Duration::seconds(cell)));
            for start in grid.take_while(|at| *at < case.to) {
                let plan = plan_booking(&case.schedule, start, 1, case.now);
                let bookable = plan.is_ok_and(|plan| !case.collides(plan.start, plan.end));
                prop_assert_eq!(listed.contains(&start), bookable, "at {}", start);
            }
        }

        #[test]
        fn planned_bookings_are_never_outside_hours(case in case(), slots in 1u32..=3) {
            for slot in case.slots() {
                let Ok(plan) = plan_booking(&case.schedule, slot.start, slots, case.now) else {
                    continue;
                };
                let booked = [planned(&plan)];
                prop_assert!(outside_hours(&case.schedule, &booked).is_empty(), "{plan:?}");
            }
        }
    }
}
