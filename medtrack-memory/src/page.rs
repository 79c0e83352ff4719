//! Keyset pagination: reading and writing cursors, and cutting a page from ordered keys.

use std::collections::BTreeSet;
use std::ops::Bound;

use chrono::{DateTime, SecondsFormat, Utc};
use medtrack_core::error::StoreError;
use medtrack_core::store::{Page, StoreResult};
use uuid::Uuid;

/// The error for a cursor that cannot be read, or that names nothing this store holds.
pub(crate) fn invalid_cursor() -> StoreError {
    StoreError::InvalidCursor
}

/// Writes the sort key `(at, id)` as `<RFC 3339 with nanoseconds>|<uuid>`.
pub(crate) fn encode(at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}|{id}", at.to_rfc3339_opts(SecondsFormat::Nanos, true))
}

/// Reads a cursor written by [`encode`].
pub(crate) fn decode(cursor: &str) -> StoreResult<(DateTime<Utc>, Uuid)> {
    let (at, id) = cursor.split_once('|').ok_or_else(invalid_cursor)?;
    let at = DateTime::parse_from_rfc3339(at).map_err(|_| invalid_cursor())?;
    let id = Uuid::parse_str(id).map_err(|_| invalid_cursor())?;
    Ok((at.with_timezone(&Utc), id))
}

/// The keys of `set` between the bounds, or none when the bounds are crossed (where
/// `BTreeSet::range` would panic).
pub(crate) fn range<K: Ord>(
    set: &BTreeSet<K>,
    lower: Bound<K>,
    upper: Bound<K>,
) -> impl DoubleEndedIterator<Item = &K> {
    let open = match (&lower, &upper) {
        (Bound::Included(a), Bound::Included(b)) => a <= b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => a < b,
        _ => true,
    };
    open.then(|| set.range((lower, upper)))
        .into_iter()
        .flatten()
}

/// Cuts one page from `keys`, given in list order: each key is loaded, keys that `load`
/// rejects are skipped, and `cursor` writes the last key of a page that has more after it.
/// A `limit` of 0 is treated as 1.
pub(crate) fn collect<K, T>(
    keys: impl Iterator<Item = K>,
    limit: u32,
    mut load: impl FnMut(&K) -> Option<T>,
    cursor: impl Fn(&K) -> String,
) -> Page<T> {
    let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
    let mut items = Vec::new();
    let mut last = None;

    for key in keys {
        let Some(item) = load(&key) else { continue };
        if items.len() == limit {
            return Page {
                items,
                next_cursor: last.as_ref().map(&cursor),
            };
        }
        items.push(item);
        last = Some(key);
    }

    Page {
        items,
        next_cursor: None,
    }
}
