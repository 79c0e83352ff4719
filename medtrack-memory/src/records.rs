//! The medical record (diagnoses and reports) and the audit log.

use std::ops::Bound;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use medtrack_core::error::{ConflictKind, StoreError};
use medtrack_core::id::{AuditId, PatientId};
use medtrack_core::model::{AuditEntry, Diagnosis, HealthReport};
use medtrack_core::store::{
    AppointmentUpdate, AuditStore, Effects, Page, PageRequest, RecordStore, StoreResult,
};

use crate::appointments::Change;
use crate::page::{collect, decode, encode, range};
use crate::{MemoryStore, State};

#[async_trait]
impl RecordStore for MemoryStore {
    async fn add_diagnosis(
        &self,
        diagnosis: &Diagnosis,
        completes: Option<AppointmentUpdate>,
        effects: Effects,
    ) -> StoreResult<()> {
        let check = |state: &State| state.check_diagnosis(diagnosis, completes);
        self.write(effects, check, |state, (diagnosis, change)| {
            state.insert_diagnosis(diagnosis);
            if let Some(change) = change {
                state.apply_change(change);
            }
        })
    }

    async fn diagnoses_for_patient(&self, patient: PatientId) -> StoreResult<Vec<Diagnosis>> {
        let state = self.lock();
        let Some(index) = state.diagnoses_by_patient.get(&patient) else {
            return Ok(Vec::new());
        };
        let keys = index.iter().map(|(_, id, version)| (*id, *version));
        Ok(keys
            .filter_map(|key| state.diagnoses.get(&key))
            .cloned()
            .collect())
    }

    async fn add_report(&self, report: &HealthReport, effects: Effects) -> StoreResult<()> {
        let check = |state: &State| state.check_report(report);
        self.write(effects, check, State::insert_report)
    }

    async fn reports_for_patient(&self, patient: PatientId) -> StoreResult<Vec<HealthReport>> {
        let state = self.lock();
        let Some(index) = state.reports_by_patient.get(&patient) else {
            return Ok(Vec::new());
        };
        let reports = index.iter().filter_map(|(_, id)| state.reports.get(id));
        Ok(reports.cloned().collect())
    }
}

impl State {
    fn check_diagnosis(
        &self,
        diagnosis: &Diagnosis,
        completes: Option<AppointmentUpdate>,
    ) -> StoreResult<(Diagnosis, Option<Change>)> {
        let key = (diagnosis.appointment_id, diagnosis.version);
        if self.diagnoses.contains_key(&key) {
            return Err(StoreError::Conflict(ConflictKind::AlreadyExists));
        }

        let change = completes
            .map(|update| self.check_update(update))
            .transpose()?;
        Ok((diagnosis.clone(), change))
    }

    fn insert_diagnosis(&mut self, diagnosis: Diagnosis) {
        let index = self.diagnoses_by_patient.entry(diagnosis.patient_id);
        let key = (
            diagnosis.authored_at,
            diagnosis.appointment_id,
            diagnosis.version,
        );
        index.or_default().insert(key);
        let key = (diagnosis.appointment_id, diagnosis.version);
        self.diagnoses.insert(key, diagnosis);
    }

    fn check_report(&self, report: &HealthReport) -> StoreResult<HealthReport> {
        if self.reports.contains_key(&report.id) {
            return Err(StoreError::Conflict(ConflictKind::AlreadyExists));
        }
        Ok(report.clone())
    }

    fn insert_report(&mut self, report: HealthReport) {
        let index = self.reports_by_patient.entry(report.patient_id);
        index.or_default().insert((report.submitted_at, report.id));
        self.reports.insert(report.id, report);
    }
}

#[async_trait]
impl AuditStore for MemoryStore {
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        let effects = Effects {
            audit: vec![entry.clone()],
            events: Vec::new(),
        };
        self.write(effects, |_| Ok(()), |_, ()| ())
    }

    async fn list_audit(
        &self,
        patient: Option<PatientId>,
        page: PageRequest,
    ) -> StoreResult<Page<AuditEntry>> {
        self.lock().list_audit(patient, page)
    }
}

impl State {
    pub(crate) fn insert_audit(&mut self, entry: AuditEntry) {
        let key = (entry.at, entry.id);
        self.audit_by_time.insert(key);
        self.audit_by_patient
            .entry(entry.patient_id)
            .or_default()
            .insert(key);
        self.audit.insert(entry.id, entry);
    }

    fn list_audit(
        &self,
        patient: Option<PatientId>,
        page: PageRequest,
    ) -> StoreResult<Page<AuditEntry>> {
        let upper = match page.cursor.as_deref() {
            Some(cursor) => {
                let (at, id) = decode(cursor)?;
                Bound::Excluded((at, AuditId::from_uuid(id)))
            }
            None => Bound::Unbounded,
        };
        Ok(self.audit_page(patient, upper, page.limit))
    }

    /// Newest first, from just below `upper`.
    fn audit_page(
        &self,
        patient: Option<PatientId>,
        upper: Bound<(DateTime<Utc>, AuditId)>,
        limit: u32,
    ) -> Page<AuditEntry> {
        let index = match patient {
            Some(patient) => self.audit_by_patient.get(&patient),
            None => Some(&self.audit_by_time),
        };
        let keys = index.map(|index| range(index, Bound::Unbounded, upper));
        let keys = keys.into_iter().flatten().rev();

        let load = |(_, id): &&(_, AuditId)| self.audit.get(id).cloned();
        let cursor = |(at, id): &&(_, AuditId)| encode(*at, id.as_uuid());
        collect(keys, limit, load, cursor)
    }
}
