//! A DynamoDB client that loses the first response to every write, after the endpoint has
//! applied the write, the way a timeout or a dropped connection does. The SDK then sends
//! the same write again, and the store must recognise its own earlier success instead of
//! reporting the conflict the resent write runs into.
//!
//! What it does not model: a first send that is applied only after its resend (a request
//! stuck in the network), and a second, separate request with exactly the same body as an
//! earlier one, whose first response is let through.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_sdk_dynamodb::config::retry::{RetryConfig, RetryPartition, TokenBucket};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use medtrack_dynamo::{DynamoSettings, DynamoStore};

use super::{aws, fresh_dynamo, unique_name};

/// The operations that change the table.
const WRITES: [&str; 4] = ["PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"];

/// What the endpoint would answer if it failed after applying the write.
const LOST: &str = concat!(
    r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","#,
    r#""message":"the response was lost"}"#
);

/// Counts the responses a [`LoseFirstWriteResponses`] has replaced.
#[derive(Debug, Default)]
pub struct LostCount(AtomicUsize);

impl LostCount {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Replaces the response to the first send of every distinct write request with a server
/// error. A resent request is byte for byte the same (the SDK signs it anew, but the body
/// is unchanged), so its response is let through.
#[derive(Debug, Default)]
struct LoseFirstWriteResponses {
    sent: Mutex<HashSet<Vec<u8>>>,
    lost: Arc<LostCount>,
}

/// Set on an attempt whose response is to be lost.
#[derive(Debug, Clone)]
struct LoseThisResponse(bool);

impl Storable for LoseThisResponse {
    type Storer = StoreReplace<Self>;
}

impl Intercept for LoseFirstWriteResponses {
    fn name(&self) -> &'static str {
        "LoseFirstWriteResponses"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let is_write = request.headers().get("x-amz-target").is_some_and(|target| {
            WRITES
                .iter()
                .any(|write| target.ends_with(&format!(".{write}")))
        });
        let first_send = match request.body().bytes() {
            Some(body) if is_write => self.sent.lock().unwrap().insert(body.to_vec()),
            _ => false,
        };
        cfg.interceptor_state()
            .store_put(LoseThisResponse(first_send));
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !cfg.load::<LoseThisResponse>().is_some_and(|lose| lose.0) {
            return Ok(());
        }
        let response = context.response_mut();
        *response.status_mut() = StatusCode::try_from(500).expect("a valid status");
        response.headers_mut().remove("x-amz-crc32");
        *response.body_mut() = SdkBody::from(LOST);
        self.lost.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// A store on a new table whose client loses the first response to every write, and the
/// count of responses it lost so far.
pub async fn fresh_dynamo_losing_first_responses() -> (DynamoStore, Arc<LostCount>) {
    let table = fresh_dynamo().await;
    let interceptor = LoseFirstWriteResponses::default();
    let lost = interceptor.lost.clone();
    // Every write is sent twice, so the shared retry quota would soon run dry: this client
    // gets an unlimited one of its own.
    let quota = RetryPartition::custom(unique_name("lossy"))
        .token_bucket(TokenBucket::unlimited())
        .build();
    let retry = RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(10));
    let config = aws_sdk_dynamodb::config::Builder::from(&aws().await)
        .interceptor(interceptor)
        .retry_partition(quota)
        .retry_config(retry)
        .build();

    let settings = DynamoSettings::new(table.table_name());
    let store = DynamoStore::from_client(Client::from_conf(config), &settings);
    (store, lost)
}

/// The same, as the trait object core works with.
pub async fn fresh_store_losing_first_responses() -> Arc<dyn medtrack_core::store::Store> {
    Arc::new(fresh_dynamo_losing_first_responses().await.0)
}
