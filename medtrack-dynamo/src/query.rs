//! Reading ranges of a partition, across as many 1 MB responses as it takes, and merging the
//! shards of a global list.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Select};
use aws_sdk_dynamodb::Client;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use medtrack_core::store::Page;

use crate::error::{sdk, DynamoError};
use crate::item::{string, Item};
use crate::keys::{GSI1, GSI1_PK, GSI1_SK, PK, SK};

/// Where to read: the base table (strongly consistent) or the global index (eventually
/// consistent on AWS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The table itself.
    Table,
    /// The `GSI1` index.
    Index,
}

impl Source {
    fn key_attributes(self) -> (&'static str, &'static str) {
        match self {
            Self::Table => (PK, SK),
            Self::Index => (GSI1_PK, GSI1_SK),
        }
    }

    /// The attribute a range is ordered by.
    pub(crate) fn sort_attribute(self) -> &'static str {
        self.key_attributes().1
    }
}

/// A filter applied after the key condition; its placeholders must not start with `#k` or
/// `:k`, which the key condition uses.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    pub(crate) expression: String,
    pub(crate) names: Vec<(String, String)>,
    pub(crate) values: Vec<(String, AttributeValue)>,
}

impl Filter {
    /// Adds `#name = :name` for the attribute `attribute`.
    pub(crate) fn equals(mut self, attribute: &str, value: AttributeValue) -> Self {
        let clause = format!("#{attribute} = :{attribute}");
        self.expression = if self.expression.is_empty() {
            clause
        } else {
            format!("{} AND {clause}", self.expression)
        };
        self.names
            .push((format!("#{attribute}"), attribute.to_owned()));
        self.values.push((format!(":{attribute}"), value));
        self
    }
}

/// An ordered range of sort keys in one or more partitions.
#[derive(Debug, Clone)]
pub(crate) struct Range {
    pub(crate) source: Source,
    pub(crate) partitions: Vec<String>,
    /// Smallest sort key included.
    pub(crate) lower: Option<String>,
    /// Largest sort key included.
    pub(crate) upper: Option<String>,
    /// Ascending when true.
    pub(crate) forward: bool,
    pub(crate) filter: Option<Filter>,
}

impl Range {
    /// Every sort key of one partition of the table that starts with `prefix`.
    pub(crate) fn prefix(partition: String, prefix: &str) -> Self {
        Self {
            source: Source::Table,
            partitions: vec![partition],
            lower: Some(prefix.to_owned()),
            upper: Some(format!("{prefix}\u{10FFFF}")),
            forward: true,
            filter: None,
        }
    }

    /// The same range continuing strictly after `position` in its order.
    fn after(&self, position: Option<&str>) -> Self {
        let mut range = self.clone();
        let Some(position) = position else {
            return range;
        };
        let bound = if self.forward {
            &mut range.lower
        } else {
            &mut range.upper
        };
        let tighter = match bound.take() {
            Some(current) if self.forward => current.max(position.to_owned()),
            Some(current) => current.min(position.to_owned()),
            None => position.to_owned(),
        };
        *bound = Some(tighter);
        range
    }

    fn is_empty(&self) -> bool {
        matches!((&self.lower, &self.upper), (Some(lower), Some(upper)) if lower > upper)
    }
}

/// Items of `range` strictly after `position`, in order, at most `want` (all when `None`).
/// Follows `LastEvaluatedKey` until it has enough or the range is exhausted.
pub(crate) async fn read(
    client: &Client,
    table: &str,
    range: &Range,
    position: Option<&str>,
    want: Option<usize>,
) -> Result<Vec<Item>, DynamoError> {
    let bounded = range.after(position);
    if bounded.is_empty() {
        return Ok(Vec::new());
    }

    let mut merged = Vec::new();
    for partition in &bounded.partitions {
        let items = read_partition(client, table, &bounded, partition, position, want).await?;
        merged.extend(items);
    }

    if bounded.partitions.len() > 1 {
        sort_by_position(&mut merged, range)?;
    }
    if let Some(want) = want {
        merged.truncate(want);
    }
    Ok(merged)
}

fn sort_by_position(items: &mut [Item], range: &Range) -> Result<(), DynamoError> {
    let attribute = range.source.sort_attribute();
    for item in items.iter() {
        string(item, attribute)?;
    }
    items.sort_by(|a, b| {
        let order = string(a, attribute)
            .unwrap_or_default()
            .cmp(string(b, attribute).unwrap_or_default());
        if range.forward {
            order
        } else {
            order.reverse()
        }
    });
    Ok(())
}

async fn read_partition(
    client: &Client,
    table: &str,
    range: &Range,
    partition: &str,
    position: Option<&str>,
    want: Option<usize>,
) -> Result<Vec<Item>, DynamoError> {
    let sort_attribute = range.source.sort_attribute();
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let limit = want.map(|want| want.saturating_sub(items.len()) + 1);
        let (page, next) = query_once(client, table, range, partition, start, limit).await?;

        for item in page {
            if position.is_some() && string(&item, sort_attribute).ok() == position {
                continue;
            }
            items.push(item);
            if want.is_some_and(|want| items.len() >= want) {
                return Ok(items);
            }
        }

        match next {
            Some(key) => start = Some(key),
            None => return Ok(items),
        }
    }
}

type QueryPage = (Vec<Item>, Option<Item>);

async fn query_once(
    client: &Client,
    table: &str,
    range: &Range,
    partition: &str,
    start: Option<Item>,
    limit: Option<usize>,
) -> Result<QueryPage, DynamoError> {
    let (pk, sk) = range.source.key_attributes();
    let mut request = client
        .query()
        .table_name(table)
        .key_condition_expression(key_condition(range))
        .expression_attribute_names("#kp", pk)
        .expression_attribute_values(":kp", AttributeValue::S(partition.to_owned()))
        .scan_index_forward(range.forward)
        .set_exclusive_start_key(start)
        .set_limit(limit.map(|limit| limit.clamp(1, 1_000) as i32));
    if range.lower.is_some() || range.upper.is_some() {
        request = request.expression_attribute_names("#ks", sk);
    }
    if let Some(lower) = &range.lower {
        request = request.expression_attribute_values(":klo", AttributeValue::S(lower.clone()));
    }
    if let Some(upper) = &range.upper {
        request = request.expression_attribute_values(":khi", AttributeValue::S(upper.clone()));
    }
    request = match range.source {
        Source::Table => request.consistent_read(true),
        Source::Index => request.index_name(GSI1),
    };
    if let Some(filter) = &range.filter {
        request = with_filter(request, filter);
    }

    let output = request.send().await.map_err(|err| sdk("Query", err))?;
    let next = output.last_evaluated_key.filter(|key| !key.is_empty());
    Ok((output.items.unwrap_or_default(), next))
}

fn with_filter(mut request: QueryFluentBuilder, filter: &Filter) -> QueryFluentBuilder {
    request = request.filter_expression(&filter.expression);
    for (placeholder, name) in &filter.names {
        request = request.expression_attribute_names(placeholder, name);
    }
    for (placeholder, value) in &filter.values {
        request = request.expression_attribute_values(placeholder, value.clone());
    }
    request
}

fn key_condition(range: &Range) -> &'static str {
    match (&range.lower, &range.upper) {
        (Some(_), Some(_)) => "#kp = :kp AND #ks BETWEEN :klo AND :khi",
        (Some(_), None) => "#kp = :kp AND #ks >= :klo",
        (None, Some(_)) => "#kp = :kp AND #ks <= :khi",
        (None, None) => "#kp = :kp",
    }
}

/// How many items of the index partitions `partitions` match `filter`, across every page.
pub(crate) async fn count(
    client: &Client,
    table: &str,
    partitions: &[String],
) -> Result<u64, DynamoError> {
    let mut total = 0u64;
    for partition in partitions {
        let mut start = None;
        loop {
            let output = client
                .query()
                .table_name(table)
                .index_name(GSI1)
                .key_condition_expression("#kp = :kp")
                .expression_attribute_names("#kp", GSI1_PK)
                .expression_attribute_values(":kp", AttributeValue::S(partition.clone()))
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|err| sdk("Query", err))?;
            total += u64::try_from(output.count).unwrap_or(0);
            match output.last_evaluated_key.filter(|key| !key.is_empty()) {
                Some(key) => start = Some(key),
                None => break,
            }
        }
    }
    Ok(total)
}

/// One page of `range` after the cursor, decoded by `decode`. The cursor is the sort key of
/// the page's last item, so a page resumes exactly after it whatever was inserted since.
pub(crate) async fn page<T>(
    client: &Client,
    table: &str,
    range: &Range,
    cursor: Option<&str>,
    limit: u32,
    decode: impl Fn(&Item) -> Result<T, DynamoError>,
) -> Result<Page<T>, DynamoError> {
    let limit = limit.max(1) as usize;
    let position = cursor.map(decode_cursor).transpose()?;

    let mut items = read(client, table, range, position.as_deref(), Some(limit + 1)).await?;

    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        let last = items.last().ok_or(DynamoError::BadCursor)?;
        Some(encode_cursor(string(last, range.source.sort_attribute())?))
    } else {
        None
    };
    let items = items.iter().map(decode).collect::<Result<_, _>>()?;
    Ok(Page { items, next_cursor })
}

const CURSOR_VERSION: &str = "1:";

fn encode_cursor(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_VERSION}{position}"))
}

fn decode_cursor(cursor: &str) -> Result<String, DynamoError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| DynamoError::BadCursor)?;
    let text = String::from_utf8(bytes).map_err(|_| DynamoError::BadCursor)?;
    text.strip_prefix(CURSOR_VERSION)
        .map(str::to_owned)
        .ok_or(DynamoError::BadCursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_foreign_text() {
        let cursor = encode_cursor("APPT#2027-05-03T09:00:00.000000000Z#x");
        assert_eq!(
            decode_cursor(&cursor).unwrap(),
            "APPT#2027-05-03T09:00:00.000000000Z#x"
        );
        assert!(decode_cursor("not a cursor!").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("2:x")).is_err());
    }

    #[test]
    fn resuming_narrows_the_bound_in_reading_order() {
        let range = Range::prefix("P".into(), "A#");
        let resumed = range.after(Some("A#5"));
        assert_eq!(resumed.lower.as_deref(), Some("A#5"));

        let backwards = Range {
            forward: false,
            ..range
        };
        let resumed = backwards.after(Some("A#5"));
        assert_eq!(resumed.upper.as_deref(), Some("A#5"));
        assert_eq!(resumed.lower.as_deref(), Some("A#"));
    }
}
