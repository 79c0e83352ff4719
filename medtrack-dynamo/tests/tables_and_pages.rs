//! Table creation and reads that span DynamoDB's 1 MB responses.

mod support;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use chrono::Duration;
use medtrack_core::id::DoctorId;
use medtrack_core::store::{AppointmentQuery, AppointmentStore, Effects, PageRequest, Party};
use medtrack_core::text::ClinicalText;
use medtrack_dynamo::{create_tables, DynamoSettings, DynamoStore, TableSetupError};
use support::*;

#[tokio::test]
async fn creating_tables_twice_is_fine() {
    let store = fresh_dynamo().await;

    store.create_tables().await.unwrap();

    let again = DynamoStore::new(&aws().await, &DynamoSettings::new(store.table_name()));
    again.create_tables().await.unwrap();
}

#[tokio::test]
async fn concurrent_table_creation_settles_on_one_table() {
    let config = aws().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let name = unique_name("race");

    let (a, b) = tokio::join!(create_tables(&client, &name), create_tables(&client, &name));

    a.unwrap();
    b.unwrap();
}

#[tokio::test]
async fn a_table_with_another_layout_is_a_clear_error() {
    let config = aws().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let name = unique_name("wrong");
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let err = create_tables(&client, &name).await.unwrap_err();

    assert!(
        matches!(err, TableSetupError::WrongSchema { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("primary key"), "{err}");
}

/// About 10 kB per appointment, so 110 of them pass 1 MB on one doctor's timeline.
const APPOINTMENTS: i64 = 110;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_doctor_with_more_than_a_megabyte_of_appointments_lists_them_all() {
    let store = fresh_dynamo().await;
    let (doctor, patient) = (known_doctor(&store).await, known_patient(&store).await);
    let reason = ClinicalText::parse(&"r".repeat(9_900)).unwrap();
    for slot in 0..APPOINTMENTS {
        let start = monday_nine() + Duration::minutes(30 * slot);
        let mut booked = appointment(doctor, patient, start, 30);
        booked.reason = reason.clone();
        store.book(&booked, Effects::default()).await.unwrap();
    }
    let end = monday_nine() + Duration::minutes(30 * APPOINTMENTS);

    assert!(first_response_is_cut(&store, doctor).await);

    let all = store
        .booked_for_doctor(doctor, monday_nine(), end)
        .await
        .unwrap();
    assert_eq!(all.len() as i64, APPOINTMENTS);
    assert!(all.windows(2).all(|pair| pair[0].start < pair[1].start));

    let query = AppointmentQuery {
        party: Party::Doctor(doctor),
        status: None,
        from: None,
        to: None,
        ascending: true,
    };
    let one_page = store
        .list_appointments(&query, PageRequest::first(1_000))
        .await
        .unwrap();
    assert_eq!(one_page.items.len() as i64, APPOINTMENTS);
    assert!(one_page.next_cursor.is_none());

    let mut paged = Vec::new();
    let mut page = PageRequest::first(50);
    loop {
        let got = store.list_appointments(&query, page.clone()).await.unwrap();
        assert!(got.items.len() == 50 || got.next_cursor.is_none());
        paged.extend(got.items.into_iter().map(|a| a.id));
        match got.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }
    let ids: Vec<_> = all.iter().map(|a| a.id).collect();
    assert_eq!(paged, ids);
}

/// Whether one plain query of the doctor's partition stops at DynamoDB's 1 MB limit, which
/// proves the listing above had to follow `LastEvaluatedKey`.
async fn first_response_is_cut(store: &DynamoStore, doctor: DoctorId) -> bool {
    let output = store
        .client()
        .query()
        .table_name(store.table_name())
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("DOCTOR#{doctor}")))
        .send()
        .await
        .unwrap();
    output.last_evaluated_key.is_some_and(|key| !key.is_empty())
}
