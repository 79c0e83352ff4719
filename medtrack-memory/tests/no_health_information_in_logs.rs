//! Runs a whole clinic flow under a subscriber that captures every event at trace level,
//! and checks that no name, contact, password, token, reason or diagnosis reaches the logs.

use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::{Duration, TimeZone, Utc};
use medtrack_core::clock::ManualClock;
use medtrack_core::dispatch::{DispatchConfig, Dispatcher};
use medtrack_core::model::{ReportKind, Role};
use medtrack_core::notify::LogNotifier;
use medtrack_core::password::PasswordParams;
use medtrack_core::store::Store;
use medtrack_core::{
    BookingRequest, DiagnosisInput, MedTrack, NewAccount, PrescriptionInput, ReportInput, Settings,
};
use medtrack_memory::MemoryStore;
use secrecy::ExposeSecret;

const PATIENT_NAME: &str = "Hermione Quillfeather";
const PATIENT_EMAIL: &str = "hermione.quillfeather@example.org";
const PATIENT_PHONE: &str = "+44 20 7946 0321";
const DOCTOR_NAME: &str = "Bartholomew Vanterpool";
const DOCTOR_EMAIL: &str = "b.vanterpool@example.org";
const PASSWORD: &str = "Tr0ub4dor&3-plus-more";
const REASON: &str = "recurring migraines with aura";
const DIAGNOSIS: &str = "Chronic migraine without status";
const PLAN: &str = "Keep a headache diary";
const DRUG: &str = "Sumatriptan";
const REPORT_BODY: &str = "Blood pressure 142/91";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_full_clinic_flow_logs_no_health_information_or_secrets() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let token = run_clinic_flow().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("appointment booked"),
        "the flow was logged:\n{logs}"
    );
    let secrets = [
        PATIENT_NAME,
        "Hermione",
        PATIENT_EMAIL,
        "hermione",
        PATIENT_PHONE,
        "7946",
        DOCTOR_NAME,
        DOCTOR_EMAIL,
        PASSWORD,
        REASON,
        "migraine",
        DIAGNOSIS,
        PLAN,
        DRUG,
        REPORT_BODY,
        "142/91",
        &token,
    ];
    for secret in secrets {
        assert!(
            !logs.contains(secret),
            "{secret:?} leaked into the logs:\n{logs}"
        );
    }
}

/// Registers, signs in, books, diagnoses, reads and notifies; returns the patient's token.
async fn run_clinic_flow() -> String {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2027, 1, 4, 6, 0, 0).unwrap(),
    ));
    let settings = Settings {
        password_params: PasswordParams::INSECURE_FAST,
        auto_approve_doctors: true,
        ..Settings::default()
    };
    let clinic = MedTrack::with_clock(store.clone(), settings, clock.clone()).unwrap();

    clinic
        .register(account(PATIENT_NAME, PATIENT_EMAIL, Role::Patient))
        .await
        .unwrap();
    clinic
        .register(account(DOCTOR_NAME, DOCTOR_EMAIL, Role::Doctor))
        .await
        .unwrap();
    clinic
        .register(account(PATIENT_NAME, PATIENT_EMAIL, Role::Patient))
        .await
        .unwrap_err();
    clinic
        .login(PATIENT_EMAIL, "a wrong password!")
        .await
        .unwrap_err();
    let session = clinic.login(PATIENT_EMAIL, PASSWORD).await.unwrap();
    let patient = clinic
        .authenticate(session.token.expose_secret())
        .await
        .unwrap();
    let doctor = clinic
        .login(DOCTOR_EMAIL, PASSWORD)
        .await
        .unwrap()
        .principal;

    let start = Utc.with_ymd_and_hms(2027, 1, 5, 9, 0, 0).unwrap();
    let request = BookingRequest {
        doctor_id: doctor.user_id().as_doctor(),
        start,
        slots: 1,
        reason: REASON.into(),
    };
    let booked = clinic.book(&patient, request.clone()).await.unwrap();
    clinic.book(&patient, request).await.unwrap_err();
    clinic.submit_report(&patient, report()).await.unwrap();

    clock.set(start + Duration::minutes(10));
    clinic
        .submit_diagnosis(&doctor, booked.id, diagnosis())
        .await
        .unwrap();
    clinic
        .medical_record(&doctor, patient.user_id().as_patient())
        .await
        .unwrap();
    clinic
        .medical_record(&patient, doctor.user_id().as_patient())
        .await
        .unwrap_err();

    let dispatcher = Dispatcher::new(
        store,
        Arc::new(LogNotifier),
        clock,
        DispatchConfig::default(),
    );
    assert!(dispatcher.run_once().await.unwrap().delivered >= 3);
    clinic.logout(session.token.expose_secret()).await.unwrap();
    session.token.expose_secret().to_owned()
}

fn account(name: &str, email: &str, role: Role) -> NewAccount {
    NewAccount {
        name: name.into(),
        email: email.into(),
        password: PASSWORD.into(),
        role: Some(role),
        phone: Some(PATIENT_PHONE.into()),
        specialty: (role == Role::Doctor).then(|| "Neurology".into()),
        ..NewAccount::default()
    }
}

fn diagnosis() -> DiagnosisInput {
    DiagnosisInput {
        diagnosis: DIAGNOSIS.into(),
        code: Some("G43.7".into()),
        treatment_plan: PLAN.into(),
        prescriptions: vec![PrescriptionInput {
            drug: DRUG.into(),
            dose: "50 mg".into(),
            frequency: "at onset".into(),
            duration: "3 months".into(),
        }],
    }
}

fn report() -> ReportInput {
    ReportInput {
        kind: ReportKind::Measurement,
        title: "Morning reading".into(),
        body: REPORT_BODY.into(),
        observed_at: None,
    }
}
