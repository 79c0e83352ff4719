//! Accounts and sessions on a file database.

mod common;

use chrono::Duration;
use common::*;
use medtrack_core::error::{ConflictKind, Entity, StoreError};
use medtrack_core::id::UserId;
use medtrack_core::model::{AccountStatus, Role, Session, TokenHash};
use medtrack_core::store::{
    AccountStore, Effects, OutboxStore, PageRequest, SessionStore, UserFilter,
};
use medtrack_core::text::{Email, PersonName};

#[tokio::test]
async fn a_created_account_reads_back_whole_by_id_and_by_email() {
    let db = TestDb::new().await;
    let (pat, doc) = (patient("pat@example.org"), doctor("doc@example.org"));

    db.store
        .create_user(&pat, Effects::default())
        .await
        .unwrap();
    db.store
        .create_user(&doc, Effects::default())
        .await
        .unwrap();

    assert!(same_json(&db.store.user(pat.id).await.unwrap(), &pat));
    assert!(same_json(&db.store.user(doc.id).await.unwrap(), &doc));
    let email = Email::parse("DOC@Example.org").unwrap();
    let found = db.store.user_by_email(&email).await.unwrap().unwrap();
    assert!(same_json(&found, &doc));
}

#[tokio::test]
async fn an_unknown_account_is_not_found_and_an_unknown_email_is_none() {
    let db = TestDb::new().await;

    let err = db.store.user(UserId::new()).await.unwrap_err();
    let email = Email::parse("nobody@example.org").unwrap();

    assert!(matches!(
        err,
        StoreError::NotFound {
            entity: Entity::User,
            ..
        }
    ));
    assert!(db.store.user_by_email(&email).await.unwrap().is_none());
}

#[tokio::test]
async fn a_taken_email_in_other_letter_case_conflicts_and_writes_nothing() {
    let db = TestDb::new().await;
    db.store
        .create_user(&patient("ann@x.org"), Effects::default())
        .await
        .unwrap();
    let second = patient("Ann@X.org");
    let effects = Effects {
        audit: vec![],
        events: vec![event(None, created_at())],
    };

    let err = db.store.create_user(&second, effects).await.unwrap_err();

    assert!(matches!(err, StoreError::Conflict(ConflictKind::Email)));
    assert!(!format!("{err} {err:?}").contains("ann@x.org"));
    assert_eq!(db.store.count_pending_events().await.unwrap(), 0);
    assert!(db.store.user(second.id).await.is_err());
}

#[tokio::test]
async fn a_taken_id_conflicts_as_already_exists() {
    let db = TestDb::new().await;
    let first = patient("one@example.org");
    db.store
        .create_user(&first, Effects::default())
        .await
        .unwrap();
    let same_id = User {
        id: first.id,
        ..patient("two@example.org")
    };

    let err = db
        .store
        .create_user(&same_id, Effects::default())
        .await
        .unwrap_err();

    assert!(matches!(
        err,
        StoreError::Conflict(ConflictKind::AlreadyExists)
    ));
}

use medtrack_core::model::User;

#[tokio::test]
async fn an_update_needs_the_stored_version_and_keeps_the_email() {
    let db = TestDb::new().await;
    let user = patient("keep@example.org");
    db.store
        .create_user(&user, Effects::default())
        .await
        .unwrap();
    let mut changed = user.clone();
    changed.name = PersonName::parse("New Name").unwrap();
    changed.email = Email::parse("other@example.org").unwrap();
    changed.version = 2;

    db.store.update_user(&changed, 1).await.unwrap();
    let stale = db.store.update_user(&changed, 1).await.unwrap_err();

    let stored = db.store.user(user.id).await.unwrap();
    assert_eq!(stored.name, changed.name);
    assert_eq!(stored.version, 2);
    assert_eq!(stored.email, user.email);
    assert!(matches!(
        stale,
        StoreError::Conflict(ConflictKind::StaleVersion)
    ));
}

#[tokio::test]
async fn updating_a_missing_account_is_not_found() {
    let db = TestDb::new().await;

    let err = db
        .store
        .update_user(&patient("x@example.org"), 1)
        .await
        .unwrap_err();

    assert!(matches!(
        err,
        StoreError::NotFound {
            entity: Entity::User,
            ..
        }
    ));
}

#[tokio::test]
async fn accounts_list_by_email_filtered_in_stable_pages() {
    let db = TestDb::new().await;
    for name in ["d", "b", "a", "e", "c"] {
        let user = patient(&format!("{name}@example.org"));
        db.store
            .create_user(&user, Effects::default())
            .await
            .unwrap();
    }
    let mut pending = doctor("aa-doc@example.org");
    pending.status = AccountStatus::PendingApproval;
    db.store
        .create_user(&pending, Effects::default())
        .await
        .unwrap();
    let patients = UserFilter {
        role: Some(Role::Patient),
        status: None,
    };

    let first = db
        .store
        .list_users(patients, PageRequest::first(2))
        .await
        .unwrap();
    db.store
        .create_user(&patient("a0@example.org"), Effects::default())
        .await
        .unwrap();
    let next = PageRequest {
        cursor: first.next_cursor.clone(),
        limit: 2,
    };
    let second = db.store.list_users(patients, next).await.unwrap();

    let emails = |page: &medtrack_core::store::Page<User>| {
        page.items
            .iter()
            .map(|u| u.email.as_ref().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(emails(&first), ["a@example.org", "b@example.org"]);
    assert_eq!(emails(&second), ["c@example.org", "d@example.org"]);
    let by_status = UserFilter {
        role: None,
        status: Some(AccountStatus::PendingApproval),
    };
    let pending_page = db
        .store
        .list_users(by_status, PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(emails(&pending_page), ["aa-doc@example.org"]);
    assert_eq!(pending_page.next_cursor, None);
}

#[tokio::test]
async fn a_malformed_cursor_is_an_error_not_a_first_page() {
    let db = TestDb::new().await;
    let page = PageRequest {
        cursor: Some("not a cursor".into()),
        limit: 5,
    };

    let err = db
        .store
        .list_users(UserFilter::default(), page)
        .await
        .unwrap_err();

    assert!(matches!(err, StoreError::InvalidCursor), "{err:?}");
}

fn session(user: &User) -> Session {
    Session {
        token_hash: TokenHash(format!("{:064x}", rand_number())),
        user_id: user.id,
        created_at: created_at(),
        last_seen_at: created_at(),
        expires_at: created_at() + Duration::hours(1),
    }
}

fn rand_number() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}

#[tokio::test]
async fn sessions_are_stored_renewed_deleted_and_purged() {
    let db = TestDb::new().await;
    let user = patient("s@example.org");
    db.store
        .create_user(&user, Effects::default())
        .await
        .unwrap();
    let (kept, old) = (session(&user), session(&user));
    db.store.insert_session(&kept).await.unwrap();
    db.store.insert_session(&old).await.unwrap();
    let later = created_at() + Duration::hours(2);

    db.store
        .renew_session(&kept.token_hash, later, later + Duration::hours(1))
        .await
        .unwrap();
    let purged = db.store.purge_expired_sessions(later).await.unwrap();

    assert_eq!(purged, 1);
    assert!(db.store.session(&old.token_hash).await.unwrap().is_none());
    let renewed = db.store.session(&kept.token_hash).await.unwrap().unwrap();
    assert_eq!(renewed.last_seen_at, later);
    db.store.delete_session(&kept.token_hash).await.unwrap();
    db.store.delete_session(&kept.token_hash).await.unwrap();
    assert!(db.store.session(&kept.token_hash).await.unwrap().is_none());
}

#[tokio::test]
async fn renewing_a_gone_session_is_not_found_without_naming_the_hash() {
    let db = TestDb::new().await;
    let hash = TokenHash("ab".repeat(32));

    let err = db
        .store
        .renew_session(&hash, created_at(), created_at())
        .await
        .unwrap_err();

    assert!(matches!(
        err,
        StoreError::NotFound {
            entity: Entity::Session,
            ..
        }
    ));
    assert!(!err.to_string().contains(&hash.0));
}
