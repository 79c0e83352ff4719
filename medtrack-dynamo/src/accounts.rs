//! Accounts and login sessions.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};
use medtrack_core::error::{ConflictKind, Entity, StoreError};
use medtrack_core::id::UserId;
use medtrack_core::model::{Session, TokenHash, User};
use medtrack_core::store::{
    AccountStore, Effects, Page, PageRequest, SessionStore, StoreResult, UserFilter,
};
use medtrack_core::text::Email;
use tracing::instrument;

use crate::error::{sdk, DynamoError, ItemRole};
use crate::item::{body, key_item, n, number, optional_string, record_item, s, string, Item};
use crate::keys::{self, GSI1_PK, GSI1_SK, SHARDS, TTL};
use crate::query::{self, Filter, Range, Source};
use crate::store::DynamoStore;
use crate::txn::Condition;
use crate::write_id::{WriteId, WRITE_ID, WRITE_ID_NAME, WRITE_ID_VALUE};

const USER_ID: &str = "user_id";
const ROLE: &str = "role";
const STATUS: &str = "status";
const VERSION: &str = "version";
const LAST_SEEN_AT: &str = "last_seen_at";
const EXPIRES_AT: &str = "expires_at";
const EMAIL: &str = "email";
/// Set on a session a purge has claimed: from then on it is gone for readers.
const PURGED_BY: &str = "purged_by";
/// When the claim in `purged_by` was made.
const PURGED_AT: &str = "purged_at";

/// Sessions are never named in errors: their key is a token hash.
const SESSION_ID: &str = "<redacted>";

fn user_item(user: &User) -> Result<Item, DynamoError> {
    let mut item = record_item(&keys::user(user.id), "user", user)?;
    let status = serde_json::to_value(user.status).map_err(DynamoError::Encode)?;
    item.insert(ROLE.into(), s(user.role.as_str()));
    item.insert(STATUS.into(), s(status.as_str().unwrap_or_default()));
    item.insert(VERSION.into(), n(user.version));
    item.insert(EMAIL.into(), s(user.email.as_ref()));
    let shard = keys::shard_of(user.id.as_uuid());
    item.insert(GSI1_PK.into(), s(keys::users_shard(shard)));
    item.insert(GSI1_SK.into(), s(user.email.as_ref()));
    Ok(item)
}

fn email_item(user: &User) -> Item {
    let mut item = key_item(&keys::email(&user.email));
    item.insert(USER_ID.into(), s(user.id.to_string()));
    item
}

fn user_filter(filter: UserFilter) -> Result<Option<Filter>, DynamoError> {
    let mut built = Filter::default();
    if let Some(role) = filter.role {
        built = built.equals(ROLE, s(role.as_str()));
    }
    if let Some(status) = filter.status {
        let status = serde_json::to_value(status).map_err(DynamoError::Encode)?;
        built = built.equals(STATUS, s(status.as_str().unwrap_or_default()));
    }
    Ok((!built.expression.is_empty()).then_some(built))
}

impl DynamoStore {
    /// Replaces the account if its stored version is still `expected`; a refusal that finds
    /// this very write in place (an earlier send was applied) is success.
    async fn put_user_if_version(&self, user: &User, expected: u64) -> Result<(), DynamoError> {
        let write_id = WriteId::new();
        let mut item = user_item(user)?;
        write_id.stamp(&mut item);
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression(
                "attribute_exists(PK) AND #version = :expected AND #email = :email",
            )
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_names("#email", EMAIL)
            .expression_attribute_values(":expected", n(expected))
            .expression_attribute_values(":email", s(user.email.as_ref()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;

        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    if write_id.wrote(failed.item()) {
                        return Ok(());
                    }
                    Err(update_refusal(user, expected, failed.item()))
                }
                _ => Err(sdk("PutItem", err)),
            },
        }
    }
}

/// Why a conditional account update failed, from the item as it was stored: a missing
/// account, then a stale version, then a changed email.
fn update_refusal(user: &User, expected: u64, stored: Option<&Item>) -> DynamoError {
    let Some(item) = stored else {
        return DynamoError::NotFound {
            entity: Entity::User,
            id: user.id.to_string(),
        };
    };
    if number::<u64>(item, VERSION).ok() != Some(expected) {
        return DynamoError::Conflict(ConflictKind::StaleVersion);
    }
    DynamoError::Unsupported("changing an account's email")
}

#[async_trait]
impl AccountStore for DynamoStore {
    #[instrument(level = "debug", skip_all, fields(user_id = %user.id), err)]
    async fn create_user(&self, user: &User, effects: Effects) -> StoreResult<()> {
        let mut txn = self.transaction_with(&effects)?;
        let absent = || Some(Condition::absent());

        txn.put(self.table(), email_item(user), absent(), ItemRole::Email)?;
        txn.put(self.table(), user_item(user)?, absent(), ItemRole::Fresh)?;

        Ok(txn.commit(self.client()).await?)
    }

    #[instrument(level = "debug", skip_all, fields(user_id = %id), err)]
    async fn user(&self, id: UserId) -> StoreResult<User> {
        match self.get(&keys::user(id)).await? {
            Some(item) => Ok(body(&item)?),
            None => Err(StoreError::not_found(Entity::User, id)),
        }
    }

    #[instrument(level = "debug", skip_all, err)]
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let Some(item) = self.get(&keys::email(email)).await? else {
            return Ok(None);
        };
        let id: UserId = string(&item, USER_ID)?
            .parse()
            .map_err(|_| DynamoError::MissingAttribute(USER_ID))?;

        match self.user(id).await {
            Ok(user) => Ok(Some(user)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    #[instrument(level = "debug", skip_all, fields(user_id = %user.id), err)]
    async fn update_user(&self, user: &User, expected_version: u64) -> StoreResult<()> {
        Ok(self.put_user_if_version(user, expected_version).await?)
    }

    #[instrument(level = "debug", skip_all, err)]
    async fn list_users(&self, filter: UserFilter, page: PageRequest) -> StoreResult<Page<User>> {
        let range = Range {
            source: Source::Index,
            partitions: (0..SHARDS).map(keys::users_shard).collect(),
            lower: None,
            upper: None,
            forward: true,
            filter: user_filter(filter)?,
        };

        let cursor = page.cursor.as_deref();
        let found = query::page(
            self.client(),
            self.table(),
            &range,
            cursor,
            page.limit,
            body,
        );
        Ok(found.await?)
    }
}

fn session_item(session: &Session) -> Result<Item, DynamoError> {
    let mut item = record_item(&keys::session(&session.token_hash), "session", session)?;
    let shard = keys::session_shard_of(&session.token_hash);
    item.insert(GSI1_PK.into(), s(keys::sessions_shard(shard)));
    set_session_times(
        &mut item,
        session.last_seen_at,
        session.expires_at,
        &session.token_hash,
    );
    Ok(item)
}

fn set_session_times(
    item: &mut Item,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    hash: &TokenHash,
) {
    item.insert(LAST_SEEN_AT.into(), s(keys::sortable(last_seen_at)));
    item.insert(EXPIRES_AT.into(), s(keys::sortable(expires_at)));
    item.insert(GSI1_SK.into(), s(expiry_position(expires_at, hash)));
    item.insert(TTL.into(), n(expires_at.timestamp()));
}

fn expiry_position(expires_at: DateTime<Utc>, hash: &TokenHash) -> String {
    format!("{}#{}", keys::sortable(expires_at), hash.0)
}

fn parse_time(item: &Item, name: &'static str) -> Result<DateTime<Utc>, DynamoError> {
    DateTime::parse_from_rfc3339(string(item, name)?)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| DynamoError::MissingAttribute(name))
}

fn session_from(item: &Item) -> Result<Session, DynamoError> {
    let mut session: Session = body(item)?;
    session.last_seen_at = parse_time(item, LAST_SEEN_AT)?;
    session.expires_at = parse_time(item, EXPIRES_AT)?;
    Ok(session)
}

/// How long a purge's claim on a session protects it from other purges. The claiming purge
/// deletes the session right away; a claim older than this belongs to a purge that stopped
/// in between, and the next purge deletes the session without counting it.
const PURGE_CLAIM_TIMEOUT: chrono::Duration = chrono::Duration::minutes(10);

/// How a purge's claim on one expired session came out.
enum PurgeClaim {
    /// This purge holds the claim (an earlier send of it may have set it): it counts the
    /// session and deletes it.
    Ours(WriteId),
    /// Another purge claimed it at the given time.
    Others { claim: AttributeValue, at: String },
    /// It was renewed or is gone.
    NotExpired,
}

impl DynamoStore {
    /// Purges one session if it is still expired at `now`; true if this purge counts it.
    ///
    /// A delete cannot tell its own earlier send from someone else's delete, so the
    /// session is first claimed by a conditional update stamped with a write id: exactly
    /// one purge wins that claim (a resent claim recognises its own stamp), and from then on
    /// the session is gone for readers. The winner counts the session and deletes it.
    async fn purge_if_expired(&self, item: &Item, now: DateTime<Utc>) -> Result<bool, DynamoError> {
        let key = keys::Key {
            pk: string(item, keys::PK)?.to_owned(),
            sk: string(item, keys::SK)?.to_owned(),
        };

        match self.claim_for_purge(&key, now).await? {
            PurgeClaim::Ours(write_id) => {
                self.delete_claimed(&key, write_id.value()).await?;
                Ok(true)
            }
            PurgeClaim::Others { claim, at } => {
                if at < keys::sortable(now - PURGE_CLAIM_TIMEOUT) {
                    self.delete_claimed(&key, claim).await?;
                }
                Ok(false)
            }
            PurgeClaim::NotExpired => Ok(false),
        }
    }

    async fn claim_for_purge(
        &self,
        key: &keys::Key,
        now: DateTime<Utc>,
    ) -> Result<PurgeClaim, DynamoError> {
        let write_id = WriteId::new();
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_item(key)))
            .update_expression("SET #purged = :write_id, #purged_at = :now, #write_id = :write_id")
            .condition_expression("#expires < :now AND attribute_not_exists(#purged)")
            .expression_attribute_names("#expires", EXPIRES_AT)
            .expression_attribute_names("#purged", PURGED_BY)
            .expression_attribute_names("#purged_at", PURGED_AT)
            .expression_attribute_names(WRITE_ID_NAME, WRITE_ID)
            .expression_attribute_values(":now", s(keys::sortable(now)))
            .expression_attribute_values(WRITE_ID_VALUE, write_id.value())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;

        let failed = match result {
            Ok(_) => return Ok(PurgeClaim::Ours(write_id)),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    failed.item.clone()
                }
                _ => return Err(sdk("UpdateItem", err)),
            },
        };
        if write_id.wrote(failed.as_ref()) {
            return Ok(PurgeClaim::Ours(write_id));
        }
        let Some(mut stored) = failed else {
            return Ok(PurgeClaim::NotExpired);
        };
        match (
            stored.remove(PURGED_BY),
            optional_string(&stored, PURGED_AT),
        ) {
            (Some(claim), Some(at)) => Ok(PurgeClaim::Others {
                claim,
                at: at.to_owned(),
            }),
            _ => Ok(PurgeClaim::NotExpired),
        }
    }

    /// Deletes a session still under `claim`; one already gone, or claimed anew, is left.
    async fn delete_claimed(
        &self,
        key: &keys::Key,
        claim: AttributeValue,
    ) -> Result<(), DynamoError> {
        let result = self
            .client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(key_item(key)))
            .condition_expression("#purged = :claim")
            .expression_attribute_names("#purged", PURGED_BY)
            .expression_attribute_values(":claim", claim)
            .send()
            .await;

        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(_)) => Ok(()),
                _ => Err(sdk("DeleteItem", err)),
            },
        }
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    #[instrument(level = "debug", skip_all, fields(user_id = %session.user_id), err)]
    async fn insert_session(&self, session: &Session) -> StoreResult<()> {
        Ok(self.put_new(session_item(session)?).await?)
    }

    #[instrument(level = "debug", skip_all, err)]
    async fn session(&self, token_hash: &TokenHash) -> StoreResult<Option<Session>> {
        let item = self.get(&keys::session(token_hash)).await?;
        let live = item.filter(|item| !item.contains_key(PURGED_BY));
        Ok(live.as_ref().map(session_from).transpose()?)
    }

    #[instrument(level = "debug", skip_all, err)]
    async fn renew_session(
        &self,
        token_hash: &TokenHash,
        last_seen_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut times = Item::new();
        set_session_times(&mut times, last_seen_at, expires_at, token_hash);
        let mut request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_item(&keys::session(token_hash))))
            .update_expression("SET #seen = :seen, #exp = :exp, #gsk = :gsk, #ttl = :ttl")
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(#purged)")
            .expression_attribute_names("#purged", PURGED_BY);
        for (placeholder, name) in [
            ("seen", LAST_SEEN_AT),
            ("exp", EXPIRES_AT),
            ("gsk", GSI1_SK),
            ("ttl", TTL),
        ] {
            let value = times
                .remove(name)
                .ok_or(DynamoError::MissingAttribute(name))?;
            request = request
                .expression_attribute_names(format!("#{placeholder}"), name)
                .expression_attribute_values(format!(":{placeholder}"), value);
        }

        match request.send().await {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    Err(StoreError::not_found(Entity::Session, SESSION_ID))
                }
                _ => Err(sdk("UpdateItem", err).into()),
            },
        }
    }

    #[instrument(level = "debug", skip_all, err)]
    async fn delete_session(&self, token_hash: &TokenHash) -> StoreResult<()> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(key_item(&keys::session(token_hash))))
            .send()
            .await
            .map_err(|err| sdk("DeleteItem", err))?;
        Ok(())
    }

    #[instrument(level = "debug", skip_all, err)]
    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let range = Range {
            source: Source::Index,
            partitions: (0..SHARDS).map(keys::sessions_shard).collect(),
            lower: None,
            upper: Some(keys::sortable(now)),
            forward: true,
            filter: None,
        };
        let expired = query::read(self.client(), self.table(), &range, None, None).await?;

        let mut purged = 0;
        for item in &expired {
            if self.purge_if_expired(item, now).await? {
                purged += 1;
            }
        }
        Ok(purged)
    }
}
