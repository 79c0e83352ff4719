//! Telling a conditional write's own earlier attempt from a real conflict.
//!
//! The SDK sends a request again when it gets no answer it can trust (a timeout, a dropped
//! connection, a server error), but the first send may have been applied all the same. The
//! second send of a conditional write then finds its own result in the way: the new session
//! already exists, the account's version has already moved on, the lease is already taken.
//! DynamoDB's client request tokens make a resent transaction succeed again for ten minutes;
//! single-item writes have no such token, and emulators ignore tokens altogether.
//!
//! So every conditional write stamps what it writes with a fresh [`WriteId`], asks for the
//! stored item back when its condition fails, and counts itself done when that item carries
//! its own id: nobody else can have written it.

use aws_sdk_dynamodb::types::AttributeValue;
use uuid::Uuid;

use crate::item::Item;

/// The attribute holding the id of the write that last put or updated an item.
pub(crate) const WRITE_ID: &str = "write_id";

/// The placeholder of [`WRITE_ID`]'s value in update expressions.
pub(crate) const WRITE_ID_VALUE: &str = ":write_id";

/// The placeholder of [`WRITE_ID`]'s name in update expressions.
pub(crate) const WRITE_ID_NAME: &str = "#write_id";

/// The id of one logical write, the same on every send of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WriteId(String);

impl WriteId {
    /// An id no other write has.
    pub(crate) fn new() -> Self {
        Self(Uuid::new_v4().to_string())
    }

    /// The id as an attribute value.
    pub(crate) fn value(&self) -> AttributeValue {
        AttributeValue::S(self.0.clone())
    }

    /// Marks `item` as written by this write.
    pub(crate) fn stamp(&self, item: &mut Item) {
        item.insert(WRITE_ID.to_owned(), self.value());
    }

    /// Whether `stored`, the item a failed condition returned, was written by this write,
    /// which means an earlier send of it was applied.
    pub(crate) fn wrote(&self, stored: Option<&Item>) -> bool {
        matches!(
            stored.and_then(|item| item.get(WRITE_ID)),
            Some(AttributeValue::S(id)) if *id == self.0
        )
    }
}

impl Default for WriteId {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_stamping_write_recognises_the_item() {
        let mine = WriteId::new();
        let theirs = WriteId::new();
        let mut item = Item::new();
        mine.stamp(&mut item);

        assert!(mine.wrote(Some(&item)));
        assert!(!theirs.wrote(Some(&item)));
        assert!(!mine.wrote(Some(&Item::new())));
        assert!(!mine.wrote(None));
    }
}
