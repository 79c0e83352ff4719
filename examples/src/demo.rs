//! A seeded, realistic clinic: doctors across specialties and time zones, and their
//! patients.
//!
//! [`ClinicSeed`] says how big a clinic to make. [`ClinicSeed::plan`] turns it into a
//! [`ClinicPlan`] without touching a store, and the same seed always gives the same plan.
//! [`ClinicPlan::create`] then creates every account through the public [`MedTrack`] API,
//! the way a real installation fills up: the operator bootstraps an admin, doctors register
//! and set their hours, the admin approves them, and patients register. What was created
//! comes back as a [`DemoClinic`].
//!
//! The clinic-week replay, the web demo and the benchmarks all start here, so there is one
//! generator to keep realistic.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;
use fake::faker::name::en::{FirstName, LastName};
use fake::faker::phone_number::en::CellNumber;
use fake::rand::seq::IndexedRandom;
use fake::rand::Rng;
use fake::Fake;
use medtrack_core::id::{DoctorId, PatientId, UserId};
use medtrack_core::model::{AccountStatus, Role};
use medtrack_core::password::PasswordParams;
use medtrack_core::schedule::Schedule;
use medtrack_core::store::{PageRequest, UserFilter};
use medtrack_core::{MedTrack, NewAccount, Result, Settings};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use secrecy::ExposeSecret;
use tokio::task::JoinSet;

use crate::catalog;

/// The password of every generated account. It is fake, which is also why the demos hash
/// with [`PasswordParams::INSECURE_FAST`].
pub const DEMO_PASSWORD: &str = "clinic-demo-password";
/// The login of the generated admin.
pub const ADMIN_EMAIL: &str = "admin@clinic.example";
const ADMIN_NAME: &str = "Clinic Administrator";
const DOCTOR_DOMAIN: &str = "clinic.example";
const PATIENT_DOMAINS: [&str; 3] = ["example.com", "example.net", "example.org"];

/// Service settings for demos: light Argon2 parameters because every password is fake, and
/// doctors wait for an admin's approval as they would in production.
pub fn demo_settings() -> Settings {
    Settings {
        password_params: PasswordParams::INSECURE_FAST,
        auto_approve_doctors: false,
        ..Settings::default()
    }
}

/// What clinic to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClinicSeed {
    /// Seeds every random choice; the same seed gives the same clinic.
    pub seed: u64,
    /// How many doctors register. The last one (when there are at least two) is still
    /// waiting for the admin's approval.
    pub doctors: usize,
    /// How many patients register.
    pub patients: usize,
    /// The Monday of the week the clinic is generated for; days off fall in that week.
    pub week_of: NaiveDate,
}

impl Default for ClinicSeed {
    fn default() -> Self {
        Self {
            seed: 2027,
            doctors: 25,
            patients: 2000,
            week_of: NaiveDate::from_ymd_opt(2027, 1, 4).expect("a valid date"),
        }
    }
}

/// A doctor to register.
#[derive(Clone)]
pub struct DoctorSpec {
    /// Full name.
    pub name: String,
    /// Unique, lower-case login email.
    pub email: String,
    /// Contact number.
    pub phone: String,
    /// What the doctor practises.
    pub specialty: &'static str,
    /// The doctor's working hours and booking rules, in their own zone.
    pub schedule: Schedule,
    /// Whether the admin has not approved this doctor yet.
    pub awaiting_approval: bool,
}

impl fmt::Debug for DoctorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DoctorSpec")
            .field("specialty", &self.specialty)
            .field("time_zone", &self.schedule.time_zone())
            .field("awaiting_approval", &self.awaiting_approval)
            .finish_non_exhaustive()
    }
}

/// A patient to register. Fake, but shaped like health information, so `Debug` redacts it.
#[derive(Clone)]
pub struct PatientSpec {
    /// Full name.
    pub name: String,
    /// Unique, lower-case login email.
    pub email: String,
    /// Contact number, if the patient gave one.
    pub phone: Option<String>,
    /// Date of birth.
    pub birth_date: NaiveDate,
    /// The zone the patient wants times shown in, if they chose one.
    pub time_zone: Option<Tz>,
}

impl fmt::Debug for PatientSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PatientSpec(<redacted>)")
    }
}

/// Every account of a generated clinic, before anything is stored.
#[derive(Debug, Clone)]
pub struct ClinicPlan {
    /// What was asked for.
    pub seed: ClinicSeed,
    /// Doctors, in registration order.
    pub doctors: Vec<DoctorSpec>,
    /// Patients, in registration order.
    pub patients: Vec<PatientSpec>,
}

impl ClinicSeed {
    /// The clinic this seed describes. Pure: no store, no clock, no global randomness.
    pub fn plan(&self) -> ClinicPlan {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut emails = BTreeSet::new();
        let doctors = (0..self.doctors)
            .map(|index| self.doctor(index, &mut rng, &mut emails))
            .collect();
        let patients = (0..self.patients)
            .map(|_| self.patient(&mut rng, &mut emails))
            .collect();
        ClinicPlan {
            seed: *self,
            doctors,
            patients,
        }
    }

    fn doctor(
        &self,
        index: usize,
        rng: &mut ChaCha8Rng,
        emails: &mut BTreeSet<String>,
    ) -> DoctorSpec {
        let specialty = catalog::specialty(index);
        let (first, last) = person_name(rng);
        let zone = *catalog::ZONES.choose(rng).expect("not empty");
        DoctorSpec {
            name: format!("{first} {last}"),
            email: unique_email(&first, &last, DOCTOR_DOMAIN, emails),
            phone: phone_number(rng),
            specialty,
            schedule: catalog::schedule(specialty, zone, self.week_of, rng),
            awaiting_approval: self.doctors > 1 && index + 1 == self.doctors,
        }
    }

    fn patient(&self, rng: &mut ChaCha8Rng, emails: &mut BTreeSet<String>) -> PatientSpec {
        let (first, last) = person_name(rng);
        let domain = PATIENT_DOMAINS.choose(rng).expect("not empty");
        let email = unique_email(&first, &last, domain, emails);
        let birth_date = birth_date(self.week_of, rng);
        let phone = rng.random_bool(0.85).then(|| phone_number(rng));
        let time_zone = rng
            .random_bool(0.6)
            .then(|| *catalog::ZONES.choose(rng).expect("not empty"));
        PatientSpec {
            name: format!("{first} {last}"),
            email,
            phone,
            birth_date,
            time_zone,
        }
    }
}

fn person_name(rng: &mut ChaCha8Rng) -> (String, String) {
    (
        FirstName().fake_with_rng(rng),
        LastName().fake_with_rng(rng),
    )
}

/// `first.last@domain`, lower-case and ASCII, with a number appended when it is taken.
fn unique_email(first: &str, last: &str, domain: &str, taken: &mut BTreeSet<String>) -> String {
    let slug = |part: &str| -> String {
        part.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_lowercase()
    };
    let local = format!("{}.{}", slug(first), slug(last));
    let mut email = format!("{local}@{domain}");
    let mut suffix = 2;
    while !taken.insert(email.clone()) {
        email = format!("{local}{suffix}@{domain}");
        suffix += 1;
    }
    email
}

/// The `fake` English formats include dotted numbers; MedTrack stores digits, spaces,
/// dashes and brackets, so the dots become dashes.
fn phone_number(rng: &mut ChaCha8Rng) -> String {
    let raw: String = CellNumber().fake_with_rng(rng);
    raw.replace('.', "-")
}

/// About a fifth children, three fifths adults of working age, the rest over 65.
fn birth_date(week_of: NaiveDate, rng: &mut ChaCha8Rng) -> NaiveDate {
    let years: i64 = match rng.random_range(0..100) {
        0..=17 => rng.random_range(0..16),
        18..=77 => rng.random_range(16..65),
        _ => rng.random_range(65..96),
    };
    week_of - Duration::days(years * 365 + rng.random_range(1..365))
}

/// The generated admin.
#[derive(Debug, Clone)]
pub struct SeededAdmin {
    /// The admin's account.
    pub id: UserId,
    /// The admin's login.
    pub email: String,
}

/// A doctor as created.
#[derive(Debug, Clone)]
pub struct SeededDoctor {
    /// The doctor's id.
    pub id: DoctorId,
    /// The doctor's login.
    pub email: String,
    /// The doctor's name, as patients see it.
    pub name: String,
    /// What the doctor practises.
    pub specialty: &'static str,
    /// The hours the doctor set after registering.
    pub schedule: Schedule,
    /// Whether the admin approved the doctor, so patients can book them.
    pub approved: bool,
}

/// A patient as created.
#[derive(Clone)]
pub struct SeededPatient {
    /// The patient's id.
    pub id: PatientId,
    /// The patient's login.
    pub email: String,
    /// Date of birth, which decides whether they see a paediatrician.
    pub birth_date: NaiveDate,
}

impl fmt::Debug for SeededPatient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeededPatient")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The accounts a [`ClinicPlan`] created, in plan order. Everyone signs in with
/// [`DEMO_PASSWORD`].
#[derive(Debug, Clone)]
pub struct DemoClinic {
    /// What was generated.
    pub seed: ClinicSeed,
    /// The admin.
    pub admin: SeededAdmin,
    /// Doctors, approved or not.
    pub doctors: Vec<SeededDoctor>,
    /// Patients.
    pub patients: Vec<SeededPatient>,
}

impl DemoClinic {
    /// The password of every account.
    pub fn password(&self) -> &'static str {
        DEMO_PASSWORD
    }

    /// Indexes of the doctors patients can book.
    pub fn approved_doctors(&self) -> Vec<usize> {
        (0..self.doctors.len())
            .filter(|&index| self.doctors[index].approved)
            .collect()
    }
}

impl ClinicPlan {
    /// Creates the accounts through `medtrack`: admin, doctors with their hours, the
    /// admin's approvals, then patients (registered concurrently).
    pub async fn create(&self, medtrack: &MedTrack) -> Result<DemoClinic> {
        let admin = medtrack
            .bootstrap_admin(ADMIN_NAME, ADMIN_EMAIL, DEMO_PASSWORD)
            .await?;

        let mut doctors = Vec::with_capacity(self.doctors.len());
        for spec in &self.doctors {
            doctors.push(register_doctor(medtrack, spec).await?);
        }
        approve_doctors(medtrack, &self.doctors, &mut doctors).await?;

        let patients = register_patients(medtrack, &self.patients).await?;
        Ok(DemoClinic {
            seed: self.seed,
            admin: SeededAdmin {
                id: admin.id,
                email: ADMIN_EMAIL.to_owned(),
            },
            doctors,
            patients,
        })
    }
}

/// Registers a doctor, who then signs in and replaces the standard hours with their own.
async fn register_doctor(medtrack: &MedTrack, spec: &DoctorSpec) -> Result<SeededDoctor> {
    let account = NewAccount {
        name: spec.name.clone(),
        email: spec.email.clone(),
        password: DEMO_PASSWORD.to_owned(),
        role: Some(Role::Doctor),
        phone: Some(spec.phone.clone()),
        time_zone: Some(spec.schedule.time_zone().name().to_owned()),
        specialty: Some(spec.specialty.to_owned()),
        ..NewAccount::default()
    };
    let profile = medtrack.register(account).await?;
    let id = profile.id.as_doctor();

    let session = medtrack.login(&spec.email, DEMO_PASSWORD).await?;
    let schedule = medtrack
        .update_schedule(&session.principal, id, spec.schedule.clone())
        .await?;
    medtrack.logout(session.token.expose_secret()).await?;
    Ok(SeededDoctor {
        id,
        email: spec.email.clone(),
        name: spec.name.clone(),
        specialty: spec.specialty,
        schedule,
        approved: profile.status == AccountStatus::Active,
    })
}

/// The admin reviews the pending doctors and approves all but those still awaiting
/// approval in the plan.
async fn approve_doctors(
    medtrack: &MedTrack,
    specs: &[DoctorSpec],
    doctors: &mut [SeededDoctor],
) -> Result<()> {
    let session = medtrack.login(ADMIN_EMAIL, DEMO_PASSWORD).await?;
    let admin = session.principal;
    let index: HashMap<DoctorId, usize> = doctors
        .iter()
        .enumerate()
        .map(|(position, doctor)| (doctor.id, position))
        .collect();
    let filter = UserFilter {
        role: Some(Role::Doctor),
        status: Some(AccountStatus::PendingApproval),
    };

    let mut page = PageRequest::first(100);
    loop {
        let pending = medtrack.accounts(&admin, filter, page.clone()).await?;
        for profile in &pending.items {
            let Some(&position) = index.get(&profile.id.as_doctor()) else {
                continue;
            };
            if !specs[position].awaiting_approval {
                medtrack
                    .approve_doctor(&admin, profile.id.as_doctor())
                    .await?;
                doctors[position].approved = true;
            }
        }
        match pending.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }
    medtrack.logout(session.token.expose_secret()).await
}

/// Registers every patient at once, as a rush of sign-ups would; the service bounds how
/// many passwords hash at the same time.
async fn register_patients(
    medtrack: &MedTrack,
    specs: &[PatientSpec],
) -> Result<Vec<SeededPatient>> {
    let mut tasks = JoinSet::new();
    for (position, spec) in specs.iter().enumerate() {
        let medtrack = medtrack.clone();
        let account = NewAccount {
            name: spec.name.clone(),
            email: spec.email.clone(),
            password: DEMO_PASSWORD.to_owned(),
            role: Some(Role::Patient),
            phone: spec.phone.clone(),
            birth_date: Some(spec.birth_date),
            time_zone: spec.time_zone.map(|zone| zone.name().to_owned()),
            specialty: None,
        };
        tasks.spawn(async move { (position, medtrack.register(account).await) });
    }

    let mut created: Vec<Option<SeededPatient>> = vec![None; specs.len()];
    while let Some(joined) = tasks.join_next().await {
        let (position, outcome) = joined.expect("a registration task panicked");
        let profile = outcome?;
        created[position] = Some(SeededPatient {
            id: profile.id.as_patient(),
            email: specs[position].email.clone(),
            birth_date: specs[position].birth_date,
        });
    }
    Ok(created.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> ClinicSeed {
        ClinicSeed {
            seed: 5,
            doctors: 25,
            patients: 300,
            ..ClinicSeed::default()
        }
    }

    #[test]
    fn the_same_seed_plans_the_same_clinic() {
        let (a, b) = (small().plan(), small().plan());
        let emails = |plan: &ClinicPlan| -> Vec<String> {
            plan.patients.iter().map(|p| p.email.clone()).collect()
        };
        assert_eq!(emails(&a), emails(&b));
        let schedules = |plan: &ClinicPlan| -> Vec<Schedule> {
            plan.doctors.iter().map(|d| d.schedule.clone()).collect()
        };
        assert_eq!(schedules(&a), schedules(&b));
    }

    #[test]
    fn emails_are_unique_lower_case_and_parse() {
        let plan = small().plan();
        let all: Vec<&str> = plan
            .doctors
            .iter()
            .map(|d| d.email.as_str())
            .chain(plan.patients.iter().map(|p| p.email.as_str()))
            .collect();
        let distinct: BTreeSet<&str> = all.iter().copied().collect();
        assert_eq!(distinct.len(), all.len());
        for email in all {
            let parsed = medtrack_core::text::Email::parse(email).expect("a valid email");
            assert_eq!(parsed.as_ref(), email);
        }
    }

    #[test]
    fn phones_parse_and_doctors_span_specialties_and_zones() {
        let plan = small().plan();
        for phone in plan.patients.iter().filter_map(|p| p.phone.as_deref()) {
            medtrack_core::text::PhoneNumber::parse(phone).expect("a valid phone number");
        }
        let specialties: BTreeSet<_> = plan.doctors.iter().map(|d| d.specialty).collect();
        let zones: BTreeSet<_> = plan
            .doctors
            .iter()
            .map(|d| d.schedule.time_zone().name())
            .collect();
        assert!(specialties.len() >= 10, "{specialties:?}");
        assert!(zones.len() >= 5, "{zones:?}");
        assert_eq!(
            plan.doctors.iter().filter(|d| d.awaiting_approval).count(),
            1
        );
    }

    #[test]
    fn a_different_seed_plans_a_different_clinic() {
        let other = ClinicSeed { seed: 6, ..small() };
        assert_ne!(
            small().plan().patients[0].email,
            other.plan().patients[0].email
        );
    }
}
