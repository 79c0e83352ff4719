//! Who may do what: the written access policy, as pure decisions.
//!
//! Every public operation of [`crate::MedTrack`] names the acting [`Principal`] and asks
//! [`decide`] before it touches storage. The table in the README is this module in prose;
//! the tests at the bottom check each row, allowed and denied.

use crate::id::{DoctorId, PatientId, UserId};
use crate::model::{Appointment, Role, User};

/// The acting user of an operation.
///
/// Obtained from [`crate::MedTrack::login`] or [`crate::MedTrack::authenticate`], which
/// check credentials and sessions. An embedder that authenticates people itself uses
/// [`Principal::trusted_from_external_identity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Principal {
    user_id: UserId,
    role: Role,
}

impl Principal {
    pub(crate) fn from_user(user: &User) -> Self {
        Self {
            user_id: user.id,
            role: user.role,
        }
    }

    /// A principal for an account the caller has authenticated by its own means, such as
    /// an external identity provider.
    ///
    /// This trusts the caller completely: MedTrack checks no credential and no session,
    /// and whatever `user_id` and `role` say is what the policy sees. Use it only with an
    /// identity you have verified and mapped to a MedTrack account of that role.
    pub fn trusted_from_external_identity(user_id: UserId, role: Role) -> Self {
        Self { user_id, role }
    }

    /// The acting account.
    pub fn user_id(&self) -> UserId {
        self.user_id
    }

    /// The acting account's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The patient id, when acting as a patient.
    pub fn as_patient(&self) -> Option<PatientId> {
        (self.role == Role::Patient).then(|| self.user_id.as_patient())
    }

    /// The doctor id, when acting as a doctor.
    pub fn as_doctor(&self) -> Option<DoctorId> {
        (self.role == Role::Doctor).then(|| self.user_id.as_doctor())
    }
}

/// What the principal wants to do, with the facts the decision needs.
#[derive(Debug, Clone, Copy)]
pub enum Request<'a> {
    /// Read a patient's medical record; `care` says whether the acting doctor has a care
    /// relationship with the patient.
    ReadRecord {
        /// Whose record.
        patient: PatientId,
        /// Whether the actor, as a doctor, has a care relationship with the patient.
        care: bool,
    },
    /// Add a report to a patient's record.
    WriteReport(PatientId),
    /// Write or amend the diagnosis of an appointment.
    WriteDiagnosis(&'a Appointment),
    /// Book an appointment for a patient.
    Book(PatientId),
    /// Cancel an appointment.
    Cancel(&'a Appointment),
    /// Move an appointment to another time.
    Reschedule(&'a Appointment),
    /// Mark an appointment as a no-show.
    MarkNoShow(&'a Appointment),
    /// See one appointment.
    ViewAppointment(&'a Appointment),
    /// List one's own appointments (a patient's bookings or a doctor's schedule).
    ListOwnAppointments,
    /// Change a doctor's working hours, days off and rules.
    EditSchedule(DoctorId),
    /// List the audit entries of a patient's record.
    ReadPatientAudit(PatientId),
    /// List every audit entry.
    ReadFullAudit,
    /// List, approve and deactivate accounts.
    ManageAccounts,
}

/// The outcome of a policy decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Refuse, and report "not found": the caller must not learn the thing exists.
    Hide,
    /// Refuse, and report "forbidden": the caller may know the thing exists.
    Forbid,
}

/// Decides `request` for `actor`.
pub fn decide(actor: &Principal, request: Request<'_>) -> Decision {
    match (actor.role, request) {
        (Role::Patient, Request::ReadRecord { patient, .. })
        | (Role::Patient, Request::WriteReport(patient))
        | (Role::Patient, Request::Book(patient))
        | (Role::Patient, Request::ReadPatientAudit(patient)) => own_patient(actor, patient),
        (Role::Patient, Request::Cancel(appointment))
        | (Role::Patient, Request::Reschedule(appointment))
        | (Role::Patient, Request::ViewAppointment(appointment)) => {
            own_patient(actor, appointment.patient_id)
        }
        (Role::Patient, Request::WriteDiagnosis(appointment))
        | (Role::Patient, Request::MarkNoShow(appointment)) => {
            forbid_if_visible(own_patient(actor, appointment.patient_id))
        }

        (Role::Doctor, Request::ReadRecord { care, .. }) => allow_or_hide(care),
        (Role::Doctor, Request::WriteDiagnosis(appointment))
        | (Role::Doctor, Request::Cancel(appointment))
        | (Role::Doctor, Request::MarkNoShow(appointment))
        | (Role::Doctor, Request::ViewAppointment(appointment)) => {
            own_doctor(actor, appointment.doctor_id)
        }
        (Role::Doctor, Request::Reschedule(appointment)) => {
            forbid_if_visible(own_doctor(actor, appointment.doctor_id))
        }
        (Role::Doctor, Request::EditSchedule(doctor)) => own_doctor(actor, doctor),

        (Role::Admin, Request::ManageAccounts) | (Role::Admin, Request::ReadFullAudit) => {
            Decision::Allow
        }

        (Role::Patient | Role::Doctor, Request::ListOwnAppointments) => Decision::Allow,

        (_, Request::ReadRecord { .. } | Request::WriteReport(_) | Request::Book(_))
        | (_, Request::ReadPatientAudit(_) | Request::ReadFullAudit)
        | (_, Request::ManageAccounts | Request::EditSchedule(_))
        | (_, Request::ListOwnAppointments) => Decision::Forbid,
        (Role::Admin, _) => Decision::Hide,
    }
}

fn own_patient(actor: &Principal, patient: PatientId) -> Decision {
    allow_or_hide(actor.as_patient() == Some(patient))
}

fn own_doctor(actor: &Principal, doctor: DoctorId) -> Decision {
    allow_or_hide(actor.as_doctor() == Some(doctor))
}

fn allow_or_hide(allowed: bool) -> Decision {
    if allowed {
        Decision::Allow
    } else {
        Decision::Hide
    }
}

/// Someone who may see a thing but not act on it is told "forbidden"; someone who may not
/// even see it is told "not found".
fn forbid_if_visible(visibility: Decision) -> Decision {
    match visibility {
        Decision::Allow => Decision::Forbid,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::AppointmentId;
    use crate::model::AppointmentStatus;
    use crate::text::ClinicalText;
    use chrono::{TimeZone, Utc};

    fn principal(role: Role) -> Principal {
        Principal::trusted_from_external_identity(UserId::new(), role)
    }

    fn appointment(doctor: &Principal, patient: &Principal) -> Appointment {
        let start = Utc.with_ymd_and_hms(2027, 1, 4, 9, 0, 0).unwrap();
        Appointment {
            id: AppointmentId::new(),
            doctor_id: doctor.user_id().as_doctor(),
            patient_id: patient.user_id().as_patient(),
            start,
            end: start + chrono::Duration::minutes(30),
            buffer_before_minutes: 0,
            buffer_after_minutes: 0,
            reason: ClinicalText::parse("check-up").unwrap(),
            status: AppointmentStatus::Booked,
            created_at: start,
            updated_at: start,
            cancelled_at: None,
            version: 1,
        }
    }

    struct People {
        patient: Principal,
        other_patient: Principal,
        doctor: Principal,
        other_doctor: Principal,
        admin: Principal,
    }

    fn people() -> People {
        People {
            patient: principal(Role::Patient),
            other_patient: principal(Role::Patient),
            doctor: principal(Role::Doctor),
            other_doctor: principal(Role::Doctor),
            admin: principal(Role::Admin),
        }
    }

    #[test]
    fn a_patient_reads_and_writes_only_their_own_record() {
        let p = people();
        let own = p.patient.as_patient().unwrap();
        let read = |patient| Request::ReadRecord {
            patient,
            care: false,
        };
        assert_eq!(decide(&p.patient, read(own)), Decision::Allow);
        assert_eq!(decide(&p.other_patient, read(own)), Decision::Hide);
        assert_eq!(
            decide(&p.patient, Request::WriteReport(own)),
            Decision::Allow
        );
        assert_eq!(
            decide(&p.other_patient, Request::WriteReport(own)),
            Decision::Hide
        );
        assert_eq!(
            decide(&p.patient, Request::ReadPatientAudit(own)),
            Decision::Allow
        );
        assert_eq!(
            decide(&p.other_patient, Request::ReadPatientAudit(own)),
            Decision::Hide
        );
    }

    #[test]
    fn a_doctor_reads_a_record_only_with_a_care_relationship() {
        let p = people();
        let patient = p.patient.as_patient().unwrap();
        let with_care = Request::ReadRecord {
            patient,
            care: true,
        };
        let without = Request::ReadRecord {
            patient,
            care: false,
        };
        assert_eq!(decide(&p.doctor, with_care), Decision::Allow);
        assert_eq!(decide(&p.doctor, without), Decision::Hide);
        assert_eq!(
            decide(&p.doctor, Request::WriteReport(patient)),
            Decision::Forbid
        );
    }

    #[test]
    fn only_the_appointments_own_doctor_writes_its_diagnosis() {
        let p = people();
        let visit = appointment(&p.doctor, &p.patient);
        assert_eq!(
            decide(&p.doctor, Request::WriteDiagnosis(&visit)),
            Decision::Allow
        );
        assert_eq!(
            decide(&p.other_doctor, Request::WriteDiagnosis(&visit)),
            Decision::Hide
        );
        assert_eq!(
            decide(&p.patient, Request::WriteDiagnosis(&visit)),
            Decision::Forbid
        );
        assert_eq!(
            decide(&p.other_patient, Request::WriteDiagnosis(&visit)),
            Decision::Hide
        );
        assert_eq!(
            decide(&p.admin, Request::WriteDiagnosis(&visit)),
            Decision::Hide
        );
    }

    #[test]
    fn appointments_are_changed_by_their_own_parties() {
        let p = people();
        let visit = appointment(&p.doctor, &p.patient);
        assert_eq!(decide(&p.patient, Request::Cancel(&visit)), Decision::Allow);
        assert_eq!(decide(&p.doctor, Request::Cancel(&visit)), Decision::Allow);
        assert_eq!(
            decide(&p.other_patient, Request::Cancel(&visit)),
            Decision::Hide
        );
        assert_eq!(
            decide(&p.other_doctor, Request::Cancel(&visit)),
            Decision::Hide
        );
        assert_eq!(
            decide(&p.patient, Request::Reschedule(&visit)),
            Decision::Allow
        );
        assert_eq!(
            decide(&p.doctor, Request::Reschedule(&visit)),
            Decision::Forbid
        );
        assert_eq!(
            decide(&p.doctor, Request::MarkNoShow(&visit)),
            Decision::Allow
        );
        assert_eq!(
            decide(&p.patient, Request::MarkNoShow(&visit)),
            Decision::Forbid
        );
        assert_eq!(
            decide(&p.patient, Request::ViewAppointment(&visit)),
            Decision::Allow
        );
        assert_eq!(
            decide(&p.admin, Request::ViewAppointment(&visit)),
            Decision::Hide
        );
    }

    #[test]
    fn patients_book_only_for_themselves() {
        let p = people();
        let own = p.patient.as_patient().unwrap();
        assert_eq!(decide(&p.patient, Request::Book(own)), Decision::Allow);
        assert_eq!(decide(&p.other_patient, Request::Book(own)), Decision::Hide);
        assert_eq!(decide(&p.doctor, Request::Book(own)), Decision::Forbid);
        assert_eq!(decide(&p.admin, Request::Book(own)), Decision::Forbid);
    }

    #[test]
    fn a_doctor_edits_only_their_own_schedule() {
        let p = people();
        let own = p.doctor.as_doctor().unwrap();
        assert_eq!(
            decide(&p.doctor, Request::EditSchedule(own)),
            Decision::Allow
        );
        assert_eq!(
            decide(&p.other_doctor, Request::EditSchedule(own)),
            Decision::Hide
        );
        assert_eq!(
            decide(&p.patient, Request::EditSchedule(own)),
            Decision::Forbid
        );
    }

    #[test]
    fn admins_manage_accounts_and_audit_but_read_no_clinical_record() {
        let p = people();
        let patient = p.patient.as_patient().unwrap();
        assert_eq!(decide(&p.admin, Request::ManageAccounts), Decision::Allow);
        assert_eq!(decide(&p.admin, Request::ReadFullAudit), Decision::Allow);
        let read = Request::ReadRecord {
            patient,
            care: true,
        };
        assert_eq!(decide(&p.admin, read), Decision::Forbid);
        assert_eq!(
            decide(&p.admin, Request::ListOwnAppointments),
            Decision::Forbid
        );
        for someone in [p.patient, p.doctor] {
            assert_eq!(decide(&someone, Request::ManageAccounts), Decision::Forbid);
            assert_eq!(decide(&someone, Request::ReadFullAudit), Decision::Forbid);
        }
    }
}
