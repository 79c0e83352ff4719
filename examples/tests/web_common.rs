//! Helpers shared by the web app's handler tests: an app over a fresh memory store on a
//! manual clock, and short ways to call it. Included by `web_api.rs` and `web_pages.rs`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, TimeZone as _, Utc};
use http_body_util::BodyExt as _;
use medtrack_core::clock::ManualClock;
use medtrack_core::password::PasswordParams;
use medtrack_core::{MedTrack, Settings};
use medtrack_examples::web::{self, AppState, LoginLimits, WebConfig};
use medtrack_memory::MemoryStore;
use serde_json::{json, Value};
use tower::ServiceExt as _;

/// A password long enough for the core's rules.
pub const PASSWORD: &str = "correct horse battery";
/// The admin's login.
pub const ADMIN: &str = "admin@clinic.test";

/// Monday 4 January 2027, 06:00 UTC: before the doctors' 09:00 UTC start.
pub fn monday_morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 4, 6, 0, 0).unwrap()
}

/// Monday 4 January 2027 at `hour`:00 UTC.
pub fn monday_at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 4, hour, 0, 0).unwrap()
}

/// The app under test.
#[derive(Debug)]
pub struct TestApp {
    pub router: Router,
    pub medtrack: MedTrack,
    pub clock: Arc<ManualClock>,
}

/// Test settings: light hashing, doctors bookable at once unless `approve_first`.
pub fn settings(approve_first: bool) -> Settings {
    Settings {
        password_params: PasswordParams::INSECURE_FAST,
        auto_approve_doctors: !approve_first,
        session_idle_timeout: chrono::Duration::hours(12),
        ..Settings::default()
    }
}

/// An app with the test configuration and an admin account.
pub async fn app() -> TestApp {
    app_with(WebConfig::for_tests(), settings(false)).await
}

/// An app with `config` and `settings`, and an admin account.
pub async fn app_with(config: WebConfig, settings: Settings) -> TestApp {
    let clock = Arc::new(ManualClock::new(monday_morning()));
    let medtrack = MedTrack::with_clock(Arc::new(MemoryStore::new()), settings, clock.clone())
        .expect("valid settings");
    medtrack
        .bootstrap_admin("Clinic Admin", ADMIN, PASSWORD)
        .await
        .expect("the admin is created");
    let router = web::router(AppState::new(medtrack.clone(), config));
    TestApp {
        router,
        medtrack,
        clock,
    }
}

/// A configuration with these login limits.
pub fn limited(per_account: u32, per_address: u32) -> WebConfig {
    WebConfig {
        login_limits: LoginLimits {
            per_account_per_minute: per_account,
            per_address_per_minute: per_address,
        },
        ..WebConfig::for_tests()
    }
}

/// What came back.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "not JSON ({}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text, with the entities the templates escape turned back into characters.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body)
            .replace("&#x2f;", "/")
            .replace("&#x27;", "'")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }

    /// The error code of an API error body.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", self.text()))
            .to_owned()
    }

    pub fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .map(str::to_owned)
            .collect()
    }

    /// The value a `Set-Cookie` gives `name`, if any.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().iter().find_map(|cookie| {
            let (pair, _) = cookie.split_once(';').unwrap_or((cookie, ""));
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
    }
}

impl TestApp {
    /// Sends `request` as if from 192.0.2.1.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        self.send_from(request, [192, 0, 2, 1]).await
    }

    /// Sends `request` as if from `address`.
    pub async fn send_from(&self, mut request: Request<Body>, address: [u8; 4]) -> Reply {
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((address, 40000))));
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A JSON API call.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        };
        self.send(request.expect("a valid request")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.api(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.api(Method::POST, path, Some(token), Some(body)).await
    }

    /// Registers through the API and returns the new id.
    pub async fn register(&self, role: &str, email: &str, extra: Value) -> String {
        let mut body =
            json!({"name": "Test Person", "email": email, "password": PASSWORD, "role": role});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let reply = self
            .api(Method::POST, "/api/register", None, Some(body))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        reply.json()["id"].as_str().unwrap().to_owned()
    }

    /// Logs in through the API and returns the token.
    pub async fn login(&self, email: &str) -> String {
        let body = json!({"email": email, "password": PASSWORD});
        let reply = self.api(Method::POST, "/api/login", None, Some(body)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply.json()["token"].as_str().unwrap().to_owned()
    }

    /// Registers and logs in; returns (id, token).
    pub async fn account(&self, role: &str, email: &str) -> (String, String) {
        let extra = if role == "doctor" {
            json!({"specialty": "Cardiology"})
        } else {
            json!({})
        };
        let id = self.register(role, email, extra).await;
        (id, self.login(email).await)
    }

    /// Books `start` with `doctor` for the holder of `token`.
    pub async fn book(&self, token: &str, doctor: &str, start: DateTime<Utc>) -> Reply {
        let body = json!({"doctor_id": doctor, "start": start, "reason": "Headache for a week"});
        self.post("/api/appointments", token, body).await
    }
}

/// A doctor, a patient with an appointment at Monday 09:00 UTC, and their tokens.
#[derive(Debug)]
pub struct Visit {
    pub doctor: String,
    pub doctor_token: String,
    pub patient: String,
    pub patient_token: String,
    pub appointment: String,
}

pub async fn visit(app: &TestApp) -> Visit {
    let (doctor, doctor_token) = app.account("doctor", "doctor@clinic.test").await;
    let (patient, patient_token) = app.account("patient", "patient@example.test").await;
    let reply = app.book(&patient_token, &doctor, monday_at(9)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let appointment = reply.json()["id"].as_str().unwrap().to_owned();
    Visit {
        doctor,
        doctor_token,
        patient,
        patient_token,
        appointment,
    }
}
