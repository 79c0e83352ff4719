//! The shared conformance suite once more, on a client that loses the first response to
//! every write after the endpoint applied it: each write reaches DynamoDB twice, and must
//! still take effect once and report what it did.

mod support;

use medtrack_core::model::Role;
use medtrack_core::store::{AccountStore, Effects};
use support::lost_responses::fresh_dynamo_losing_first_responses;

medtrack_core::conformance_tests!(support::lost_responses::fresh_store_losing_first_responses);

#[tokio::test]
async fn a_registration_whose_response_was_lost_is_stored_once_and_succeeds() {
    let (store, lost) = fresh_dynamo_losing_first_responses().await;
    let user = support::user(Role::Patient, "lost.reply@example.org");

    store.create_user(&user, Effects::default()).await.unwrap();

    assert_eq!(lost.get(), 1, "the first response should have been lost");
    assert_eq!(store.user(user.id).await.unwrap().id, user.id);
}
