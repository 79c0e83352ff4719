//! Notification events waiting for delivery, and the leases dispatchers hold on them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use medtrack_core::error::{ConflictKind, Entity, StoreError};
use medtrack_core::id::EventId;
use medtrack_core::model::{DeliveryStatus, Lease, OutboxEvent};
use medtrack_core::store::{OutboxStore, StoreResult};

use crate::{MemoryStore, State};

#[async_trait]
impl OutboxStore for MemoryStore {
    async fn lease_due_events(
        &self,
        now: DateTime<Utc>,
        lease: &Lease,
        limit: u32,
    ) -> StoreResult<Vec<OutboxEvent>> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut state = self.lock();
        let due = state.leasable_events(now, limit);

        Ok(state.set_leases(&due, lease))
    }

    async fn mark_delivered(
        &self,
        id: EventId,
        lease_owner: &str,
        delivered_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut state = self.lock();
        state.check_lease(id, lease_owner)?;

        state.update_event(id, |event| {
            event.status = DeliveryStatus::Delivered;
            event.delivered_at = Some(delivered_at);
            event.lease = None;
        });
        Ok(())
    }

    async fn retry_later(
        &self,
        id: EventId,
        lease_owner: &str,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut state = self.lock();
        state.check_lease(id, lease_owner)?;

        state.update_event(id, |event| {
            event.attempts = attempts;
            event.next_attempt_at = next_attempt_at;
            event.lease = None;
        });
        Ok(())
    }

    async fn count_pending_events(&self) -> StoreResult<u64> {
        let pending = self.lock().pending.len();
        Ok(u64::try_from(pending).unwrap_or(u64::MAX))
    }
}

impl State {
    /// Stores an event, indexed as pending unless it was delivered.
    pub(crate) fn insert_event(&mut self, event: OutboxEvent) {
        if event.status == DeliveryStatus::Pending {
            self.pending.insert((event.next_attempt_at, event.id));
        }
        self.events.insert(event.id, event);
    }

    /// Up to `limit` pending events due at `now` and not under a live lease, earliest due
    /// first. Reads only the due part of the pending index.
    fn leasable_events(&self, now: DateTime<Utc>, limit: usize) -> Vec<EventId> {
        let due = self.pending.iter().take_while(|(at, _)| *at <= now);
        let free = due.filter(|(_, id)| {
            let lease = self.events.get(id).map(|event| event.lease.as_ref());
            lease.is_some_and(|lease| lease.is_none_or(|lease| lease.until <= now))
        });
        free.take(limit).map(|(_, id)| *id).collect()
    }

    /// Sets `lease` on each event and returns them as stored.
    fn set_leases(&mut self, ids: &[EventId], lease: &Lease) -> Vec<OutboxEvent> {
        let mut leased = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(event) = self.events.get_mut(id) {
                event.lease = Some(lease.clone());
                leased.push(event.clone());
            }
        }
        leased
    }

    /// Succeeds when the event exists and `lease_owner` holds its lease.
    fn check_lease(&self, id: EventId, lease_owner: &str) -> StoreResult<()> {
        let event = self
            .events
            .get(&id)
            .ok_or_else(|| StoreError::not_found(Entity::Event, id))?;

        let lease = event.lease.as_ref();
        if lease.is_some_and(|lease| lease.owner == lease_owner) {
            Ok(())
        } else {
            Err(StoreError::Conflict(ConflictKind::LeaseLost))
        }
    }

    /// Changes a stored event and moves it in the pending index to match.
    fn update_event(&mut self, id: EventId, change: impl FnOnce(&mut OutboxEvent)) {
        let Some(mut event) = self.events.remove(&id) else {
            return;
        };
        self.pending.remove(&(event.next_attempt_at, id));

        change(&mut event);
        self.insert_event(event);
    }
}
