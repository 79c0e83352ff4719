//! Notifications through an SNS topic.

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sns::error::{BuildError, ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;
use medtrack_core::model::OutboxEvent;
use medtrack_core::notify::{Notifier, NotifyError};
use tracing::instrument;

/// Message attribute holding the event's kind, such as `appointment_booked`.
pub const ATTR_EVENT_TYPE: &str = "event_type";
/// Message attribute holding the event's own stable id, for de-duplication (SNS assigns a
/// different `MessageId` to every publish).
pub const ATTR_EVENT_ID: &str = "event_id";
/// Message attribute holding the recipients' distinct roles, as a `String.Array`.
pub const ATTR_RECIPIENT_ROLES: &str = "recipient_roles";
/// Message attribute holding the recipients' account ids, as a `String.Array`.
pub const ATTR_RECIPIENT_IDS: &str = "recipient_ids";
/// Message attribute holding the appointment concerned, when there is one.
pub const ATTR_APPOINTMENT_ID: &str = "appointment_id";

/// Publishes outbox events to one SNS topic.
///
/// The message body is the event's short text; everything a subscriber may filter or
/// de-duplicate on travels as message attributes ([`ATTR_EVENT_TYPE`], [`ATTR_EVENT_ID`],
/// [`ATTR_RECIPIENT_ROLES`], [`ATTR_RECIPIENT_IDS`], [`ATTR_APPOINTMENT_ID`]). On a FIFO
/// topic (an ARN ending in `.fifo`) the event id is also the deduplication id and the
/// appointment (or event) id the message group. A failed publish is a [`NotifyError`], so
/// the dispatcher keeps the event pending; the message text is never logged nor put into
/// the error.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    /// A notifier publishing to `topic_arn` with `sdk_config` (see
    /// [`load_aws_config`](crate::load_aws_config)).
    pub fn new(sdk_config: &SdkConfig, topic_arn: impl Into<String>) -> Self {
        Self::from_client(Client::new(sdk_config), topic_arn)
    }

    /// A notifier using an already configured client.
    pub fn from_client(client: Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    /// The topic published to.
    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }

    fn is_fifo(&self) -> bool {
        self.topic_arn.ends_with(".fifo")
    }
}

fn string(value: impl Into<String>) -> Result<MessageAttributeValue, BuildError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
}

fn string_array(values: &[String]) -> Result<MessageAttributeValue, BuildError> {
    let json = serde_json::Value::from(values.to_vec()).to_string();
    MessageAttributeValue::builder()
        .data_type("String.Array")
        .string_value(json)
        .build()
}

/// The message attributes of `event`.
fn attributes(
    event: &OutboxEvent,
) -> Result<Vec<(&'static str, MessageAttributeValue)>, BuildError> {
    let mut roles: Vec<String> = event
        .recipients
        .iter()
        .map(|recipient| recipient.role.as_str().to_owned())
        .collect();
    roles.sort();
    roles.dedup();
    let ids: Vec<String> = event
        .recipients
        .iter()
        .map(|recipient| recipient.user_id.to_string())
        .collect();

    let mut attributes = vec![
        (ATTR_EVENT_TYPE, string(event.kind.as_str())?),
        (ATTR_EVENT_ID, string(event.id.to_string())?),
    ];
    if !roles.is_empty() {
        attributes.push((ATTR_RECIPIENT_ROLES, string_array(&roles)?));
        attributes.push((ATTR_RECIPIENT_IDS, string_array(&ids)?));
    }
    if let Some(appointment) = event.appointment_id {
        attributes.push((ATTR_APPOINTMENT_ID, string(appointment.to_string())?));
    }
    Ok(attributes)
}

/// Why a publish failed: SNS's error code, and the transport error for timeouts and failed
/// connections. The service's message is dropped, since it could echo the request.
#[derive(Debug, thiserror::Error)]
#[error("SNS publish failed: {}", code.as_deref().unwrap_or("no error code"))]
struct PublishFailure {
    code: Option<String>,
    #[source]
    transport: Option<medtrack_core::error::BoxError>,
}

fn publish_failure<E, R>(err: SdkError<E, R>) -> PublishFailure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = err.code().map(str::to_owned);
    let transport: Option<medtrack_core::error::BoxError> = match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => Some(Box::new(err)),
        _ => None,
    };
    PublishFailure { code, transport }
}

#[async_trait]
impl Notifier for SnsNotifier {
    #[instrument(level = "debug", skip_all, fields(event_id = %event.id, kind = event.kind.as_str()), err)]
    async fn deliver(&self, event: &OutboxEvent) -> Result<(), NotifyError> {
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(event.message.0.clone());
        for (name, value) in attributes(event).map_err(NotifyError::new)? {
            request = request.message_attributes(name, value);
        }
        if self.is_fifo() {
            let group = event.appointment_id.map(|id| id.to_string());
            request = request
                .message_deduplication_id(event.id.to_string())
                .message_group_id(group.unwrap_or_else(|| event.id.to_string()));
        }

        request
            .send()
            .await
            .map_err(|err| NotifyError::new(publish_failure(err)))?;
        tracing::debug!("published");
        Ok(())
    }
}
