//! The web app end to end in a real headless Chromium, driven through chromedriver.
//!
//! A doctor and a patient register through the pages, the patient books, the doctor writes
//! a diagnosis, the patient reads it, and a second patient is refused the first one's record.
//! On the way it takes screenshots: into `target/tmp/screenshots/` normally, and over the
//! README's own ones in `docs/screenshots/` when `MEDTRACK_UPDATE_SCREENSHOTS=1` is set, so
//! an ordinary test run leaves the working tree untouched.
//!
//! `scripts/test` installs Chromium and chromedriver when they are missing, starts
//! chromedriver and exports `MEDTRACK_WEBDRIVER_URL`. Run on its own, this test starts
//! `/usr/bin/chromedriver` itself; without Chromium it fails and says to run `scripts/test`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Datelike as _, Duration, TimeZone as _, Utc};
use fantoccini::{Client, Locator};
use medtrack_core::clock::ManualClock;
use medtrack_core::MedTrack;
use medtrack_examples::demo::demo_settings;
use medtrack_examples::web::{self, AppState, WebConfig};
use medtrack_memory::MemoryStore;
use tokio::sync::oneshot;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const PASSWORD: &str = "a long enough password";

/// chromedriver started by this test, stopped when dropped.
struct Driver {
    url: String,
    child: Option<Child>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn missing(what: &str) -> ! {
    panic!(
        "{what} is missing, so the browser test cannot run. Run scripts/test, which installs \
         Chromium and chromedriver (apt-get install chromium chromium-driver) and starts \
         chromedriver for this test."
    )
}

async fn driver() -> Driver {
    if !Path::new(CHROMIUM).exists() {
        missing(CHROMIUM);
    }
    if let Ok(url) = std::env::var("MEDTRACK_WEBDRIVER_URL") {
        return Driver { url, child: None };
    }
    if !Path::new(CHROMEDRIVER).exists() {
        missing(CHROMEDRIVER);
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        url: format!("http://127.0.0.1:{port}"),
        child: Some(child),
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return driver;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    panic!("chromedriver did not start listening on port {port}");
}

async fn browser(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--window-size=1280,1000",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    Client::with_capabilities_and_connector(&driver.url, &capabilities, connector)
        .await
        .expect("chromedriver opens a Chromium session")
}

/// The next Monday at 06:00 UTC: a fixed working week, so the slots and the screenshots do
/// not depend on when the test runs.
fn next_monday_morning() -> DateTime<Utc> {
    let today = Utc::now().date_naive();
    let ahead = 7 - i64::from(today.weekday().num_days_from_monday());
    let monday = today + Duration::days(ahead);
    Utc.from_utc_datetime(&monday.and_hms_opt(6, 0, 0).expect("a valid time"))
}

struct Server {
    base: String,
    clock: Arc<ManualClock>,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn server() -> Server {
    let clock = Arc::new(ManualClock::new(next_monday_morning()));
    let settings = medtrack_core::Settings {
        auto_approve_doctors: true,
        ..demo_settings()
    };
    let medtrack = MedTrack::with_clock(Arc::new(MemoryStore::new()), settings, clock.clone())
        .expect("valid settings");
    web::demo_data::load(&medtrack, 8, 24)
        .await
        .expect("the demo clinic loads");
    let app = web::router(AppState::new(medtrack, WebConfig::for_tests()));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("a free port");
    let base = format!("http://{}", listener.local_addr().expect("bound"));
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(web::serve(listener, app, async {
        let _ = stopped.await;
    }));
    Server {
        base,
        clock,
        stop: Some(stop),
    }
}

fn screenshots() -> PathBuf {
    let update_docs = std::env::var_os("MEDTRACK_UPDATE_SCREENSHOTS").is_some_and(|v| v == "1");
    let dir = if update_docs {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots")
    } else {
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
    };
    std::fs::create_dir_all(&dir).expect("the screenshot folder can be created");
    dir
}

async fn save_screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    std::fs::write(screenshots().join(name), png).expect("the screenshot is saved");
}

async fn fill(client: &Client, name: &str, value: &str) {
    let field = client
        .find(Locator::Css(&format!("[name='{name}']")))
        .await
        .unwrap_or_else(|_| panic!("the page has a field {name}"));
    field.clear().await.expect("the field clears");
    field.send_keys(value).await.expect("the field takes text");
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("the page has {css}"))
        .click()
        .await
        .unwrap_or_else(|_| panic!("{css} can be clicked"));
}

/// Clicks what `css` finds and waits until the browser has left the current page.
async fn follow(client: &Client, css: &str) {
    let old = client.find(Locator::Css("html")).await.expect("a page");
    click(client, css).await;
    wait_for_new_page(client, old).await;
}

async fn wait_for_new_page(client: &Client, old: fantoccini::elements::Element) {
    for _ in 0..100 {
        if old.tag_name().await.is_err() {
            let _ = client.find(Locator::Css("body")).await;
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("the page did not change");
}

async fn path(client: &Client) -> String {
    client
        .current_url()
        .await
        .expect("a current url")
        .path()
        .to_owned()
}

async fn page_text(client: &Client) -> String {
    client
        .find(Locator::Css("body"))
        .await
        .expect("a body")
        .text()
        .await
        .expect("its text")
}

struct Person<'a> {
    role: &'a str,
    name: &'a str,
    email: &'a str,
    time_zone: &'a str,
    specialty: &'a str,
}

async fn register(client: &Client, base: &str, person: &Person<'_>) {
    client
        .goto(&format!("{base}/register"))
        .await
        .expect("the register page opens");
    click(
        client,
        &format!("input[name='role'][value='{}']", person.role),
    )
    .await;
    fill(client, "name", person.name).await;
    fill(client, "email", person.email).await;
    fill(client, "password", PASSWORD).await;
    fill(client, "time_zone", person.time_zone).await;
    fill(client, "specialty", person.specialty).await;
    follow(client, "form[action='/register'] button[type='submit']").await;
}

async fn sign_out(client: &Client) {
    follow(client, "form.logout button").await;
    assert!(page_text(client).await.contains("Your session has ended"));
}

async fn sign_in(client: &Client, base: &str, email: &str) {
    client
        .goto(&format!("{base}/login"))
        .await
        .expect("the login page opens");
    fill(client, "email", email).await;
    fill(client, "password", PASSWORD).await;
    follow(client, "form[action='/login'] button[type='submit']").await;
}

/// Books the slot `slot_css` finds and returns the address of its confirmation page.
async fn book(client: &Client, slot_css: &str, reason: &str) -> String {
    follow(client, slot_css).await;
    assert!(
        path(client).await.ends_with("/confirm"),
        "the confirmation page opens"
    );
    let confirmation = client
        .current_url()
        .await
        .expect("a current url")
        .to_string();
    fill(client, "reason", reason).await;
    follow(client, "button[name='start']").await;
    assert_eq!(path(client).await, "/patient");
    assert!(page_text(client)
        .await
        .contains("Your appointment is booked."));
    confirmation
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patient_books_doctor_diagnoses_patient_reads_and_others_are_refused() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("warn")
        .try_init();
    let driver = driver().await;
    let server = server().await;
    let client = browser(&driver).await;
    let base = server.base.clone();

    // The journey runs as its own task, so that even a panic inside it comes back here and
    // the browser session is closed rather than left running.
    let (journey_client, journey_base, clock) =
        (client.clone(), base.clone(), server.clock.clone());
    let outcome =
        tokio::spawn(async move { journey(&journey_client, &journey_base, &clock).await })
            .await
            .unwrap_or_else(|panic| Err(format!("the journey panicked: {panic}")));
    if outcome.is_err() {
        let shot = std::env::temp_dir().join("medtrack-browser-failure.png");
        if let Ok(png) = client.screenshot().await {
            let _ = std::fs::write(&shot, png);
            eprintln!("the page at the failure: {}", shot.display());
        }
    }
    let _ = client.close().await;
    drop(driver);
    outcome.unwrap_or_else(|message| panic!("{message} (server {base})"));
}

async fn journey(client: &Client, base: &str, clock: &ManualClock) -> Result<(), String> {
    let doctor = Person {
        role: "doctor",
        name: "Ana Moreno",
        email: "ana.moreno@clinic.test",
        time_zone: "Europe/Madrid",
        specialty: "Cardiology",
    };
    register(client, base, &doctor).await;
    assert_eq!(
        path(client).await,
        "/doctor",
        "a new doctor lands on the schedule"
    );
    sign_out(client).await;

    let patient = Person {
        role: "patient",
        name: "Jonas Weber",
        email: "jonas.weber@example.test",
        time_zone: "Europe/London",
        specialty: "",
    };
    register(client, base, &patient).await;
    assert_eq!(
        path(client).await,
        "/patient",
        "a new patient lands on the dashboard"
    );

    client
        .goto(&format!("{base}/patient/book?specialty=Cardiology"))
        .await
        .map_err(|e| e.to_string())?;
    let link = client
        .find(Locator::XPath(&format!(
            "//li[contains(@class,'doctor')][h2[text()='{}']]//a",
            doctor.name
        )))
        .await
        .map_err(|_| "the booking page lists the new doctor".to_owned())?;
    let old = client
        .find(Locator::Css("html"))
        .await
        .map_err(|e| e.to_string())?;
    link.click().await.map_err(|e| e.to_string())?;
    wait_for_new_page(client, old).await;
    let slots_page = client.current_url().await.map_err(|e| e.to_string())?;
    let text = page_text(client).await;
    if !text.contains("Europe/Madrid") || !text.contains("Europe/London") {
        return Err("the slots page names both zones".to_owned());
    }
    save_screenshot(client, "booking.png").await;

    let _ = book(
        client,
        ".day-col:nth-child(1) a.slot",
        "Chest tightness when climbing stairs",
    )
    .await;
    client
        .goto(slots_page.as_str())
        .await
        .map_err(|e| e.to_string())?;
    let taken = book(
        client,
        ".day-col:nth-child(3) a.slot",
        "Follow-up on the ECG",
    )
    .await;

    // The first appointment starts at 09:00 in Madrid, 08:00 UTC; move past it.
    clock.advance(Duration::hours(3));
    sign_out(client).await;

    sign_in(client, base, doctor.email).await;
    assert_eq!(path(client).await, "/doctor");
    let text = page_text(client).await;
    if !text.contains("Chest tightness") || !text.contains("Follow-up on the ECG") {
        return Err("the doctor's dashboard lists both appointments".to_owned());
    }
    save_screenshot(client, "doctor-dashboard.png").await;
    follow(client, "a.button[href^='/doctor/appointments/']").await;
    fill(client, "diagnosis", "Stable angina pectoris").await;
    fill(client, "code", "I20.8").await;
    fill(
        client,
        "treatment_plan",
        "Start a beta blocker; exercise ECG in four weeks.",
    )
    .await;
    fill(client, "drug_0", "Bisoprolol").await;
    fill(client, "dose_0", "2.5 mg").await;
    fill(client, "frequency_0", "once daily").await;
    fill(client, "duration_0", "3 months").await;
    follow(client, "form[action$='/diagnosis'] button[type='submit']").await;
    if !page_text(client).await.contains("The diagnosis was saved") {
        return Err("the diagnosis is saved".to_owned());
    }
    sign_out(client).await;

    sign_in(client, base, patient.email).await;
    assert_eq!(path(client).await, "/patient");
    save_screenshot(client, "patient-dashboard.png").await;
    client
        .set_window_size(390, 844)
        .await
        .map_err(|e| e.to_string())?;
    save_screenshot(client, "patient-dashboard-phone.png").await;
    client
        .set_window_size(1280, 1000)
        .await
        .map_err(|e| e.to_string())?;
    follow(client, "a[href^='/records/']").await;
    let record_url = client.current_url().await.map_err(|e| e.to_string())?;
    let record = page_text(client).await;
    for expected in [
        "Stable angina pectoris",
        "I20.8",
        "Bisoprolol",
        "once daily",
        "Ana Moreno",
    ] {
        if !record.contains(expected) {
            return Err(format!("the patient's record shows {expected}"));
        }
    }
    save_screenshot(client, "record.png").await;
    sign_out(client).await;

    let other = Person {
        role: "patient",
        name: "Mira Okafor",
        email: "mira.okafor@example.test",
        time_zone: "",
        specialty: "",
    };
    register(client, base, &other).await;

    // The slot Jonas took is refused with the reason and the next free times.
    client.goto(&taken).await.map_err(|e| e.to_string())?;
    fill(client, "reason", "Palpitations at night").await;
    follow(client, "button[name='start']").await;
    let text = page_text(client).await;
    if !text.contains("This slot was just taken. Here are the next free ones.") {
        return Err("a taken slot is refused with the reason".to_owned());
    }
    let offered = client
        .find_all(Locator::Css(".alternatives button.slot"))
        .await
        .map_err(|e| e.to_string())?;
    if offered.is_empty() {
        return Err("a refused booking offers the next free slots".to_owned());
    }
    save_screenshot(client, "booking-refused.png").await;

    client
        .goto(record_url.as_str())
        .await
        .map_err(|e| e.to_string())?;
    let refused = page_text(client).await;
    if !refused.contains("Page not found") {
        return Err("another patient's record URL shows the not-found page".to_owned());
    }
    for secret in ["Jonas", "angina", "Bisoprolol"] {
        if refused.contains(secret) {
            return Err(format!("the refusal page reveals {secret}"));
        }
    }
    Ok(())
}
