//! A doctor's working hours, days off and booking rules, as the doctor sets them.
//!
//! Times are wall-clock times in the doctor's own IANA time zone. All lengths are whole
//! multiples of [`CELL_MINUTES`], the grid every claim of time lines up on, so that the
//! claims of different doctors and patients can be compared cell by cell.

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveTime, Timelike, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{ValidationError, ValidationReason};

/// The global grid, in minutes, that slot lengths, buffers and working hours align to.
pub const CELL_MINUTES: u32 = 5;
/// The longest slot a doctor may set.
pub const MAX_SLOT_MINUTES: u32 = 240;
/// The longest buffer before or after an appointment.
pub const MAX_BUFFER_MINUTES: u32 = 120;
/// The furthest booking horizon a doctor may set, in days.
pub const MAX_HORIZON_DAYS: u32 = 366;
/// The longest notice a doctor may require, in hours.
pub const MAX_NOTICE_HOURS: u32 = 24 * 30;

/// One working interval of a day, such as 09:00 to 12:00, in the doctor's wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LocalInterval {
    start: NaiveTime,
    end: NaiveTime,
}

impl LocalInterval {
    /// An interval from `start` to `end` on the same day, both on the five-minute grid.
    /// An `end` of 00:00 means midnight at the end of the day.
    pub fn new(start: NaiveTime, end: NaiveTime) -> Result<Self, ValidationError> {
        let field = "weekly";
        for time in [start, end] {
            if time.second() != 0 || time.nanosecond() != 0 || time.minute() % CELL_MINUTES != 0 {
                return Err(ValidationError::new(
                    field,
                    ValidationReason::Malformed("times must be on a five-minute boundary"),
                ));
            }
        }
        let interval = Self { start, end };
        if interval.minutes() == 0 || (end <= start && end != NaiveTime::MIN) {
            return Err(ValidationError::new(
                field,
                ValidationReason::Malformed("each interval must end after it starts"),
            ));
        }
        Ok(interval)
    }

    /// Parses `"09:00"` and `"17:00"` style times.
    pub fn parse(start: &str, end: &str) -> Result<Self, ValidationError> {
        let parse = |raw: &str| {
            NaiveTime::parse_from_str(raw.trim(), "%H:%M").map_err(|_| {
                ValidationError::new("weekly", ValidationReason::Malformed("times must be HH:MM"))
            })
        };
        let end_time = match end.trim() {
            "24:00" => NaiveTime::MIN,
            other => parse(other)?,
        };
        Self::new(parse(start)?, end_time)
    }

    /// Where the interval starts, in wall-clock time.
    pub fn start(&self) -> NaiveTime {
        self.start
    }

    /// Where the interval ends, in wall-clock time (00:00 meaning the end of the day).
    pub fn end(&self) -> NaiveTime {
        self.end
    }

    /// Whether the interval runs to midnight at the end of the day.
    pub fn ends_at_midnight(&self) -> bool {
        self.end == NaiveTime::MIN
    }

    /// Length in wall-clock minutes (the real length differs on a day the clocks change).
    pub fn minutes(&self) -> u32 {
        let start = self.start.num_seconds_from_midnight() / 60;
        let end = if self.ends_at_midnight() {
            24 * 60
        } else {
            self.end.num_seconds_from_midnight() / 60
        };
        end.saturating_sub(start)
    }

    fn overlaps(&self, other: &Self) -> bool {
        let (a0, a1) = self.bounds();
        let (b0, b1) = other.bounds();
        a0 < b1 && b0 < a1
    }

    fn bounds(&self) -> (u32, u32) {
        let start = self.start.num_seconds_from_midnight() / 60;
        (start, start + self.minutes())
    }
}

/// Working intervals for each day of the week, Monday first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyHours {
    days: [Vec<LocalInterval>; 7],
}

impl WeeklyHours {
    /// No working hours at all.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The same intervals on Monday to Friday, nothing at the weekend.
    pub fn weekdays(intervals: &[LocalInterval]) -> Result<Self, ValidationError> {
        let mut hours = Self::empty();
        for day in [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ] {
            hours = hours.with_day(day, intervals.to_vec())?;
        }
        Ok(hours)
    }

    /// These hours with `day` set to `intervals`, which must not overlap.
    pub fn with_day(
        mut self,
        day: Weekday,
        mut intervals: Vec<LocalInterval>,
    ) -> Result<Self, ValidationError> {
        intervals.sort();
        if intervals.windows(2).any(|pair| pair[0].overlaps(&pair[1])) {
            return Err(ValidationError::new(
                "weekly",
                ValidationReason::Malformed("intervals of one day must not overlap"),
            ));
        }
        self.days[day.num_days_from_monday() as usize] = intervals;
        Ok(self)
    }

    /// The intervals of `day`, earliest first.
    pub fn day(&self, day: Weekday) -> &[LocalInterval] {
        &self.days[day.num_days_from_monday() as usize]
    }

    fn all(&self) -> impl Iterator<Item = &LocalInterval> {
        self.days.iter().flatten()
    }
}

/// Rules a doctor sets for how patients may book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingRules {
    /// Unbookable minutes before every appointment (preparation).
    pub buffer_before_minutes: u32,
    /// Unbookable minutes after every appointment (cleaning, notes).
    pub buffer_after_minutes: u32,
    /// No booking starts sooner than this many hours from now.
    pub min_notice_hours: u32,
    /// No booking starts more than this many days from now.
    pub horizon_days: u32,
    /// A patient may not cancel or reschedule within this many hours of the start.
    pub cancel_notice_hours: u32,
}

impl Default for BookingRules {
    fn default() -> Self {
        Self {
            buffer_before_minutes: 0,
            buffer_after_minutes: 0,
            min_notice_hours: 0,
            horizon_days: 90,
            cancel_notice_hours: 0,
        }
    }
}

impl BookingRules {
    fn validate(&self) -> Result<(), ValidationError> {
        for (field, minutes) in [
            ("buffer_before_minutes", self.buffer_before_minutes),
            ("buffer_after_minutes", self.buffer_after_minutes),
        ] {
            if minutes % CELL_MINUTES != 0 || minutes > MAX_BUFFER_MINUTES {
                return Err(ValidationError::new(
                    field,
                    ValidationReason::OutOfRange("must be a multiple of 5 from 0 to 120"),
                ));
            }
        }
        for (field, hours) in [
            ("min_notice_hours", self.min_notice_hours),
            ("cancel_notice_hours", self.cancel_notice_hours),
        ] {
            if hours > MAX_NOTICE_HOURS {
                return Err(ValidationError::new(
                    field,
                    ValidationReason::OutOfRange("must be at most 720 hours"),
                ));
            }
        }
        if self.horizon_days == 0 || self.horizon_days > MAX_HORIZON_DAYS {
            return Err(ValidationError::new(
                "horizon_days",
                ValidationReason::OutOfRange("must be from 1 to 366 days"),
            ));
        }
        Ok(())
    }
}

/// Everything that decides when a doctor can be booked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    time_zone: Tz,
    slot_minutes: u32,
    weekly: WeeklyHours,
    days_off: BTreeSet<NaiveDate>,
    rules: BookingRules,
}

impl Schedule {
    /// A checked schedule: the slot length is a multiple of five minutes that divides every
    /// working interval, and the rules are within their ranges.
    pub fn new(
        time_zone: Tz,
        slot_minutes: u32,
        weekly: WeeklyHours,
        days_off: BTreeSet<NaiveDate>,
        rules: BookingRules,
    ) -> Result<Self, ValidationError> {
        if slot_minutes == 0 || slot_minutes % CELL_MINUTES != 0 || slot_minutes > MAX_SLOT_MINUTES
        {
            return Err(ValidationError::new(
                "slot_minutes",
                ValidationReason::OutOfRange("must be a multiple of 5 from 5 to 240"),
            ));
        }
        if weekly
            .all()
            .any(|interval| interval.minutes() % slot_minutes != 0)
        {
            return Err(ValidationError::new(
                "slot_minutes",
                ValidationReason::Malformed("must divide every working interval evenly"),
            ));
        }
        rules.validate()?;
        if one_slot_cells(slot_minutes, &rules) > crate::booking::MAX_CLAIM_CELLS {
            return Err(ValidationError::new(
                "slot_minutes",
                ValidationReason::OutOfRange(
                    "is too long with these buffers: the doctor's time and the visit may total at most 220 minutes",
                ),
            ));
        }
        Ok(Self {
            time_zone,
            slot_minutes,
            weekly,
            days_off,
            rules,
        })
    }

    /// The schedule a newly registered doctor starts with: Monday to Friday, 09:00 to 17:00
    /// in `time_zone`, 30-minute slots, no buffers.
    pub fn standard(time_zone: Tz) -> Self {
        let day = LocalInterval::parse("09:00", "17:00").expect("constant interval is valid");
        let weekly = WeeklyHours::weekdays(&[day]).expect("one interval cannot overlap");
        Self::new(
            time_zone,
            30,
            weekly,
            BTreeSet::new(),
            BookingRules::default(),
        )
        .expect("the standard schedule is valid")
    }

    /// Parses an IANA zone name such as `Europe/Berlin`, reporting problems against `field`.
    pub fn parse_time_zone(field: &str, raw: &str) -> Result<Tz, ValidationError> {
        raw.trim().parse::<Tz>().map_err(|_| {
            ValidationError::new(
                field,
                ValidationReason::Malformed("must be an IANA time zone such as Europe/Berlin"),
            )
        })
    }

    /// The doctor's time zone.
    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    /// The length of one slot.
    pub fn slot_minutes(&self) -> u32 {
        self.slot_minutes
    }

    /// Working hours per weekday.
    pub fn weekly(&self) -> &WeeklyHours {
        &self.weekly
    }

    /// Dates (in the doctor's zone) with no bookings.
    pub fn days_off(&self) -> &BTreeSet<NaiveDate> {
        &self.days_off
    }

    /// The booking rules.
    pub fn rules(&self) -> &BookingRules {
        &self.rules
    }
}

/// The time cells one single-slot appointment claims: the doctor's span with both buffers,
/// plus the patient's visit.
fn one_slot_cells(slot_minutes: u32, rules: &BookingRules) -> usize {
    let doctor = rules.buffer_before_minutes + slot_minutes + rules.buffer_after_minutes;
    ((doctor + slot_minutes) / CELL_MINUTES) as usize
}
