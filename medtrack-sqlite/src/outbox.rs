//! Notification events waiting for delivery: the `outbox_events` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use medtrack_core::error::{ConflictKind, Entity};
use medtrack_core::id::EventId;
use medtrack_core::model::{Lease, NotificationText, OutboxEvent};
use medtrack_core::store::{OutboxStore, StoreResult};
use sqlx::{FromRow, SqliteConnection};

use crate::codec;
use crate::error::SqliteError;
use crate::SqliteStore;

const EVENT_COLUMNS: &str = "id, kind, recipients, appointment_id, message, created_at, status, \
                             attempts, next_attempt_at, lease_owner, lease_until, delivered_at";

#[derive(FromRow)]
struct EventRow {
    id: String,
    kind: String,
    recipients: String,
    appointment_id: Option<String>,
    message: String,
    created_at: String,
    status: String,
    attempts: i64,
    next_attempt_at: String,
    lease_owner: Option<String>,
    lease_until: Option<String>,
    delivered_at: Option<String>,
}

impl TryFrom<EventRow> for OutboxEvent {
    type Error = SqliteError;

    fn try_from(row: EventRow) -> Result<Self, Self::Error> {
        let lease = match (row.lease_owner, row.lease_until) {
            (Some(owner), Some(until)) => Some(Lease {
                owner,
                until: codec::parse_instant("outbox_events.lease_until", &until)?,
            }),
            _ => None,
        };
        Ok(OutboxEvent {
            id: codec::parse("outbox_events.id", &row.id)?,
            kind: codec::parse_label("outbox_events.kind", &row.kind)?,
            recipients: codec::parse_json("outbox_events.recipients", &row.recipients)?,
            appointment_id: row
                .appointment_id
                .map(|id| codec::parse("outbox_events.appointment_id", &id))
                .transpose()?,
            message: NotificationText(row.message),
            created_at: codec::parse_instant("outbox_events.created_at", &row.created_at)?,
            status: codec::parse_label("outbox_events.status", &row.status)?,
            attempts: codec::parse_int("outbox_events.attempts", row.attempts)?,
            next_attempt_at: codec::parse_instant(
                "outbox_events.next_attempt_at",
                &row.next_attempt_at,
            )?,
            lease,
            delivered_at: codec::parse_opt_instant(
                "outbox_events.delivered_at",
                row.delivered_at.as_deref(),
            )?,
        })
    }
}

/// Inserts one event on the caller's transaction.
pub(crate) async fn insert_event(
    conn: &mut SqliteConnection,
    event: &OutboxEvent,
) -> Result<(), SqliteError> {
    let lease = event.lease.as_ref();
    sqlx::query(
        "INSERT INTO outbox_events (id, kind, recipients, appointment_id, message, created_at, \
         status, attempts, next_attempt_at, lease_owner, lease_until, delivered_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(event.id.to_string())
    .bind(codec::label(&event.kind)?)
    .bind(codec::json(&event.recipients)?)
    .bind(event.appointment_id.map(|id| id.to_string()))
    .bind(event.message.0.as_str())
    .bind(codec::instant(event.created_at)?)
    .bind(codec::label(&event.status)?)
    .bind(i64::from(event.attempts))
    .bind(codec::instant(event.next_attempt_at)?)
    .bind(lease.map(|lease| lease.owner.as_str()))
    .bind(codec::opt_instant(lease.map(|lease| lease.until))?)
    .bind(codec::opt_instant(event.delivered_at)?)
    .execute(conn)
    .await?;
    Ok(())
}

impl SqliteStore {
    async fn lease_events(
        &self,
        now: DateTime<Utc>,
        lease: &Lease,
        limit: u32,
    ) -> Result<Vec<OutboxEvent>, SqliteError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let now = codec::instant(now)?;
        let sql = format!(
            "UPDATE outbox_events SET lease_owner = ?, lease_until = ? WHERE id IN ( \
             SELECT id FROM outbox_events WHERE status = 'pending' AND next_attempt_at <= ? \
             AND (lease_until IS NULL OR lease_until <= ?) \
             ORDER BY next_attempt_at, id LIMIT ?) RETURNING {EVENT_COLUMNS}"
        );

        let mut tx = self.begin_write().await?;
        let rows: Vec<EventRow> = sqlx::query_as(&sql)
            .bind(lease.owner.as_str())
            .bind(codec::instant(lease.until)?)
            .bind(&now)
            .bind(&now)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;

        let mut events = rows
            .into_iter()
            .map(OutboxEvent::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        events.sort_by_key(|event| (event.next_attempt_at, event.id));
        Ok(events)
    }

    async fn deliver_event(
        &self,
        id: EventId,
        lease_owner: &str,
        delivered_at: DateTime<Utc>,
    ) -> Result<(), SqliteError> {
        let at = codec::instant(delivered_at)?;
        let sql = "UPDATE outbox_events SET status = 'delivered', delivered_at = ?, \
                   lease_owner = NULL, lease_until = NULL \
                   WHERE id = ? AND status = 'pending' AND lease_owner = ? AND lease_until > ?";

        let mut tx = self.begin_write().await?;
        let done = sqlx::query(sql)
            .bind(&at)
            .bind(id.to_string())
            .bind(lease_owner)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(lease_lost_or_missing(&mut tx, id).await);
        }
        tx.commit().await?;
        Ok(())
    }

    async fn postpone_event(
        &self,
        id: EventId,
        lease_owner: &str,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), SqliteError> {
        let sql = "UPDATE outbox_events SET attempts = ?, next_attempt_at = ?, \
                   lease_owner = NULL, lease_until = NULL \
                   WHERE id = ? AND status = 'pending' AND lease_owner = ?";

        let mut tx = self.begin_write().await?;
        let done = sqlx::query(sql)
            .bind(i64::from(attempts))
            .bind(codec::instant(next_attempt_at)?)
            .bind(id.to_string())
            .bind(lease_owner)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(lease_lost_or_missing(&mut tx, id).await);
        }
        tx.commit().await?;
        Ok(())
    }

    async fn pending_count(&self) -> Result<u64, SqliteError> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox_events WHERE status = 'pending'")
                .fetch_one(self.read_pool())
                .await?;
        codec::parse_int("count", count)
    }
}

/// After a conditional update touched no row: `NotFound` if the event does not exist, else
/// `LeaseLost`.
async fn lease_lost_or_missing(conn: &mut SqliteConnection, id: EventId) -> SqliteError {
    let exists =
        sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM outbox_events WHERE id = ?)")
            .bind(id.to_string())
            .fetch_one(conn)
            .await;
    match exists {
        Ok(true) => SqliteError::Conflict(ConflictKind::LeaseLost),
        Ok(false) => SqliteError::not_found(Entity::Event, id),
        Err(err) => err.into(),
    }
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn lease_due_events(
        &self,
        now: DateTime<Utc>,
        lease: &Lease,
        limit: u32,
    ) -> StoreResult<Vec<OutboxEvent>> {
        Ok(self.lease_events(now, lease, limit).await?)
    }

    async fn mark_delivered(
        &self,
        id: EventId,
        lease_owner: &str,
        delivered_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        Ok(self.deliver_event(id, lease_owner, delivered_at).await?)
    }

    async fn retry_later(
        &self,
        id: EventId,
        lease_owner: &str,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        Ok(self
            .postpone_event(id, lease_owner, attempts, next_attempt_at)
            .await?)
    }

    async fn count_pending_events(&self) -> StoreResult<u64> {
        Ok(self.pending_count().await?)
    }
}
