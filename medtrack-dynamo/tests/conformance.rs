//! The shared backend conformance suite, run against a local DynamoDB endpoint with a fresh
//! table per case.

mod support;

medtrack_core::conformance_tests!(support::fresh_store);
