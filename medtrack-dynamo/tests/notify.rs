//! Notifications end to end: outbox → core dispatcher → SNS topic → SQS queue.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_sdk_sqs::types::QueueAttributeName;
use chrono::{Duration, Utc};
use medtrack_core::clock::ManualClock;
use medtrack_core::dispatch::{DispatchConfig, DispatchReport, Dispatcher};
use medtrack_core::id::{DoctorId, PatientId};
use medtrack_core::model::{AppointmentStatus, EventKind};
use medtrack_core::notify::Notifier;
use medtrack_core::store::{AppointmentStore, Effects, Store};
use medtrack_dynamo::SnsNotifier;
use serde_json::Value;
use support::*;

/// A topic with one SQS queue subscribed to it.
struct Channel {
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
    topic_arn: String,
    queue_url: String,
}

impl Channel {
    async fn new() -> Self {
        let config = aws().await;
        let (sns, sqs) = (
            aws_sdk_sns::Client::new(&config),
            aws_sdk_sqs::Client::new(&config),
        );
        let topic = sns
            .create_topic()
            .name(unique_name("topic"))
            .send()
            .await
            .unwrap();
        let topic_arn = topic.topic_arn.unwrap();
        let queue = sqs
            .create_queue()
            .queue_name(unique_name("queue"))
            .send()
            .await
            .unwrap();
        let queue_url = queue.queue_url.unwrap();

        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap();
        let queue_arn = attributes.attributes.unwrap()[&QueueAttributeName::QueueArn].clone();
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .unwrap();

        Self {
            sns,
            sqs,
            topic_arn,
            queue_url,
        }
    }

    /// An ARN that names no topic any more.
    async fn deleted_topic_arn(&self) -> String {
        let topic = self
            .sns
            .create_topic()
            .name(unique_name("gone"))
            .send()
            .await
            .unwrap();
        let arn = topic.topic_arn.unwrap();
        self.sns
            .delete_topic()
            .topic_arn(&arn)
            .send()
            .await
            .unwrap();
        arn
    }

    /// Every SNS envelope waiting in the queue, removed from it. Short polls only: the local
    /// endpoint serves one request at a time.
    async fn drain(&self) -> Vec<Value> {
        let mut envelopes = Vec::new();
        for _ in 0..5 {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
            for message in messages {
                envelopes.push(serde_json::from_str(message.body().unwrap()).unwrap());
                let handle = message.receipt_handle.unwrap();
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .unwrap();
            }
        }
        envelopes
    }
}

fn attribute<'a>(envelope: &'a Value, name: &str) -> &'a str {
    envelope["MessageAttributes"][name]["Value"]
        .as_str()
        .unwrap_or_else(|| panic!("message attribute {name} missing"))
}

fn dispatcher(
    store: &Arc<dyn Store>,
    notifier: SnsNotifier,
    clock: &Arc<ManualClock>,
) -> Dispatcher {
    let config = DispatchConfig {
        name: "test-dispatcher".into(),
        ..DispatchConfig::default()
    };
    Dispatcher::new(Arc::clone(store), Arc::new(notifier), clock.clone(), config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booked_and_cancelled_appointments_reach_the_queue_with_their_attributes() {
    let channel = Channel::new().await;
    let dynamo = fresh_dynamo().await;
    let store: Arc<dyn Store> = Arc::new(dynamo.clone());
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let notifier = SnsNotifier::new(&aws().await, &channel.topic_arn);

    let booked = appointment(
        known_doctor(&dynamo).await,
        known_patient(&dynamo).await,
        monday_nine(),
        30,
    );
    let (effects, booking) = booking_effects(&booked, "Your appointment on 3 March is booked");
    dynamo.book(&booked, effects).await.unwrap();
    let cancel = changed(&booked, AppointmentStatus::Cancelled);
    let cancellation = event(EventKind::AppointmentCancelled, &booked, "It was cancelled");
    let effects = Effects {
        audit: Vec::new(),
        events: vec![cancellation.clone()],
    };
    dynamo.update_appointment(cancel, effects).await.unwrap();

    let report = dispatcher(&store, notifier, &clock)
        .run_once()
        .await
        .unwrap();
    assert_eq!(
        report,
        DispatchReport {
            delivered: 2,
            failed: 0,
            lost: 0,
            released: 0
        }
    );

    let envelopes = channel.drain().await;
    assert_eq!(envelopes.len(), 2, "{envelopes:#?}");
    let received: BTreeSet<_> = envelopes
        .iter()
        .map(|e| {
            (
                attribute(e, "event_id").to_owned(),
                attribute(e, "event_type").to_owned(),
            )
        })
        .collect();
    let expected = BTreeSet::from([
        (booking.id.to_string(), "appointment_booked".to_owned()),
        (
            cancellation.id.to_string(),
            "appointment_cancelled".to_owned(),
        ),
    ]);
    assert_eq!(received, expected);
    for envelope in &envelopes {
        assert_eq!(
            attribute(envelope, "recipient_roles"),
            r#"["doctor","patient"]"#
        );
        assert_eq!(attribute(envelope, "appointment_id"), booked.id.to_string());
        assert_eq!(
            envelope["MessageAttributes"]["recipient_roles"]["Type"],
            "String.Array"
        );
        let recipients: Vec<String> =
            serde_json::from_str(attribute(envelope, "recipient_ids")).unwrap();
        assert_eq!(recipients.len(), 2);
    }
    let texts: BTreeSet<_> = envelopes
        .iter()
        .map(|e| e["Message"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        BTreeSet::from(["Your appointment on 3 March is booked", "It was cancelled"])
    );
    assert_eq!(store.count_pending_events().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_topic_keeps_the_event_pending_until_it_is_delivered_once() {
    let channel = Channel::new().await;
    let dynamo = fresh_dynamo().await;
    let store: Arc<dyn Store> = Arc::new(dynamo.clone());
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let config = aws().await;
    let broken = SnsNotifier::new(&config, channel.deleted_topic_arn().await);
    let working = SnsNotifier::new(&config, &channel.topic_arn);
    let booked = appointment(
        known_doctor(&dynamo).await,
        known_patient(&dynamo).await,
        monday_nine(),
        30,
    );
    let (effects, booking) = booking_effects(&booked, "Booked");
    dynamo.book(&booked, effects).await.unwrap();

    let report = dispatcher(&store, broken, &clock).run_once().await.unwrap();

    assert_eq!(
        report,
        DispatchReport {
            delivered: 0,
            failed: 1,
            lost: 0,
            released: 0
        }
    );
    assert_eq!(store.count_pending_events().await.unwrap(), 1);
    assert!(channel.drain().await.is_empty());

    let working = dispatcher(&store, working, &clock);
    let too_early = working.run_once().await.unwrap();
    assert_eq!(too_early, DispatchReport::default());
    clock.advance(Duration::minutes(1));
    let report = working.run_once().await.unwrap();
    assert_eq!(
        report,
        DispatchReport {
            delivered: 1,
            failed: 0,
            lost: 0,
            released: 0
        }
    );
    assert_eq!(working.run_once().await.unwrap(), DispatchReport::default());

    let envelopes = channel.drain().await;
    assert_eq!(envelopes.len(), 1, "{envelopes:#?}");
    assert_eq!(attribute(&envelopes[0], "event_id"), booking.id.to_string());
    assert_eq!(store.count_pending_events().await.unwrap(), 0);
}

#[tokio::test]
async fn a_failed_publish_names_no_message_text() {
    let channel = Channel::new().await;
    let config = aws().await;
    let broken = SnsNotifier::new(&config, channel.deleted_topic_arn().await);
    let booked = appointment(DoctorId::new(), PatientId::new(), monday_nine(), 30);
    let secret = "Dear Jane Roe, your oncology follow-up";

    let err = broken
        .deliver(&event(EventKind::AppointmentBooked, &booked, secret))
        .await
        .unwrap_err();

    let mut chain = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        chain.push_str(&format!(" {cause} {cause:?}"));
        source = cause.source();
    }
    assert!(!chain.contains("Jane"), "{chain}");
    assert!(!chain.contains("oncology"), "{chain}");
}
