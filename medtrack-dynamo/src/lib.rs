//! # medtrack-dynamo
//!
//! MedTrack's storage on Amazon DynamoDB ([`DynamoStore`], implementing every trait of
//! [`medtrack_core::store`]) and notifications through Amazon SNS ([`SnsNotifier`],
//! implementing [`medtrack_core::notify::Notifier`]). For clinics that run several stateless
//! application instances against one shared database.
//!
//! ## Configuration
//!
//! Region and credentials come from the standard AWS provider chain
//! ([`load_aws_config`] calls `aws_config::defaults(BehaviorVersion::latest())`). The table
//! name (or a prefix, see [`DynamoSettings::with_prefix`]) and the topic ARN are explicit
//! settings; nothing account-specific is built in. Endpoints can be overridden with the
//! standard `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_DYNAMODB` and `AWS_ENDPOINT_URL_SNS`
//! variables, so the same binary talks to AWS or to a local emulator. Requests use the SDK's
//! standard retry mode with [`SDK_MAX_ATTEMPTS`] attempts; throttling that outlasts them is
//! [`StoreError::Unavailable`](medtrack_core::error::StoreError::Unavailable) with
//! `retryable: true`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use medtrack_dynamo::{load_aws_config, DynamoSettings, DynamoStore, SnsNotifier};
//!
//! let aws = load_aws_config().await;
//! let store = DynamoStore::new(&aws, &DynamoSettings::with_prefix("clinic-"));
//! store.create_tables().await?;
//! let notifier = SnsNotifier::new(&aws, "arn:aws:sns:eu-central-1:000000000000:medtrack");
//! # let _ = (store, notifier);
//! # Ok(())
//! # }
//! ```
//!
//! The table can also be created ahead of time with the `medtrack-dynamo-tables` command
//! (`medtrack-dynamo-tables --table-prefix clinic-`).
//!
//! ## Table design
//!
//! One table, billed on demand (`PAY_PER_REQUEST`), with string keys `PK` and `SK`, one
//! global secondary index `GSI1` on `GSI1PK`/`GSI1SK` projecting all attributes, and time
//! to live on `expires_at_epoch`. Every record is kept whole as JSON in `body`; the
//! attributes used by conditions and filters (`version`, `status`, `role`, lease fields, …)
//! sit beside it, with `write_id` (the last conditional write, see below) and, on a session
//! being purged, `purged_by` and `purged_at`. Times in keys are fixed-width UTC
//! (`2027-03-28T09:00:00.000000000Z`), so key order is time order; an id after the time
//! makes every key unique and breaks ties by id.
//!
//! | Item | `PK` | `SK` | `GSI1PK` / `GSI1SK` |
//! |---|---|---|---|
//! | account | `USER#<user>` | `USER` | `USERS#<shard>` / `<email>` |
//! | email | `EMAIL#<email>` | `EMAIL` | |
//! | session | `SESSION#<token hash>` | `SESSION` | `SESSIONS#<shard>` / `<expires>#<hash>` |
//! | appointment | `APPT#<appointment>` | `APPT` | |
//! | doctor's timeline | `DOCTOR#<doctor>` | `APPT#<start>#<appointment>` | |
//! | patient's timeline | `PATIENT#<patient>` | `APPT#<start>#<appointment>` | |
//! | care marker | `PATIENT#<patient>` | `CARE#<doctor>#<appointment>` | |
//! | time claim | `CLAIM#<claim key>` | `CLAIM` | |
//! | diagnosis | `PATIENT#<patient>` | `DIAG#<authored>#<appointment>#<version>` | |
//! | diagnosis marker | `APPT#<appointment>` | `DIAG#<version>` | |
//! | report | `PATIENT#<patient>` | `REPORT#<submitted>#<report>` | |
//! | audit entry | `PATIENT#<patient>` | `AUDIT#<at>#<entry>` | `AUDIT#<shard>` / `<at>#<entry>` |
//! | outbox event | `EVENT#<event>` | `EVENT` | `OUTBOX#<shard>` / `<due>#<event>` while pending |
//!
//! Access patterns and why each key exists:
//!
//! - **Account by id or email**: `GetItem` on the account, or on the email item and then the
//!   account. The email item is also what keeps emails unique: registration puts it with
//!   `attribute_not_exists` in the same transaction as the account.
//! - **A doctor's appointments by time range** (free slots, schedule) and **a patient's
//!   appointments by time**: a `Query` on the doctor's or patient's partition with a range on
//!   `SK`. The appointment is copied onto both timelines in the same transaction as every
//!   change, so these reads are strongly consistent and touch only that person's items.
//! - **Care relationship**: the care marker exists exactly while an appointment between the
//!   two establishes care; it is written in the same transaction, and read strongly
//!   consistent from the patient's partition, so access checks see every completed write.
//! - **The double-booking guarantee**: each five-minute cell an appointment holds (doctor
//!   time with buffers, patient time) is a claim item put with `attribute_not_exists` in the
//!   same `TransactWriteItems` as the appointment, its timelines, its audit entries and its
//!   outbox events. Claims are keyed per person and cell, so bookings of different doctors
//!   never write the same partition. A cancelled condition is read from the per-item
//!   cancellation reasons: a doctor cell gives `Conflict(DoctorTime)`, a patient cell
//!   `Conflict(PatientTime)`, a version check `Conflict(StaleVersion)`, the email item
//!   `Conflict(Email)`. A booking also carries a `ConditionCheck` on the doctor's and the
//!   patient's account items, so an appointment never names an account the table does not
//!   hold (`NotFound`). Core caps an appointment at 44 cells, so a reschedule (cells released
//!   plus cells taken, the appointment, four timeline writes and its effects) stays within
//!   DynamoDB's 100 items per transaction.
//! - **The medical record and a patient's audit trail**: `Query` on the patient's partition
//!   by `SK` prefix (`DIAG#`, `REPORT#`, `AUDIT#`), in time order.
//! - **Everyone's accounts by email, everyone's audit entries, expired sessions, due outbox
//!   events**: `GSI1`. Each of these global lists is spread over four shard partitions
//!   (chosen from the id), and a read queries the shards and merges them by `GSI1SK`, so no
//!   single partition takes every registration, audited read or booking's event; four
//!   partitions give those lists 4,000 writes per second of headroom, far above the load a
//!   clinic group produces.
//!
//! The index is eventually consistent on AWS, so no invariant reads it: leasing an event is
//! a conditional update of the event item itself (pending, due, lease free), purging a
//! session re-checks its expiry in the condition of the update that claims it, and
//! everything a caller must see right after its own write (appointments, records, care, the
//! patient's audit trail) is read from the base table. Lists served by the index (all
//! accounts, everyone's audit, the pending count) may lag a write by a moment on AWS.
//!
//! Every `Query` follows `LastEvaluatedKey`: a page is filled across DynamoDB's 1 MB
//! responses, and its cursor holds the sort key of its last item, so the next page resumes
//! exactly there, however many items were inserted meanwhile. Transactions carry a client
//! request token, kept across the SDK's own retries so a retried send is not applied
//! twice; transactions cancelled as contended (`TransactionConflict`) are sent again a few
//! times with jittered backoff and then reported as retryable `Unavailable`.
//!
//! The SDK resends a request whose response it did not get, and a conditional write whose
//! first send was applied then fails its own condition. So every conditional put and
//! update, inside a transaction or not, stamps what it writes with a fresh id (`write_id`)
//! and asks for the stored item back when a condition fails: finding its own id there, it
//! reports success instead of a conflict. This covers single-item writes, which have no
//! request token, and emulators, which ignore tokens. (Conditional deletes need no stamp:
//! a transaction always also puts a stamped item, and a resent delete of a claim held by the
//! same appointment passes its condition.) Purging a session first claims it with such a
//! stamped update (`purged_by`; a claimed session is gone for readers) and then deletes it,
//! so each purged session is counted by exactly one purge, the one whose claim took it. A
//! purge that stops between the two leaves its claim; ten minutes later the next purge
//! deletes that session without counting it.
//!
//! What this cannot cover: when the SDK spends all its attempts on a write that did land,
//! the caller sees `Unavailable`, and trying the same operation again is a new write with
//! a new id, refused by the first one (`SlotTaken`, `StaleVersion`, `EmailTaken`). Reading
//! back before retrying tells the two apart.
//!
//! Sessions carry `expires_at_epoch`, so DynamoDB's time to live removes abandoned ones even
//! if nobody calls `purge_expired_sessions`.
//!
//! ## Testing against a local endpoint
//!
//! The integration tests need a DynamoDB-compatible endpoint in `AWS_ENDPOINT_URL`;
//! `scripts/dynamodb-local` starts one (moto in server mode, which also speaks SNS and SQS).
//! They create uniquely named tables, so they run in parallel, and fail with a message
//! naming that script when no endpoint is set.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod accounts;
mod appointments;
mod config;
mod error;
mod item;
mod journal;
mod keys;
mod query;
mod sns;
mod store;
mod tables;
mod txn;
mod write_id;

pub use config::{load_aws_config, DynamoSettings, SDK_MAX_ATTEMPTS, TABLE_BASE_NAME};
pub use sns::{
    SnsNotifier, ATTR_APPOINTMENT_ID, ATTR_EVENT_ID, ATTR_EVENT_TYPE, ATTR_RECIPIENT_IDS,
    ATTR_RECIPIENT_ROLES,
};
pub use store::DynamoStore;
pub use tables::{create_tables, TableSetupError, ACTIVE_TIMEOUT};

/// The AWS SDK crates this crate is built on, so callers use the same versions.
pub mod sdk {
    pub use aws_config;
    pub use aws_sdk_dynamodb as dynamodb;
    pub use aws_sdk_sns as sns;
}
