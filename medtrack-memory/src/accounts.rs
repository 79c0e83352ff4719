//! Accounts and login sessions.

use std::ops::Bound;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use medtrack_core::error::{ConflictKind, Entity, StoreError};
use medtrack_core::id::UserId;
use medtrack_core::model::{Session, TokenHash, User};
use medtrack_core::store::{
    AccountStore, Effects, Page, PageRequest, SessionStore, StoreResult, UserFilter,
};
use medtrack_core::text::Email;
use uuid::Uuid;

use crate::page::{collect, invalid_cursor};
use crate::{MemoryStore, State, BACKEND};

#[async_trait]
impl AccountStore for MemoryStore {
    async fn create_user(&self, user: &User, effects: Effects) -> StoreResult<()> {
        self.write(
            effects,
            |state| state.check_new_user(user),
            State::insert_user,
        )
    }

    async fn user(&self, id: UserId) -> StoreResult<User> {
        let state = self.lock();
        state
            .users
            .get(&id)
            .cloned()
            .ok_or_else(|| StoreError::not_found(Entity::User, id))
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let state = self.lock();
        let id = state.users_by_email.get(email);
        Ok(id.and_then(|id| state.users.get(id)).cloned())
    }

    async fn update_user(&self, user: &User, expected_version: u64) -> StoreResult<()> {
        let check = |state: &State| state.check_user_update(user, expected_version);
        self.write(Effects::default(), check, |state, user: User| {
            state.users.insert(user.id, user);
        })
    }

    async fn list_users(&self, filter: UserFilter, page: PageRequest) -> StoreResult<Page<User>> {
        self.lock().list_users(filter, page)
    }
}

impl State {
    fn check_new_user(&self, user: &User) -> StoreResult<User> {
        if self.users_by_email.contains_key(&user.email) {
            return Err(StoreError::Conflict(ConflictKind::Email));
        }
        if self.users.contains_key(&user.id) {
            return Err(StoreError::Conflict(ConflictKind::AlreadyExists));
        }
        Ok(user.clone())
    }

    fn insert_user(&mut self, user: User) {
        self.users_by_email.insert(user.email.clone(), user.id);
        self.users.insert(user.id, user);
    }

    fn check_user_update(&self, user: &User, expected_version: u64) -> StoreResult<User> {
        let stored = self
            .users
            .get(&user.id)
            .ok_or_else(|| StoreError::not_found(Entity::User, user.id))?;

        if stored.version != expected_version {
            return Err(StoreError::Conflict(ConflictKind::StaleVersion));
        }
        if stored.email != user.email {
            return Err(StoreError::Unsupported {
                backend: BACKEND,
                operation: "changing an account's email",
            });
        }
        Ok(user.clone())
    }

    fn list_users(&self, filter: UserFilter, page: PageRequest) -> StoreResult<Page<User>> {
        let after = match page.cursor.as_deref() {
            Some(cursor) => Bound::Excluded(self.user_cursor_email(cursor)?),
            None => Bound::Unbounded,
        };
        let keys = self.users_by_email.range((after, Bound::Unbounded));

        let load = |(_, id): &(&Email, &UserId)| {
            let user = self.users.get(id)?;
            let role_ok = filter.role.is_none_or(|role| user.role == role);
            let status_ok = filter.status.is_none_or(|status| user.status == status);
            (role_ok && status_ok).then(|| user.clone())
        };
        Ok(collect(keys, page.limit, load, |(_, id)| id.to_string()))
    }

    /// The email of the account a users cursor names; the cursor is that account's id.
    fn user_cursor_email(&self, cursor: &str) -> StoreResult<Email> {
        let id = Uuid::parse_str(cursor).map_err(|_| invalid_cursor())?;
        let user = self.users.get(&UserId::from_uuid(id));
        user.map(|user| user.email.clone())
            .ok_or_else(invalid_cursor)
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn insert_session(&self, session: &Session) -> StoreResult<()> {
        let check = |state: &State| state.check_new_session(session);
        self.write(Effects::default(), check, State::insert_session)
    }

    async fn session(&self, token_hash: &TokenHash) -> StoreResult<Option<Session>> {
        Ok(self.lock().sessions.get(token_hash).cloned())
    }

    async fn renew_session(
        &self,
        token_hash: &TokenHash,
        last_seen_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut state = self.lock();
        let mut session = state.remove_session(token_hash).ok_or_else(session_gone)?;

        session.last_seen_at = last_seen_at;
        session.expires_at = expires_at;
        state.insert_session(session);
        Ok(())
    }

    async fn delete_session(&self, token_hash: &TokenHash) -> StoreResult<()> {
        self.lock().remove_session(token_hash);
        Ok(())
    }

    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let mut state = self.lock();
        let first_kept = (now, TokenHash(String::new()));
        let kept = state.sessions_by_expiry.split_off(&first_kept);
        let expired = std::mem::replace(&mut state.sessions_by_expiry, kept);

        for (_, token_hash) in &expired {
            state.sessions.remove(token_hash);
        }
        Ok(u64::try_from(expired.len()).unwrap_or(u64::MAX))
    }
}

/// The session asked for is gone; its token hash stays out of the message.
fn session_gone() -> StoreError {
    StoreError::not_found(Entity::Session, "<redacted>")
}

impl State {
    fn check_new_session(&self, session: &Session) -> StoreResult<Session> {
        if self.sessions.contains_key(&session.token_hash) {
            return Err(StoreError::Conflict(ConflictKind::AlreadyExists));
        }
        Ok(session.clone())
    }

    fn insert_session(&mut self, session: Session) {
        let key = (session.expires_at, session.token_hash.clone());
        self.sessions_by_expiry.insert(key);
        self.sessions.insert(session.token_hash.clone(), session);
    }

    fn remove_session(&mut self, token_hash: &TokenHash) -> Option<Session> {
        let session = self.sessions.remove(token_hash)?;
        let key = (session.expires_at, session.token_hash.clone());
        self.sessions_by_expiry.remove(&key);
        Some(session)
    }
}
