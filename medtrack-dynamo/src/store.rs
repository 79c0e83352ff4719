//! The store itself and what every part of it shares: single-item reads and the audit and
//! outbox items that go with each write.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use aws_sdk_dynamodb::Client;
use medtrack_core::error::ConflictKind;
use medtrack_core::model::{AuditEntry, DeliveryStatus, OutboxEvent};
use medtrack_core::store::Effects;

use crate::config::{load_aws_config, DynamoSettings};
use crate::error::{sdk, DynamoError, ItemRole};
use crate::item::{key_item, n, record_item, s, Item};
use crate::keys::{self, Key, GSI1_PK, GSI1_SK};
use crate::tables::{self, TableSetupError};
use crate::txn::{Condition, Transaction};
use crate::write_id::WriteId;

/// A MedTrack store on one DynamoDB table; see the crate docs for its layout.
///
/// Cheap to clone: clones share one SDK client. Several application instances may use the
/// same table at once; every invariant is kept by conditional writes on the base table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// A store using `sdk_config` (see [`load_aws_config`]) and the table in `settings`.
    pub fn new(sdk_config: &SdkConfig, settings: &DynamoSettings) -> Self {
        Self::from_client(Client::new(sdk_config), settings)
    }

    /// A store using an already configured client.
    pub fn from_client(client: Client, settings: &DynamoSettings) -> Self {
        Self {
            client,
            table: settings.table_name().to_owned(),
        }
    }

    /// Loads the AWS configuration the standard way and opens the table in `settings`.
    /// Does not create the table; see [`create_tables`](Self::create_tables).
    pub async fn connect(settings: &DynamoSettings) -> Self {
        Self::new(&load_aws_config().await, settings)
    }

    /// Creates the table and its index if missing and waits until they are active; see
    /// [`create_tables`](crate::create_tables).
    pub async fn create_tables(&self) -> Result<(), TableSetupError> {
        tables::create_tables(&self.client, &self.table).await
    }

    /// The table's name.
    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// The SDK client, for operations this crate does not offer.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn table(&self) -> &str {
        &self.table
    }

    /// The item at `key`, read strongly consistent.
    pub(crate) async fn get(&self, key: &Key) -> Result<Option<Item>, DynamoError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| sdk("GetItem", err))?;
        Ok(output.item)
    }

    /// Puts an item that must not exist yet, outside any transaction (half the write cost of
    /// a one-item transaction); an existing one is `Conflict(AlreadyExists)`, unless it is
    /// this very write, applied by an earlier send.
    pub(crate) async fn put_new(&self, mut item: Item) -> Result<(), DynamoError> {
        let write_id = WriteId::new();
        write_id.stamp(&mut item);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;

        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    if write_id.wrote(failed.item()) {
                        return Ok(());
                    }
                    Err(DynamoError::Conflict(ConflictKind::AlreadyExists))
                }
                _ => Err(sdk("PutItem", err)),
            },
        }
    }

    /// A new transaction holding the items of `effects`.
    pub(crate) fn transaction_with(&self, effects: &Effects) -> Result<Transaction, DynamoError> {
        let mut txn = Transaction::default();
        for entry in &effects.audit {
            txn.put(
                &self.table,
                audit_item(entry)?,
                Some(Condition::absent()),
                ItemRole::Fresh,
            )?;
        }
        for event in &effects.events {
            txn.put(
                &self.table,
                event_item(event)?,
                Some(Condition::absent()),
                ItemRole::Fresh,
            )?;
        }
        Ok(txn)
    }
}

/// The item of an audit entry: in the patient's partition, and in one shard of the index
/// of everyone's entries.
pub(crate) fn audit_item(entry: &AuditEntry) -> Result<Item, DynamoError> {
    let key = keys::audit(entry.patient_id, entry.at, entry.id);
    let mut item = record_item(&key, "audit", entry)?;
    let shard = keys::shard_of(entry.id.as_uuid());
    item.insert(GSI1_PK.to_owned(), s(keys::audit_shard(shard)));
    item.insert(
        GSI1_SK.to_owned(),
        s(keys::audit_position(entry.at, entry.id)),
    );
    Ok(item)
}

/// Attributes of events that change after the event is written; they take precedence over
/// the body.
pub(crate) mod event_attr {
    pub(crate) const STATUS: &str = "status";
    pub(crate) const ATTEMPTS: &str = "attempts";
    pub(crate) const NEXT_ATTEMPT_AT: &str = "next_attempt_at";
    pub(crate) const LEASE_OWNER: &str = "lease_owner";
    pub(crate) const LEASE_UNTIL: &str = "lease_until";
    pub(crate) const DELIVERED_AT: &str = "delivered_at";
}

pub(crate) const PENDING: &str = "pending";
pub(crate) const DELIVERED: &str = "delivered";

/// The item of an outbox event; a pending one is also in one shard of the due index.
pub(crate) fn event_item(event: &OutboxEvent) -> Result<Item, DynamoError> {
    use event_attr::*;

    let mut item = record_item(&keys::event(event.id), "event", event)?;
    let pending = event.status == DeliveryStatus::Pending;
    item.insert(STATUS.into(), s(if pending { PENDING } else { DELIVERED }));
    item.insert(ATTEMPTS.into(), n(event.attempts));
    item.insert(
        NEXT_ATTEMPT_AT.into(),
        s(keys::sortable(event.next_attempt_at)),
    );
    if let Some(lease) = &event.lease {
        item.insert(LEASE_OWNER.into(), s(&lease.owner));
        item.insert(LEASE_UNTIL.into(), s(keys::sortable(lease.until)));
    }
    if let Some(at) = event.delivered_at {
        item.insert(DELIVERED_AT.into(), s(keys::sortable(at)));
    }
    if pending {
        let shard = keys::shard_of(event.id.as_uuid());
        item.insert(GSI1_PK.into(), s(keys::outbox_shard(shard)));
        item.insert(
            GSI1_SK.into(),
            s(keys::due_position(event.next_attempt_at, event.id)),
        );
    }
    Ok(item)
}
