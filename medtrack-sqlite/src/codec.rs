//! How values are written to and read from columns.
//!
//! Instants are UTC text with nine fractional digits and a four-digit year, one fixed width,
//! so text order is time order and every `DateTime<Utc>` the core makes round-trips exactly.
//! Ids are UUID text. Enumerations are stored under the names serde gives them in the core.

use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::SqliteError;

/// The instant as stored: `2027-03-28T09:00:00.000000000Z`.
pub(crate) fn instant(at: DateTime<Utc>) -> Result<String, SqliteError> {
    if !(0..=9999).contains(&at.year()) {
        return Err(SqliteError::Encode(
            "instants must fall in the years 0 to 9999",
        ));
    }
    Ok(at.to_rfc3339_opts(SecondsFormat::Nanos, true))
}

/// An optional instant as stored.
pub(crate) fn opt_instant(at: Option<DateTime<Utc>>) -> Result<Option<String>, SqliteError> {
    at.map(instant).transpose()
}

/// Reads an instant written by [`instant`].
pub(crate) fn parse_instant(column: &'static str, raw: &str) -> Result<DateTime<Utc>, SqliteError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| SqliteError::Decode(column))
}

/// Reads an optional instant.
pub(crate) fn parse_opt_instant(
    column: &'static str,
    raw: Option<&str>,
) -> Result<Option<DateTime<Utc>>, SqliteError> {
    raw.map(|raw| parse_instant(column, raw)).transpose()
}

/// A calendar date as stored: `1980-02-29`.
pub(crate) fn date(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// Reads a date written by [`date`].
pub(crate) fn parse_date(column: &'static str, raw: &str) -> Result<NaiveDate, SqliteError> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| SqliteError::Decode(column))
}

/// Reads an id or any other value with a `FromStr` that cannot repeat its input in errors.
pub(crate) fn parse<T: FromStr>(column: &'static str, raw: &str) -> Result<T, SqliteError> {
    raw.parse().map_err(|_| SqliteError::Decode(column))
}

/// Reads one of the core's parsed text types. Stored text passed the same parser when it was
/// written, so a failure means the file was changed behind the store's back.
pub(crate) fn parse_text<T: TryFrom<String>>(
    column: &'static str,
    raw: &str,
) -> Result<T, SqliteError> {
    T::try_from(raw.to_owned()).map_err(|_| SqliteError::Decode(column))
}

/// The serde name of a unit enum variant, such as `pending_approval`.
pub(crate) fn label<T: Serialize>(value: &T) -> Result<String, SqliteError> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => Ok(name),
        _ => Err(SqliteError::Encode(
            "an enumeration did not serialise to a name",
        )),
    }
}

/// Reads a unit enum variant from its serde name.
pub(crate) fn parse_label<T: DeserializeOwned>(
    column: &'static str,
    raw: &str,
) -> Result<T, SqliteError> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned()))
        .map_err(|_| SqliteError::Decode(column))
}

/// A nested value (a schedule, prescriptions, recipients) as JSON text.
pub(crate) fn json<T: Serialize>(value: &T) -> Result<String, SqliteError> {
    serde_json::to_string(value).map_err(|_| SqliteError::Encode("a nested value"))
}

/// Reads a nested value written by [`json`]. The parser's message is dropped on purpose:
/// it may quote the stored text, which can be health information.
pub(crate) fn parse_json<T: DeserializeOwned>(
    column: &'static str,
    raw: &str,
) -> Result<T, SqliteError> {
    serde_json::from_str(raw).map_err(|_| SqliteError::Decode(column))
}

/// A count or version as SQLite's signed integer.
pub(crate) fn int(value: u64) -> Result<i64, SqliteError> {
    i64::try_from(value).map_err(|_| SqliteError::Encode("a count above 2^63"))
}

/// Reads a count or version stored by [`int`].
pub(crate) fn parse_int<T: TryFrom<i64>>(column: &'static str, raw: i64) -> Result<T, SqliteError> {
    T::try_from(raw).map_err(|_| SqliteError::Decode(column))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use medtrack_core::model::AccountStatus;

    #[test]
    fn instants_round_trip_to_the_nanosecond_and_sort_as_text() {
        let early = Utc.timestamp_opt(1_700_000_000, 123_456_000).unwrap();
        let late = Utc.timestamp_opt(1_700_000_000, 123_457_001).unwrap();

        let (a, b) = (instant(early).unwrap(), instant(late).unwrap());

        assert_eq!(parse_instant("at", &a).unwrap(), early);
        assert_eq!(parse_instant("at", &b).unwrap(), late);
        assert_eq!(a.len(), b.len());
        assert!(a < b);
    }

    #[test]
    fn instants_outside_four_digit_years_are_refused() {
        let far = Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap();
        assert!(instant(far).is_err());
    }

    #[test]
    fn labels_use_the_serde_names() {
        let status = AccountStatus::PendingApproval;
        assert_eq!(label(&status).unwrap(), "pending_approval");
        let back: AccountStatus = parse_label("status", "pending_approval").unwrap();
        assert_eq!(back, status);
        assert!(parse_label::<AccountStatus>("status", "nope").is_err());
    }
}
