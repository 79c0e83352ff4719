//! Appointments, their claims of time, and the medical record.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use medtrack_core::error::{ConflictKind, Entity, StoreError};
use medtrack_core::id::{AppointmentId, DoctorId, PatientId};
use medtrack_core::model::{
    claims_diff, Appointment, AppointmentStatus, ClaimOwner, Diagnosis, HealthReport, TimeClaim,
};
use medtrack_core::store::{
    AppointmentQuery, AppointmentStore, AppointmentUpdate, Effects, Page, PageRequest, Party,
    RecordStore, StoreResult,
};
use tracing::instrument;

use crate::error::{DynamoError, ItemRole};
use crate::item::{body, key_item, n, record_item, s, Item, KIND};
use crate::keys::{self, APPT_PREFIX, DIAGNOSIS_PREFIX, REPORT_PREFIX};
use crate::query::{self, Filter, Range, Source};
use crate::store::DynamoStore;
use crate::txn::{Condition, Transaction};

const STATUS: &str = "status";
const VERSION: &str = "version";
const HOLDER: &str = "appointment_id";

/// How the stored appointment a write replaces is guarded.
enum Guard {
    /// The appointment is new; its id must be unused.
    New,
    /// The stored version must be this one.
    Version(u64),
}

fn appointment_item(appointment: &Appointment, key: &keys::Key) -> Result<Item, DynamoError> {
    let mut item = record_item(key, "appointment", appointment)?;
    item.insert(STATUS.into(), s(appointment.status.as_str()));
    item.insert(VERSION.into(), n(appointment.version));
    Ok(item)
}

fn claim_item(claim: &TimeClaim, appointment: AppointmentId) -> Item {
    let mut item = key_item(&keys::claim(claim));
    item.insert(HOLDER.into(), s(appointment.to_string()));
    item
}

fn claim_role(claim: &TimeClaim) -> ItemRole {
    match claim.owner {
        ClaimOwner::Doctor(_) => ItemRole::Claim(ConflictKind::DoctorTime),
        ClaimOwner::Patient(_) => ItemRole::Claim(ConflictKind::PatientTime),
    }
}

/// The cells a change from `before` to `after` releases and takes. Only booked appointments
/// hold cells; cells both times hold stay untouched, since one transaction may not name an
/// item twice.
fn claim_changes(
    before: Option<&Appointment>,
    after: &Appointment,
) -> (Vec<TimeClaim>, Vec<TimeClaim>) {
    let held = before.filter(|old| old.status == AppointmentStatus::Booked);
    let wanted = after.status == AppointmentStatus::Booked;
    match (held, wanted) {
        (Some(old), true) => claims_diff(old, after),
        (Some(old), false) => (old.time_claims(), Vec::new()),
        (None, true) => (Vec::new(), after.time_claims()),
        (None, false) => (Vec::new(), Vec::new()),
    }
}

fn timeline_keys(appointment: &Appointment) -> [keys::Key; 2] {
    let (id, start) = (appointment.id, appointment.start);
    [
        keys::doctor_timeline(appointment.doctor_id, start, id),
        keys::patient_timeline(appointment.patient_id, start, id),
    ]
}

fn care_key(appointment: &Appointment) -> keys::Key {
    keys::care(
        appointment.patient_id,
        appointment.doctor_id,
        appointment.id,
    )
}

impl DynamoStore {
    /// Adds the items that turn the stored `before` (if any) into `after`: the appointment
    /// guarded by `guard`, its copies on both timelines, its care marker and the cells it
    /// releases and takes.
    fn stage_appointment(
        &self,
        txn: &mut Transaction,
        before: Option<&Appointment>,
        after: &Appointment,
        guard: Guard,
    ) -> Result<(), DynamoError> {
        let table = self.table();
        let canonical = appointment_item(after, &keys::appointment(after.id))?;
        let (condition, role) = match guard {
            Guard::New => (Condition::absent(), ItemRole::Fresh),
            Guard::Version(version) => (
                Condition::version_is(version),
                ItemRole::Versioned {
                    entity: Entity::Appointment,
                    id: after.id.to_string(),
                },
            ),
        };
        txn.put(table, canonical, Some(condition), role)?;

        self.stage_claims(txn, before, after)?;
        self.stage_timelines(txn, before, after)?;
        self.stage_care(txn, before, after)
    }

    fn stage_claims(
        &self,
        txn: &mut Transaction,
        before: Option<&Appointment>,
        after: &Appointment,
    ) -> Result<(), DynamoError> {
        let (release, take) = claim_changes(before, after);

        for claim in &take {
            let item = claim_item(claim, after.id);
            txn.put(
                self.table(),
                item,
                Some(Condition::absent()),
                claim_role(claim),
            )?;
        }
        for claim in &release {
            let condition = Condition::free_or_held_by(after.id);
            txn.delete(
                self.table(),
                &keys::claim(claim),
                Some(condition),
                ItemRole::Release,
            )?;
        }
        Ok(())
    }

    fn stage_timelines(
        &self,
        txn: &mut Transaction,
        before: Option<&Appointment>,
        after: &Appointment,
    ) -> Result<(), DynamoError> {
        let new_keys = timeline_keys(after);
        if let Some(old) = before {
            for old_key in timeline_keys(old) {
                if !new_keys.contains(&old_key) {
                    txn.delete(self.table(), &old_key, None, ItemRole::Plain)?;
                }
            }
        }
        for key in &new_keys {
            txn.put(
                self.table(),
                appointment_item(after, key)?,
                None,
                ItemRole::Plain,
            )?;
        }
        Ok(())
    }

    fn stage_care(
        &self,
        txn: &mut Transaction,
        before: Option<&Appointment>,
        after: &Appointment,
    ) -> Result<(), DynamoError> {
        let key = care_key(after);
        let old = before.filter(|old| old.establishes_care()).map(care_key);
        if let Some(old_key) = old.as_ref().filter(|old_key| **old_key != key) {
            txn.delete(self.table(), old_key, None, ItemRole::Plain)?;
        }

        let exists = old.as_ref() == Some(&key);
        match (exists, after.establishes_care()) {
            (false, true) => {
                let mut item = key_item(&key);
                item.insert(KIND.into(), s("care"));
                txn.put(self.table(), item, None, ItemRole::Plain)
            }
            (true, false) => txn.delete(self.table(), &key, None, ItemRole::Plain),
            _ => Ok(()),
        }
    }

    /// Adds a diagnosis version: its marker under the appointment, which must be new, and the
    /// record item in the patient's partition.
    fn stage_diagnosis(
        &self,
        txn: &mut Transaction,
        diagnosis: &Diagnosis,
    ) -> Result<(), DynamoError> {
        let (appointment, version) = (diagnosis.appointment_id, diagnosis.version);
        let marker = key_item(&keys::diagnosis_marker(appointment, version));
        txn.put(
            self.table(),
            marker,
            Some(Condition::absent()),
            ItemRole::Fresh,
        )?;

        let key = keys::diagnosis(
            diagnosis.patient_id,
            diagnosis.authored_at,
            appointment,
            version,
        );
        let item = record_item(&key, "diagnosis", diagnosis)?;
        txn.put(self.table(), item, None, ItemRole::Plain)
    }

    /// The stored appointment, checked against the version a change was decided on.
    async fn current(
        &self,
        id: AppointmentId,
        expected_version: u64,
    ) -> Result<Appointment, StoreError> {
        let current = self.appointment(id).await?;
        if current.version != expected_version {
            return Err(StoreError::Conflict(ConflictKind::StaleVersion));
        }
        Ok(current)
    }

    fn timeline_range(&self, query: &AppointmentQuery) -> Range {
        let partition = match query.party {
            Party::Doctor(doctor) => keys::doctor_partition(doctor),
            Party::Patient(patient) => keys::patient_partition(patient),
        };
        let bound = |at: Option<DateTime<Utc>>, open: &str| match at {
            Some(at) => format!("{APPT_PREFIX}{}", keys::sortable(at)),
            None => format!("{APPT_PREFIX}{open}"),
        };
        let filter = query
            .status
            .map(|status| Filter::default().equals(STATUS, s(status.as_str())));

        Range {
            source: Source::Table,
            partitions: vec![partition],
            lower: Some(bound(query.from, "")),
            upper: Some(bound(query.to, "\u{10FFFF}")),
            forward: query.ascending,
            filter,
        }
    }
}

#[async_trait]
impl AppointmentStore for DynamoStore {
    #[instrument(level = "debug", skip_all, fields(appointment_id = %appointment.id, doctor_id = %appointment.doctor_id), err)]
    async fn book(&self, appointment: &Appointment, effects: Effects) -> StoreResult<()> {
        let mut txn = self.transaction_with(&effects)?;
        for party in [
            appointment.doctor_id.user_id(),
            appointment.patient_id.user_id(),
        ] {
            let account = ItemRole::Referenced {
                entity: Entity::User,
                id: party.to_string(),
            };
            txn.check(
                self.table(),
                &keys::user(party),
                Condition::present(),
                account,
            )?;
        }

        self.stage_appointment(&mut txn, None, appointment, Guard::New)?;

        Ok(txn.commit(self.client()).await?)
    }

    #[instrument(level = "debug", skip_all, fields(appointment_id = %update.appointment.id), err)]
    async fn reschedule(
        &self,
        update: AppointmentUpdate,
        previous: &Appointment,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut txn = self.transaction_with(&effects)?;
        let guard = Guard::Version(update.expected_version);

        self.stage_appointment(&mut txn, Some(previous), &update.appointment, guard)?;

        Ok(txn.commit(self.client()).await?)
    }

    #[instrument(level = "debug", skip_all, fields(appointment_id = %update.appointment.id), err)]
    async fn update_appointment(
        &self,
        update: AppointmentUpdate,
        effects: Effects,
    ) -> StoreResult<()> {
        let current = self
            .current(update.appointment.id, update.expected_version)
            .await?;
        let mut txn = self.transaction_with(&effects)?;
        let guard = Guard::Version(update.expected_version);

        self.stage_appointment(&mut txn, Some(&current), &update.appointment, guard)?;

        Ok(txn.commit(self.client()).await?)
    }

    #[instrument(level = "debug", skip_all, fields(appointment_id = %id), err)]
    async fn appointment(&self, id: AppointmentId) -> StoreResult<Appointment> {
        match self.get(&keys::appointment(id)).await? {
            Some(item) => Ok(body(&item)?),
            None => Err(StoreError::not_found(Entity::Appointment, id)),
        }
    }

    #[instrument(level = "debug", skip_all, fields(doctor_id = %doctor), err)]
    async fn booked_for_doctor(
        &self,
        doctor: DoctorId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<Appointment>> {
        let query = AppointmentQuery {
            party: Party::Doctor(doctor),
            status: Some(AppointmentStatus::Booked),
            from: Some(from),
            to: Some(to),
            ascending: true,
        };
        let range = self.timeline_range(&query);

        let items = query::read(self.client(), self.table(), &range, None, None).await?;
        Ok(decode_all(&items)?)
    }

    #[instrument(level = "debug", skip_all, err)]
    async fn list_appointments(
        &self,
        query: &AppointmentQuery,
        page: PageRequest,
    ) -> StoreResult<Page<Appointment>> {
        let range = self.timeline_range(query);
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

    #[instrument(level = "debug", skip_all, fields(doctor_id = %doctor, patient_id = %patient), err)]
    async fn has_care_relationship(
        &self,
        doctor: DoctorId,
        patient: PatientId,
    ) -> StoreResult<bool> {
        let partition = keys::patient_partition(patient);
        let range = Range::prefix(partition, &keys::care_prefix(doctor));

        let found = query::read(self.client(), self.table(), &range, None, Some(1)).await?;
        Ok(!found.is_empty())
    }
}

fn decode_all<T: serde::de::DeserializeOwned>(items: &[Item]) -> Result<Vec<T>, DynamoError> {
    items.iter().map(body).collect()
}

#[async_trait]
impl RecordStore for DynamoStore {
    #[instrument(level = "debug", skip_all, fields(appointment_id = %diagnosis.appointment_id, version = diagnosis.version), err)]
    async fn add_diagnosis(
        &self,
        diagnosis: &Diagnosis,
        completes: Option<AppointmentUpdate>,
        effects: Effects,
    ) -> StoreResult<()> {
        let current = match &completes {
            Some(update) => Some(
                self.current(update.appointment.id, update.expected_version)
                    .await?,
            ),
            None => None,
        };
        let mut txn = self.transaction_with(&effects)?;

        self.stage_diagnosis(&mut txn, diagnosis)?;
        if let Some(update) = &completes {
            let guard = Guard::Version(update.expected_version);
            self.stage_appointment(&mut txn, current.as_ref(), &update.appointment, guard)?;
        }

        Ok(txn.commit(self.client()).await?)
    }

    #[instrument(level = "debug", skip_all, fields(patient_id = %patient), err)]
    async fn diagnoses_for_patient(&self, patient: PatientId) -> StoreResult<Vec<Diagnosis>> {
        let range = Range::prefix(keys::patient_partition(patient), DIAGNOSIS_PREFIX);
        let items = query::read(self.client(), self.table(), &range, None, None).await?;
        Ok(decode_all(&items)?)
    }

    #[instrument(level = "debug", skip_all, fields(report_id = %report.id), err)]
    async fn add_report(&self, report: &HealthReport, effects: Effects) -> StoreResult<()> {
        let mut txn = self.transaction_with(&effects)?;
        let key = keys::report(report.patient_id, report.submitted_at, report.id);

        let item = record_item(&key, "report", report)?;
        txn.put(
            self.table(),
            item,
            Some(Condition::absent()),
            ItemRole::Fresh,
        )?;

        Ok(txn.commit(self.client()).await?)
    }

    #[instrument(level = "debug", skip_all, fields(patient_id = %patient), err)]
    async fn reports_for_patient(&self, patient: PatientId) -> StoreResult<Vec<HealthReport>> {
        let range = Range::prefix(keys::patient_partition(patient), REPORT_PREFIX);
        let items = query::read(self.client(), self.table(), &range, None, None).await?;
        Ok(decode_all(&items)?)
    }
}
