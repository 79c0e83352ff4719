//! Handler tests of the JSON API: every route, its statuses and error codes, the access
//! rules, the login rate limits and the body limit, over a fresh memory store.

#[path = "web_common.rs"]
mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chrono::Duration;
use common::*;
use medtrack_examples::web::{ClientIpSource, WebConfig};
use serde_json::json;

#[tokio::test]
async fn register_answers_201_with_the_account() {
    let app = app().await;
    let body = json!({"name": "Ann Lee", "email": "Ann@Example.test", "password": PASSWORD, "role": "patient"});
    let reply = app
        .api(Method::POST, "/api/register", None, Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let account = reply.json();
    assert_eq!(account["email"], "ann@example.test");
    assert_eq!(account["name"], "Ann Lee");
    assert_eq!(account["role"], "patient");
    assert!(account["id"].as_str().is_some());
}

#[tokio::test]
async fn register_refuses_a_taken_email_with_409() {
    let app = app().await;
    app.register("patient", "ann@example.test", json!({})).await;
    let body = json!({"name": "Ann", "email": "ANN@example.test", "password": PASSWORD, "role": "patient"});
    let reply = app
        .api(Method::POST, "/api/register", None, Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.code(), "email_taken");
}

#[tokio::test]
async fn register_names_the_invalid_field_without_echoing_it() {
    let app = app().await;
    let cases = [
        (
            json!({"name": "A", "email": "no-at-sign", "password": PASSWORD, "role": "patient"}),
            "email",
        ),
        (
            json!({"name": "A", "email": "a@b.test", "password": "short", "role": "patient"}),
            "password",
        ),
        (
            json!({"name": "A", "email": "a@b.test", "password": PASSWORD, "role": "admin"}),
            "role",
        ),
        (
            json!({"name": "A", "email": "a@b.test", "password": PASSWORD, "role": "doctor"}),
            "specialty",
        ),
        (
            json!({"name": "A", "email": "a@b.test", "password": PASSWORD, "role": "doctor", "specialty": "GP", "time_zone": "Mars/Olympus"}),
            "time_zone",
        ),
        (
            json!({"email": "a@b.test", "password": PASSWORD, "role": "patient"}),
            "name",
        ),
    ];
    for (body, field) in cases {
        let reply = app
            .api(Method::POST, "/api/register", None, Some(body))
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(reply.code(), "invalid");
        assert_eq!(reply.json()["error"]["field"], field);
        assert!(!reply.text().contains("no-at-sign") && !reply.text().contains("Olympus"));
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_refused() {
    let app = app().await;
    let request = Request::post("/api/register")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.code(), "invalid");

    let request = Request::post("/api/login")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("x"))
        .unwrap();
    assert_eq!(
        app.send(request).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
}

#[tokio::test]
async fn login_gives_a_token_and_wrong_passwords_get_401() {
    let app = app().await;
    app.register("patient", "ann@example.test", json!({})).await;
    let token = app.login("ann@example.test").await;
    assert!(token.len() > 20);

    for (email, password) in [
        ("ann@example.test", "wrong password!!"),
        ("nobody@example.test", PASSWORD),
    ] {
        let body = json!({"email": email, "password": password});
        let reply = app.api(Method::POST, "/api/login", None, Some(body)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.code(), "unauthorized");
    }
}

#[tokio::test]
async fn every_protected_route_answers_401_without_a_valid_token() {
    let app = app().await;
    let id = "6d0a3b7e-2f4c-4a59-9a57-3c1f1d5e8a10";
    let routes = [
        (Method::POST, "/api/logout".to_owned()),
        (Method::GET, "/api/me".to_owned()),
        (Method::PATCH, "/api/me".to_owned()),
        (Method::GET, "/api/doctors".to_owned()),
        (
            Method::GET,
            format!("/api/doctors/{id}/slots?from=2027-01-04T00:00:00Z&to=2027-01-05T00:00:00Z"),
        ),
        (Method::GET, format!("/api/doctors/{id}/schedule")),
        (Method::PUT, "/api/doctors/me/schedule".to_owned()),
        (Method::POST, "/api/appointments".to_owned()),
        (Method::GET, "/api/appointments".to_owned()),
        (Method::POST, format!("/api/appointments/{id}/cancel")),
        (Method::POST, format!("/api/appointments/{id}/reschedule")),
        (Method::POST, format!("/api/appointments/{id}/no-show")),
        (Method::POST, format!("/api/appointments/{id}/diagnosis")),
        (Method::GET, format!("/api/patients/{id}/records")),
        (Method::POST, "/api/patients/me/reports".to_owned()),
        (Method::GET, "/api/patients/me/audit".to_owned()),
        (Method::GET, "/api/admin/users".to_owned()),
        (Method::POST, format!("/api/admin/users/{id}/deactivate")),
        (Method::POST, format!("/api/admin/doctors/{id}/approve")),
        (Method::GET, "/api/admin/audit".to_owned()),
    ];
    for (method, path) in routes {
        for token in [None, Some("not-a-session")] {
            let reply = app.api(method.clone(), &path, token, Some(json!({}))).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {path}");
            assert_eq!(reply.code(), "unauthorized", "{method} {path}");
        }
    }
}

#[tokio::test]
async fn logout_answers_204_and_kills_the_token() {
    let app = app().await;
    let (_, token) = app.account("patient", "ann@example.test").await;
    let reply = app
        .api(Method::POST, "/api/logout", Some(&token), None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn me_shows_the_profile_and_patch_sets_the_zone() {
    let app = app().await;
    let (id, token) = app.account("patient", "ann@example.test").await;
    let me = app.get("/api/me", &token).await.json();
    assert_eq!(me["id"], id.as_str());
    assert_eq!(me["status"], "active");

    let patch = json!({"time_zone": "Europe/Berlin", "phone": "+49 30 1234567"});
    let reply = app
        .api(Method::PATCH, "/api/me", Some(&token), Some(patch))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["time_zone"], "Europe/Berlin");
    assert_eq!(
        app.get("/api/me", &token).await.json()["phone"],
        "+49301234567"
    );

    let bad = json!({"time_zone": "Nowhere/Land"});
    let reply = app
        .api(Method::PATCH, "/api/me", Some(&token), Some(bad))
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json()["error"]["field"], "time_zone");
}

#[tokio::test]
async fn doctors_lists_every_approved_doctor_as_an_array() {
    let app = app().await;
    for index in 0..3 {
        let extra = json!({"specialty": "Dermatology", "time_zone": "Europe/Paris"});
        app.register("doctor", &format!("doc{index}@clinic.test"), extra)
            .await;
    }
    let (_, token) = app.account("patient", "ann@example.test").await;
    let listed = app.get("/api/doctors", &token).await.json();
    let doctors = listed.as_array().expect("a bare array");
    assert_eq!(doctors.len(), 3);
    assert_eq!(doctors[0]["specialty"], "Dermatology");
    assert_eq!(doctors[0]["time_zone"], "Europe/Paris");
    assert!(doctors[0]["id"].is_string() && doctors[0]["name"].is_string());
}

#[tokio::test]
async fn a_pending_doctor_is_bookable_only_after_an_admin_approves() {
    let app = app_with(
        medtrack_examples::web::WebConfig::for_tests(),
        settings(true),
    )
    .await;
    let (doctor, doctor_token) = app.account("doctor", "doc@clinic.test").await;
    let (_, patient_token) = app.account("patient", "ann@example.test").await;
    assert_eq!(
        app.get("/api/me", &doctor_token).await.json()["status"],
        "pending_approval"
    );
    let listed = app.get("/api/doctors", &patient_token).await.json();
    assert!(listed.as_array().unwrap().is_empty());
    assert_eq!(
        app.book(&patient_token, &doctor, monday_at(9)).await.status,
        StatusCode::NOT_FOUND
    );

    let path = format!("/api/admin/doctors/{doctor}/approve");
    let reply = app.post(&path, &patient_token, json!({})).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.code(), "forbidden");
    let admin = app.login(ADMIN).await;
    let reply = app.post(&path, &admin, json!({})).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["status"], "active");
    assert_eq!(
        app.book(&patient_token, &doctor, monday_at(9)).await.status,
        StatusCode::CREATED
    );

    let unknown = "/api/admin/doctors/6d0a3b7e-2f4c-4a59-9a57-3c1f1d5e8a10/approve";
    assert_eq!(
        app.post(unknown, &admin, json!({})).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn slots_are_ordered_half_open_and_ranges_are_checked() {
    let app = app().await;
    let (doctor, _) = app.account("doctor", "doc@clinic.test").await;
    let (_, token) = app.account("patient", "ann@example.test").await;
    let path =
        format!("/api/doctors/{doctor}/slots?from=2027-01-04T09:00:00Z&to=2027-01-04T10:30:00Z");
    let slots = app.get(&path, &token).await.json();
    let starts: Vec<_> = slots
        .as_array()
        .unwrap()
        .iter()
        .map(|slot| slot["start"].clone())
        .collect();
    assert_eq!(
        starts,
        vec![
            "2027-01-04T09:00:00Z",
            "2027-01-04T09:30:00Z",
            "2027-01-04T10:00:00Z"
        ]
    );
    assert_eq!(slots[0]["end"], "2027-01-04T09:30:00Z");

    let long =
        format!("/api/doctors/{doctor}/slots?from=2027-01-04T00:00:00Z&to=2027-02-15T00:00:00Z");
    let reply = app.get(&long, &token).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json()["error"]["field"], "to");

    let unknown = "/api/doctors/6d0a3b7e-2f4c-4a59-9a57-3c1f1d5e8a10/slots?from=2027-01-04T00:00:00Z&to=2027-01-05T00:00:00Z";
    assert_eq!(app.get(unknown, &token).await.code(), "not_found");
    let malformed =
        "/api/doctors/not-a-uuid/slots?from=2027-01-04T00:00:00Z&to=2027-01-05T00:00:00Z";
    assert_eq!(
        app.get(malformed, &token).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_doctor_sets_the_schedule_and_anyone_signed_in_reads_it() {
    let app = app().await;
    let (doctor, token) = app.account("doctor", "doc@clinic.test").await;
    let standard = app
        .get(&format!("/api/doctors/{doctor}/schedule"), &token)
        .await
        .json();
    assert_eq!(standard["slot_minutes"], 30);
    assert_eq!(standard["weekly"]["mon"], json!([["09:00", "17:00"]]));
    assert!(standard["weekly"].get("sat").is_none());

    let schedule = json!({
        "time_zone": "Europe/Berlin", "slot_minutes": 20,
        "weekly": {"mon": [["08:00", "12:00"], ["13:00", "17:00"]], "sat": [["10:00", "24:00"]]},
        "days_off": ["2027-01-06"], "buffer_before_minutes": 5, "buffer_after_minutes": 10,
        "min_notice_hours": 2, "horizon_days": 60, "cancel_notice_hours": 24
    });
    let reply = app
        .api(
            Method::PUT,
            "/api/doctors/me/schedule",
            Some(&token),
            Some(schedule.clone()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let (_, patient) = app.account("patient", "ann@example.test").await;
    let read = app
        .get(&format!("/api/doctors/{doctor}/schedule"), &patient)
        .await
        .json();
    assert_eq!(read, schedule);

    let broken = [
        (
            json!({"time_zone": "Mars/Base", "slot_minutes": 30, "weekly": {}}),
            "time_zone",
        ),
        (
            json!({"time_zone": "UTC", "slot_minutes": 30, "weekly": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}}),
            "weekly",
        ),
        (
            json!({"time_zone": "UTC", "slot_minutes": 25, "weekly": {"mon": [["09:00", "10:00"]]}}),
            "slot_minutes",
        ),
        (
            json!({"time_zone": "UTC", "slot_minutes": 30, "weekly": {"monday": [["09:00", "10:00"]]}}),
            "weekly",
        ),
    ];
    for (body, field) in broken {
        let reply = app
            .api(
                Method::PUT,
                "/api/doctors/me/schedule",
                Some(&token),
                Some(body),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(reply.json()["error"]["field"], field);
    }
    let reply = app
        .api(
            Method::PUT,
            "/api/doctors/me/schedule",
            Some(&patient),
            Some(schedule),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn booking_answers_201_and_each_refusal_has_its_code() {
    let app = app().await;
    let visit = visit(&app).await;
    let booked = app
        .get("/api/appointments?status=booked", &visit.patient_token)
        .await
        .json();
    let appointment = &booked["items"][0];
    assert_eq!(appointment["id"], visit.appointment.as_str());
    assert_eq!(appointment["doctor_id"], visit.doctor.as_str());
    assert_eq!(appointment["patient_id"], visit.patient.as_str());
    assert_eq!(appointment["start"], "2027-01-04T09:00:00Z");
    assert_eq!(appointment["end"], "2027-01-04T09:30:00Z");
    assert_eq!(appointment["status"], "booked");
    assert_eq!(appointment["reason"], "Headache for a week");

    let (_, other) = app.account("patient", "bob@example.test").await;
    let reply = app.book(&other, &visit.doctor, monday_at(9)).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::CONFLICT, "slot_taken".to_owned())
    );

    let (second_doctor, _) = app.account("doctor", "doc2@clinic.test").await;
    let reply = app
        .book(&visit.patient_token, &second_doctor, monday_at(9))
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::CONFLICT, "patient_busy".to_owned())
    );

    let refusals = [
        (
            monday_at(9) + Duration::minutes(10),
            "outside_working_hours",
        ),
        (monday_at(20), "outside_working_hours"),
        (monday_at(5), "too_soon"),
        (monday_at(9) + Duration::days(120), "beyond_horizon"),
    ];
    for (start, code) in refusals {
        let reply = app.book(&other, &visit.doctor, start).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{code}");
        assert_eq!(reply.code(), code);
    }
    let reply = app
        .book(&visit.doctor_token, &second_doctor, monday_at(10))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let longer =
        json!({"doctor_id": visit.doctor, "start": monday_at(10), "reason": "", "slots": 2});
    let reply = app.post("/api/appointments", &other, longer).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.json()["end"], "2027-01-04T11:00:00Z");
}

#[tokio::test]
async fn appointments_list_latest_first_for_patient_and_doctor() {
    let app = app().await;
    let visit = visit(&app).await;
    assert_eq!(
        app.book(&visit.patient_token, &visit.doctor, monday_at(11))
            .await
            .status,
        StatusCode::CREATED
    );
    for token in [&visit.patient_token, &visit.doctor_token] {
        let page = app.get("/api/appointments", token).await.json();
        let starts: Vec<_> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["start"].clone())
            .collect();
        assert_eq!(starts, vec!["2027-01-04T11:00:00Z", "2027-01-04T09:00:00Z"]);
        assert!(page["next_cursor"].is_null());
    }
    let filtered = app
        .get(
            "/api/appointments?from=2027-01-04T10:00:00Z&to=2027-01-05T00:00:00Z&limit=1",
            &visit.patient_token,
        )
        .await
        .json();
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
    let reply = app
        .get("/api/appointments?status=maybe", &visit.patient_token)
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json()["error"]["field"], "status");
    let admin = app.login(ADMIN).await;
    assert_eq!(
        app.get("/api/appointments", &admin).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn cancel_frees_the_slot_and_refuses_what_cannot_be_cancelled() {
    let app = app().await;
    let visit = visit(&app).await;
    let path = format!("/api/appointments/{}/cancel", visit.appointment);
    let (_, stranger) = app.account("patient", "eve@example.test").await;
    let reply = app.post(&path, &stranger, json!({})).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::NOT_FOUND, "not_found".to_owned())
    );

    let reply = app.post(&path, &visit.patient_token, json!({})).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["status"], "cancelled");
    let reply = app.post(&path, &visit.patient_token, json!({})).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::CONFLICT, "wrong_status".to_owned())
    );
    assert_eq!(
        app.book(&stranger, &visit.doctor, monday_at(9))
            .await
            .status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_patient_cannot_cancel_inside_the_notice() {
    let app = app().await;
    let (doctor, token) = app.account("doctor", "doc@clinic.test").await;
    let schedule = json!({"time_zone": "UTC", "slot_minutes": 30, "weekly": {"mon": [["09:00", "17:00"]]}, "cancel_notice_hours": 24});
    app.api(
        Method::PUT,
        "/api/doctors/me/schedule",
        Some(&token),
        Some(schedule),
    )
    .await;
    let (_, patient) = app.account("patient", "ann@example.test").await;
    let id = app.book(&patient, &doctor, monday_at(9)).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = app
        .post(
            &format!("/api/appointments/{id}/cancel"),
            &patient,
            json!({}),
        )
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::CONFLICT, "too_late".to_owned())
    );
    let reply = app
        .post(&format!("/api/appointments/{id}/cancel"), &token, json!({}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "the doctor may always cancel");
}

#[tokio::test]
async fn reschedule_moves_the_visit_or_answers_409() {
    let app = app().await;
    let visit = visit(&app).await;
    let (_, other) = app.account("patient", "bob@example.test").await;
    app.book(&other, &visit.doctor, monday_at(11)).await;
    let path = format!("/api/appointments/{}/reschedule", visit.appointment);

    let reply = app
        .post(&path, &visit.patient_token, json!({"start": monday_at(11)}))
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::CONFLICT, "slot_taken".to_owned())
    );
    let reply = app
        .post(&path, &visit.doctor_token, json!({"start": monday_at(12)}))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = app
        .post(&path, &visit.patient_token, json!({"start": monday_at(12)}))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["start"], "2027-01-04T12:00:00Z");
    let reply = app
        .post(&path, &visit.patient_token, json!({"start": "tomorrow"}))
        .await;
    assert_eq!(reply.json()["error"]["field"], "start");
}

#[tokio::test]
async fn only_the_doctor_marks_a_started_visit_as_a_no_show() {
    let app = app().await;
    let visit = visit(&app).await;
    let path = format!("/api/appointments/{}/no-show", visit.appointment);
    let reply = app.post(&path, &visit.doctor_token, json!({})).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::CONFLICT, "wrong_status".to_owned())
    );
    app.clock.set(monday_at(10));
    let reply = app.post(&path, &visit.patient_token, json!({})).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = app.post(&path, &visit.doctor_token, json!({})).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["status"], "no_show");
}

fn diagnosis() -> serde_json::Value {
    json!({
        "diagnosis": "Tension headache", "code": "G44.2", "treatment_plan": "Rest and fluids",
        "prescriptions": [{"drug": "Ibuprofen", "dose": "400 mg", "frequency": "twice daily", "duration": "5 days"}]
    })
}

#[tokio::test]
async fn the_doctor_diagnoses_completes_and_amends() {
    let app = app().await;
    let visit = visit(&app).await;
    let path = format!("/api/appointments/{}/diagnosis", visit.appointment);
    let reply = app.post(&path, &visit.doctor_token, diagnosis()).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::CONFLICT, "wrong_status".to_owned())
    );

    app.clock.set(monday_at(10));
    let reply = app.post(&path, &visit.doctor_token, diagnosis()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let done = reply.json();
    assert_eq!(done["status"], "completed");
    assert_eq!(done["id"], visit.appointment.as_str());
    assert_eq!(done["diagnosis"]["version"], 1);
    assert_eq!(done["diagnosis"]["prescriptions"][0]["drug"], "Ibuprofen");

    let mut amended = diagnosis();
    amended["diagnosis"] = json!("Migraine without aura");
    let reply = app.post(&path, &visit.doctor_token, amended).await;
    assert_eq!(reply.json()["diagnosis"]["version"], 2);

    let mut broken = diagnosis();
    broken["prescriptions"][0]["dose"] = json!("");
    let reply = app.post(&path, &visit.doctor_token, broken).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json()["error"]["field"], "prescriptions[0].dose");
    let reply = app
        .post(
            &path,
            &visit.doctor_token,
            json!({"diagnosis": " ", "treatment_plan": ""}),
        )
        .await;
    assert_eq!(reply.json()["error"]["field"], "diagnosis");
}

#[tokio::test]
async fn a_patient_posting_a_diagnosis_gets_403_and_another_doctor_404() {
    let app = app().await;
    let visit = visit(&app).await;
    app.clock.set(monday_at(10));
    let path = format!("/api/appointments/{}/diagnosis", visit.appointment);
    let reply = app.post(&path, &visit.patient_token, diagnosis()).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::FORBIDDEN, "forbidden".to_owned())
    );
    let (_, other_doctor) = app.account("doctor", "doc2@clinic.test").await;
    let reply = app.post(&path, &other_doctor, diagnosis()).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::NOT_FOUND, "not_found".to_owned())
    );
}

#[tokio::test]
async fn records_are_for_the_patient_and_doctors_who_cared_only() {
    let app = app().await;
    let visit = visit(&app).await;
    app.clock.set(monday_at(10));
    let path = format!("/api/appointments/{}/diagnosis", visit.appointment);
    app.post(&path, &visit.doctor_token, diagnosis()).await;
    let record_path = format!("/api/patients/{}/records", visit.patient);

    for token in [&visit.patient_token, &visit.doctor_token] {
        let reply = app.get(&record_path, token).await;
        assert_eq!(reply.status, StatusCode::OK);
        let record = reply.json();
        assert_eq!(record["patient"]["id"], visit.patient.as_str());
        assert_eq!(record["diagnoses"][0]["diagnosis"], "Tension headache");
        assert!(record["reports"].as_array().unwrap().is_empty());
    }
    let (_, other_patient) = app.account("patient", "eve@example.test").await;
    let (_, other_doctor) = app.account("doctor", "doc2@clinic.test").await;
    let admin = app.login(ADMIN).await;
    for token in [&other_patient, &other_doctor, &admin] {
        let reply = app.get(&record_path, token).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(reply.code(), "not_found");
        assert!(!reply.text().contains("Tension"));
    }
}

#[tokio::test]
async fn patients_add_reports_to_their_own_record() {
    let app = app().await;
    let (patient, token) = app.account("patient", "ann@example.test").await;
    let body = json!({"kind": "measurement", "title": "Blood pressure", "body": "135/85", "observed_at": "2027-01-03T08:00:00Z"});
    let reply = app
        .post("/api/patients/me/reports", &token, body.clone())
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.json()["kind"], "measurement");
    let record = app
        .get(&format!("/api/patients/{patient}/records"), &token)
        .await
        .json();
    assert_eq!(record["reports"][0]["title"], "Blood pressure");
    assert_eq!(record["reports"][0]["observed_at"], "2027-01-03T08:00:00Z");

    let reply = app
        .post(
            "/api/patients/me/reports",
            &token,
            json!({"kind": "gossip", "title": "x", "body": "y"}),
        )
        .await;
    assert_eq!(reply.json()["error"]["field"], "kind");
    let reply = app
        .post(
            "/api/patients/me/reports",
            &token,
            json!({"kind": "other", "title": "", "body": "y"}),
        )
        .await;
    assert_eq!(reply.json()["error"]["field"], "title");
    let (_, doctor) = app.account("doctor", "doc@clinic.test").await;
    assert_eq!(
        app.post("/api/patients/me/reports", &doctor, body)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_audit_trail_shows_who_read_the_record() {
    let app = app().await;
    let visit = visit(&app).await;
    app.get(
        &format!("/api/patients/{}/records", visit.patient),
        &visit.doctor_token,
    )
    .await;
    app.clock.advance(Duration::minutes(1));
    let (_, stranger) = app.account("doctor", "doc2@clinic.test").await;
    app.get(
        &format!("/api/patients/{}/records", visit.patient),
        &stranger,
    )
    .await;

    let trail = app
        .get("/api/patients/me/audit", &visit.patient_token)
        .await
        .json();
    let entries = trail["items"].as_array().unwrap();
    let reads: Vec<_> = entries
        .iter()
        .filter(|entry| entry["action"] == "read_record")
        .collect();
    assert_eq!(reads.len(), 2);
    assert_eq!(reads[0]["outcome"], "denied");
    assert_eq!(reads[1]["outcome"], "allowed");
    assert_eq!(reads[1]["actor_id"], visit.doctor.as_str());
    assert_eq!(reads[1]["actor_role"], "doctor");
    assert!(entries
        .iter()
        .any(|entry| entry["action"] == "book_appointment"));

    assert_eq!(
        app.get("/api/patients/me/audit", &visit.doctor_token)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let admin = app.login(ADMIN).await;
    let all = app.get("/api/admin/audit?limit=2", &admin).await.json();
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    assert!(all["next_cursor"].is_string());
    let reply = app.get("/api/admin/audit", &visit.patient_token).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::FORBIDDEN, "forbidden".to_owned())
    );
}

#[tokio::test]
async fn admins_see_no_phone_numbers_or_dates_of_birth() {
    let app = app().await;
    let contact = json!({"phone": "+49 30 1234567", "birth_date": "1980-04-02"});
    let patient = app.register("patient", "ann@example.test", contact).await;
    let own = app
        .get("/api/me", &app.login("ann@example.test").await)
        .await
        .json();
    assert_eq!(own["phone"], "+49301234567");
    let admin = app.login(ADMIN).await;

    let listed = app
        .get("/api/admin/users?role=patient", &admin)
        .await
        .json();
    let deactivated = app
        .post(
            &format!("/api/admin/users/{patient}/deactivate"),
            &admin,
            json!({}),
        )
        .await
        .json();

    let account = &listed["items"][0];
    assert_eq!(account["id"], patient.as_str());
    for shown in [account, &deactivated] {
        assert!(shown.get("phone").is_none(), "{shown}");
        assert!(shown.get("birth_date").is_none(), "{shown}");
    }
}

#[tokio::test]
async fn admins_list_and_deactivate_accounts() {
    let app = app().await;
    let (patient, token) = app.account("patient", "ann@example.test").await;
    app.account("doctor", "doc@clinic.test").await;
    let admin = app.login(ADMIN).await;
    let all = app.get("/api/admin/users", &admin).await.json();
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    let doctors = app.get("/api/admin/users?role=doctor", &admin).await.json();
    assert_eq!(doctors["items"].as_array().unwrap().len(), 1);
    assert_eq!(doctors["items"][0]["specialty"], "Cardiology");
    assert_eq!(
        app.get("/api/admin/users?status=asleep", &admin)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.get("/api/admin/users", &token).await.status,
        StatusCode::FORBIDDEN
    );

    let reply = app
        .post(
            &format!("/api/admin/users/{patient}/deactivate"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["status"], "deactivated");
    assert_eq!(
        app.get("/api/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );

    let me = app.get("/api/me", &admin).await.json();
    let own = format!("/api/admin/users/{}/deactivate", me["id"].as_str().unwrap());
    assert_eq!(
        app.post(&own, &admin, json!({})).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn login_is_rate_limited_per_account() {
    let app = app_with(limited(3, 0), settings(false)).await;
    app.register("patient", "ann@example.test", json!({})).await;
    let attempt = json!({"email": "ann@example.test", "password": "wrong password!!"});
    for address in [[10, 0, 0, 1], [10, 0, 0, 2], [10, 0, 0, 3]] {
        let request = login_request(&attempt);
        assert_eq!(
            app.send_from(request, address).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let reply = app.send_from(login_request(&attempt), [10, 0, 0, 4]).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.code(), "rate_limited");
    assert!(reply.headers.contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn login_is_rate_limited_per_client_address() {
    let app = app_with(limited(0, 2), settings(false)).await;
    for email in ["a@example.test", "b@example.test"] {
        let request = login_request(&json!({"email": email, "password": PASSWORD}));
        assert_eq!(
            app.send_from(request, [10, 0, 0, 9]).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let request = login_request(&json!({"email": "c@example.test", "password": PASSWORD}));
    assert_eq!(
        app.send_from(request, [10, 0, 0, 9]).await.code(),
        "rate_limited"
    );
    let request = login_request(&json!({"email": "c@example.test", "password": PASSWORD}));
    assert_eq!(
        app.send_from(request, [10, 0, 0, 10]).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn behind_a_proxy_the_address_limit_counts_each_forwarded_client() {
    let config = WebConfig {
        client_address: ClientIpSource::RightmostXForwardedFor,
        ..limited(0, 2)
    };
    let app = app_with(config, settings(false)).await;
    let proxy = [10, 0, 0, 1];
    let from = |client: &str, email: &str| {
        let mut request = login_request(&json!({"email": email, "password": PASSWORD}));
        let forwarded = format!("198.51.100.7, {client}").parse().unwrap();
        request.headers_mut().insert("x-forwarded-for", forwarded);
        request
    };

    for email in ["a@example.test", "b@example.test"] {
        let reply = app.send_from(from("203.0.113.5", email), proxy).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let over = app
        .send_from(from("203.0.113.5", "c@example.test"), proxy)
        .await;
    assert_eq!(over.code(), "rate_limited");
    let other_client = app
        .send_from(from("203.0.113.6", "c@example.test"), proxy)
        .await;
    assert_eq!(other_client.status, StatusCode::UNAUTHORIZED);
}

fn login_request(body: &serde_json::Value) -> Request<Body> {
    Request::post("/api/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let app = app().await;
    let huge = json!({"name": "x".repeat(200 * 1024), "email": "a@b.test", "password": PASSWORD, "role": "patient"});
    let reply = app
        .api(Method::POST, "/api/register", None, Some(huge))
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.code(), "too_large");
}

#[tokio::test]
async fn openapi_documents_every_route_and_healthz_answers() {
    let app = app().await;
    let request = Request::get("/api/openapi.json")
        .body(Body::empty())
        .unwrap();
    let document = app.send(request).await.json();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    let expected = [
        ("/api/register", "post"),
        ("/api/login", "post"),
        ("/api/logout", "post"),
        ("/api/me", "get"),
        ("/api/me", "patch"),
        ("/api/doctors", "get"),
        ("/api/doctors/{id}/slots", "get"),
        ("/api/doctors/{id}/schedule", "get"),
        ("/api/doctors/me/schedule", "put"),
        ("/api/appointments", "post"),
        ("/api/appointments", "get"),
        ("/api/appointments/{id}/cancel", "post"),
        ("/api/appointments/{id}/reschedule", "post"),
        ("/api/appointments/{id}/no-show", "post"),
        ("/api/appointments/{id}/diagnosis", "post"),
        ("/api/patients/{id}/records", "get"),
        ("/api/patients/me/reports", "post"),
        ("/api/patients/me/audit", "get"),
        ("/api/admin/audit", "get"),
        ("/api/admin/users", "get"),
        ("/api/admin/users/{id}/deactivate", "post"),
        ("/api/admin/doctors/{id}/approve", "post"),
        ("/healthz", "get"),
    ];
    for (path, method) in expected {
        assert!(
            paths.get(path).and_then(|item| item.get(method)).is_some(),
            "{method} {path}"
        );
    }
    assert!(document["components"]["securitySchemes"]["bearer"].is_object());

    let reply = app
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["status"], "ok");
    let reply = app
        .send(Request::get("/api/login").body(Body::empty()).unwrap())
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed".to_owned()
        )
    );
    let reply = app
        .send(
            Request::get("/api/nothing-here")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::NOT_FOUND, "not_found".to_owned())
    );
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_a_request_id() {
    let app = app().await;
    let reply = app
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    let csp = reply.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"));
    assert_eq!(reply.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(reply.headers[header::X_FRAME_OPTIONS], "DENY");
    assert!(reply.headers.contains_key("x-request-id"));
}
