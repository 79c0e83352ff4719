//! Atomic writes: one `TransactWriteItems` per state change, retried while contended.

use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, ConditionCheck, Delete, Put,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use medtrack_core::id::AppointmentId;
use rand::Rng;
use uuid::Uuid;

use crate::error::{cancellation, sdk, DynamoError, ItemRole};
use crate::item::{key_item, n, s, Item};
use crate::keys::Key;
use crate::write_id::WriteId;

/// DynamoDB's limit on items in one transaction.
pub(crate) const MAX_ITEMS: usize = 100;

/// How many times a contended transaction is sent before the write reports
/// `Unavailable { retryable: true }`.
pub(crate) const CONTENDED_ATTEMPTS: u32 = 6;

/// A condition expression with its placeholders.
#[derive(Debug, Clone, Default)]
pub(crate) struct Condition {
    pub(crate) expression: String,
    pub(crate) names: Vec<(String, String)>,
    pub(crate) values: Vec<(String, AttributeValue)>,
}

impl Condition {
    /// The item must not exist yet.
    pub(crate) fn absent() -> Self {
        Self {
            expression: "attribute_not_exists(PK)".into(),
            ..Self::default()
        }
    }

    /// The item must exist.
    pub(crate) fn present() -> Self {
        Self {
            expression: "attribute_exists(PK)".into(),
            ..Self::default()
        }
    }

    /// The stored item's `version` must be `version` (which implies that it exists).
    pub(crate) fn version_is(version: u64) -> Self {
        Self {
            expression: "#version = :expected_version".into(),
            names: vec![("#version".into(), "version".into())],
            values: vec![(":expected_version".into(), n(version))],
        }
    }

    /// A time cell must be free or held by `appointment`.
    pub(crate) fn free_or_held_by(appointment: AppointmentId) -> Self {
        Self {
            expression: "attribute_not_exists(PK) OR #holder = :holder".into(),
            names: vec![("#holder".into(), "appointment_id".into())],
            values: vec![(":holder".into(), s(appointment.to_string()))],
        }
    }
}

/// The items of one atomic write and what each stands for. Every item it puts carries the
/// transaction's [`WriteId`].
#[derive(Default)]
pub(crate) struct Transaction {
    items: Vec<TransactWriteItem>,
    roles: Vec<ItemRole>,
    write_id: WriteId,
}

/// Shows what the items stand for, never their attributes, which hold health information.
impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

impl Transaction {
    /// Adds a put of `item`, guarded by `condition` when given.
    pub(crate) fn put(
        &mut self,
        table: &str,
        mut item: Item,
        condition: Option<Condition>,
        role: ItemRole,
    ) -> Result<(), DynamoError> {
        self.write_id.stamp(&mut item);
        let mut put = Put::builder().table_name(table).set_item(Some(item));
        if let Some(condition) = condition {
            put = put
                .condition_expression(condition.expression)
                .set_expression_attribute_names(non_empty(condition.names))
                .set_expression_attribute_values(non_empty(condition.values))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
        }

        self.items
            .push(TransactWriteItem::builder().put(put.build()?).build());
        self.roles.push(role);
        Ok(())
    }

    /// Adds a check that the item at `key` meets `condition`, without writing it.
    pub(crate) fn check(
        &mut self,
        table: &str,
        key: &Key,
        condition: Condition,
        role: ItemRole,
    ) -> Result<(), DynamoError> {
        let check = ConditionCheck::builder()
            .table_name(table)
            .set_key(Some(key_item(key)))
            .condition_expression(condition.expression)
            .set_expression_attribute_names(non_empty(condition.names))
            .set_expression_attribute_values(non_empty(condition.values))
            .build()?;

        self.items
            .push(TransactWriteItem::builder().condition_check(check).build());
        self.roles.push(role);
        Ok(())
    }

    /// Adds a delete of `key`, guarded by `condition` when given.
    pub(crate) fn delete(
        &mut self,
        table: &str,
        key: &Key,
        condition: Option<Condition>,
        role: ItemRole,
    ) -> Result<(), DynamoError> {
        let mut delete = Delete::builder()
            .table_name(table)
            .set_key(Some(key_item(key)));
        if let Some(condition) = condition {
            delete = delete
                .condition_expression(condition.expression)
                .set_expression_attribute_names(non_empty(condition.names))
                .set_expression_attribute_values(non_empty(condition.values));
        }

        self.items
            .push(TransactWriteItem::builder().delete(delete.build()?).build());
        self.roles.push(role);
        Ok(())
    }

    /// Sends the write, retrying while DynamoDB cancels it as contended. Each send carries
    /// its own client request token, which the SDK reuses on its own retries of that send,
    /// so DynamoDB does not apply a send twice when its response was lost. Where tokens are
    /// ignored (emulators), the resent write fails its conditions on its own items; those
    /// come back stamped with this transaction's write id, and the write counts as done.
    pub(crate) async fn commit(self, client: &Client) -> Result<(), DynamoError> {
        if self.items.is_empty() {
            return Ok(());
        }
        if self.items.len() > MAX_ITEMS {
            return Err(DynamoError::TooManyItems(self.items.len()));
        }

        retry_contended(|| send(client, &self.items, &self.roles, &self.write_id)).await
    }
}

fn non_empty<K: std::hash::Hash + Eq, V>(
    pairs: Vec<(K, V)>,
) -> Option<std::collections::HashMap<K, V>> {
    (!pairs.is_empty()).then(|| pairs.into_iter().collect())
}

async fn send(
    client: &Client,
    items: &[TransactWriteItem],
    roles: &[ItemRole],
    write_id: &WriteId,
) -> Result<(), DynamoError> {
    let result = client
        .transact_write_items()
        .set_transact_items(Some(items.to_vec()))
        .client_request_token(Uuid::new_v4().to_string())
        .send()
        .await;

    match result {
        Ok(_) => Ok(()),
        Err(err) => match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                let reasons = cancelled.cancellation_reasons();
                if applied_earlier(reasons, write_id) {
                    return Ok(());
                }
                Err(cancellation(reasons, roles))
            }
            _ => Err(sdk("TransactWriteItems", err)),
        },
    }
}

/// Whether a cancelled transaction failed only because an earlier send of it was applied:
/// one of its failed conditions found an item it wrote itself. Transactions are atomic, so
/// one such item means the whole write is in place.
fn applied_earlier(reasons: &[CancellationReason], write_id: &WriteId) -> bool {
    reasons.iter().any(|reason| {
        reason.code() == Some("ConditionalCheckFailed") && write_id.wrote(reason.item())
    })
}

/// Runs `attempt` until it succeeds, fails other than by contention, or
/// [`CONTENDED_ATTEMPTS`] attempts were contended, with jittered exponential backoff.
pub(crate) async fn retry_contended<F, Fut>(mut attempt: F) -> Result<(), DynamoError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), DynamoError>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await {
            Err(err) if err.is_contended() && tries < CONTENDED_ATTEMPTS => {
                tracing::debug!(tries, "transaction contended, retrying");
                tokio::time::sleep(backoff(tries)).await;
            }
            other => return other,
        }
    }
}

fn backoff(tries: u32) -> Duration {
    let ceiling = 20u64.saturating_mul(1 << tries.min(6)).min(1_000);
    Duration::from_millis(rand::thread_rng().gen_range(ceiling / 2..=ceiling))
}

#[cfg(test)]
mod tests {
    use super::*;
    use medtrack_core::error::{ConflictKind, StoreError};
    use std::sync::atomic::{AtomicU32, Ordering};

    fn contended() -> DynamoError {
        let reasons = [CancellationReason::builder()
            .code("TransactionConflict")
            .build()];
        cancellation(&reasons, &[ItemRole::Claim(ConflictKind::DoctorTime)])
    }

    #[tokio::test(start_paused = true)]
    async fn persistent_transaction_conflicts_surface_as_retryable_unavailable() {
        let calls = AtomicU32::new(0);

        let result = retry_contended(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(contended())
        })
        .await;

        assert_eq!(calls.load(Ordering::SeqCst), CONTENDED_ATTEMPTS);
        let err = StoreError::from(result.unwrap_err());
        assert!(matches!(
            err,
            StoreError::Unavailable {
                retryable: true,
                ..
            }
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_conflict_that_clears_is_retried_to_success() {
        let calls = AtomicU32::new(0);

        let result = retry_contended(|| async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(contended()),
                _ => Ok(()),
            }
        })
        .await;

        assert!(result.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    fn failed_on(item: Item) -> CancellationReason {
        CancellationReason::builder()
            .code("ConditionalCheckFailed")
            .set_item(Some(item))
            .build()
    }

    #[test]
    fn a_resend_failing_on_its_own_items_was_applied_earlier() {
        let write = WriteId::new();
        let mut own = Item::new();
        write.stamp(&mut own);
        let mut other = Item::new();
        WriteId::new().stamp(&mut other);
        let untouched = CancellationReason::builder().code("None").build();

        assert!(applied_earlier(
            &[untouched.clone(), failed_on(other.clone()), failed_on(own)],
            &write
        ));
        assert!(!applied_earlier(&[untouched, failed_on(other)], &write));
    }

    #[tokio::test(start_paused = true)]
    async fn failed_conditions_are_not_retried() {
        let calls = AtomicU32::new(0);

        let result = retry_contended(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(DynamoError::Conflict(ConflictKind::DoctorTime))
        })
        .await;

        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(matches!(
            StoreError::from(result.unwrap_err()),
            StoreError::Conflict(ConflictKind::DoctorTime)
        ));
    }
}
