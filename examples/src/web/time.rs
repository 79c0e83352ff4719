//! Showing and reading times in a person's own zone.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use chrono_tz::Tz;

/// "Mon 4 Jan 2027, 09:30".
pub(crate) fn date_time(instant: DateTime<Utc>, zone: Tz) -> String {
    instant
        .with_timezone(&zone)
        .format("%a %-d %b %Y, %H:%M")
        .to_string()
}

/// "09:30".
pub(crate) fn clock(instant: DateTime<Utc>, zone: Tz) -> String {
    instant.with_timezone(&zone).format("%H:%M").to_string()
}

/// "Monday 4 January".
pub(crate) fn day_heading(date: NaiveDate) -> String {
    date.format("%A %-d %B").to_string()
}

/// The local date of `instant` in `zone`.
pub(crate) fn local_date(instant: DateTime<Utc>, zone: Tz) -> NaiveDate {
    instant.with_timezone(&zone).date_naive()
}

/// The first instant of `date` in `zone`. Where the clocks skip midnight, the first instant
/// after the gap.
pub(crate) fn start_of_day(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    local_instant(date.and_time(chrono::NaiveTime::MIN), zone)
}

/// The instant a wall-clock time stands for in `zone`: the earlier one when it occurs twice,
/// and the first instant after the gap when the clocks skip it.
pub(crate) fn local_instant(local: NaiveDateTime, zone: Tz) -> DateTime<Utc> {
    let mut probe = local;
    for _ in 0..=26 * 4 {
        if let Some(instant) = zone.from_local_datetime(&probe).earliest() {
            return instant.with_timezone(&Utc);
        }
        probe += Duration::minutes(15);
    }
    Utc.from_utc_datetime(&local)
}

/// Parses an RFC 3339 instant.
pub(crate) fn parse_instant(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw.trim())
        .ok()
        .map(|instant| instant.with_timezone(&Utc))
}

/// Writes an instant as RFC 3339 in UTC, as the API and the forms carry it.
pub(crate) fn rfc3339(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skipped_midnight_starts_the_day_after_the_gap() {
        // Santiago moved its clocks from 00:00 to 01:00 on 2022-09-11.
        let zone: Tz = "America/Santiago".parse().unwrap();
        let date = NaiveDate::from_ymd_opt(2022, 9, 11).unwrap();
        let start = start_of_day(date, zone);
        assert_eq!(clock(start, zone), "01:00");
    }

    #[test]
    fn instants_round_trip_through_rfc3339() {
        let instant = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        assert_eq!(rfc3339(instant), "2026-12-07T09:00:00Z");
        assert_eq!(parse_instant("2026-12-07T10:00:00+01:00"), Some(instant));
    }
}
