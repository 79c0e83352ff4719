//! The outbox dispatcher: delivers pending notification events, retrying with backoff.
//!
//! Events are written to the outbox in the same atomic write as the change they report,
//! so a crash never loses one. Any number of dispatchers may share a store: each takes a
//! time-limited lease on the events it works on, so two never deliver one event at the same
//! time, and an event whose dispatcher died is taken over once its lease ends. Delivery is
//! at least once; receivers de-duplicate by event id.

use std::future::Future;
use std::sync::Arc;

use chrono::Duration;
use tracing::instrument;

use crate::clock::Clock;
use crate::error::{ConflictKind, StoreError};
use crate::model::{Lease, OutboxEvent};
use crate::notify::{Notifier, NotifyError};
use crate::store::Store;

/// How a dispatcher paces itself.
#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// This dispatcher's name, unique among those sharing a store.
    pub name: String,
    /// Most events taken per round.
    pub batch_size: u32,
    /// How long a taken event stays reserved for this dispatcher.
    pub lease: Duration,
    /// The longest one delivery may take before it counts as failed. A round starts a
    /// delivery only while at least this much of its lease is left. At most half the lease
    /// is used, so every round has room for a delivery.
    pub delivery_timeout: Duration,
    /// The wait after the first failure; it doubles with each further failure.
    pub base_backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
    /// The pause between rounds when [`Dispatcher::run`] found nothing to do.
    pub idle_poll: std::time::Duration,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            name: format!("dispatcher-{}", uuid::Uuid::new_v4()),
            batch_size: 50,
            lease: Duration::seconds(60),
            delivery_timeout: Duration::seconds(20),
            base_backoff: Duration::seconds(5),
            max_backoff: Duration::minutes(30),
            idle_poll: std::time::Duration::from_millis(500),
        }
    }
}

/// What one round of dispatching did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Events the notifier accepted.
    pub delivered: u32,
    /// Events the notifier refused; they wait for their next attempt.
    pub failed: u32,
    /// Events whose lease another dispatcher took over meanwhile.
    pub lost: u32,
    /// Events handed back untried because too little of the lease was left for them.
    pub released: u32,
}

/// Delivers pending outbox events through a notifier.
#[derive(Clone)]
pub struct Dispatcher {
    store: Arc<dyn Store>,
    notifier: Arc<dyn Notifier>,
    clock: Arc<dyn Clock>,
    config: DispatchConfig,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher over `store` delivering through `notifier`.
    pub fn new(
        store: Arc<dyn Store>,
        notifier: Arc<dyn Notifier>,
        clock: Arc<dyn Clock>,
        mut config: DispatchConfig,
    ) -> Self {
        let longest = config.lease / 2;
        if config.delivery_timeout > longest {
            tracing::warn!(
                "delivery timeout not shorter than half the lease; using half the lease"
            );
            config.delivery_timeout = longest;
        }
        Self {
            store,
            notifier,
            clock,
            config,
        }
    }

    /// Takes the events due now, tries each once, and records the outcome.
    #[instrument(skip_all, fields(dispatcher = %self.config.name), err)]
    pub async fn run_once(&self) -> Result<DispatchReport, StoreError> {
        let now = self.clock.now();
        let lease = Lease {
            owner: self.config.name.clone(),
            until: now + self.config.lease,
        };
        let events = self
            .store
            .lease_due_events(now, &lease, self.config.batch_size)
            .await?;

        let mut report = DispatchReport::default();
        for (index, event) in events.iter().enumerate() {
            if self.clock.now() + self.config.delivery_timeout > lease.until {
                self.release(&events[index..], &mut report).await?;
                break;
            }
            self.deliver_one(event, &mut report).await?;
        }
        if !events.is_empty() {
            tracing::debug!(?report, "dispatch round");
        }
        Ok(report)
    }

    /// Runs rounds until `shutdown` completes, pausing when there is nothing to do. Store
    /// errors are logged and retried after a pause; they never stop the loop.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let busy = match self.run_once().await {
                Ok(report) => report.delivered + report.failed > 0,
                Err(err) => {
                    tracing::error!(error = %err, "dispatch round failed");
                    false
                }
            };
            if busy {
                continue;
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(self.config.idle_poll) => {}
            }
        }
    }

    async fn deliver_one(
        &self,
        event: &OutboxEvent,
        report: &mut DispatchReport,
    ) -> Result<(), StoreError> {
        let owner = &self.config.name;
        let outcome = match self.deliver_in_time(event).await {
            Ok(()) => {
                report.delivered += 1;
                self.store
                    .mark_delivered(event.id, owner, self.clock.now())
                    .await
            }
            Err(err) => {
                report.failed += 1;
                let attempts = event.attempts + 1;
                let next = self.clock.now() + backoff(&self.config, attempts);
                tracing::warn!(event_id = %event.id, attempts, error = %err, "delivery failed, will retry");
                self.store
                    .retry_later(event.id, owner, attempts, next)
                    .await
            }
        };
        match outcome {
            Err(StoreError::Conflict(ConflictKind::LeaseLost)) => {
                report.lost += 1;
                tracing::warn!(event_id = %event.id, "lease lost to another dispatcher");
                Ok(())
            }
            other => other,
        }
    }
}

impl Dispatcher {
    /// Delivers `event`, or fails once [`DispatchConfig::delivery_timeout`] has passed (the
    /// notifier may still have sent it: delivery is at least once).
    async fn deliver_in_time(&self, event: &OutboxEvent) -> Result<(), NotifyError> {
        let limit = self
            .config
            .delivery_timeout
            .to_std()
            .unwrap_or(std::time::Duration::ZERO);
        match tokio::time::timeout(limit, self.notifier.deliver(event)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(NotifyError::new("the delivery timed out")),
        }
    }

    /// Hands `events` back untried, as due as they were, so any dispatcher can take them
    /// now instead of when this round's lease runs out.
    async fn release(
        &self,
        events: &[OutboxEvent],
        report: &mut DispatchReport,
    ) -> Result<(), StoreError> {
        for event in events {
            let handed_back = self
                .store
                .retry_later(
                    event.id,
                    &self.config.name,
                    event.attempts,
                    event.next_attempt_at,
                )
                .await;
            match handed_back {
                Ok(()) => report.released += 1,
                Err(StoreError::Conflict(ConflictKind::LeaseLost)) => report.lost += 1,
                Err(other) => return Err(other),
            }
        }
        tracing::warn!(
            released = events.len(),
            "lease running out, handed the rest of the round back"
        );
        Ok(())
    }
}

/// The wait before attempt `attempts + 1`: the base doubled per earlier failure, capped.
pub fn backoff(config: &DispatchConfig, attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(20);
    let wait = config.base_backoff * 2i32.pow(doublings);
    wait.min(config.max_backoff)
}
