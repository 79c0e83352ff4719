//! Server-rendered pages: sign-in, the patient's, doctor's and admin's screens.
//!
//! Every page is plain HTML with one stylesheet; nothing needs JavaScript. Every form that
//! changes something carries a CSRF token and goes through [`csrf::guard`].

mod account;
mod admin;
mod doctor;
mod patient;
mod record;
mod view;

use std::collections::BTreeMap;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use medtrack_core::model::Role;
use medtrack_core::{Error, Principal, Profile};
use minijinja::{context, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::csrf::{self, SESSION_COOKIE};
use super::error::{classify, log_failure};
use super::{templates, AppState};

const STYLESHEET: &str = include_str!("../../../static/app.css");

/// The page routes, the stylesheet and the fallback.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(account::home))
        .route("/about", get(account::about))
        .route(
            "/register",
            get(account::register_form).post(account::register),
        )
        .route("/login", get(account::login_form).post(account::login))
        .route("/logout", post(account::logout))
        .route(
            "/profile",
            get(account::profile_form).post(account::update_profile),
        )
        .route("/patient", get(patient::dashboard))
        .route("/patient/book", get(patient::doctors))
        .route(
            "/patient/book/{doctor}",
            get(patient::slots).post(patient::book),
        )
        .route("/patient/book/{doctor}/confirm", get(patient::confirm))
        .route("/patient/appointments/{id}/cancel", post(patient::cancel))
        .route(
            "/patient/appointments/{id}/reschedule",
            get(patient::reschedule_form).post(patient::reschedule),
        )
        .route(
            "/patient/report",
            get(patient::report_form).post(patient::report),
        )
        .route("/patient/audit", get(patient::audit))
        .route("/records/{patient}", get(record::show))
        .route("/doctor", get(doctor::dashboard))
        .route("/doctor/patients", get(doctor::patients))
        .route("/doctor/appointments/{id}", get(doctor::appointment))
        .route(
            "/doctor/appointments/{id}/diagnosis",
            post(doctor::diagnosis),
        )
        .route("/doctor/appointments/{id}/no-show", post(doctor::no_show))
        .route("/doctor/appointments/{id}/cancel", post(doctor::cancel))
        .route(
            "/doctor/schedule",
            get(doctor::schedule_form).post(doctor::schedule),
        )
        .route("/admin", get(admin::accounts))
        .route("/admin/users/{id}/approve", post(admin::approve))
        .route("/admin/users/{id}/deactivate", post(admin::deactivate))
        .route("/admin/audit", get(admin::audit))
        .route_layer(middleware::from_fn_with_state(state.clone(), csrf::guard))
        .route("/static/app.css", get(stylesheet))
        .fallback(fallback)
        .with_state(state)
}

/// The answer for a known path asked with a method it does not take: JSON under `/api`, a
/// plain error page elsewhere.
pub(crate) async fn method_not_allowed(request: Request) -> Response {
    if request.uri().path().starts_with("/api/") {
        return super::api::method_not_allowed();
    }
    PageError::status(StatusCode::METHOD_NOT_ALLOWED).into_response()
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

async fn fallback(request: Request) -> Response {
    if request.uri().path().starts_with("/api/") {
        return super::api::not_found();
    }
    PageError::status(StatusCode::NOT_FOUND).into_response()
}

/// Why a page could not be shown.
#[derive(Debug)]
pub(crate) enum PageError {
    /// Not signed in, or the session ended: go to the login page.
    SignIn,
    /// A plain error page with this status.
    Status(StatusCode),
}

impl PageError {
    pub(crate) fn status(status: StatusCode) -> Self {
        Self::Status(status)
    }
}

impl From<Error> for PageError {
    fn from(err: Error) -> Self {
        let class = classify(&err);
        if class.status.is_server_error() {
            log_failure(&err);
        }
        match err {
            Error::Unauthorized => Self::SignIn,
            _ => Self::Status(class.status),
        }
    }
}

impl From<minijinja::Error> for PageError {
    fn from(err: minijinja::Error) -> Self {
        log_failure(&err);
        Self::Status(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::SignIn => {
                let jar = CookieJar::new().add(csrf::removal(SESSION_COOKIE, false));
                return (jar, Redirect::to("/login?notice=signed_out")).into_response();
            }
            Self::Status(status) => status,
        };
        let (title, message) = match status {
            StatusCode::NOT_FOUND => (
                "Page not found",
                "There is nothing here, or it is not available to your account.",
            ),
            StatusCode::FORBIDDEN => (
                "Not allowed",
                "This page or action is not available to your account. If you were filling in a \
                 form, go back, reload the page and try again.",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => (
                "Too much text",
                "What you sent is longer than this site accepts. Go back and shorten it.",
            ),
            StatusCode::TOO_MANY_REQUESTS => (
                "Please wait",
                "There were too many attempts. Wait a minute and try again.",
            ),
            StatusCode::SERVICE_UNAVAILABLE => (
                "Temporarily unavailable",
                "The clinic's system is busy or unreachable. Nothing was changed; try again shortly.",
            ),
            status if status.is_client_error() => (
                "That did not work",
                "The request could not be handled. Go back and try again.",
            ),
            _ => (
                "Something went wrong",
                "Nothing was changed. Try again; if it keeps happening, tell the clinic.",
            ),
        };
        let body = templates::render(
            "error.html",
            context! { title => title, message => message, status => status.as_u16() },
        )
        .unwrap_or_else(|_| title.to_owned());
        (status, Html(body)).into_response()
    }
}

/// The signed-in visitor of a page.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) principal: Principal,
    pub(crate) profile: Profile,
    pub(crate) csrf: String,
}

impl Session {
    /// Refuses the page unless the visitor has `role`.
    pub(crate) fn require(&self, role: Role) -> Result<(), PageError> {
        if self.principal.role() == role {
            Ok(())
        } else {
            Err(PageError::status(StatusCode::FORBIDDEN))
        }
    }

    /// The zone to show times in: a patient's choice or a doctor's working zone, else UTC.
    pub(crate) fn zone(&self) -> chrono_tz::Tz {
        self.profile.time_zone.unwrap_or(chrono_tz::Tz::UTC)
    }

    /// What every page's layout needs: who is signed in, and the CSRF token for its forms.
    pub(crate) fn layout(&self) -> Value {
        context! {
            user => context! {
                name => self.profile.name.as_ref(),
                role => self.principal.role().as_str(),
                id => self.principal.user_id().to_string(),
            },
            csrf => &self.csrf,
        }
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let jar = CookieJar::from_headers(&parts.headers);
        let token = jar
            .get(SESSION_COOKIE)
            .map(|cookie| cookie.value().to_owned())
            .ok_or(PageError::SignIn)?;
        let principal = state.medtrack.authenticate(&token).await?;
        let profile = state.medtrack.me(&principal).await?;
        Ok(Self {
            principal,
            profile,
            csrf: state.config.csrf_key.token(&token),
        })
    }
}

/// The visitor, signed in or not.
#[derive(Debug)]
pub(crate) struct MaybeSession(pub(crate) Option<Session>);

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        match Session::from_request_parts(parts, state).await {
            Ok(session) => Ok(Self(Some(session))),
            Err(PageError::SignIn) => Ok(Self(None)),
            Err(other) => Err(other),
        }
    }
}

/// A form body; one that does not parse is a 400 page.
#[derive(Debug)]
pub(crate) struct PageForm<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<AppState> for PageForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, PageError> {
        match Form::<T>::from_request(request, state).await {
            Ok(Form(value)) => Ok(Self(value)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(PageError::status(StatusCode::PAYLOAD_TOO_LARGE))
            }
            Err(_) => Err(PageError::status(StatusCode::BAD_REQUEST)),
        }
    }
}

/// An id in the path; one that does not parse names nothing.
#[derive(Debug)]
pub(crate) struct PagePath<T>(pub(crate) T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for PagePath<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(_) => Err(PageError::status(StatusCode::NOT_FOUND)),
        }
    }
}

/// Renders `template` with `context`.
pub(crate) fn render(template: &str, context: Value) -> Result<Html<String>, PageError> {
    Ok(Html(templates::render(template, context)?))
}

/// The session cookie for a new login.
pub(crate) fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
}

/// Where a role's home page is.
pub(crate) fn home_of(role: Role) -> &'static str {
    match role {
        Role::Patient => "/patient",
        Role::Doctor => "/doctor",
        Role::Admin => "/admin",
    }
}

/// A banner named in `?notice=`: its text, and whether it reports a problem.
#[derive(Debug, Serialize)]
pub(crate) struct Notice {
    text: &'static str,
    problem: bool,
}

/// The banner for a `?notice=` code; unknown codes show nothing.
pub(crate) fn notice(code: Option<&str>) -> Option<Notice> {
    let (text, problem) = match code? {
        "booked" => ("Your appointment is booked.", false),
        "cancelled" => ("The appointment was cancelled.", false),
        "rescheduled" => ("The appointment was moved.", false),
        "too_late" => (
            "It is too late to change this appointment. Please call the clinic.",
            true,
        ),
        "wrong_status" => ("This appointment can no longer be changed.", true),
        "report_saved" => ("Your report was added to your record.", false),
        "profile_saved" => ("Your details were saved.", false),
        "diagnosis_saved" => (
            "The diagnosis was saved and the appointment is complete.",
            false,
        ),
        "no_show" => ("The appointment was marked as a no-show.", false),
        "schedule_saved" => ("Your working hours were saved.", false),
        "approved" => ("The doctor can now be booked.", false),
        "deactivated" => ("The account was deactivated.", false),
        "not_allowed" => ("That action is not available for this account.", true),
        "signed_out" => ("Please sign in to continue.", false),
        _ => return None,
    };
    Some(Notice { text, problem })
}

/// Field-level errors of a form, by field name, in plain language.
pub(crate) type FieldErrors = BTreeMap<String, String>;

/// The plain-language text for a rejected field.
pub(crate) fn field_error(err: &medtrack_core::error::ValidationError) -> (String, String) {
    use medtrack_core::error::ValidationReason;
    let text = match err.reason() {
        ValidationReason::Empty => "Please fill this in.".to_owned(),
        reason => {
            let reason = reason.to_string();
            let mut chars = reason.chars();
            match chars.next() {
                Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
                None => "This is not valid.".to_owned(),
            }
        }
    };
    (err.field().to_owned(), text)
}
