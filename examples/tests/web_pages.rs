//! Handler tests of the pages: every page route renders for its role, forms keep what was
//! typed and show field errors, cookies and CSRF tokens behave, and pages reveal nothing
//! about other patients.

#[path = "web_common.rs"]
mod common;

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::*;
use medtrack_examples::web::WebConfig;
use serde_json::json;

/// A tiny browser: keeps cookies and the CSRF token of the last page it saw.
struct Visitor<'a> {
    app: &'a TestApp,
    cookies: BTreeMap<String, String>,
    csrf: Option<String>,
}

impl<'a> Visitor<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookies: BTreeMap::new(),
            csrf: None,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&mut self, reply: &Reply) {
        for cookie in reply.set_cookies() {
            let (pair, attributes) = cookie.split_once(';').unwrap_or((&cookie, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        if let Some(token) = csrf_of(&reply.text()) {
            self.csrf = Some(token);
        }
    }

    async fn get(&mut self, path: &str) -> Reply {
        let request = Request::get(path)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        let reply = self.app.send(request).await;
        self.remember(&reply);
        reply
    }

    /// Posts a form with the remembered CSRF token.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut all = fields.to_vec();
        let token = self.csrf.clone().unwrap_or_default();
        all.push(("csrf", &token));
        self.post_raw(path, &all).await
    }

    async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = Request::post(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let reply = self.app.send(request).await;
        self.remember(&reply);
        reply
    }

    async fn sign_in(&mut self, email: &str) -> Reply {
        self.get("/login").await;
        self.post("/login", &[("email", email), ("password", PASSWORD)])
            .await
    }
}

fn csrf_of(html: &str) -> Option<String> {
    let start = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

#[tokio::test]
async fn the_login_page_sets_a_pre_session_cookie_and_a_form_token() {
    let app = app().await;
    let mut visitor = Visitor::new(&app);
    let reply = visitor.get("/login").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply
        .text()
        .contains("<label for=\"f-email\">Email</label>"));
    let cookie = reply.set_cookies().join("\n");
    assert!(cookie.contains("medtrack_presession=") && cookie.contains("HttpOnly"));
    assert!(visitor.csrf.is_some());
}

#[tokio::test]
async fn signing_in_sets_the_core_session_token_as_a_strict_cookie() {
    let app = app().await;
    app.register("patient", "ann@example.test", json!({})).await;
    let mut visitor = Visitor::new(&app);
    let reply = visitor.sign_in("ann@example.test").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/patient");
    let cookie = reply
        .set_cookies()
        .into_iter()
        .find(|cookie| cookie.starts_with("medtrack_session="))
        .expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    assert!(!cookie.contains("Secure"));

    let token = reply.cookie("medtrack_session").unwrap();
    assert_eq!(
        app.get("/api/me", &token).await.status,
        StatusCode::OK,
        "the cookie is the core token"
    );
}

#[tokio::test]
async fn cookies_are_secure_when_configured() {
    let config = WebConfig {
        secure_cookies: true,
        ..WebConfig::for_tests()
    };
    let app = app_with(config, settings(false)).await;
    app.register("patient", "ann@example.test", json!({})).await;
    let mut visitor = Visitor::new(&app);
    let reply = visitor.sign_in("ann@example.test").await;
    let cookies = reply.set_cookies();
    assert!(!cookies.is_empty());
    assert!(
        cookies.iter().all(|cookie| cookie.contains("Secure")),
        "{cookies:?}"
    );
}

#[tokio::test]
async fn a_new_login_gets_a_new_token_and_ends_the_old_one() {
    let app = app().await;
    app.register("patient", "ann@example.test", json!({})).await;
    let mut visitor = Visitor::new(&app);
    let first = visitor
        .sign_in("ann@example.test")
        .await
        .cookie("medtrack_session")
        .unwrap();
    visitor.cookies.remove("medtrack_session");
    visitor
        .cookies
        .insert("medtrack_session".into(), first.clone());
    visitor.get("/login").await;
    visitor
        .cookies
        .insert("medtrack_session".into(), first.clone());
    let csrf = {
        let page = visitor.get("/patient").await;
        csrf_of(&page.text()).unwrap()
    };
    let body = [
        ("email", "ann@example.test"),
        ("password", PASSWORD),
        ("csrf", csrf.as_str()),
    ];
    let second = visitor
        .post_raw("/login", &body)
        .await
        .cookie("medtrack_session")
        .unwrap();
    assert_ne!(first, second);
    assert_eq!(
        app.get("/api/me", &first).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn forms_without_a_valid_csrf_token_are_refused() {
    let app = app().await;
    app.register("patient", "ann@example.test", json!({})).await;
    let mut visitor = Visitor::new(&app);
    visitor.get("/login").await;
    let fields = [("email", "ann@example.test"), ("password", PASSWORD)];
    let reply = visitor.post_raw("/login", &fields).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let forged = [
        ("email", "ann@example.test"),
        ("password", PASSWORD),
        ("csrf", "AAAA"),
    ];
    assert_eq!(
        visitor.post_raw("/login", &forged).await.status,
        StatusCode::FORBIDDEN
    );

    visitor.sign_in("ann@example.test").await;
    let page = visitor.get("/patient").await;
    assert_eq!(page.status, StatusCode::OK);
    let mut intruder = Visitor::new(&app);
    intruder.get("/login").await;
    let theirs = intruder.csrf.clone().unwrap();
    let reply = visitor
        .post_raw("/logout", &[("csrf", theirs.as_str())])
        .await;
    assert_eq!(
        reply.status,
        StatusCode::FORBIDDEN,
        "a token of another visitor does not fit"
    );
    assert_eq!(visitor.post("/logout", &[]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn registering_shows_field_errors_and_keeps_what_was_typed() {
    let app = app().await;
    let mut visitor = Visitor::new(&app);
    visitor.get("/register").await;
    let fields = [
        ("role", "patient"),
        ("name", "Ann Lee"),
        ("email", "ann@example.test"),
        ("password", "short"),
        ("phone", ""),
        ("time_zone", ""),
        ("specialty", ""),
    ];
    let reply = visitor.post("/register", &fields).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = reply.text();
    assert!(page.contains("Must be at least 12 characters."));
    assert!(page.contains("value=\"Ann Lee\"") && page.contains("value=\"ann@example.test\""));
    assert!(
        !page.contains("value=\"short\""),
        "the password is not sent back"
    );

    let doctor = [
        ("role", "doctor"),
        ("name", "Dr Who"),
        ("email", "who@clinic.test"),
        ("password", PASSWORD),
        ("phone", ""),
        ("time_zone", "Europe/Nowhere"),
        ("specialty", "GP"),
    ];
    let page = visitor.post("/register", &doctor).await.text();
    assert!(page.contains("Must be an IANA time zone such as Europe/Berlin."));
    assert!(page.contains("value=\"doctor\" checked"));

    let good = [
        ("role", "patient"),
        ("name", "Ann Lee"),
        ("email", "ann@example.test"),
        ("password", PASSWORD),
        ("phone", ""),
        ("time_zone", "Europe/Berlin"),
        ("specialty", ""),
    ];
    let reply = visitor.post("/register", &good).await;
    assert_eq!(
        (reply.status, reply.location()),
        (StatusCode::SEE_OTHER, "/patient".to_owned())
    );
    visitor.get("/patient").await;
    assert_eq!(visitor.post("/logout", &[]).await.status, StatusCode::OK);
    visitor.get("/register").await;
    let reply = visitor.post("/register", &good).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text());
    assert!(reply
        .text()
        .contains("An account with this email already exists."));
}

#[tokio::test]
async fn a_wrong_password_shows_one_message_and_too_many_tries_are_slowed() {
    let app = app_with(limited(2, 0), settings(false)).await;
    app.register("patient", "ann@example.test", json!({})).await;
    let mut visitor = Visitor::new(&app);
    visitor.get("/login").await;
    let fields = [
        ("email", "ann@example.test"),
        ("password", "not the password"),
    ];
    let reply = visitor.post("/login", &fields).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.text().contains("The email or password is not right."));
    assert!(reply.text().contains("value=\"ann@example.test\""));
    visitor.post("/login", &fields).await;
    let reply = visitor.post("/login", &fields).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(reply.text().contains("too many sign-in attempts"));
}

#[tokio::test]
async fn pages_need_a_session_and_the_right_role() {
    let app = app().await;
    let mut anonymous = Visitor::new(&app);
    for path in ["/patient", "/doctor", "/admin", "/profile", "/patient/book"] {
        let reply = anonymous.get(path).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        assert!(reply.location().starts_with("/login"));
    }
    app.register("patient", "ann@example.test", json!({})).await;
    let mut patient = Visitor::new(&app);
    patient.sign_in("ann@example.test").await;
    for path in ["/doctor", "/doctor/schedule", "/admin", "/admin/audit"] {
        let reply = patient.get(path).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path}");
        assert!(reply.text().contains("Not allowed"));
    }
}

/// A doctor and a patient with a visit at Monday 09:00 UTC, both signed in to the pages.
async fn clinic(app: &TestApp) -> (Visit, Visitor<'_>, Visitor<'_>) {
    let visit = visit(app).await;
    let mut patient = Visitor::new(app);
    patient.sign_in("patient@example.test").await;
    let mut doctor = Visitor::new(app);
    doctor.sign_in("doctor@clinic.test").await;
    (visit, patient, doctor)
}

#[tokio::test]
async fn every_patient_page_renders() {
    let app = app().await;
    let (visit, mut patient, _) = clinic(&app).await;
    let pages = [
        "/patient".to_owned(),
        "/patient/book".to_owned(),
        "/patient/book?specialty=Cardiology".to_owned(),
        format!("/patient/book/{}", visit.doctor),
        format!("/patient/book/{}?from=2027-01-11", visit.doctor),
        format!(
            "/patient/book/{}/confirm?start=2027-01-04T10:00:00Z",
            visit.doctor
        ),
        format!("/patient/appointments/{}/reschedule", visit.appointment),
        "/patient/report".to_owned(),
        "/patient/audit".to_owned(),
        format!("/records/{}", visit.patient),
        "/profile".to_owned(),
        "/about".to_owned(),
    ];
    for path in pages {
        let reply = patient.get(&path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text());
        assert!(reply.text().contains("</html>"), "{path}");
    }
    let dashboard = patient.get("/patient").await.text();
    assert!(dashboard.contains("Headache for a week"));
}

#[tokio::test]
async fn booking_through_the_pages_and_a_taken_slot_offers_the_next_ones() {
    let app = app().await;
    let (visit, mut patient, _) = clinic(&app).await;
    let slots = patient
        .get(&format!("/patient/book/{}", visit.doctor))
        .await
        .text();
    assert!(
        slots.contains("confirm?start=2027-01-04T09%3A30%3A00Z"),
        "free slots link to the confirmation"
    );
    assert!(
        !slots.contains("confirm?start=2027-01-04T09%3A00%3A00Z"),
        "the booked slot is not offered"
    );

    patient
        .get(&format!(
            "/patient/book/{}/confirm?start=2027-01-04T09:30:00Z",
            visit.doctor
        ))
        .await;
    let path = format!("/patient/book/{}", visit.doctor);
    let reply = patient
        .post(
            &path,
            &[
                ("start", "2027-01-04T09:30:00Z"),
                ("reason", "Back pain"),
                ("slots", "1"),
            ],
        )
        .await;
    assert_eq!(
        (reply.status, reply.location()),
        (StatusCode::SEE_OTHER, "/patient?notice=booked".to_owned())
    );
    assert!(patient
        .get("/patient?notice=booked")
        .await
        .text()
        .contains("Your appointment is booked."));

    let mut other = Visitor::new(&app);
    app.register("patient", "bob@example.test", json!({})).await;
    other.sign_in("bob@example.test").await;
    other.get("/patient").await;
    let reply = other
        .post(
            &path,
            &[
                ("start", "2027-01-04T09:30:00Z"),
                ("reason", "Knee"),
                ("slots", "1"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    let page = reply.text();
    assert!(page.contains("This slot was just taken. Here are the next free ones."));
    assert!(
        page.contains("value=\"2027-01-04T10:00:00Z\""),
        "the next free slot is offered"
    );
    assert!(page.contains(">Knee</textarea>"), "the reason is kept");
}

#[tokio::test]
async fn patients_cancel_reschedule_and_report_through_the_pages() {
    let app = app().await;
    let (visit, mut patient, _) = clinic(&app).await;
    patient.get("/patient").await;
    let path = format!("/patient/appointments/{}/reschedule", visit.appointment);
    let reply = patient
        .post(&path, &[("start", "2027-01-04T13:00:00Z")])
        .await;
    assert_eq!(reply.location(), "/patient?notice=rescheduled");
    let reply = patient
        .post(&path, &[("start", "2027-01-04T13:10:00Z")])
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.text().contains("does not see patients at that time"));

    let cancel = format!("/patient/appointments/{}/cancel", visit.appointment);
    assert_eq!(
        patient.post(&cancel, &[]).await.location(),
        "/patient?notice=cancelled"
    );
    assert_eq!(
        patient.post(&cancel, &[]).await.location(),
        "/patient?notice=wrong_status"
    );

    patient.get("/patient/report").await;
    let bad = [
        ("kind", "measurement"),
        ("title", ""),
        ("body", "120/80"),
        ("observed_at", ""),
    ];
    let reply = patient.post("/patient/report", &bad).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.text().contains("Please fill this in.") && reply.text().contains("120/80"));
    let good = [
        ("kind", "measurement"),
        ("title", "Blood pressure"),
        ("body", "120/80"),
        ("observed_at", "2027-01-03T08:15"),
    ];
    let reply = patient.post("/patient/report", &good).await;
    assert_eq!(
        reply.location(),
        format!("/records/{}?notice=report_saved", visit.patient)
    );
    let record = patient.get(&reply.location()).await.text();
    assert!(record.contains("Blood pressure") && record.contains("Your report was added"));

    patient.get("/profile").await;
    let reply = patient
        .post(
            "/profile",
            &[
                ("name", "Pat Ient"),
                ("phone", ""),
                ("time_zone", "Asia/Tokyo"),
            ],
        )
        .await;
    assert_eq!(reply.location(), "/profile?notice=profile_saved");
    assert!(patient
        .get("/patient/audit")
        .await
        .text()
        .contains("Asia/Tokyo"));
    let reply = patient
        .post(
            "/profile",
            &[("name", ""), ("phone", ""), ("time_zone", "")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_doctor_diagnoses_through_the_pages_and_the_patient_reads_it() {
    let app = app().await;
    let (visit, mut patient, mut doctor) = clinic(&app).await;
    for path in [
        "/doctor",
        "/doctor/patients",
        "/doctor/schedule",
        "/profile",
    ] {
        assert_eq!(doctor.get(path).await.status, StatusCode::OK, "{path}");
    }
    app.clock.set(monday_at(10));
    let page = doctor
        .get(&format!("/doctor/appointments/{}", visit.appointment))
        .await;
    assert!(page.text().contains("Save diagnosis and complete"));
    let path = format!("/doctor/appointments/{}/diagnosis", visit.appointment);
    let broken = [
        ("diagnosis", "Migraine"),
        ("code", ""),
        ("treatment_plan", "Dark room"),
        ("drug_0", ""),
        ("dose_0", ""),
        ("frequency_0", ""),
        ("duration_0", ""),
        ("drug_1", "Sumatriptan"),
        ("dose_1", ""),
        ("frequency_1", "as needed"),
        ("duration_1", "1 month"),
    ];
    let reply = doctor.post(&path, &broken).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = reply.text();
    assert!(
        page.contains("id=\"e-dose_1\""),
        "the error is shown at the row that was filled"
    );
    assert!(page.contains("value=\"Sumatriptan\""));
    let mut good = broken.to_vec();
    good[8] = ("dose_1", "50 mg");
    let reply = doctor.post(&path, &good).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);

    let record = patient
        .get(&format!("/records/{}", visit.patient))
        .await
        .text();
    assert!(
        record.contains("Migraine") && record.contains("Sumatriptan") && record.contains("50 mg")
    );
    let own = doctor.get(&format!("/records/{}", visit.patient)).await;
    assert_eq!(
        own.status,
        StatusCode::OK,
        "the treating doctor reads the record"
    );
    let history = own.text();
    assert!(history.contains("Visits with you") && history.contains("Headache for a week"));

    patient.get("/patient").await;
    let reply = patient.post(&path, &good).await;
    assert_eq!(
        reply.status,
        StatusCode::FORBIDDEN,
        "a patient posting a diagnosis is refused"
    );
}

#[tokio::test]
async fn another_patients_or_an_unrelated_doctors_record_is_not_found() {
    let app = app().await;
    let (visit, _, _) = clinic(&app).await;
    app.register("patient", "eve@example.test", json!({"name": "Eve Other"}))
        .await;
    let mut eve = Visitor::new(&app);
    eve.sign_in("eve@example.test").await;
    app.register(
        "doctor",
        "doc2@clinic.test",
        json!({"specialty": "Dermatology"}),
    )
    .await;
    let mut stranger = Visitor::new(&app);
    stranger.sign_in("doc2@clinic.test").await;
    let path = format!("/records/{}", visit.patient);
    for visitor in [&mut eve, &mut stranger] {
        let reply = visitor.get(&path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        let page = reply.text();
        assert!(page.contains("Page not found"));
        assert!(!page.contains("Headache") && !page.contains("Test Person"));
    }
    let reply = eve.get("/records/not-a-uuid").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(eve.get("/no/such/page").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn doctors_mark_no_shows_cancel_and_set_their_hours() {
    let app = app().await;
    let (visit, _, mut doctor) = clinic(&app).await;
    doctor.get("/doctor").await;
    let no_show = format!("/doctor/appointments/{}/no-show", visit.appointment);
    assert!(doctor
        .post(&no_show, &[])
        .await
        .location()
        .ends_with("notice=wrong_status"));
    app.clock.set(monday_at(10));
    assert!(doctor
        .post(&no_show, &[])
        .await
        .location()
        .ends_with("notice=no_show"));
    let cancel = format!("/doctor/appointments/{}/cancel", visit.appointment);
    assert!(doctor
        .post(&cancel, &[])
        .await
        .location()
        .ends_with("notice=wrong_status"));

    let page = doctor.get("/doctor/schedule").await.text();
    assert!(page.contains("value=\"09:00-17:00\""));
    let hours = [
        ("time_zone", "Europe/Berlin"),
        ("slot_minutes", "50"),
        ("mon", "09:00-12:00"),
        ("tue", ""),
        ("wed", ""),
        ("thu", ""),
        ("fri", ""),
        ("sat", ""),
        ("sun", ""),
        ("days_off", "2027-01-06"),
        ("buffer_before_minutes", "0"),
        ("buffer_after_minutes", "0"),
        ("min_notice_hours", "0"),
        ("horizon_days", "90"),
        ("cancel_notice_hours", "0"),
    ];
    let reply = doctor.post("/doctor/schedule", &hours).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply
        .text()
        .contains("Must divide every working interval evenly."));
    assert!(reply.text().contains("value=\"Europe/Berlin\""));
    let mut fixed = hours.to_vec();
    fixed[1] = ("slot_minutes", "30");
    assert_eq!(
        doctor.post("/doctor/schedule", &fixed).await.location(),
        "/doctor/schedule?notice=schedule_saved"
    );
    let saved = doctor
        .get("/doctor/schedule?notice=schedule_saved")
        .await
        .text();
    assert!(saved.contains("2027-01-06") && saved.contains("Your working hours were saved."));
}

#[tokio::test]
async fn admins_approve_and_deactivate_through_the_pages() {
    let app = app_with(WebConfig::for_tests(), settings(true)).await;
    let doctor = app
        .register(
            "doctor",
            "doc@clinic.test",
            json!({"specialty": "Oncology"}),
        )
        .await;
    let patient = app.register("patient", "ann@example.test", json!({})).await;
    let mut admin = Visitor::new(&app);
    admin.sign_in(ADMIN).await;
    let page = admin
        .get("/admin?role=doctor&status=pending_approval")
        .await
        .text();
    assert!(page.contains("doc@clinic.test") && page.contains("Approve"));
    let reply = admin
        .post(&format!("/admin/users/{doctor}/approve"), &[])
        .await;
    assert_eq!(reply.location(), "/admin?notice=approved");
    let reply = admin
        .post(&format!("/admin/users/{patient}/deactivate"), &[])
        .await;
    assert_eq!(reply.location(), "/admin?notice=deactivated");
    assert!(admin
        .get("/admin?status=deactivated")
        .await
        .text()
        .contains("ann@example.test"));
    assert_eq!(admin.get("/admin/audit").await.status, StatusCode::OK);
    assert_eq!(
        admin.get("/admin?status=sleeping").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn logging_out_ends_the_session_and_says_so() {
    let app = app().await;
    app.register("patient", "ann@example.test", json!({})).await;
    let mut visitor = Visitor::new(&app);
    let token = visitor
        .sign_in("ann@example.test")
        .await
        .cookie("medtrack_session")
        .unwrap();
    visitor.get("/patient").await;
    let reply = visitor.post("/logout", &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.text().contains("Your session has ended"));
    assert!(!visitor.cookies.contains_key("medtrack_session"));
    assert_eq!(
        app.get("/api/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn oversized_forms_get_413() {
    let app = app().await;
    let mut visitor = Visitor::new(&app);
    visitor.get("/login").await;
    let big = "x".repeat(100 * 1024);
    let reply = visitor
        .post("/login", &[("email", big.as_str()), ("password", "x")])
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn the_stylesheet_is_served_and_pages_have_no_inline_scripts() {
    let app = app().await;
    let mut visitor = Visitor::new(&app);
    let css = visitor.get("/static/app.css").await;
    assert_eq!(css.headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    let home = visitor.get("/").await;
    assert!(!home.text().contains("<script"));
    assert!(home.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
}
