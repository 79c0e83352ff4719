//! Notification port.
//!
//! Events reach a [`Notifier`] only through the outbox dispatcher, which retries failures,
//! so a notifier reports failure instead of retrying for long itself.

use async_trait::async_trait;

use crate::error::BoxError;
use crate::model::OutboxEvent;

/// A notifier's failure to deliver; the event stays pending and is tried again later.
#[derive(Debug, thiserror::Error)]
#[error("notification delivery failed")]
pub struct NotifyError {
    #[source]
    source: BoxError,
}

impl NotifyError {
    /// A failure caused by `source`. The cause must not contain the message text.
    pub fn new(source: impl Into<BoxError>) -> Self {
        Self {
            source: source.into(),
        }
    }
}

/// Delivers notification events to the people they name.
///
/// Delivery is at least once: the same event (same [`OutboxEvent::id`]) may arrive again
/// after a crash or an expired lease, so receivers de-duplicate by id.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Hands one event to the channel. `Ok` means the channel accepted it.
    async fn deliver(&self, event: &OutboxEvent) -> Result<(), NotifyError>;
}
