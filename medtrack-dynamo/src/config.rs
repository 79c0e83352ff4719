//! Settings and the AWS configuration they are combined with.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// How many times the SDK tries one request (the first try included) before it gives up and
/// the store reports [`StoreError::Unavailable`](medtrack_core::error::StoreError).
pub const SDK_MAX_ATTEMPTS: u32 = 5;

/// The table name used when only a prefix is given: `<prefix>medtrack`.
pub const TABLE_BASE_NAME: &str = "medtrack";

/// Where MedTrack's data lives in DynamoDB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoSettings {
    table_name: String,
}

impl DynamoSettings {
    /// Uses the table named `table_name`.
    pub fn new(table_name: impl Into<String>) -> Self {
        Self {
            table_name: table_name.into(),
        }
    }

    /// Uses the table `<prefix>medtrack`, so several deployments (or tests) can share an
    /// account by choosing different prefixes.
    pub fn with_prefix(prefix: &str) -> Self {
        Self::new(format!("{prefix}{TABLE_BASE_NAME}"))
    }

    /// The table's name.
    pub fn table_name(&self) -> &str {
        &self.table_name
    }
}

/// Loads the AWS configuration the standard way: region and credentials from the default
/// provider chain, endpoints from `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_DYNAMODB` and
/// `AWS_ENDPOINT_URL_SNS` when set, with the standard retry mode and
/// [`SDK_MAX_ATTEMPTS`] attempts per request.
pub async fn load_aws_config() -> SdkConfig {
    let retry = RetryConfig::standard()
        .with_max_attempts(SDK_MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(50));
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(10))
        .build();

    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry)
        .timeout_config(timeouts)
        .load()
        .await
}
