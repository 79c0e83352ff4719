//! Appointments and their time claims: the `appointments` and `time_claims` tables.
//!
//! Every cell an appointment holds is a `time_claims` row, and the table's primary key
//! (owner kind, owner id, cell) lets only one row exist per cell. Booking inserts the
//! appointment and its claims in one `BEGIN IMMEDIATE` transaction, doctor claims in one
//! statement and patient claims in the next, so a unique violation says whose time collided.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use medtrack_core::error::{ConflictKind, Entity};
use medtrack_core::id::{AppointmentId, DoctorId, PatientId};
use medtrack_core::model::{claims_diff, Appointment, AppointmentStatus, ClaimOwner, TimeClaim};
use medtrack_core::store::{
    AppointmentQuery, AppointmentStore, AppointmentUpdate, Effects, Page, PageRequest, Party,
    StoreResult,
};
use sqlx::{FromRow, QueryBuilder, Sqlite, SqliteConnection};

use crate::codec;
use crate::effects::write_effects;
use crate::error::{is_foreign_key_violation, is_unique_violation, SqliteError};
use crate::page::{limit_plus_one, split_page};
use crate::SqliteStore;

const APPOINTMENT_COLUMNS: &str = "id, doctor_id, patient_id, start_at, end_at, \
    buffer_before_minutes, buffer_after_minutes, reason, status, created_at, updated_at, \
    cancelled_at, version";

/// Claims per `INSERT` or `DELETE` statement, well below SQLite's bound-parameter limit.
const CLAIMS_PER_STATEMENT: usize = 200;

#[derive(FromRow)]
struct AppointmentRow {
    id: String,
    doctor_id: String,
    patient_id: String,
    start_at: String,
    end_at: String,
    buffer_before_minutes: i64,
    buffer_after_minutes: i64,
    reason: String,
    status: String,
    created_at: String,
    updated_at: String,
    cancelled_at: Option<String>,
    version: i64,
}

impl TryFrom<AppointmentRow> for Appointment {
    type Error = SqliteError;

    fn try_from(row: AppointmentRow) -> Result<Self, Self::Error> {
        Ok(Appointment {
            id: codec::parse("appointments.id", &row.id)?,
            doctor_id: codec::parse("appointments.doctor_id", &row.doctor_id)?,
            patient_id: codec::parse("appointments.patient_id", &row.patient_id)?,
            start: codec::parse_instant("appointments.start_at", &row.start_at)?,
            end: codec::parse_instant("appointments.end_at", &row.end_at)?,
            buffer_before_minutes: codec::parse_int(
                "appointments.buffer_before_minutes",
                row.buffer_before_minutes,
            )?,
            buffer_after_minutes: codec::parse_int(
                "appointments.buffer_after_minutes",
                row.buffer_after_minutes,
            )?,
            reason: codec::parse_text("appointments.reason", &row.reason)?,
            status: codec::parse_label("appointments.status", &row.status)?,
            created_at: codec::parse_instant("appointments.created_at", &row.created_at)?,
            updated_at: codec::parse_instant("appointments.updated_at", &row.updated_at)?,
            cancelled_at: codec::parse_opt_instant(
                "appointments.cancelled_at",
                row.cancelled_at.as_deref(),
            )?,
            version: codec::parse_int("appointments.version", row.version)?,
        })
    }
}

async fn insert_appointment(
    conn: &mut SqliteConnection,
    appointment: &Appointment,
) -> Result<(), SqliteError> {
    let sql = format!(
        "INSERT INTO appointments ({APPOINTMENT_COLUMNS}) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    );
    let inserted = sqlx::query(&sql)
        .bind(appointment.id.to_string())
        .bind(appointment.doctor_id.to_string())
        .bind(appointment.patient_id.to_string())
        .bind(codec::instant(appointment.start)?)
        .bind(codec::instant(appointment.end)?)
        .bind(i64::from(appointment.buffer_before_minutes))
        .bind(i64::from(appointment.buffer_after_minutes))
        .bind(appointment.reason.as_ref())
        .bind(codec::label(&appointment.status)?)
        .bind(codec::instant(appointment.created_at)?)
        .bind(codec::instant(appointment.updated_at)?)
        .bind(codec::opt_instant(appointment.cancelled_at)?)
        .bind(codec::int(appointment.version)?)
        .execute(&mut *conn)
        .await;

    match inserted {
        Ok(_) => Ok(()),
        Err(err) if is_foreign_key_violation(&err) => Err(missing_party(conn, appointment).await),
        Err(err) => Err(err.into()),
    }
}

/// Which of the appointment's accounts does not exist, as `NotFound`.
async fn missing_party(conn: &mut SqliteConnection, appointment: &Appointment) -> SqliteError {
    let doctor = appointment.doctor_id.to_string();
    let exists = sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)")
        .bind(&doctor)
        .fetch_one(&mut *conn)
        .await;
    match exists {
        Ok(true) => SqliteError::not_found(Entity::User, appointment.patient_id),
        Ok(false) => SqliteError::not_found(Entity::User, doctor),
        Err(err) => err.into(),
    }
}

fn owner_columns(owner: ClaimOwner) -> (&'static str, String) {
    match owner {
        ClaimOwner::Doctor(id) => ("doctor", id.to_string()),
        ClaimOwner::Patient(id) => ("patient", id.to_string()),
    }
}

fn is_doctor(claim: &TimeClaim) -> bool {
    matches!(claim.owner, ClaimOwner::Doctor(_))
}

/// Inserts `claims` for `appointment`: the doctor's first, then the patient's, so a collision
/// is reported as `DoctorTime` whenever any doctor cell is taken.
async fn claim(
    conn: &mut SqliteConnection,
    appointment: AppointmentId,
    claims: &[TimeClaim],
) -> Result<(), SqliteError> {
    let (doctor, patient): (Vec<TimeClaim>, Vec<TimeClaim>) =
        claims.iter().partition(|claim| is_doctor(claim));

    insert_claims(conn, appointment, &doctor, ConflictKind::DoctorTime).await?;
    insert_claims(conn, appointment, &patient, ConflictKind::PatientTime).await
}

async fn insert_claims(
    conn: &mut SqliteConnection,
    appointment: AppointmentId,
    claims: &[TimeClaim],
    on_collision: ConflictKind,
) -> Result<(), SqliteError> {
    let appointment = appointment.to_string();
    for chunk in claims.chunks(CLAIMS_PER_STATEMENT) {
        let mut sql = QueryBuilder::<Sqlite>::new(
            "INSERT INTO time_claims (owner_kind, owner_id, cell, appointment_id) ",
        );
        sql.push_values(chunk, |mut row, claim| {
            let (kind, id) = owner_columns(claim.owner);
            row.push_bind(kind)
                .push_bind(id)
                .push_bind(claim.cell)
                .push_bind(appointment.clone());
        });

        match sql.build().execute(&mut *conn).await {
            Ok(_) => {}
            Err(err) if is_unique_violation(&err) => {
                return Err(SqliteError::Claimed(on_collision))
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

/// Deletes the given claims, only where `appointment` holds them.
async fn release(
    conn: &mut SqliteConnection,
    appointment: AppointmentId,
    claims: &[TimeClaim],
) -> Result<(), SqliteError> {
    let appointment = appointment.to_string();
    for chunk in claims.chunks(CLAIMS_PER_STATEMENT) {
        let mut sql =
            QueryBuilder::<Sqlite>::new("DELETE FROM time_claims WHERE appointment_id = ");
        sql.push_bind(appointment.clone())
            .push(" AND (owner_kind, owner_id, cell) IN (");
        let mut values = sql.separated(", ");
        for claim in chunk {
            let (kind, id) = owner_columns(claim.owner);
            values.push("(").push_bind_unseparated(kind);
            values.push_unseparated(", ").push_bind_unseparated(id);
            values
                .push_unseparated(", ")
                .push_bind_unseparated(claim.cell);
            values.push_unseparated(")");
        }
        sql.push(")");
        sql.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Deletes every claim of `appointment`, freeing its time.
pub(crate) async fn release_all(
    conn: &mut SqliteConnection,
    appointment: AppointmentId,
) -> Result<(), SqliteError> {
    sqlx::query("DELETE FROM time_claims WHERE appointment_id = ?")
        .bind(appointment.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Overwrites the stored appointment if its version is `expected_version`; otherwise fails
/// with `NotFound` or `StaleVersion`.
async fn replace_appointment(
    conn: &mut SqliteConnection,
    update: &AppointmentUpdate,
) -> Result<(), SqliteError> {
    let appointment = &update.appointment;
    let done = sqlx::query(
        "UPDATE appointments SET doctor_id = ?, patient_id = ?, start_at = ?, end_at = ?, \
         buffer_before_minutes = ?, buffer_after_minutes = ?, reason = ?, status = ?, \
         updated_at = ?, cancelled_at = ?, version = ? WHERE id = ? AND version = ?",
    )
    .bind(appointment.doctor_id.to_string())
    .bind(appointment.patient_id.to_string())
    .bind(codec::instant(appointment.start)?)
    .bind(codec::instant(appointment.end)?)
    .bind(i64::from(appointment.buffer_before_minutes))
    .bind(i64::from(appointment.buffer_after_minutes))
    .bind(appointment.reason.as_ref())
    .bind(codec::label(&appointment.status)?)
    .bind(codec::instant(appointment.updated_at)?)
    .bind(codec::opt_instant(appointment.cancelled_at)?)
    .bind(codec::int(appointment.version)?)
    .bind(appointment.id.to_string())
    .bind(codec::int(update.expected_version)?)
    .execute(&mut *conn)
    .await?;

    if done.rows_affected() == 0 {
        return Err(missing_or_stale(conn, appointment.id).await);
    }
    Ok(())
}

async fn missing_or_stale(conn: &mut SqliteConnection, id: AppointmentId) -> SqliteError {
    let exists =
        sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM appointments WHERE id = ?)")
            .bind(id.to_string())
            .fetch_one(conn)
            .await;
    match exists {
        Ok(true) => SqliteError::Conflict(ConflictKind::StaleVersion),
        Ok(false) => SqliteError::not_found(Entity::Appointment, id),
        Err(err) => err.into(),
    }
}

/// Applies a status change on the caller's transaction, releasing every claim when the
/// appointment no longer holds its time.
pub(crate) async fn apply_update(
    conn: &mut SqliteConnection,
    update: &AppointmentUpdate,
) -> Result<(), SqliteError> {
    replace_appointment(conn, update).await?;
    if update.appointment.status != AppointmentStatus::Booked {
        release_all(conn, update.appointment.id).await?;
    }
    Ok(())
}

/// A list cursor: the last row's start and id, as `<start>/<id>`.
fn cursor_of(appointment: &Appointment) -> String {
    let start = codec::instant(appointment.start).unwrap_or_default();
    format!("{start}/{}", appointment.id)
}

fn parse_cursor(cursor: &str) -> Result<(String, AppointmentId), SqliteError> {
    let (start, id) = cursor.split_once('/').ok_or(SqliteError::Cursor)?;
    let start = codec::parse_instant("cursor", start).map_err(|_| SqliteError::Cursor)?;
    let id = codec::parse("cursor", id).map_err(|_| SqliteError::Cursor)?;
    Ok((codec::instant(start)?, id))
}

fn push_filters(
    sql: &mut QueryBuilder<'_, Sqlite>,
    query: &AppointmentQuery,
) -> Result<(), SqliteError> {
    match query.party {
        Party::Doctor(id) => sql.push(" AND doctor_id = ").push_bind(id.to_string()),
        Party::Patient(id) => sql.push(" AND patient_id = ").push_bind(id.to_string()),
    };
    if let Some(status) = query.status {
        sql.push(" AND status = ").push_bind(codec::label(&status)?);
    }
    if let Some(from) = query.from {
        sql.push(" AND start_at >= ")
            .push_bind(codec::instant(from)?);
    }
    if let Some(to) = query.to {
        sql.push(" AND start_at < ").push_bind(codec::instant(to)?);
    }
    Ok(())
}

/// Whether an appointment gives the doctor a care relationship with the patient; served by
/// `appointments_doctor_patient`.
const CARE_SQL: &str = "SELECT EXISTS (SELECT 1 FROM appointments WHERE doctor_id = ? \
    AND patient_id = ? AND (status IN ('booked', 'completed', 'no_show') \
    OR (status = 'cancelled' AND cancelled_at >= start_at)))";

/// A doctor's booked appointments starting in a range; served by `appointments_doctor_start`.
fn booked_sql() -> String {
    format!(
        "SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE doctor_id = ? \
         AND start_at >= ? AND start_at < ? AND status = 'booked' ORDER BY start_at, id"
    )
}

/// One page of a party's appointments; served by the party's `(…_id, start_at, id)` index.
fn list_query(
    query: &AppointmentQuery,
    page: &PageRequest,
) -> Result<QueryBuilder<'static, Sqlite>, SqliteError> {
    let (order, after) = if query.ascending {
        ("ASC", ">")
    } else {
        ("DESC", "<")
    };
    let mut sql = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE 1"
    ));
    push_filters(&mut sql, query)?;
    if let Some(cursor) = &page.cursor {
        let (start, id) = parse_cursor(cursor)?;
        sql.push(format!(" AND (start_at, id) {after} ("))
            .push_bind(start);
        sql.push(", ").push_bind(id.to_string()).push(")");
    }
    sql.push(format!(" ORDER BY start_at {order}, id {order} LIMIT "))
        .push_bind(limit_plus_one(page));

    Ok(sql)
}

impl SqliteStore {
    async fn insert_booking(
        &self,
        appointment: &Appointment,
        effects: Effects,
    ) -> Result<(), SqliteError> {
        let claims = appointment.time_claims();

        let mut tx = self.begin_write().await?;
        insert_appointment(&mut tx, appointment).await?;
        claim(&mut tx, appointment.id, &claims).await?;
        write_effects(&mut tx, &effects).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn move_booking(
        &self,
        update: AppointmentUpdate,
        previous: &Appointment,
        effects: Effects,
    ) -> Result<(), SqliteError> {
        let (freed, taken) = claims_diff(previous, &update.appointment);
        let id = update.appointment.id;

        let mut tx = self.begin_write().await?;
        replace_appointment(&mut tx, &update).await?;
        release(&mut tx, id, &freed).await?;
        claim(&mut tx, id, &taken).await?;
        write_effects(&mut tx, &effects).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn change_status(
        &self,
        update: AppointmentUpdate,
        effects: Effects,
    ) -> Result<(), SqliteError> {
        let mut tx = self.begin_write().await?;
        apply_update(&mut tx, &update).await?;
        write_effects(&mut tx, &effects).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn fetch_appointment(&self, id: AppointmentId) -> Result<Appointment, SqliteError> {
        let sql = format!("SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE id = ?");
        let row: Option<AppointmentRow> = sqlx::query_as(&sql)
            .bind(id.to_string())
            .fetch_optional(self.read_pool())
            .await?;
        row.ok_or_else(|| SqliteError::not_found(Entity::Appointment, id))?
            .try_into()
    }

    async fn fetch_booked(
        &self,
        doctor: DoctorId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Appointment>, SqliteError> {
        let rows: Vec<AppointmentRow> = sqlx::query_as(&booked_sql())
            .bind(doctor.to_string())
            .bind(codec::instant(from)?)
            .bind(codec::instant(to)?)
            .fetch_all(self.read_pool())
            .await?;
        rows.into_iter().map(Appointment::try_from).collect()
    }

    async fn fetch_appointments(
        &self,
        query: &AppointmentQuery,
        page: PageRequest,
    ) -> Result<Page<Appointment>, SqliteError> {
        let mut sql = list_query(query, &page)?;
        let rows: Vec<AppointmentRow> = sql.build_query_as().fetch_all(self.read_pool()).await?;
        let items = rows
            .into_iter()
            .map(Appointment::try_from)
            .collect::<Result<_, _>>()?;
        Ok(split_page(items, &page, cursor_of))
    }

    async fn care_exists(&self, doctor: DoctorId, patient: PatientId) -> Result<bool, SqliteError> {
        let found: bool = sqlx::query_scalar(CARE_SQL)
            .bind(doctor.to_string())
            .bind(patient.to_string())
            .fetch_one(self.read_pool())
            .await?;
        Ok(found)
    }
}

#[async_trait]
impl AppointmentStore for SqliteStore {
    async fn book(&self, appointment: &Appointment, effects: Effects) -> StoreResult<()> {
        Ok(self.insert_booking(appointment, effects).await?)
    }

    async fn reschedule(
        &self,
        update: AppointmentUpdate,
        previous: &Appointment,
        effects: Effects,
    ) -> StoreResult<()> {
        Ok(self.move_booking(update, previous, effects).await?)
    }

    async fn update_appointment(
        &self,
        update: AppointmentUpdate,
        effects: Effects,
    ) -> StoreResult<()> {
        Ok(self.change_status(update, effects).await?)
    }

    async fn appointment(&self, id: AppointmentId) -> StoreResult<Appointment> {
        Ok(self.fetch_appointment(id).await?)
    }

    async fn booked_for_doctor(
        &self,
        doctor: DoctorId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<Appointment>> {
        Ok(self.fetch_booked(doctor, from, to).await?)
    }

    async fn list_appointments(
        &self,
        query: &AppointmentQuery,
        page: PageRequest,
    ) -> StoreResult<Page<Appointment>> {
        Ok(self.fetch_appointments(query, page).await?)
    }

    async fn has_care_relationship(
        &self,
        doctor: DoctorId,
        patient: PatientId,
    ) -> StoreResult<bool> {
        Ok(self.care_exists(doctor, patient).await?)
    }
}

#[cfg(test)]
mod query_plans {
    use super::*;

    /// SQLite's plan for `sql`, one line per step.
    async fn plan(store: &SqliteStore, sql: &str) -> Vec<String> {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain);
        for _ in 0..sql.matches('?').count() {
            query = query.bind(None::<String>);
        }
        let rows = query.fetch_all(store.read_pool()).await.unwrap();
        rows.into_iter().map(|(_, _, _, detail)| detail).collect()
    }

    fn assert_uses_index(plan: &[String], index: &str) {
        assert!(
            plan.iter().any(|step| step.contains(index)),
            "expected {index} in {plan:?}"
        );
        assert!(
            !plan
                .iter()
                .any(|step| step.starts_with("SCAN appointments")),
            "full scan in {plan:?}"
        );
    }

    fn query(party: Party, ascending: bool) -> AppointmentQuery {
        AppointmentQuery {
            party,
            status: Some(AppointmentStatus::Booked),
            from: None,
            to: None,
            ascending,
        }
    }

    #[tokio::test]
    async fn reads_of_appointments_search_an_index_and_never_scan() {
        let store = SqliteStore::in_memory().await.unwrap();
        let page = PageRequest {
            cursor: Some(format!(
                "2027-01-04T09:00:00.000000000Z/{}",
                AppointmentId::new()
            )),
            limit: 10,
        };
        let by_doctor = list_query(&query(Party::Doctor(DoctorId::new()), false), &page).unwrap();
        let by_patient = list_query(&query(Party::Patient(PatientId::new()), true), &page).unwrap();

        let booked = plan(&store, &booked_sql()).await;
        let doctor_list = plan(&store, by_doctor.sql()).await;
        let patient_list = plan(&store, by_patient.sql()).await;
        let care = plan(&store, CARE_SQL).await;

        assert_uses_index(&booked, "appointments_doctor_start");
        assert_uses_index(&doctor_list, "appointments_doctor_start");
        assert_uses_index(&patient_list, "appointments_patient_start");
        assert_uses_index(&care, "appointments_doctor_patient");
    }
}
