//! The audit log and the notification outbox.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};
use medtrack_core::error::{ConflictKind, Entity};
use medtrack_core::id::{EventId, PatientId};
use medtrack_core::model::{AuditEntry, DeliveryStatus, Lease, OutboxEvent};
use medtrack_core::store::{AuditStore, OutboxStore, Page, PageRequest, StoreResult};
use tracing::instrument;

use crate::error::{sdk, DynamoError};
use crate::item::{body, key_item, n, number, optional_string, s, string, Item};
use crate::keys::{self, AUDIT_PREFIX, GSI1_PK, GSI1_SK, SHARDS};
use crate::query::{self, Filter, Range, Source};
use crate::store::{audit_item, event_attr::*, DynamoStore, DELIVERED, PENDING};
use crate::write_id::{WriteId, WRITE_ID, WRITE_ID_NAME, WRITE_ID_VALUE};

fn audit_range(patient: Option<PatientId>) -> Range {
    match patient {
        Some(patient) => Range {
            forward: false,
            ..Range::prefix(keys::patient_partition(patient), AUDIT_PREFIX)
        },
        None => Range {
            source: Source::Index,
            partitions: (0..SHARDS).map(keys::audit_shard).collect(),
            lower: None,
            upper: None,
            forward: false,
            filter: None,
        },
    }
}

#[async_trait]
impl AuditStore for DynamoStore {
    #[instrument(level = "debug", skip_all, fields(audit_id = %entry.id, patient_id = %entry.patient_id), err)]
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        Ok(self.put_new(audit_item(entry)?).await?)
    }

    #[instrument(level = "debug", skip_all, err)]
    async fn list_audit(
        &self,
        patient: Option<PatientId>,
        page: PageRequest,
    ) -> StoreResult<Page<AuditEntry>> {
        let range = audit_range(patient);
        let cursor = page.cursor.as_deref();

        let found = query::page(
            self.client(),
            self.table(),
            &range,
            cursor,
            page.limit,
            body,
        );
        Ok(found.await?)
    }
}

fn parse_time(text: &str, name: &'static str) -> Result<DateTime<Utc>, DynamoError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| DynamoError::MissingAttribute(name))
}

/// An event as stored: the body, with the attributes that change after writing on top.
fn event_from(item: &Item) -> Result<OutboxEvent, DynamoError> {
    let mut event: OutboxEvent = body(item)?;
    event.status = match string(item, STATUS)? {
        DELIVERED => DeliveryStatus::Delivered,
        _ => DeliveryStatus::Pending,
    };
    event.attempts = number(item, ATTEMPTS)?;
    event.next_attempt_at = parse_time(string(item, NEXT_ATTEMPT_AT)?, NEXT_ATTEMPT_AT)?;
    event.lease = match (
        optional_string(item, LEASE_OWNER),
        optional_string(item, LEASE_UNTIL),
    ) {
        (Some(owner), Some(until)) => Some(Lease {
            owner: owner.to_owned(),
            until: parse_time(until, LEASE_UNTIL)?,
        }),
        _ => None,
    };
    event.delivered_at = optional_string(item, DELIVERED_AT)
        .map(|at| parse_time(at, DELIVERED_AT))
        .transpose()?;
    Ok(event)
}

/// Pending events due at `now` whose lease is absent or ended, read from the due index.
fn due_range(now: DateTime<Utc>) -> Range {
    let now_text = keys::sortable(now);
    let free = Filter {
        expression: "attribute_not_exists(#lease_until) OR #lease_until <= :now".into(),
        names: vec![("#lease_until".into(), LEASE_UNTIL.into())],
        values: vec![(":now".into(), s(&now_text))],
    };
    Range {
        source: Source::Index,
        partitions: (0..SHARDS).map(keys::outbox_shard).collect(),
        lower: None,
        upper: Some(format!("{now_text}#\u{10FFFF}")),
        forward: true,
        filter: Some(free),
    }
}

impl DynamoStore {
    /// Sets `lease` on one event if it is still pending, due and free at `now`; the base
    /// item's condition decides, whatever the index showed. A refusal that finds this very
    /// lease in place (an earlier send was applied) returns the event as leased.
    async fn try_lease(
        &self,
        id: EventId,
        now: DateTime<Utc>,
        lease: &Lease,
    ) -> Result<Option<OutboxEvent>, DynamoError> {
        let write_id = WriteId::new();
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_item(&keys::event(id))))
            .update_expression("SET #owner = :owner, #until = :until, #write_id = :write_id")
            .condition_expression(
                "#status = :pending AND #next <= :now \
                 AND (attribute_not_exists(#until) OR #until <= :now)",
            )
            .expression_attribute_names("#owner", LEASE_OWNER)
            .expression_attribute_names("#until", LEASE_UNTIL)
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_names("#next", NEXT_ATTEMPT_AT)
            .expression_attribute_names(WRITE_ID_NAME, WRITE_ID)
            .expression_attribute_values(":owner", s(&lease.owner))
            .expression_attribute_values(":until", s(keys::sortable(lease.until)))
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":now", s(keys::sortable(now)))
            .expression_attribute_values(WRITE_ID_VALUE, write_id.value())
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;

        match result {
            Ok(output) => output.attributes.as_ref().map(event_from).transpose(),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    match failed.item() {
                        Some(stored) if write_id.wrote(Some(stored)) => {
                            event_from(stored).map(Some)
                        }
                        _ => Ok(None),
                    }
                }
                _ => Err(sdk("UpdateItem", err)),
            },
        }
    }

    /// Applies `change` to an event if `owner` holds its lease. A refusal that finds this
    /// very change in place (an earlier send was applied) is success.
    async fn update_leased(
        &self,
        id: EventId,
        owner: &str,
        change: LeasedChange,
    ) -> Result<(), DynamoError> {
        let write_id = WriteId::new();
        let mut request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_item(&keys::event(id))))
            .update_expression(change.expression())
            .condition_expression("#owner = :owner")
            .expression_attribute_names(WRITE_ID_NAME, WRITE_ID)
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(WRITE_ID_VALUE, write_id.value())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (placeholder, name) in change.names {
            request = request.expression_attribute_names(placeholder, name);
        }
        for (placeholder, value) in change.values {
            request = request.expression_attribute_values(placeholder, value);
        }

        match request.send().await {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    if write_id.wrote(failed.item()) {
                        return Ok(());
                    }
                    Err(lease_refusal(id, failed.item().is_some()))
                }
                _ => Err(sdk("UpdateItem", err)),
            },
        }
    }
}

/// An update of a leased event: what it sets and what it removes, which always includes
/// the lease (`#owner`, `#until`). It names the index attributes as `#gpk` and `#gsk`, and
/// stamps the event with the write's id.
struct LeasedChange {
    set: &'static str,
    remove: &'static str,
    names: Vec<(&'static str, &'static str)>,
    values: Vec<(&'static str, AttributeValue)>,
}

impl LeasedChange {
    fn new(
        set: &'static str,
        remove: &'static str,
        names: &[(&'static str, &'static str)],
    ) -> Self {
        let mut all = vec![
            ("#owner", LEASE_OWNER),
            ("#until", LEASE_UNTIL),
            ("#gpk", GSI1_PK),
            ("#gsk", GSI1_SK),
        ];
        all.extend_from_slice(names);
        Self {
            set,
            remove,
            names: all,
            values: Vec::new(),
        }
    }

    /// The update expression, the write id included.
    fn expression(&self) -> String {
        format!(
            "SET {}, {WRITE_ID_NAME} = {WRITE_ID_VALUE} REMOVE {}",
            self.set, self.remove
        )
    }

    fn value(mut self, placeholder: &'static str, value: AttributeValue) -> Self {
        self.values.push((placeholder, value));
        self
    }
}

/// Why a lease-guarded update failed: the event is gone, or someone else holds it.
fn lease_refusal(id: EventId, event_exists: bool) -> DynamoError {
    if event_exists {
        DynamoError::Conflict(ConflictKind::LeaseLost)
    } else {
        DynamoError::NotFound {
            entity: Entity::Event,
            id: id.to_string(),
        }
    }
}

fn event_id_of(item: &Item) -> Result<EventId, DynamoError> {
    let pk = string(item, keys::PK)?;
    pk.strip_prefix("EVENT#")
        .and_then(|id| id.parse().ok())
        .ok_or(DynamoError::MissingAttribute(keys::PK))
}

#[async_trait]
impl OutboxStore for DynamoStore {
    #[instrument(level = "debug", skip_all, fields(lease_owner = %lease.owner, limit), err)]
    async fn lease_due_events(
        &self,
        now: DateTime<Utc>,
        lease: &Lease,
        limit: u32,
    ) -> StoreResult<Vec<OutboxEvent>> {
        let limit = limit as usize;
        let range = due_range(now);
        let mut leased = Vec::new();
        let mut position: Option<String> = None;

        while leased.len() < limit {
            let want = Some(limit - leased.len());
            let batch = query::read(
                self.client(),
                self.table(),
                &range,
                position.as_deref(),
                want,
            );
            let candidates = batch.await?;
            let Some(last) = candidates.last() else {
                break;
            };
            position = Some(string(last, GSI1_SK)?.to_owned());

            for candidate in &candidates {
                if let Some(event) = self.try_lease(event_id_of(candidate)?, now, lease).await? {
                    leased.push(event);
                }
            }
        }
        Ok(leased)
    }

    #[instrument(level = "debug", skip_all, fields(event_id = %id), err)]
    async fn mark_delivered(
        &self,
        id: EventId,
        lease_owner: &str,
        delivered_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let set = "#status = :delivered, #delivered = :at";
        let remove = "#owner, #until, #gpk, #gsk";
        let names = [("#status", STATUS), ("#delivered", DELIVERED_AT)];
        let change = LeasedChange::new(set, remove, &names)
            .value(":delivered", s(DELIVERED))
            .value(":at", s(keys::sortable(delivered_at)));

        Ok(self.update_leased(id, lease_owner, change).await?)
    }

    #[instrument(level = "debug", skip_all, fields(event_id = %id, attempts), err)]
    async fn retry_later(
        &self,
        id: EventId,
        lease_owner: &str,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let set = "#attempts = :attempts, #next = :next, #gpk = :gpk, #gsk = :gsk";
        let remove = "#owner, #until";
        let shard = keys::shard_of(id.as_uuid());
        let names = [("#attempts", ATTEMPTS), ("#next", NEXT_ATTEMPT_AT)];
        let change = LeasedChange::new(set, remove, &names)
            .value(":attempts", n(attempts))
            .value(":next", s(keys::sortable(next_attempt_at)))
            .value(":gpk", s(keys::outbox_shard(shard)))
            .value(":gsk", s(keys::due_position(next_attempt_at, id)));

        Ok(self.update_leased(id, lease_owner, change).await?)
    }

    #[instrument(level = "debug", skip_all, err)]
    async fn count_pending_events(&self) -> StoreResult<u64> {
        let shards: Vec<_> = (0..SHARDS).map(keys::outbox_shard).collect();
        Ok(query::count(self.client(), self.table(), &shards).await?)
    }
}
