//! Building and reading items.
//!
//! Every record is kept whole as JSON in the `body` attribute; the few attributes that
//! conditions, filters and keys need are stored beside it as plain attributes.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::DynamoError;
use crate::keys::{Key, PK, SK};

/// One item's attributes.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// The attribute holding the record as JSON.
pub(crate) const BODY: &str = "body";
/// The attribute naming what kind of record an item is, for people reading the table.
pub(crate) const KIND: &str = "kind";

/// A string attribute value.
pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute value.
pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The key attributes of `key`.
pub(crate) fn key_item(key: &Key) -> Item {
    HashMap::from([(PK.to_owned(), s(&key.pk)), (SK.to_owned(), s(&key.sk))])
}

/// A new item with `key`, the kind tag and `record` as its body.
pub(crate) fn record_item<T: Serialize>(
    key: &Key,
    kind: &str,
    record: &T,
) -> Result<Item, DynamoError> {
    let body = serde_json::to_string(record).map_err(DynamoError::Encode)?;
    let mut item = key_item(key);
    item.insert(KIND.to_owned(), s(kind));
    item.insert(BODY.to_owned(), s(body));
    Ok(item)
}

/// The record in an item's body.
pub(crate) fn body<T: DeserializeOwned>(item: &Item) -> Result<T, DynamoError> {
    let text = string(item, BODY)?;
    serde_json::from_str(text).map_err(|err| DynamoError::decode(&err))
}

/// A string attribute that must be present.
pub(crate) fn string<'a>(item: &'a Item, name: &'static str) -> Result<&'a str, DynamoError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(DynamoError::MissingAttribute(name)),
    }
}

/// A string attribute that may be absent.
pub(crate) fn optional_string<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

/// A number attribute that must be present.
pub(crate) fn number<T: std::str::FromStr>(
    item: &Item,
    name: &'static str,
) -> Result<T, DynamoError> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value
            .parse()
            .map_err(|_| DynamoError::MissingAttribute(name)),
        _ => Err(DynamoError::MissingAttribute(name)),
    }
}
