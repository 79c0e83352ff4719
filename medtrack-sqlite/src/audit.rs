//! The audit log: the `audit_entries` table.

use async_trait::async_trait;
use medtrack_core::id::{AuditId, PatientId};
use medtrack_core::model::AuditEntry;
use medtrack_core::store::{AuditStore, Page, PageRequest, StoreResult};
use sqlx::{FromRow, QueryBuilder, Sqlite, SqliteConnection};

use crate::codec;
use crate::error::SqliteError;
use crate::page::{limit_plus_one, split_page};
use crate::SqliteStore;

const AUDIT_COLUMNS: &str =
    "id, at, actor_id, actor_role, patient_id, action, outcome, appointment_id";

#[derive(FromRow)]
struct AuditRow {
    id: String,
    at: String,
    actor_id: String,
    actor_role: String,
    patient_id: String,
    action: String,
    outcome: String,
    appointment_id: Option<String>,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = SqliteError;

    fn try_from(row: AuditRow) -> Result<Self, Self::Error> {
        Ok(AuditEntry {
            id: codec::parse("audit_entries.id", &row.id)?,
            at: codec::parse_instant("audit_entries.at", &row.at)?,
            actor_id: codec::parse("audit_entries.actor_id", &row.actor_id)?,
            actor_role: codec::parse_label("audit_entries.actor_role", &row.actor_role)?,
            patient_id: codec::parse("audit_entries.patient_id", &row.patient_id)?,
            action: codec::parse_label("audit_entries.action", &row.action)?,
            outcome: codec::parse_label("audit_entries.outcome", &row.outcome)?,
            appointment_id: row
                .appointment_id
                .map(|id| codec::parse("audit_entries.appointment_id", &id))
                .transpose()?,
        })
    }
}

/// Inserts one entry on the given connection, inside the caller's transaction.
pub(crate) async fn insert_audit(
    conn: &mut SqliteConnection,
    entry: &AuditEntry,
) -> Result<(), SqliteError> {
    sqlx::query(
        "INSERT INTO audit_entries (id, at, actor_id, actor_role, patient_id, action, outcome, \
         appointment_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(entry.id.to_string())
    .bind(codec::instant(entry.at)?)
    .bind(entry.actor_id.to_string())
    .bind(codec::label(&entry.actor_role)?)
    .bind(entry.patient_id.to_string())
    .bind(codec::label(&entry.action)?)
    .bind(codec::label(&entry.outcome)?)
    .bind(entry.appointment_id.map(|id| id.to_string()))
    .execute(conn)
    .await?;
    Ok(())
}

impl SqliteStore {
    async fn store_audit(&self, entry: &AuditEntry) -> Result<(), SqliteError> {
        let mut tx = self.begin_write().await?;
        insert_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn fetch_audit(
        &self,
        patient: Option<PatientId>,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>, SqliteError> {
        let mut sql = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_entries WHERE 1"
        ));
        if let Some(patient) = patient {
            sql.push(" AND patient_id = ")
                .push_bind(patient.to_string());
        }
        if let Some(cursor) = &page.cursor {
            let after: AuditId = codec::parse("cursor", cursor).map_err(|_| SqliteError::Cursor)?;
            sql.push(" AND (at, id) < (SELECT at, id FROM audit_entries WHERE id = ")
                .push_bind(after.to_string())
                .push(")");
        }
        sql.push(" ORDER BY at DESC, id DESC LIMIT ")
            .push_bind(limit_plus_one(&page));

        let rows: Vec<AuditRow> = sql.build_query_as().fetch_all(self.read_pool()).await?;
        let entries = rows
            .into_iter()
            .map(AuditEntry::try_from)
            .collect::<Result<_, _>>()?;
        Ok(split_page(entries, &page, |entry: &AuditEntry| {
            entry.id.to_string()
        }))
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        Ok(self.store_audit(entry).await?)
    }

    async fn list_audit(
        &self,
        patient: Option<PatientId>,
        page: PageRequest,
    ) -> StoreResult<Page<AuditEntry>> {
        Ok(self.fetch_audit(patient, page).await?)
    }
}
