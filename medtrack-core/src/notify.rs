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

/// A notifier that keeps every delivered event in memory, for tests and demos. It can be
/// told to fail, to show that a failing channel delays delivery and loses nothing.
#[derive(Debug, Default)]
pub struct MemoryNotifier {
    delivered: std::sync::Mutex<Vec<OutboxEvent>>,
    failing: std::sync::atomic::AtomicBool,
}

impl MemoryNotifier {
    /// A notifier that accepts everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event accepted so far, in order; an event delivered twice appears twice.
    pub fn delivered(&self) -> Vec<OutboxEvent> {
        self.lock().clone()
    }

    /// While `failing` is true, every delivery fails.
    pub fn set_failing(&self, failing: bool) {
        self.failing
            .store(failing, std::sync::atomic::Ordering::SeqCst);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<OutboxEvent>> {
        self.delivered
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Notifier for MemoryNotifier {
    async fn deliver(&self, event: &OutboxEvent) -> Result<(), NotifyError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(NotifyError::new("the memory notifier is set to fail"));
        }
        self.lock().push(event.clone());
        Ok(())
    }
}

/// A notifier that writes one log line per event: its kind, id, appointment and recipient
/// ids. Never the message text, which may say something about a person.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    async fn deliver(&self, event: &OutboxEvent) -> Result<(), NotifyError> {
        let recipients: Vec<String> = event
            .recipients
            .iter()
            .map(|recipient| format!("{}:{}", recipient.role.as_str(), recipient.user_id))
            .collect();
        tracing::info!(
            event_id = %event.id,
            kind = event.kind.as_str(),
            appointment_id = ?event.appointment_id.map(|id| id.to_string()),
            recipients = ?recipients,
            "notification"
        );
        Ok(())
    }
}
