//! Login sessions: the `sessions` table, keyed by the token's hash.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use medtrack_core::error::Entity;
use medtrack_core::model::{Session, TokenHash};
use medtrack_core::store::{SessionStore, StoreResult};
use sqlx::FromRow;

use crate::codec;
use crate::error::{or_missing, SqliteError};
use crate::SqliteStore;

/// Stands in for the token hash in errors: the hash is a secret's fingerprint.
const HIDDEN_KEY: &str = "<redacted>";

#[derive(FromRow)]
struct SessionRow {
    token_hash: String,
    user_id: String,
    created_at: String,
    last_seen_at: String,
    expires_at: String,
}

impl TryFrom<SessionRow> for Session {
    type Error = SqliteError;

    fn try_from(row: SessionRow) -> Result<Self, Self::Error> {
        Ok(Session {
            token_hash: TokenHash(row.token_hash),
            user_id: codec::parse("sessions.user_id", &row.user_id)?,
            created_at: codec::parse_instant("sessions.created_at", &row.created_at)?,
            last_seen_at: codec::parse_instant("sessions.last_seen_at", &row.last_seen_at)?,
            expires_at: codec::parse_instant("sessions.expires_at", &row.expires_at)?,
        })
    }
}

impl SqliteStore {
    async fn store_session(&self, session: &Session) -> Result<(), SqliteError> {
        let sql = "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, \
                   expires_at) VALUES (?, ?, ?, ?, ?)";

        let mut tx = self.begin_write().await?;
        sqlx::query(sql)
            .bind(session.token_hash.0.as_str())
            .bind(session.user_id.to_string())
            .bind(codec::instant(session.created_at)?)
            .bind(codec::instant(session.last_seen_at)?)
            .bind(codec::instant(session.expires_at)?)
            .execute(&mut *tx)
            .await
            .map_err(|err| or_missing(err, Entity::User, session.user_id))?;
        tx.commit().await?;
        Ok(())
    }

    async fn fetch_session(&self, token_hash: &TokenHash) -> Result<Option<Session>, SqliteError> {
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT token_hash, user_id, created_at, last_seen_at, expires_at \
             FROM sessions WHERE token_hash = ?",
        )
        .bind(token_hash.0.as_str())
        .fetch_optional(self.read_pool())
        .await?;
        row.map(Session::try_from).transpose()
    }

    async fn move_session(
        &self,
        token_hash: &TokenHash,
        last_seen_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), SqliteError> {
        let sql = "UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE token_hash = ?";

        let mut tx = self.begin_write().await?;
        let done = sqlx::query(sql)
            .bind(codec::instant(last_seen_at)?)
            .bind(codec::instant(expires_at)?)
            .bind(token_hash.0.as_str())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(SqliteError::not_found(Entity::Session, HIDDEN_KEY));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn remove_session(&self, token_hash: &TokenHash) -> Result<(), SqliteError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token_hash.0.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn purge_sessions(&self, now: DateTime<Utc>) -> Result<u64, SqliteError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at < ?")
            .bind(codec::instant(now)?)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn insert_session(&self, session: &Session) -> StoreResult<()> {
        Ok(self.store_session(session).await?)
    }

    async fn session(&self, token_hash: &TokenHash) -> StoreResult<Option<Session>> {
        Ok(self.fetch_session(token_hash).await?)
    }

    async fn renew_session(
        &self,
        token_hash: &TokenHash,
        last_seen_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        Ok(self
            .move_session(token_hash, last_seen_at, expires_at)
            .await?)
    }

    async fn delete_session(&self, token_hash: &TokenHash) -> StoreResult<()> {
        Ok(self.remove_session(token_hash).await?)
    }

    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        Ok(self.purge_sessions(now).await?)
    }
}
