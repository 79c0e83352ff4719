//! The fixed lists the generator draws from: specialties, time zones, weekly hours, booking
//! reasons, diagnoses and patient reports.
//!
//! I kept the clinical texts short and plausible rather than exhaustive: they exist so that a
//! demo record reads like a record, not to teach medicine.

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use chrono_tz::Tz;
use fake::rand::seq::IndexedRandom;
use fake::rand::Rng;
use medtrack_core::model::ReportKind;
use medtrack_core::schedule::{BookingRules, LocalInterval, Schedule, WeeklyHours};
use medtrack_core::{DiagnosisInput, PrescriptionInput, ReportInput};

/// Specialties in the order doctors are given them, so a small clinic still starts with a
/// GP, a cardiologist, a paediatrician and a dermatologist.
const SPECIALTY_ROTA: [&str; 25] = [
    GENERAL_PRACTICE,
    "Cardiology",
    PAEDIATRICS,
    "Dermatology",
    GENERAL_PRACTICE,
    "Orthopaedics",
    "Psychiatry",
    "Gynaecology",
    GENERAL_PRACTICE,
    "Ear, Nose and Throat",
    PAEDIATRICS,
    "Neurology",
    GENERAL_PRACTICE,
    "Ophthalmology",
    "Endocrinology",
    "Dermatology",
    GENERAL_PRACTICE,
    "Cardiology",
    "Gastroenterology",
    PAEDIATRICS,
    GENERAL_PRACTICE,
    "Rheumatology",
    "Psychiatry",
    "Orthopaedics",
    GENERAL_PRACTICE,
];

/// The specialty that sees children.
pub const PAEDIATRICS: &str = "Paediatrics";
/// The specialty everyone may see.
pub const GENERAL_PRACTICE: &str = "General Practice";

/// Zones of the clinic network's sites.
pub const ZONES: [Tz; 10] = [
    Tz::Europe__Berlin,
    Tz::Europe__London,
    Tz::America__New_York,
    Tz::America__Chicago,
    Tz::America__Los_Angeles,
    Tz::Asia__Kolkata,
    Tz::Asia__Tokyo,
    Tz::Australia__Sydney,
    Tz::Africa__Nairobi,
    Tz::UTC,
];

/// The specialty of the `index`-th doctor.
pub fn specialty(index: usize) -> &'static str {
    SPECIALTY_ROTA[index % SPECIALTY_ROTA.len()]
}

/// How much adults ask for a specialty, relative to the others.
pub fn demand(specialty: &str) -> f64 {
    match specialty {
        GENERAL_PRACTICE => 3.0,
        "Dermatology" | "Orthopaedics" | "Gynaecology" => 1.5,
        _ => 1.0,
    }
}

/// Weekly patterns real practices use; `(days, intervals)` pairs, times as `HH:MM`.
type Pattern = &'static [(&'static [Weekday], &'static [(&'static str, &'static str)])];

const MON_FRI: &[Weekday] = &[
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
];

const PATTERNS: [Pattern; 6] = [
    &[(MON_FRI, &[("09:00", "17:00")])],
    &[(MON_FRI, &[("09:00", "12:00"), ("13:00", "17:00")])],
    &[(MON_FRI, &[("08:00", "12:00"), ("14:00", "18:00")])],
    &[
        (
            &[Weekday::Mon, Weekday::Tue, Weekday::Thu],
            &[("08:00", "16:00")],
        ),
        (&[Weekday::Wed], &[("12:00", "20:00")]),
    ],
    &[(
        &[
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
        ],
        &[("10:00", "14:00"), ("15:00", "19:00")],
    )],
    &[(
        &[Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu],
        &[("07:30", "12:30")],
    )],
];

/// Paediatric practices keep a Saturday morning for working parents.
const PAEDIATRIC_PATTERN: Pattern = &[
    (MON_FRI, &[("08:30", "12:30"), ("13:30", "16:30")]),
    (&[Weekday::Sat], &[("09:00", "12:00")]),
];

/// A doctor's schedule: a weekly pattern, a slot length of 15, 20 or 30 minutes, maybe
/// buffers, a minimum notice, a horizon and a day off during the week of `monday`.
pub fn schedule<R: Rng>(specialty: &str, zone: Tz, monday: NaiveDate, rng: &mut R) -> Schedule {
    let pattern = match specialty {
        PAEDIATRICS => PAEDIATRIC_PATTERN,
        _ => PATTERNS[rng.random_range(0..PATTERNS.len())],
    };
    let slot = match specialty {
        "Psychiatry" => 30,
        _ => *[15, 20, 20, 30, 30]
            .choose(rng)
            .expect("the list is not empty"),
    };
    let mut days_off = BTreeSet::new();
    if rng.random_bool(0.2) {
        days_off.insert(monday + Duration::days(rng.random_range(0..5)));
    }
    Schedule::new(zone, slot, weekly_hours(pattern), days_off, rules(rng))
        .expect("catalog patterns divide into 15, 20 and 30 minute slots")
}

fn weekly_hours(pattern: Pattern) -> WeeklyHours {
    let mut hours = WeeklyHours::empty();
    for (days, intervals) in pattern {
        let intervals: Vec<LocalInterval> = intervals
            .iter()
            .map(|(start, end)| LocalInterval::parse(start, end).expect("catalog times parse"))
            .collect();
        for day in *days {
            hours = hours
                .with_day(*day, intervals.clone())
                .expect("catalog intervals do not overlap");
        }
    }
    hours
}

fn rules<R: Rng>(rng: &mut R) -> BookingRules {
    let (buffer_before_minutes, buffer_after_minutes) = match rng.random_range(0..10) {
        0..=5 => (0, 0),
        6..=8 => (0, 5),
        _ => (10, 5),
    };
    BookingRules {
        buffer_before_minutes,
        buffer_after_minutes,
        min_notice_hours: *[0, 0, 2, 2, 24].choose(rng).expect("not empty"),
        horizon_days: *[14, 60, 90, 90].choose(rng).expect("not empty"),
        cancel_notice_hours: *[0, 12, 24].choose(rng).expect("not empty"),
    }
}

/// Whether the schedule has any hours on `day`.
pub fn works_on(schedule: &Schedule, day: NaiveDate) -> bool {
    !schedule.weekly().day(day.weekday()).is_empty() && !schedule.days_off().contains(&day)
}

/// Why a patient books a doctor of `specialty`.
pub fn reason<R: Rng>(specialty: &str, rng: &mut R) -> String {
    let reasons: &[&str] = match specialty {
        GENERAL_PRACTICE => &[
            "Persistent cough for two weeks",
            "Annual check-up",
            "Lower back pain",
            "Repeat prescription review",
            "Fever and sore throat",
        ],
        PAEDIATRICS => &[
            "Vaccination appointment",
            "Ear pain and fever",
            "Growth and development check",
            "Rash after starting nursery",
        ],
        "Cardiology" => &[
            "Palpitations",
            "High blood pressure follow-up",
            "Chest tightness on exertion",
        ],
        "Dermatology" => &["Changing mole", "Itchy rash on both arms", "Acne treatment"],
        "Psychiatry" => &["Low mood and poor sleep", "Medication review"],
        _ => &[
            "Referral from general practice",
            "Follow-up visit",
            "Second opinion",
        ],
    };
    (*reasons.choose(rng).expect("not empty")).to_owned()
}

/// A diagnosis row: text, ICD-10 code, treatment plan and prescriptions as
/// `(drug, dose, frequency, duration)`.
type DiagnosisRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str, &'static str, &'static str)],
);

const GP_DIAGNOSES: &[DiagnosisRow] = &[
    (
        "Acute upper respiratory infection",
        "J06.9",
        "Rest, fluids, review if not better in a week",
        &[("Paracetamol", "500 mg", "every 6 hours as needed", "5 days")],
    ),
    (
        "Mechanical low back pain",
        "M54.5",
        "Stay active, physiotherapy referral",
        &[(
            "Ibuprofen",
            "400 mg",
            "three times daily with food",
            "7 days",
        )],
    ),
    (
        "Routine health examination, no abnormal findings",
        "Z00.0",
        "Next check-up in one year",
        &[],
    ),
];

const CHILD_DIAGNOSES: &[DiagnosisRow] = &[
    (
        "Acute otitis media",
        "H66.9",
        "Pain relief, review in 3 days if fever persists",
        &[(
            "Amoxicillin oral suspension",
            "250 mg/5 ml, 5 ml",
            "three times daily",
            "5 days",
        )],
    ),
    (
        "Immunization encounter",
        "Z23",
        "Next vaccination per national schedule",
        &[],
    ),
];

const HEART_DIAGNOSES: &[DiagnosisRow] = &[(
    "Essential hypertension",
    "I10",
    "Low-salt diet, home blood pressure log, review in 6 weeks",
    &[
        ("Lisinopril", "10 mg", "once daily", "90 days"),
        ("Atorvastatin", "20 mg", "once daily at night", "90 days"),
    ],
)];

const SKIN_DIAGNOSES: &[DiagnosisRow] = &[
    (
        "Atopic dermatitis",
        "L20.9",
        "Emollients twice daily, avoid hot showers",
        &[(
            "Hydrocortisone cream 1%",
            "thin layer",
            "twice daily",
            "14 days",
        )],
    ),
    (
        "Melanocytic naevus",
        "D22.9",
        "Benign appearance; photograph and review in 6 months",
        &[],
    ),
];

const OTHER_DIAGNOSES: &[DiagnosisRow] = &[
    (
        "Follow-up examination after completed treatment",
        "Z09",
        "No further treatment needed",
        &[],
    ),
    (
        "Depressive episode, mild",
        "F32.0",
        "Talking therapy referral, review in 4 weeks",
        &[("Sertraline", "50 mg", "once daily", "28 days")],
    ),
];

/// A diagnosis a doctor of `specialty` might write.
pub fn diagnosis<R: Rng>(specialty: &str, rng: &mut R) -> DiagnosisInput {
    let rows = match specialty {
        GENERAL_PRACTICE => GP_DIAGNOSES,
        PAEDIATRICS => CHILD_DIAGNOSES,
        "Cardiology" => HEART_DIAGNOSES,
        "Dermatology" => SKIN_DIAGNOSES,
        _ => OTHER_DIAGNOSES,
    };
    let (text, code, plan, drugs) = *rows.choose(rng).expect("not empty");
    DiagnosisInput {
        diagnosis: text.to_owned(),
        code: Some(code.to_owned()),
        treatment_plan: plan.to_owned(),
        prescriptions: drugs
            .iter()
            .map(|(drug, dose, frequency, duration)| PrescriptionInput {
                drug: (*drug).to_owned(),
                dose: (*dose).to_owned(),
                frequency: (*frequency).to_owned(),
                duration: (*duration).to_owned(),
            })
            .collect(),
    }
}

/// A report a patient adds to their own record, observed up to two days before `now`.
pub fn report<R: Rng>(now: chrono::DateTime<chrono::Utc>, rng: &mut R) -> ReportInput {
    let observed_at = Some(now - Duration::minutes(rng.random_range(10..2 * 24 * 60)));
    let (kind, title, body) = match rng.random_range(0..4) {
        0 => (
            ReportKind::Measurement,
            "Home blood pressure",
            format!(
                "{}/{} mmHg, pulse {}",
                rng.random_range(105..165),
                rng.random_range(65..100),
                rng.random_range(55..95)
            ),
        ),
        1 => (
            ReportKind::Symptoms,
            "Headache",
            format!(
                "Headache for {} days, worse in the morning",
                rng.random_range(1..6)
            ),
        ),
        2 => (
            ReportKind::Result,
            "Fasting glucose",
            format!("{:.1} mmol/l", rng.random_range(4.0..8.5)),
        ),
        _ => (
            ReportKind::Other,
            "Travel plans",
            "Away for two weeks next month; please send reminders by email".to_owned(),
        ),
    };
    ReportInput {
        kind,
        title: title.to_owned(),
        body,
        observed_at,
    }
}
