//! Creating the table and its index, idempotently.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, TableDescription, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_dynamodb::Client;
use medtrack_core::error::BoxError;

use crate::error::sdk;
use crate::keys::{GSI1, GSI1_PK, GSI1_SK, PK, SK, TTL};

/// How long [`create_tables`] waits for the table and index to become active.
pub const ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

/// Why the table could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableSetupError {
    /// A table of that name exists but is not laid out as this crate needs.
    #[error("table {table} exists with another schema: {problem}")]
    WrongSchema {
        /// The table.
        table: String,
        /// What differs.
        problem: String,
    },
    /// The table or its index did not become active in time.
    #[error("table {table} did not become active within {} seconds", ACTIVE_TIMEOUT.as_secs())]
    NotActive {
        /// The table.
        table: String,
    },
    /// A DynamoDB request failed.
    #[error("DynamoDB request failed while setting up the table")]
    Request(#[source] BoxError),
}

impl TableSetupError {
    fn wrong(table: &str, problem: impl Into<String>) -> Self {
        Self::WrongSchema {
            table: table.to_owned(),
            problem: problem.into(),
        }
    }
}

fn request_error<E: Into<crate::error::DynamoError>>(err: E) -> TableSetupError {
    TableSetupError::Request(Box::new(err.into()))
}

/// Creates the table `table` with its index and time to live, unless it exists, and waits
/// until everything is active. Safe to run any number of times, also concurrently: an
/// existing table with the right layout is left as it is, and one with another layout is
/// reported as [`TableSetupError::WrongSchema`] without being changed.
pub async fn create_tables(client: &Client, table: &str) -> Result<(), TableSetupError> {
    if describe(client, table).await?.is_none() {
        create(client, table).await?;
    }

    let description = wait_until_active(client, table).await?;
    check_schema(table, &description)?;

    ensure_time_to_live(client, table).await
}

async fn describe(
    client: &Client,
    table: &str,
) -> Result<Option<TableDescription>, TableSetupError> {
    match client.describe_table().table_name(table).send().await {
        Ok(output) => Ok(output.table),
        Err(err) => match err.as_service_error() {
            Some(DescribeTableError::ResourceNotFoundException(_)) => Ok(None),
            _ => Err(request_error(sdk("DescribeTable", err))),
        },
    }
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, TableSetupError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(request_error)
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, TableSetupError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(request_error)
}

async fn create(client: &Client, table: &str) -> Result<(), TableSetupError> {
    let index = GlobalSecondaryIndex::builder()
        .index_name(GSI1)
        .key_schema(key(GSI1_PK, KeyType::Hash)?)
        .key_schema(key(GSI1_SK, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(request_error)?;

    let result = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .set_attribute_definitions(Some(
            [PK, SK, GSI1_PK, GSI1_SK]
                .into_iter()
                .map(string_attribute)
                .collect::<Result<_, _>>()?,
        ))
        .global_secondary_indexes(index)
        .send()
        .await;

    match result {
        Ok(_) => {
            tracing::info!(table, "created table");
            Ok(())
        }
        Err(err) => match err.as_service_error() {
            Some(CreateTableError::ResourceInUseException(_)) => Ok(()),
            _ => Err(request_error(sdk("CreateTable", err))),
        },
    }
}

fn is_active(description: &TableDescription) -> bool {
    description.table_status() == Some(&TableStatus::Active)
        && description
            .global_secondary_indexes()
            .iter()
            .all(|index| index.index_status() == Some(&IndexStatus::Active))
}

async fn wait_until_active(
    client: &Client,
    table: &str,
) -> Result<TableDescription, TableSetupError> {
    let started = Instant::now();
    loop {
        if let Some(description) = describe(client, table).await? {
            if is_active(&description) {
                return Ok(description);
            }
        }
        if started.elapsed() > ACTIVE_TIMEOUT {
            return Err(TableSetupError::NotActive {
                table: table.to_owned(),
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn keys_of(schema: &[KeySchemaElement]) -> Vec<(&str, &KeyType)> {
    schema
        .iter()
        .map(|element| (element.attribute_name(), element.key_type()))
        .collect()
}

fn check_schema(table: &str, description: &TableDescription) -> Result<(), TableSetupError> {
    let expected = [(PK, &KeyType::Hash), (SK, &KeyType::Range)];
    if keys_of(description.key_schema()) != expected {
        return Err(TableSetupError::wrong(
            table,
            "its primary key is not (PK, SK)",
        ));
    }

    for definition in description.attribute_definitions() {
        if definition.attribute_type() != &ScalarAttributeType::S {
            let name = definition.attribute_name();
            return Err(TableSetupError::wrong(
                table,
                format!("key attribute {name} is not a string"),
            ));
        }
    }

    let index = description
        .global_secondary_indexes()
        .iter()
        .find(|index| index.index_name() == Some(GSI1))
        .ok_or_else(|| TableSetupError::wrong(table, format!("it has no index {GSI1}")))?;
    let expected = [(GSI1_PK, &KeyType::Hash), (GSI1_SK, &KeyType::Range)];
    if keys_of(index.key_schema()) != expected {
        return Err(TableSetupError::wrong(
            table,
            format!("index {GSI1} is not keyed (GSI1PK, GSI1SK)"),
        ));
    }
    let projection = index.projection().and_then(|p| p.projection_type());
    if projection != Some(&ProjectionType::All) {
        return Err(TableSetupError::wrong(
            table,
            format!("index {GSI1} does not project all attributes"),
        ));
    }
    Ok(())
}

async fn ensure_time_to_live(client: &Client, table: &str) -> Result<(), TableSetupError> {
    let output = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|err| request_error(sdk("DescribeTimeToLive", err)))?;
    let description = output.time_to_live_description;
    let status = description.as_ref().and_then(|d| d.time_to_live_status());
    let attribute = description.as_ref().and_then(|d| d.attribute_name());

    match status {
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling) if attribute == Some(TTL) => {
            Ok(())
        }
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling) => {
            Err(TableSetupError::wrong(
                table,
                format!("time to live reads another attribute than {TTL}"),
            ))
        }
        _ => enable_time_to_live(client, table).await,
    }
}

async fn enable_time_to_live(client: &Client, table: &str) -> Result<(), TableSetupError> {
    let specification = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(TTL)
        .build()
        .map_err(request_error)?;

    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(specification)
        .send()
        .await
        .map_err(|err| request_error(sdk("UpdateTimeToLive", err)))?;
    Ok(())
}
