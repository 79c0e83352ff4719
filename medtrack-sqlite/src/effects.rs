//! Writing a change's audit entries and outbox events inside the change's own transaction.

use medtrack_core::store::Effects;
use sqlx::SqliteConnection;

use crate::audit::insert_audit;
use crate::error::SqliteError;
use crate::outbox::insert_event;

/// Inserts every audit entry and outbox event of `effects` on the caller's transaction, so
/// they commit or roll back with the change they describe.
pub(crate) async fn write_effects(
    conn: &mut SqliteConnection,
    effects: &Effects,
) -> Result<(), SqliteError> {
    for entry in &effects.audit {
        insert_audit(conn, entry).await?;
    }
    for event in &effects.events {
        insert_event(conn, event).await?;
    }
    Ok(())
}
