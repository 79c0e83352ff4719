//! The web app's logs: each request is logged with its route pattern, status and latency,
//! and nothing a patient typed or a doctor wrote ever reaches the log.

#[path = "web_common.rs"]
mod common;

use axum::http::Method;
use common::*;
use serde_json::json;

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn request_logs_name_routes_and_statuses_but_no_health_information() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    // The only test in this binary, so the subscriber can be the global one: a thread-local
    // default misses events while other tests run on other threads.
    tracing::subscriber::set_global_default(subscriber).expect("no other subscriber");

    let app = app().await;
    let body = json!({"name": "Zelda Quixote", "email": "zelda.quixote@example.test", "password": PASSWORD, "role": "patient"});
    app.api(Method::POST, "/api/register", None, Some(body))
        .await;
    let patient = app.login("zelda.quixote@example.test").await;
    let (doctor, doctor_token) = app.account("doctor", "doc@clinic.test").await;
    let booking =
        json!({"doctor_id": doctor, "start": monday_at(9), "reason": "Wobbly xylophone knees"});
    let id = app
        .post("/api/appointments", &patient, booking)
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.set(monday_at(10));
    let diagnosis = json!({"diagnosis": "Quasimodo syndrome", "treatment_plan": "Rest", "prescriptions": [{"drug": "Zyloprim", "dose": "1", "frequency": "2", "duration": "3"}]});
    app.post(
        &format!("/api/appointments/{id}/diagnosis"),
        &doctor_token,
        diagnosis,
    )
    .await;
    let me = app.get("/api/me", &patient).await.json();
    app.get(
        &format!("/api/patients/{}/records", me["id"].as_str().unwrap()),
        &doctor_token,
    )
    .await;
    app.post(
        "/api/patients/me/reports",
        &patient,
        json!({"kind": "symptoms", "title": "Night sweats", "body": "Feverish"}),
    )
    .await;
    let wrong = json!({"email": "zelda.quixote@example.test", "password": "hunter2hunter2"});
    app.api(Method::POST, "/api/login", None, Some(wrong)).await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("request finished"));
    assert!(
        logs.contains("/api/appointments/{id}/diagnosis"),
        "routes are logged as patterns"
    );
    assert!(
        logs.contains("\"status\":200")
            && logs.contains("latency_ms")
            && logs.contains("request_id")
    );
    let secrets = [
        "Zelda",
        "Quixote",
        "zelda.quixote",
        "xylophone",
        "Quasimodo",
        "Zyloprim",
        "Night sweats",
        "Feverish",
        PASSWORD,
        "hunter2",
        &patient,
        &doctor_token,
    ];
    for secret in secrets {
        assert!(!logs.contains(secret), "{secret} appears in the logs");
    }
}
