//! The conformance cases. Each checks one behaviour on a fresh store; the names say which.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use secrecy::ExposeSecret;

use super::harness::{Harness, PASSWORD};
use crate::clock::Clock as _;
use crate::error::{BookingRefusal, ConflictKind, Entity, Error, StoreError};
use crate::id::{AppointmentId, DoctorId, PatientId, UserId};
use crate::model::{
    AccountStatus, Appointment, AppointmentStatus, AuditAction, AuditOutcome, Lease, ReportKind,
    Role, Session,
};
use crate::schedule::{BookingRules, LocalInterval, Schedule, WeeklyHours};
use crate::service::hash_token;
use crate::store::{Effects, PageRequest, Store, UserFilter};
use crate::text::ClinicalText;
use crate::{
    AppointmentFilter, DiagnosisInput, NewAccount, PrescriptionInput, ReportInput, Settings,
};

fn refusal<T: std::fmt::Debug>(result: crate::Result<T>) -> BookingRefusal {
    match result {
        Err(Error::Booking(refusal)) => refusal,
        other => panic!("expected a booking refusal, got {other:?}"),
    }
}

fn diagnosis() -> DiagnosisInput {
    DiagnosisInput {
        diagnosis: "Acute bronchitis".into(),
        code: Some("J20.9".into()),
        treatment_plan: "Rest, fluids, review in one week".into(),
        prescriptions: vec![PrescriptionInput {
            drug: "Paracetamol".into(),
            dose: "500 mg".into(),
            frequency: "every 6 hours".into(),
            duration: "5 days".into(),
        }],
    }
}

fn report() -> ReportInput {
    ReportInput {
        kind: ReportKind::Measurement,
        title: "Blood pressure".into(),
        body: "135/85 in the morning".into(),
        observed_at: Some(Harness::start()),
    }
}

// ----- accounts and sessions -----

/// Registering and logging in yields a principal the session token resolves to.
pub async fn registration_then_login_gives_the_principal(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let email = h.email("Ann");
    let account = NewAccount {
        name: "Ann Example".into(),
        email: email.clone(),
        password: PASSWORD.into(),
        role: Some(Role::Patient),
        ..NewAccount::default()
    };
    let profile = h.clinic.register(account).await.unwrap();
    assert_eq!(profile.email.as_ref(), email.to_lowercase());

    let session = h
        .clinic
        .login(&email.to_uppercase(), PASSWORD)
        .await
        .unwrap();
    assert_eq!(session.principal.user_id(), profile.id);
    assert_eq!(session.principal.role(), Role::Patient);
    let resolved = h
        .clinic
        .authenticate(session.token.expose_secret())
        .await
        .unwrap();
    assert_eq!(resolved, session.principal);
}

/// Two emails that differ only in letter case name one account.
pub async fn emails_are_unique_whatever_their_case(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let email = h.email("Bea");
    let account = |email: String| NewAccount {
        name: "Bea Example".into(),
        email,
        password: PASSWORD.into(),
        role: Some(Role::Patient),
        ..NewAccount::default()
    };
    h.clinic.register(account(email.clone())).await.unwrap();
    let again = h.clinic.register(account(email.to_uppercase())).await;
    assert!(matches!(again, Err(Error::EmailTaken)), "{again:?}");
}

/// 32 concurrent registrations of one email, in different letter cases, create one account.
pub async fn concurrent_registrations_of_one_email_create_one_account(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let email = h.email("race");
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let clinic = h.clinic.clone();
            let email = if i % 2 == 0 {
                email.to_uppercase()
            } else {
                email.to_lowercase()
            };
            tokio::spawn(async move {
                let account = NewAccount {
                    name: format!("Racer {i}"),
                    email,
                    password: PASSWORD.into(),
                    role: Some(Role::Patient),
                    ..NewAccount::default()
                };
                clinic.register(account).await
            })
        })
        .collect();

    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(Error::EmailTaken) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(created, 1);
    let patients = h
        .store
        .list_users(UserFilter::default(), PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(patients.items.len(), 1);
}

/// An unknown email and a wrong password fail the same way.
pub async fn unknown_email_and_wrong_password_are_indistinguishable(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let patient = h.patient().await;
    let email = h.clinic.me(&patient).await.unwrap().email;

    let wrong_password = h
        .clinic
        .login(email.as_ref(), "not the right password")
        .await;
    let unknown_email = h.clinic.login("nobody@example.org", PASSWORD).await;
    let (Err(a), Err(b)) = (wrong_password, unknown_email) else {
        panic!("both logins must fail");
    };
    assert!(matches!(a, Error::Unauthorized) && matches!(b, Error::Unauthorized));
    assert_eq!(a.to_string(), b.to_string());
}

/// Using a session slides its end forward; an idle one ends and is removed.
pub async fn sessions_slide_and_then_expire(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let patient = h.patient().await;
    let email = h.clinic.me(&patient).await.unwrap().email;
    let session = h.clinic.login(email.as_ref(), PASSWORD).await.unwrap();
    let token = session.token.expose_secret().to_owned();

    h.clock.advance(Duration::minutes(20));
    h.clinic
        .authenticate(&token)
        .await
        .expect("still within the idle window");
    h.clock.advance(Duration::minutes(20));
    h.clinic
        .authenticate(&token)
        .await
        .expect("the last use slid the end forward");
    h.clock.advance(Duration::minutes(31));
    assert!(matches!(
        h.clinic.authenticate(&token).await,
        Err(Error::Unauthorized)
    ));
    assert!(h
        .store
        .session(&hash_token(&token))
        .await
        .unwrap()
        .is_none());
}

/// Logging out ends the session; logging out again is harmless.
pub async fn logout_revokes_the_session(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let patient = h.patient().await;
    let email = h.clinic.me(&patient).await.unwrap().email;
    let session = h.clinic.login(email.as_ref(), PASSWORD).await.unwrap();
    let token = session.token.expose_secret().to_owned();

    h.clinic.logout(&token).await.unwrap();
    assert!(matches!(
        h.clinic.authenticate(&token).await,
        Err(Error::Unauthorized)
    ));
    h.clinic.logout(&token).await.unwrap();
}

/// Purging removes expired sessions and keeps live ones.
pub async fn purge_removes_only_expired_sessions(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let patient = h.patient().await;
    let email = h.clinic.me(&patient).await.unwrap().email;
    let first = h.clinic.login(email.as_ref(), PASSWORD).await.unwrap();
    h.clock.advance(Duration::minutes(20));
    let second = h.clinic.login(email.as_ref(), PASSWORD).await.unwrap();
    h.clock.advance(Duration::minutes(15));

    let purged = h.clinic.purge_expired_sessions().await.unwrap();
    assert!(
        purged >= 1,
        "the first session and the harness's own login expired"
    );
    let first_hash = hash_token(first.token.expose_secret());
    assert!(h.store.session(&first_hash).await.unwrap().is_none());
    h.clinic
        .authenticate(second.token.expose_secret())
        .await
        .unwrap();
}

/// Purges racing each other remove every expired session once and count it once between
/// them, and leave live sessions alone.
pub async fn concurrent_purges_count_each_expired_session_once(store: Arc<dyn Store>) {
    let h = Harness::new(store.clone());
    let patient = h.patient().await.user_id();
    let now = h.clock.now();
    let session = |index: usize, expires_at| Session {
        token_hash: hash_token(&format!("racing-purges-{index}")),
        user_id: patient,
        created_at: now - Duration::hours(2),
        last_seen_at: now - Duration::hours(2),
        expires_at,
    };
    let expired: Vec<_> = (0..12)
        .map(|index| session(index, now - Duration::minutes(5)))
        .collect();
    let live: Vec<_> = (12..15)
        .map(|index| session(index, now + Duration::hours(1)))
        .collect();
    for one in expired.iter().chain(&live) {
        store.insert_session(one).await.unwrap();
    }

    let purges: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.purge_expired_sessions(now).await })
        })
        .collect();
    let mut counted = 0;
    for purge in purges {
        counted += purge.await.unwrap().unwrap();
    }

    assert_eq!(counted, 12, "each expired session is counted exactly once");
    for one in &expired {
        assert!(store.session(&one.token_hash).await.unwrap().is_none());
    }
    for one in &live {
        assert!(store.session(&one.token_hash).await.unwrap().is_some());
    }
}

/// A self-registered doctor can't be booked or listed until an admin approves them.
pub async fn pending_doctors_are_unbookable_until_approved(store: Arc<dyn Store>) {
    let h = Harness::new(store.clone());
    let strict = crate::MedTrack::with_clock(
        store,
        Settings {
            auto_approve_doctors: false,
            password_params: crate::password::PasswordParams::INSECURE_FAST,
            ..Settings::default()
        },
        h.clock.clone(),
    )
    .unwrap();
    let email = h.email("pending");
    let profile = strict
        .register(NewAccount {
            name: "Dr Pending".into(),
            email,
            password: PASSWORD.into(),
            role: Some(Role::Doctor),
            specialty: Some("Dermatology".into()),
            ..NewAccount::default()
        })
        .await
        .unwrap();
    assert_eq!(profile.status, AccountStatus::PendingApproval);
    let doctor_id = profile.id.as_doctor();
    let patient = h.patient().await;
    let request = || crate::BookingRequest {
        doctor_id,
        start: Harness::at(1, 10, 0),
        slots: 1,
        reason: "rash".into(),
    };

    let listed = h
        .clinic
        .doctors(&patient, PageRequest::first(50))
        .await
        .unwrap();
    assert!(listed.items.iter().all(|doctor| doctor.id != doctor_id));
    let refused = h.clinic.book(&patient, request()).await;
    assert!(
        matches!(refused, Err(Error::NotFound(Entity::User))),
        "{refused:?}"
    );

    let admin = h.admin().await;
    h.clinic.approve_doctor(&admin, doctor_id).await.unwrap();
    h.clinic
        .book(&patient, request())
        .await
        .expect("approved doctors are bookable");
}

/// A deactivated account can't sign in, and its open sessions stop working.
pub async fn deactivated_accounts_cannot_sign_in_and_lose_their_sessions(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let patient = h.patient().await;
    let email = h.clinic.me(&patient).await.unwrap().email;
    let session = h.clinic.login(email.as_ref(), PASSWORD).await.unwrap();
    let admin = h.admin().await;

    h.clinic
        .deactivate_user(&admin, patient.user_id())
        .await
        .unwrap();
    let resolved = h.clinic.authenticate(session.token.expose_secret()).await;
    assert!(matches!(resolved, Err(Error::Unauthorized)));
    let login = h.clinic.login(email.as_ref(), PASSWORD).await;
    assert!(matches!(login, Err(Error::Unauthorized)));
}

/// Unknown ids give `NotFound`, at the store and through the service.
pub async fn unknown_ids_are_not_found(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let patient = h.patient().await;
    let missing_user = h.store.user(UserId::new()).await;
    assert!(matches!(
        missing_user,
        Err(StoreError::NotFound {
            entity: Entity::User,
            ..
        })
    ));
    let missing_appointment = h.store.appointment(AppointmentId::new()).await;
    assert!(matches!(
        missing_appointment,
        Err(StoreError::NotFound {
            entity: Entity::Appointment,
            ..
        })
    ));
    let cancel = h.clinic.cancel(&patient, AppointmentId::new()).await;
    assert!(matches!(cancel, Err(Error::NotFound(Entity::Appointment))));
}

/// An account update decided on an old version is refused.
pub async fn stale_account_updates_are_refused(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let patient = h.patient().await;
    let mut user = h.store.user(patient.user_id()).await.unwrap();
    let read_version = user.version;
    user.version += 1;
    h.store.update_user(&user, read_version).await.unwrap();

    let stale = h.store.update_user(&user, read_version).await;
    assert!(
        matches!(stale, Err(StoreError::Conflict(ConflictKind::StaleVersion))),
        "{stale:?}"
    );
    let missing = {
        let mut ghost = user.clone();
        ghost.id = UserId::new();
        h.store.update_user(&ghost, 1).await
    };
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
}

/// Listing accounts page by page yields each once, ordered by email.
pub async fn account_pages_are_ordered_and_complete(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    for _ in 0..7 {
        h.patient().await;
    }
    h.doctor().await;
    let filter = UserFilter {
        role: Some(Role::Patient),
        status: None,
    };

    let mut emails = Vec::new();
    let mut page = PageRequest::first(3);
    loop {
        let listed = h.store.list_users(filter, page.clone()).await.unwrap();
        assert!(listed.items.len() <= 3);
        emails.extend(
            listed
                .items
                .iter()
                .map(|user| user.email.as_ref().to_owned()),
        );
        match listed.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }
    let mut sorted = emails.clone();
    sorted.sort();
    assert_eq!(emails, sorted);
    assert_eq!(emails.len(), 7);
}

// ----- booking -----

/// A booked slot no longer appears among the doctor's free slots.
pub async fn a_booked_slot_leaves_the_free_list(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (doctor, patient) = (h.doctor().await, h.patient().await);
    let doctor_id = Harness::doctor_id(&doctor);
    let (from, to) = (Harness::at(1, 0, 0), Harness::at(2, 0, 0));

    let before = h
        .clinic
        .free_slots(&patient, doctor_id, from, to)
        .await
        .unwrap();
    assert_eq!(before.len(), 16, "09:00-17:00 in 30-minute slots");
    let booked = h
        .book(&patient, &doctor, Harness::at(1, 10, 0))
        .await
        .unwrap();
    assert_eq!(booked.status, AppointmentStatus::Booked);
    assert_eq!(booked.end, Harness::at(1, 10, 30));

    let after = h
        .clinic
        .free_slots(&patient, doctor_id, from, to)
        .await
        .unwrap();
    assert_eq!(after.len(), 15);
    assert!(after.iter().all(|slot| slot.start != booked.start));
}

/// Booking a slot someone holds gives `SlotTaken`.
pub async fn booking_a_taken_slot_is_refused(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (doctor, first, second) = (h.doctor().await, h.patient().await, h.patient().await);
    h.book(&first, &doctor, Harness::at(1, 10, 0))
        .await
        .unwrap();
    let again = h.book(&second, &doctor, Harness::at(1, 10, 0)).await;
    assert_eq!(refusal(again), BookingRefusal::SlotTaken);
    let overlapping = h
        .book_slots(&second, &doctor, Harness::at(1, 9, 30), 2)
        .await;
    assert_eq!(refusal(overlapping), BookingRefusal::SlotTaken);
}

/// A store refuses an appointment naming an account it does not hold, as `NotFound` for
/// that account (the doctor's first), and stores nothing of it.
pub async fn bookings_naming_unknown_accounts_are_not_found(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let doctor = Harness::doctor_id(&h.doctor().await);
    let patient_principal = h.patient().await;
    let patient = patient_principal.user_id().as_patient();
    let start = Harness::at(1, 10, 0);
    let visit = |doctor_id, patient_id| Appointment {
        id: AppointmentId::new(),
        doctor_id,
        patient_id,
        start,
        end: start + Duration::minutes(30),
        buffer_before_minutes: 0,
        buffer_after_minutes: 0,
        reason: ClinicalText::parse("Checking the store's references").unwrap(),
        status: AppointmentStatus::Booked,
        created_at: h.clock.now(),
        updated_at: h.clock.now(),
        cancelled_at: None,
        version: 1,
    };
    let (stranger_doctor, stranger_patient) = (DoctorId::new(), PatientId::new());
    let cases = [
        (
            visit(doctor, stranger_patient),
            stranger_patient.to_string(),
        ),
        (visit(stranger_doctor, patient), stranger_doctor.to_string()),
        (
            visit(stranger_doctor, stranger_patient),
            stranger_doctor.to_string(),
        ),
    ];

    for (appointment, missing) in cases {
        let refused = h.store.book(&appointment, Effects::default()).await;
        match refused {
            Err(StoreError::NotFound {
                entity: Entity::User,
                id,
            }) => assert_eq!(id, missing),
            other => panic!("expected NotFound for {missing}, got {other:?}"),
        }
        let stored = h.store.appointment(appointment.id).await;
        assert!(
            matches!(stored, Err(StoreError::NotFound { .. })),
            "{stored:?}"
        );
    }
    let free = h
        .clinic
        .free_slots(
            &patient_principal,
            doctor,
            start,
            start + Duration::hours(1),
        )
        .await;
    assert!(
        free.unwrap().iter().any(|slot| slot.start == start),
        "the time stays free"
    );
}

/// 64 patients racing for one slot: exactly one wins, 63 get `SlotTaken`.
pub async fn concurrent_bookings_of_one_slot_let_exactly_one_win(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let doctor = h.doctor().await;
    let mut patients = Vec::new();
    for _ in 0..64 {
        patients.push(h.patient().await);
    }
    let start = Harness::at(1, 11, 0);

    let tasks: Vec<_> = patients
        .into_iter()
        .map(|patient| {
            let h = h.clone();
            tokio::spawn(async move { h.book(&patient, &doctor, start).await })
        })
        .collect();
    let (mut won, mut taken) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(Error::Booking(BookingRefusal::SlotTaken)) => taken += 1,
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!((won, taken), (1, 63));
    let booked = h
        .store
        .booked_for_doctor(
            Harness::doctor_id(&doctor),
            Harness::at(1, 0, 0),
            Harness::at(2, 0, 0),
        )
        .await
        .unwrap();
    assert_eq!(booked.len(), 1);
}

/// A patient can't hold overlapping appointments with two doctors.
pub async fn a_patient_cannot_overlap_appointments_with_two_doctors(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (first, second, patient) = (h.doctor().await, h.doctor().await, h.patient().await);
    h.book(&patient, &first, Harness::at(1, 10, 0))
        .await
        .unwrap();
    let clash = h.book(&patient, &second, Harness::at(1, 10, 0)).await;
    assert_eq!(refusal(clash), BookingRefusal::PatientBusy);
    h.book(&patient, &second, Harness::at(1, 10, 30))
        .await
        .expect("the next slot does not overlap");
}

/// One patient racing to book eight doctors at the same time gets exactly one.
pub async fn concurrent_bookings_of_one_patient_across_doctors_let_one_win(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let patient = h.patient().await;
    let mut doctors = Vec::new();
    for _ in 0..8 {
        doctors.push(h.doctor().await);
    }
    let start = Harness::at(1, 14, 0);

    let tasks: Vec<_> = doctors
        .into_iter()
        .map(|doctor| {
            let h = h.clone();
            tokio::spawn(async move { h.book(&patient, &doctor, start).await })
        })
        .collect();
    let (mut won, mut busy) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(Error::Booking(BookingRefusal::PatientBusy)) => busy += 1,
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!((won, busy), (1, 7));
}

/// A cancelled appointment's time can be booked again straight away.
pub async fn cancelling_frees_the_time_at_once(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (doctor, first, second) = (h.doctor().await, h.patient().await, h.patient().await);
    let booked = h
        .book(&first, &doctor, Harness::at(1, 10, 0))
        .await
        .unwrap();

    let cancelled = h.clinic.cancel(&first, booked.id).await.unwrap();
    assert_eq!(cancelled.status, AppointmentStatus::Cancelled);
    assert_eq!(cancelled.version, booked.version + 1);
    h.book(&second, &doctor, Harness::at(1, 10, 0))
        .await
        .expect("cancelled time is free");
    let twice = h.clinic.cancel(&first, booked.id).await;
    assert_eq!(refusal(twice), BookingRefusal::WrongStatus);
}

/// Rescheduling frees the old time and holds the new, also when the two overlap.
pub async fn rescheduling_moves_the_claim(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (doctor, patient, other) = (h.doctor().await, h.patient().await, h.patient().await);
    let booked = h
        .book(&patient, &doctor, Harness::at(1, 10, 0))
        .await
        .unwrap();

    let moved = h
        .clinic
        .reschedule(&patient, booked.id, Harness::at(1, 11, 0))
        .await
        .unwrap();
    assert_eq!(
        (moved.start, moved.end),
        (Harness::at(1, 11, 0), Harness::at(1, 11, 30))
    );
    assert_eq!(h.store.appointment(booked.id).await.unwrap(), moved);
    let taken = h.book(&other, &doctor, Harness::at(1, 11, 0)).await;
    assert_eq!(refusal(taken), BookingRefusal::SlotTaken);
    h.book(&other, &doctor, Harness::at(1, 10, 0))
        .await
        .expect("the old time is free");

    let long = h
        .book_slots(&patient, &doctor, Harness::at(1, 13, 0), 2)
        .await
        .unwrap();
    let shifted = h
        .clinic
        .reschedule(&patient, long.id, Harness::at(1, 13, 30))
        .await
        .unwrap();
    assert_eq!(shifted.end, Harness::at(1, 14, 30));
    h.book(&other, &doctor, Harness::at(1, 13, 0))
        .await
        .expect("the released half is free");
}

/// Rescheduling onto someone else's time fails and keeps the old time held.
pub async fn rescheduling_onto_taken_time_keeps_the_old_time(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (doctor, a, b, c) = (
        h.doctor().await,
        h.patient().await,
        h.patient().await,
        h.patient().await,
    );
    let mine = h.book(&a, &doctor, Harness::at(1, 10, 0)).await.unwrap();
    h.book(&b, &doctor, Harness::at(1, 11, 0)).await.unwrap();

    let refused = h
        .clinic
        .reschedule(&a, mine.id, Harness::at(1, 11, 0))
        .await;
    assert_eq!(refusal(refused), BookingRefusal::SlotTaken);
    assert_eq!(h.store.appointment(mine.id).await.unwrap(), mine);
    let still_held = h.book(&c, &doctor, Harness::at(1, 10, 0)).await;
    assert_eq!(refusal(still_held), BookingRefusal::SlotTaken);
}

/// A reschedule racing a booking for the same target: one wins, nothing is held twice and
/// nothing is lost.
pub async fn rescheduling_racing_a_booking_holds_no_time_twice(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let doctor = h.doctor().await;
    let doctor_id = Harness::doctor_id(&doctor);
    for day in [1, 2, 3, 4, 7, 8] {
        let (mover, rival) = (h.patient().await, h.patient().await);
        let old = Harness::at(day, 9, 0);
        let target = Harness::at(day, 15, 0);
        let held = h.book(&mover, &doctor, old).await.unwrap();

        let move_task = {
            let h = h.clone();
            tokio::spawn(async move { h.clinic.reschedule(&mover, held.id, target).await })
        };
        let book_task = {
            let h = h.clone();
            tokio::spawn(async move { h.book(&rival, &doctor, target).await })
        };
        let (moved, booked) = (move_task.await.unwrap(), book_task.await.unwrap());
        assert!(
            moved.is_ok() != booked.is_ok(),
            "exactly one wins: {moved:?} / {booked:?}"
        );

        let day = h
            .store
            .booked_for_doctor(
                doctor_id,
                Harness::at(day, 0, 0),
                Harness::at(day + 1, 0, 0),
            )
            .await
            .unwrap();
        let starts: Vec<_> = day.iter().map(|appointment| appointment.start).collect();
        if moved.is_ok() {
            assert_eq!(starts, vec![target], "the old time was released");
        } else {
            assert_eq!(starts, vec![old, target], "the old time is still held");
        }
    }
}

/// Buffers keep appointments at least the after-buffer plus the before-buffer apart.
pub async fn buffers_keep_appointments_apart(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let rules = BookingRules {
        buffer_before_minutes: 10,
        buffer_after_minutes: 10,
        ..BookingRules::default()
    };
    let doctor = h.doctor_with_rules(rules).await;
    let (a, b) = (h.patient().await, h.patient().await);
    h.book(&a, &doctor, Harness::at(1, 10, 0)).await.unwrap();

    assert_eq!(
        refusal(h.book(&b, &doctor, Harness::at(1, 10, 30)).await),
        BookingRefusal::SlotTaken
    );
    assert_eq!(
        refusal(h.book(&b, &doctor, Harness::at(1, 9, 30)).await),
        BookingRefusal::SlotTaken
    );
    h.book(&b, &doctor, Harness::at(1, 11, 0))
        .await
        .expect("20 minutes apart is enough");

    let free = h
        .clinic
        .free_slots(
            &b,
            Harness::doctor_id(&doctor),
            Harness::at(1, 0, 0),
            Harness::at(2, 0, 0),
        )
        .await
        .unwrap();
    for blocked in [
        Harness::at(1, 9, 30),
        Harness::at(1, 10, 0),
        Harness::at(1, 10, 30),
        Harness::at(1, 11, 0),
    ] {
        assert!(
            free.iter().all(|slot| slot.start != blocked),
            "{blocked} must not be offered"
        );
    }
    assert!(free.iter().any(|slot| slot.start == Harness::at(1, 9, 0)));
}

/// Booking outside the rules is refused with the reason.
pub async fn booking_rules_refuse_with_typed_reasons(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let rules = BookingRules {
        min_notice_hours: 24,
        horizon_days: 14,
        ..BookingRules::default()
    };
    let doctor = h.doctor_with_rules(rules).await;
    let patient = h.patient().await;
    let cases = [
        (Harness::at(0, 10, 0), BookingRefusal::TooSoon),
        (Harness::at(-7, 10, 0), BookingRefusal::TooSoon),
        (Harness::at(21, 10, 0), BookingRefusal::BeyondHorizon),
        (Harness::at(1, 8, 0), BookingRefusal::OutsideWorkingHours),
        (Harness::at(1, 9, 10), BookingRefusal::OutsideWorkingHours),
        (Harness::at(5, 10, 0), BookingRefusal::OutsideWorkingHours),
        (Harness::at(1, 16, 45), BookingRefusal::OutsideWorkingHours),
    ];
    for (start, expected) in cases {
        assert_eq!(
            refusal(h.book(&patient, &doctor, start).await),
            expected,
            "at {start}"
        );
    }
    let zero = h
        .book_slots(&patient, &doctor, Harness::at(1, 10, 0), 0)
        .await;
    assert!(
        matches!(zero, Err(Error::Invalid(ref err)) if err.field() == "slots"),
        "{zero:?}"
    );
    let past_end = h
        .book_slots(&patient, &doctor, Harness::at(1, 16, 30), 2)
        .await;
    assert_eq!(refusal(past_end), BookingRefusal::OutsideWorkingHours);
    h.book(&patient, &doctor, Harness::at(1, 9, 0))
        .await
        .expect("27 hours ahead is fine");
}

/// Patients may not cancel or move inside the notice period; doctors may always cancel.
pub async fn patients_respect_the_cancellation_notice_and_doctors_may_always_cancel(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store);
    let rules = BookingRules {
        cancel_notice_hours: 24,
        ..BookingRules::default()
    };
    let doctor = h.doctor_with_rules(rules).await;
    let patient = h.patient().await;
    let booked = h
        .book(&patient, &doctor, Harness::at(1, 9, 0))
        .await
        .unwrap();
    h.clock.advance(Duration::hours(4));

    assert_eq!(
        refusal(h.clinic.cancel(&patient, booked.id).await),
        BookingRefusal::TooLate
    );
    let moved = h
        .clinic
        .reschedule(&patient, booked.id, Harness::at(2, 9, 0))
        .await;
    assert_eq!(refusal(moved), BookingRefusal::TooLate);
    let cancelled = h.clinic.cancel(&doctor, booked.id).await.unwrap();
    assert_eq!(cancelled.status, AppointmentStatus::Cancelled);
}

/// Changing hours keeps existing bookings, refuses new ones outside, and lists the misfits.
pub async fn schedule_changes_keep_bookings_and_list_those_outside(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (doctor, patient) = (h.doctor().await, h.patient().await);
    let late = h
        .book(&patient, &doctor, Harness::at(1, 16, 0))
        .await
        .unwrap();
    let early = h
        .book(&patient, &doctor, Harness::at(2, 9, 0))
        .await
        .unwrap();
    let morning = LocalInterval::parse("09:00", "12:00").unwrap();
    let weekly = WeeklyHours::weekdays(&[morning]).unwrap();
    let day_off = NaiveDate::from_ymd_opt(2027, 1, 6).unwrap();
    let schedule = Schedule::new(
        chrono_tz::Tz::UTC,
        30,
        weekly,
        [day_off].into_iter().collect(),
        BookingRules::default(),
    )
    .unwrap();
    h.set_schedule(&doctor, schedule).await;

    assert_eq!(
        h.store.appointment(late.id).await.unwrap().status,
        AppointmentStatus::Booked
    );
    let outside = h.clinic.bookings_outside_hours(&doctor).await.unwrap();
    let ids: Vec<_> = outside.iter().map(|appointment| appointment.id).collect();
    assert_eq!(
        ids,
        vec![late.id, early.id],
        "after hours, and on the new day off"
    );
    let refused = h.book(&patient, &doctor, Harness::at(1, 16, 30)).await;
    assert_eq!(refusal(refused), BookingRefusal::OutsideWorkingHours);
}

/// Completed, no-show and cancelled appointments hold no time and are not upcoming.
pub async fn finished_appointments_never_block_and_are_not_upcoming(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (doctor, a, b) = (h.doctor().await, h.patient().await, h.patient().await);
    let seen = h.book(&a, &doctor, Harness::at(1, 9, 0)).await.unwrap();
    let missed = h.book(&b, &doctor, Harness::at(1, 9, 30)).await.unwrap();
    h.clock.set(Harness::at(1, 9, 45));

    h.clinic
        .submit_diagnosis(&doctor, seen.id, diagnosis())
        .await
        .unwrap();
    h.clinic.mark_no_show(&doctor, missed.id).await.unwrap();
    let day = (Harness::at(1, 0, 0), Harness::at(2, 0, 0));
    let booked = h
        .store
        .booked_for_doctor(Harness::doctor_id(&doctor), day.0, day.1)
        .await
        .unwrap();
    assert!(booked.is_empty());

    for finished in [seen, missed] {
        let mut rebooked = finished.clone();
        rebooked.id = AppointmentId::new();
        rebooked.version = 1;
        h.store
            .book(&rebooked, Default::default())
            .await
            .expect("a finished appointment's cells are released");
    }
    let upcoming = AppointmentFilter {
        status: Some(AppointmentStatus::Booked),
        from: Some(h.clock.now()),
        ..AppointmentFilter::default()
    };
    let listed = h
        .clinic
        .appointments(&a, upcoming, PageRequest::first(10))
        .await
        .unwrap();
    assert!(listed.items.is_empty());
}

/// Appointment lists come in start order, page after page, each item once.
pub async fn appointment_pages_are_ordered_and_stable(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (doctor, patient) = (h.doctor().await, h.patient().await);
    for day in 1..=4 {
        for hour in [9, 13] {
            h.book(&patient, &doctor, Harness::at(day, hour, 0))
                .await
                .unwrap();
        }
    }
    let collect = |ascending: bool, status: Option<AppointmentStatus>| {
        let h = h.clone();
        async move {
            let filter = AppointmentFilter {
                ascending,
                status,
                ..AppointmentFilter::default()
            };
            let mut starts = Vec::new();
            let mut page = PageRequest::first(3);
            loop {
                let listed = h
                    .clinic
                    .appointments(&patient, filter, page.clone())
                    .await
                    .unwrap();
                starts.extend(listed.items.iter().map(|appointment| appointment.start));
                match listed.next_cursor {
                    Some(cursor) => page.cursor = Some(cursor),
                    None => return starts,
                }
            }
        }
    };

    let newest_first = collect(false, None).await;
    assert_eq!(newest_first.len(), 8);
    assert!(newest_first.windows(2).all(|pair| pair[0] > pair[1]));
    let mut oldest_first = collect(true, Some(AppointmentStatus::Booked)).await;
    oldest_first.reverse();
    assert_eq!(oldest_first, newest_first);

    let window = AppointmentFilter {
        from: Some(Harness::at(2, 0, 0)),
        to: Some(Harness::at(3, 0, 0)),
        ..AppointmentFilter::default()
    };
    let listed = h
        .clinic
        .appointments(&doctor, window, PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2);
    assert!(listed.next_cursor.is_none());
}

/// A cursor no list handed out is refused as such, on every list, and through the service as
/// an invalid `cursor` field.
pub async fn foreign_cursors_are_refused(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let patient = h.patient().await;
    let foreign = PageRequest {
        cursor: Some("%not a cursor%".into()),
        limit: 5,
    };
    let query = crate::store::AppointmentQuery {
        party: crate::store::Party::Patient(patient.as_patient().unwrap()),
        status: None,
        from: None,
        to: None,
        ascending: false,
    };

    let appointments = h.store.list_appointments(&query, foreign.clone()).await;
    assert!(
        matches!(appointments, Err(StoreError::InvalidCursor)),
        "{appointments:?}"
    );
    let audit = h.store.list_audit(None, foreign.clone()).await;
    assert!(matches!(audit, Err(StoreError::InvalidCursor)), "{audit:?}");
    let users = h
        .store
        .list_users(UserFilter::default(), foreign.clone())
        .await;
    assert!(matches!(users, Err(StoreError::InvalidCursor)), "{users:?}");
    let listed = h
        .clinic
        .appointments(&patient, AppointmentFilter::default(), foreign)
        .await;
    assert!(
        matches!(listed, Err(Error::Invalid(ref err)) if err.field() == "cursor"),
        "{listed:?}"
    );
}

/// Stored instants come back to the microsecond.
pub async fn instants_round_trip_with_microsecond_precision(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (doctor, patient) = (h.doctor().await, h.patient().await);
    let precise = Harness::start() + Duration::microseconds(123_456_789);
    h.clock.set(precise);

    let booked = h
        .book(&patient, &doctor, Harness::at(1, 10, 0))
        .await
        .unwrap();
    let stored = h.store.appointment(booked.id).await.unwrap();
    assert_eq!(stored.created_at, precise);
    assert_eq!(stored, booked);
}

// ----- medical records -----

/// Only the appointment's own doctor completes it, and only once it has begun.
pub async fn a_diagnosis_completes_only_the_own_doctors_past_appointment(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (doctor, other_doctor, patient) = (h.doctor().await, h.doctor().await, h.patient().await);
    let booked = h
        .book(&patient, &doctor, Harness::at(1, 9, 0))
        .await
        .unwrap();

    let early = h
        .clinic
        .submit_diagnosis(&doctor, booked.id, diagnosis())
        .await;
    assert_eq!(refusal(early), BookingRefusal::WrongStatus);
    h.clock.set(Harness::at(1, 9, 20));
    let stranger = h
        .clinic
        .submit_diagnosis(&other_doctor, booked.id, diagnosis())
        .await;
    assert!(matches!(stranger, Err(Error::NotFound(_))), "{stranger:?}");
    let by_patient = h
        .clinic
        .submit_diagnosis(&patient, booked.id, diagnosis())
        .await;
    assert!(
        matches!(by_patient, Err(Error::Forbidden)),
        "{by_patient:?}"
    );

    let written = h
        .clinic
        .submit_diagnosis(&doctor, booked.id, diagnosis())
        .await
        .unwrap();
    assert_eq!(written.version, 1);
    let completed = h.store.appointment(booked.id).await.unwrap();
    assert_eq!(completed.status, AppointmentStatus::Completed);
}

/// Amending a diagnosis adds a version; the record shows every version, newest first.
pub async fn amended_diagnoses_keep_their_history(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (doctor, patient) = (h.doctor().await, h.patient().await);
    let booked = h
        .book(&patient, &doctor, Harness::at(1, 9, 0))
        .await
        .unwrap();
    h.clock.set(Harness::at(1, 10, 0));
    h.clinic
        .submit_diagnosis(&doctor, booked.id, diagnosis())
        .await
        .unwrap();
    h.clock.advance(Duration::hours(2));

    let amended_input = DiagnosisInput {
        diagnosis: "Community-acquired pneumonia".into(),
        ..diagnosis()
    };
    let amended = h
        .clinic
        .submit_diagnosis(&doctor, booked.id, amended_input)
        .await
        .unwrap();
    assert_eq!(amended.version, 2);
    let record = h
        .clinic
        .medical_record(&patient, patient.as_patient().unwrap())
        .await
        .unwrap();
    let versions: Vec<_> = record.diagnoses.iter().map(|d| d.version).collect();
    assert_eq!(versions, vec![2, 1]);
    assert_eq!(
        record.diagnoses[0].diagnosis.as_ref(),
        "Community-acquired pneumonia"
    );
    assert_eq!(record.diagnoses[1].prescriptions.len(), 1);
}

/// Patients add reports to their own record, and nobody else's record shows them.
pub async fn patients_add_reports_to_their_own_record_only(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (patient, other) = (h.patient().await, h.patient().await);
    let written = h.clinic.submit_report(&patient, report()).await.unwrap();

    let own = h
        .clinic
        .medical_record(&patient, patient.as_patient().unwrap())
        .await
        .unwrap();
    assert_eq!(own.reports, vec![written]);
    let theirs = h
        .clinic
        .medical_record(&other, other.as_patient().unwrap())
        .await
        .unwrap();
    assert!(theirs.reports.is_empty());
    let peek = h
        .clinic
        .medical_record(&other, patient.as_patient().unwrap())
        .await;
    assert!(matches!(peek, Err(Error::NotFound(_))), "{peek:?}");
    let doctor = h.doctor().await;
    let by_doctor = h.clinic.submit_report(&doctor, report()).await;
    assert!(matches!(by_doctor, Err(Error::Forbidden)), "{by_doctor:?}");
}

/// A doctor reads a record only with a care relationship; others get `NotFound`.
pub async fn doctors_read_records_only_with_a_care_relationship(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (doctor, stranger, patient) = (h.doctor().await, h.doctor().await, h.patient().await);
    let patient_id = patient.as_patient().unwrap();
    let before = h.clinic.medical_record(&doctor, patient_id).await;
    assert!(matches!(before, Err(Error::NotFound(_))), "{before:?}");

    h.book(&patient, &doctor, Harness::at(1, 9, 0))
        .await
        .unwrap();
    let record = h.clinic.medical_record(&doctor, patient_id).await.unwrap();
    assert_eq!(record.patient.id, patient_id);
    let denied = h.clinic.medical_record(&stranger, patient_id).await;
    assert!(matches!(denied, Err(Error::NotFound(_))), "{denied:?}");
}

/// A doctor gets the names of the patients they care for, each look-up audited, and nobody
/// else's; only doctors may ask.
pub async fn doctors_see_the_names_of_their_own_patients_only(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (doctor, mine, stranger) = (h.doctor().await, h.patient().await, h.patient().await);
    let (mine_id, stranger_id) = (mine.as_patient().unwrap(), stranger.as_patient().unwrap());
    h.book(&mine, &doctor, Harness::at(1, 9, 0)).await.unwrap();

    let names = h
        .clinic
        .patient_names(&doctor, &[mine_id, stranger_id, mine_id])
        .await
        .unwrap();
    assert_eq!(names.len(), 1);
    assert_eq!(names[&mine_id].as_ref(), "Pat Example");
    let trail = h
        .clinic
        .my_audit_trail(&mine, PageRequest::first(50))
        .await
        .unwrap();
    let lookups = trail
        .items
        .iter()
        .filter(|e| e.action == AuditAction::ViewPatientName)
        .count();
    assert_eq!(lookups, 1);
    let by_patient = h.clinic.patient_names(&mine, &[stranger_id]).await;
    assert!(
        matches!(by_patient, Err(Error::Forbidden)),
        "{by_patient:?}"
    );
}

/// An appointment cancelled before it began gives no care relationship; one cancelled
/// after it began does.
pub async fn a_cancellation_before_the_start_gives_no_care_relationship(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (early_doctor, late_doctor, patient) =
        (h.doctor().await, h.doctor().await, h.patient().await);
    let patient_id = patient.as_patient().unwrap();
    let early = h
        .book(&patient, &early_doctor, Harness::at(1, 9, 0))
        .await
        .unwrap();
    let late = h
        .book(&patient, &late_doctor, Harness::at(1, 10, 0))
        .await
        .unwrap();

    h.clinic.cancel(&patient, early.id).await.unwrap();
    h.clock.set(Harness::at(1, 10, 10));
    h.clinic.cancel(&late_doctor, late.id).await.unwrap();
    let early_read = h.clinic.medical_record(&early_doctor, patient_id).await;
    assert!(
        matches!(early_read, Err(Error::NotFound(_))),
        "{early_read:?}"
    );
    h.clinic
        .medical_record(&late_doctor, patient_id)
        .await
        .expect("the visit had begun");
}

/// Admins list, approve and deactivate accounts, but reading a clinical record is forbidden.
pub async fn admins_manage_accounts_but_read_no_clinical_record(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (admin, patient, doctor) = (h.admin().await, h.patient().await, h.doctor().await);
    let record = h
        .clinic
        .medical_record(&admin, patient.as_patient().unwrap())
        .await;
    assert!(matches!(record, Err(Error::Forbidden)), "{record:?}");

    let listed = h
        .clinic
        .accounts(&admin, UserFilter::default(), PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 3);
    for someone in [&patient, &doctor] {
        let refused = h
            .clinic
            .accounts(someone, UserFilter::default(), PageRequest::first(50))
            .await;
        assert!(matches!(refused, Err(Error::Forbidden)), "{refused:?}");
        let deactivate = h.clinic.deactivate_user(someone, admin.user_id()).await;
        assert!(
            matches!(deactivate, Err(Error::Forbidden)),
            "{deactivate:?}"
        );
    }
}

/// Allowed and denied record reads both leave audit entries; the patient sees their own
/// entries, an admin sees everyone's, and nobody else sees them.
pub async fn record_reads_are_audited_whether_allowed_or_denied(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (doctor, stranger, patient, other) = (
        h.doctor().await,
        h.doctor().await,
        h.patient().await,
        h.patient().await,
    );
    let patient_id = patient.as_patient().unwrap();
    h.book(&patient, &doctor, Harness::at(1, 9, 0))
        .await
        .unwrap();
    h.clinic.medical_record(&doctor, patient_id).await.unwrap();
    h.clinic
        .medical_record(&stranger, patient_id)
        .await
        .unwrap_err();

    let trail = h
        .clinic
        .my_audit_trail(&patient, PageRequest::first(50))
        .await
        .unwrap();
    let reads: Vec<_> = trail
        .items
        .iter()
        .filter(|entry| entry.action == AuditAction::ReadRecord)
        .map(|entry| (entry.actor_id, entry.outcome))
        .collect();
    assert!(reads.contains(&(doctor.user_id(), AuditOutcome::Allowed)));
    assert!(reads.contains(&(stranger.user_id(), AuditOutcome::Denied)));
    assert!(trail
        .items
        .iter()
        .all(|entry| entry.patient_id == patient_id));

    let admin = h.admin().await;
    let all = h
        .clinic
        .audit_log(&admin, None, PageRequest::first(200))
        .await
        .unwrap();
    assert!(all
        .items
        .iter()
        .any(|entry| entry.outcome == AuditOutcome::Denied));
    let others = h
        .clinic
        .my_audit_trail(&other, PageRequest::first(50))
        .await
        .unwrap();
    assert!(others
        .items
        .iter()
        .all(|entry| entry.patient_id == other.as_patient().unwrap()));
    let refused = h
        .clinic
        .audit_log(&doctor, None, PageRequest::first(50))
        .await;
    assert!(matches!(refused, Err(Error::Forbidden)), "{refused:?}");
}

/// Audit pages come newest first, each entry once.
pub async fn audit_pages_are_newest_first_and_stable(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let patient = h.patient().await;
    let patient_id = patient.as_patient().unwrap();
    for _ in 0..7 {
        h.clock.advance(Duration::seconds(1));
        h.clinic.medical_record(&patient, patient_id).await.unwrap();
    }
    h.clinic.medical_record(&patient, patient_id).await.unwrap();

    let mut seen = Vec::new();
    let mut page = PageRequest::first(3);
    loop {
        let listed = h
            .clinic
            .my_audit_trail(&patient, page.clone())
            .await
            .unwrap();
        seen.extend(listed.items.iter().map(|entry| (entry.at, entry.id)));
        match listed.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8);
    assert!(
        seen.windows(2).all(|pair| pair[0] > pair[1]),
        "newest first by time, then id"
    );
}

/// Appointments are seen and changed only by their own patient and doctor.
pub async fn appointment_access_follows_the_policy(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (doctor, other_doctor, patient, other_patient, admin) = (
        h.doctor().await,
        h.doctor().await,
        h.patient().await,
        h.patient().await,
        h.admin().await,
    );
    let booked = h
        .book(&patient, &doctor, Harness::at(1, 9, 0))
        .await
        .unwrap();

    for outsider in [&other_patient, &other_doctor, &admin] {
        let view = h.clinic.appointment(outsider, booked.id).await;
        assert!(
            matches!(view, Err(Error::NotFound(Entity::Appointment))),
            "{view:?}"
        );
        let cancel = h.clinic.cancel(outsider, booked.id).await;
        assert!(
            matches!(cancel, Err(Error::NotFound(Entity::Appointment))),
            "{cancel:?}"
        );
    }
    h.clinic.appointment(&patient, booked.id).await.unwrap();
    h.clinic.appointment(&doctor, booked.id).await.unwrap();
    let moved_by_doctor = h
        .clinic
        .reschedule(&doctor, booked.id, Harness::at(1, 10, 0))
        .await;
    assert!(
        matches!(moved_by_doctor, Err(Error::Forbidden)),
        "{moved_by_doctor:?}"
    );
    let no_show_by_patient = h.clinic.mark_no_show(&patient, booked.id).await;
    assert!(
        matches!(no_show_by_patient, Err(Error::Forbidden)),
        "{no_show_by_patient:?}"
    );
    let doctor_books = h.book(&doctor, &other_doctor, Harness::at(1, 11, 0)).await;
    assert!(
        matches!(doctor_books, Err(Error::Forbidden)),
        "{doctor_books:?}"
    );
    let admin_lists = h
        .clinic
        .appointments(&admin, AppointmentFilter::default(), PageRequest::first(5))
        .await;
    assert!(
        matches!(admin_lists, Err(Error::Forbidden)),
        "{admin_lists:?}"
    );
    let listed = h
        .clinic
        .appointments(
            &other_patient,
            AppointmentFilter::default(),
            PageRequest::first(5),
        )
        .await
        .unwrap();
    assert!(listed.items.is_empty());
}

/// Only a doctor edits their own schedule; anyone signed in may read a bookable one.
pub async fn schedules_are_edited_only_by_their_doctor(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (doctor, other_doctor, patient) = (h.doctor().await, h.doctor().await, h.patient().await);
    let doctor_id = Harness::doctor_id(&doctor);
    let schedule = Harness::weekday_schedule(15, BookingRules::default());

    let by_other = h
        .clinic
        .update_schedule(&other_doctor, doctor_id, schedule.clone())
        .await;
    assert!(matches!(by_other, Err(Error::NotFound(_))), "{by_other:?}");
    let by_patient = h
        .clinic
        .update_schedule(&patient, doctor_id, schedule.clone())
        .await;
    assert!(
        matches!(by_patient, Err(Error::Forbidden)),
        "{by_patient:?}"
    );
    h.clinic
        .update_schedule(&doctor, doctor_id, schedule.clone())
        .await
        .unwrap();
    assert_eq!(
        h.clinic.schedule_of(&patient, doctor_id).await.unwrap(),
        schedule
    );
}

/// The rows the other cases do not reach: doctor lists and free slots for every role,
/// approvals and audit trails outside their roles, and changes by outsiders.
pub async fn the_remaining_policy_rows_hold_for_every_role(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (doctor, other_doctor, patient, other_patient, admin) = (
        h.doctor().await,
        h.doctor().await,
        h.patient().await,
        h.patient().await,
        h.admin().await,
    );
    let doctor_id = Harness::doctor_id(&doctor);
    let booked = h
        .book(&patient, &doctor, Harness::at(1, 9, 0))
        .await
        .unwrap();
    let day = (Harness::at(2, 0, 0), Harness::at(3, 0, 0));

    for anyone in [&doctor, &patient, &admin] {
        let listed = h
            .clinic
            .doctors(anyone, PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(listed.items.len(), 2);
        let free = h
            .clinic
            .free_slots(anyone, doctor_id, day.0, day.1)
            .await
            .unwrap();
        assert_eq!(free.len(), 16);
        h.clinic
            .me(anyone)
            .await
            .expect("everyone reads their own profile");
    }
    for outsider in [&patient, &doctor] {
        let approve = h.clinic.approve_doctor(outsider, doctor_id).await;
        assert!(matches!(approve, Err(Error::Forbidden)), "{approve:?}");
    }
    for not_a_patient in [&doctor, &admin] {
        let trail = h
            .clinic
            .my_audit_trail(not_a_patient, PageRequest::first(5))
            .await;
        assert!(matches!(trail, Err(Error::Forbidden)), "{trail:?}");
    }
    let report_by_admin = h.clinic.submit_report(&admin, report()).await;
    assert!(
        matches!(report_by_admin, Err(Error::Forbidden)),
        "{report_by_admin:?}"
    );
    let schedule = Harness::weekday_schedule(30, BookingRules::default());
    let schedule_by_admin = h.clinic.update_schedule(&admin, doctor_id, schedule).await;
    assert!(
        matches!(schedule_by_admin, Err(Error::Forbidden)),
        "{schedule_by_admin:?}"
    );

    let later = Harness::at(1, 11, 0);
    for outsider in [&admin, &other_patient] {
        let moved = h.clinic.reschedule(outsider, booked.id, later).await;
        assert!(
            matches!(moved, Err(Error::NotFound(Entity::Appointment))),
            "{moved:?}"
        );
    }
    h.clock.set(Harness::at(1, 9, 10));
    for outsider in [&admin, &other_doctor] {
        let missed = h.clinic.mark_no_show(outsider, booked.id).await;
        assert!(
            matches!(missed, Err(Error::NotFound(Entity::Appointment))),
            "{missed:?}"
        );
    }
    assert_eq!(
        h.store.appointment(booked.id).await.unwrap(),
        booked,
        "nothing changed"
    );
}

// ----- notifications -----

/// Each state change writes one outbox event, in the same write; a refused change writes none.
pub async fn every_change_writes_exactly_one_event_and_refusals_none(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let pending = || async { h.store.count_pending_events().await.unwrap() };
    let (doctor, patient, rival) = (h.doctor().await, h.patient().await, h.patient().await);
    assert_eq!(pending().await, 3, "one per registration");

    let booked = h
        .book(&patient, &doctor, Harness::at(1, 9, 0))
        .await
        .unwrap();
    assert_eq!(pending().await, 4);
    h.book(&rival, &doctor, Harness::at(1, 9, 0))
        .await
        .unwrap_err();
    h.book(&rival, &doctor, Harness::at(1, 8, 0))
        .await
        .unwrap_err();
    assert_eq!(pending().await, 4, "refusals write nothing");
    h.clinic
        .reschedule(&patient, booked.id, Harness::at(1, 10, 0))
        .await
        .unwrap();
    assert_eq!(pending().await, 5);
    h.clock.set(Harness::at(1, 10, 5));
    h.clinic
        .submit_diagnosis(&doctor, booked.id, diagnosis())
        .await
        .unwrap();
    assert_eq!(pending().await, 6);
    let later = h.book(&rival, &doctor, Harness::at(2, 9, 0)).await.unwrap();
    h.clinic.cancel(&rival, later.id).await.unwrap();
    assert_eq!(pending().await, 8);

    assert_eq!(h.deliver_all().await, 8);
    assert_eq!(pending().await, 0);
    let delivered = h.notifier.delivered();
    let ids: HashSet<_> = delivered.iter().map(|event| event.id).collect();
    assert_eq!(ids.len(), 8);
    assert!(delivered
        .iter()
        .all(|event| !event.message.0.contains("cough")));
}

/// While the notifier fails, events wait with growing backoff; once it recovers each is
/// delivered once.
pub async fn a_failing_notifier_delays_delivery_and_loses_nothing(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (doctor, patient) = (h.doctor().await, h.patient().await);
    h.book(&patient, &doctor, Harness::at(1, 9, 0))
        .await
        .unwrap();
    let dispatcher = h.dispatcher("flaky");

    h.notifier.set_failing(true);
    let failed = dispatcher.run_once().await.unwrap();
    assert_eq!((failed.delivered, failed.failed), (0, 3));
    assert_eq!(h.store.count_pending_events().await.unwrap(), 3);
    let too_soon = dispatcher.run_once().await.unwrap();
    assert_eq!(too_soon.failed + too_soon.delivered, 0, "backing off");

    h.notifier.set_failing(false);
    h.clock.advance(Duration::seconds(2));
    let recovered = dispatcher.run_once().await.unwrap();
    assert_eq!(recovered.delivered, 3);
    assert_eq!(h.store.count_pending_events().await.unwrap(), 0);
    let ids: HashSet<_> = h
        .notifier
        .delivered()
        .iter()
        .map(|event| event.id)
        .collect();
    assert_eq!((ids.len(), h.notifier.delivered().len()), (3, 3));
}

/// Two dispatchers sharing a store never deliver the same event while its lease holds.
pub async fn concurrent_dispatchers_never_deliver_one_event_twice(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    for _ in 0..20 {
        h.patient().await;
    }
    let rounds: Vec<_> = ["left", "right"]
        .into_iter()
        .map(|name| {
            let dispatcher = h.dispatcher(name);
            tokio::spawn(async move { dispatcher.run_once().await.unwrap() })
        })
        .collect();

    let mut delivered = 0;
    for round in rounds {
        delivered += round.await.unwrap().delivered;
    }
    assert_eq!(delivered, 20);
    let ids: HashSet<_> = h
        .notifier
        .delivered()
        .iter()
        .map(|event| event.id)
        .collect();
    assert_eq!(ids.len(), 20);
    assert_eq!(h.notifier.delivered().len(), 20);
}

/// A round whose slow deliveries use up its lease hands back the events it has not tried,
/// so another dispatcher delivers them at once rather than after the lease.
pub async fn a_round_hands_back_what_its_lease_cannot_cover(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    for _ in 0..3 {
        h.patient().await;
    }
    assert_eq!(h.store.count_pending_events().await.unwrap(), 3);
    let slow = h.slow_dispatcher("slow", Duration::seconds(25), Duration::seconds(20));

    let report = slow.run_once().await.unwrap();
    assert_eq!(
        (report.delivered, report.released),
        (2, 1),
        "after two 25 s deliveries, 10 s of the lease is left: too little for a third"
    );

    let other = h.dispatcher("other");
    assert_eq!(
        other.run_once().await.unwrap().delivered,
        1,
        "the handed-back event is free before the slow round's lease ends"
    );
    assert_eq!(h.notifier.delivered().len(), 3);
    assert_eq!(h.store.count_pending_events().await.unwrap(), 0);
}

/// An event whose dispatcher stopped is taken over when the lease ends, and the old holder
/// can no longer mark it.
pub async fn an_expired_lease_is_taken_over(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    h.patient().await;
    let now = h.clock.now();
    let stalled = Lease {
        owner: "stalled".into(),
        until: now + Duration::minutes(1),
    };
    let taken = h.store.lease_due_events(now, &stalled, 10).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].lease.as_ref(), Some(&stalled));

    let takeover = h.dispatcher("takeover");
    assert_eq!(
        takeover.run_once().await.unwrap().delivered,
        0,
        "the lease still holds"
    );
    h.clock.advance(Duration::minutes(2));
    assert_eq!(takeover.run_once().await.unwrap().delivered, 1);
    let late = h
        .store
        .mark_delivered(taken[0].id, "stalled", h.clock.now())
        .await;
    assert!(
        matches!(late, Err(StoreError::Conflict(ConflictKind::LeaseLost))),
        "{late:?}"
    );
}
