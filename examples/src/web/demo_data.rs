//! Demo data for the web app on the memory backend: the shared clinic generator, plus a few
//! upcoming appointments for the patient whose login is printed, so the first dashboard a
//! visitor opens is not empty.

use chrono::{Datelike as _, Duration, NaiveDate};
use medtrack_core::id::DoctorId;
use medtrack_core::{BookingRequest, MedTrack, Result};
use secrecy::ExposeSecret as _;

use crate::demo::{ClinicSeed, DemoClinic, DEMO_PASSWORD};

/// One login to print at start-up.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    /// Who this is: `patient`, `doctor` or `admin`.
    pub role: &'static str,
    /// The email to sign in with.
    pub email: String,
}

/// What was loaded: the logins to print (all with [`DEMO_PASSWORD`]).
#[derive(Debug, Clone)]
pub struct LoadedDemo {
    /// One patient, one doctor and the admin.
    pub logins: Vec<DemoLogin>,
    /// How many accounts of each role were created.
    pub doctors: usize,
    /// How many patients.
    pub patients: usize,
}

impl LoadedDemo {
    /// The password of every demo account.
    pub fn password(&self) -> &'static str {
        DEMO_PASSWORD
    }
}

/// Generates a clinic for the current week with `patients` patients and `doctors` doctors,
/// and books two upcoming appointments for the first patient with the first bookable doctor.
pub async fn load(medtrack: &MedTrack, doctors: usize, patients: usize) -> Result<LoadedDemo> {
    let today = medtrack.clock().now().date_naive();
    let seed = ClinicSeed {
        doctors,
        patients,
        week_of: monday_of(today),
        ..ClinicSeed::default()
    };
    let clinic = seed.plan().create(medtrack).await?;
    let doctor = clinic
        .approved_doctors()
        .first()
        .map(|&index| &clinic.doctors[index]);
    let patient = clinic.patients.first();

    if let (Some(doctor), Some(patient)) = (doctor, patient) {
        book_a_few(medtrack, &patient.email, doctor.id).await?;
    }
    Ok(LoadedDemo {
        logins: logins(&clinic, doctor.map(|doctor| doctor.email.clone())),
        doctors: clinic.doctors.len(),
        patients: clinic.patients.len(),
    })
}

fn logins(clinic: &DemoClinic, doctor: Option<String>) -> Vec<DemoLogin> {
    let mut logins = Vec::new();
    if let Some(patient) = clinic.patients.first() {
        logins.push(DemoLogin {
            role: "patient",
            email: patient.email.clone(),
        });
    }
    if let Some(email) = doctor {
        logins.push(DemoLogin {
            role: "doctor",
            email,
        });
    }
    logins.push(DemoLogin {
        role: "admin",
        email: clinic.admin.email.clone(),
    });
    logins
}

/// Books the patient's first two free slots with the doctor, a couple of days apart.
async fn book_a_few(medtrack: &MedTrack, email: &str, doctor: DoctorId) -> Result<()> {
    let session = medtrack.login(email, DEMO_PASSWORD).await?;
    let now = medtrack.clock().now();
    let slots = medtrack
        .free_slots(&session.principal, doctor, now, now + Duration::days(14))
        .await?;
    let mut last_day = None;
    let mut booked = 0;
    for slot in slots {
        let day = slot.start.date_naive();
        if last_day.is_some_and(|last| day < last + Duration::days(2)) {
            continue;
        }
        let request = BookingRequest {
            doctor_id: doctor,
            start: slot.start,
            slots: 1,
            reason: "Follow-up on blood pressure readings".to_owned(),
        };
        if medtrack.book(&session.principal, request).await.is_ok() {
            booked += 1;
            last_day = Some(day);
        }
        if booked == 2 {
            break;
        }
    }
    medtrack.logout(session.token.expose_secret()).await
}

fn monday_of(date: NaiveDate) -> NaiveDate {
    date - Duration::days(date.weekday().num_days_from_monday().into())
}
