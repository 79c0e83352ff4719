//! Home, about, registration, login, logout and one's own details.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use medtrack_core::model::Role;
use medtrack_core::{Error, NewAccount, ProfileUpdate};
use minijinja::context;
use secrecy::ExposeSecret as _;
use serde::Deserialize;

use super::{
    field_error, home_of, notice, render, session_cookie, FieldErrors, MaybeSession, PageError,
    PageForm, Session,
};
use crate::web::api::parse_role;
use crate::web::csrf::{self, SESSION_COOKIE};
use crate::web::ratelimit::ClientAddr;
use crate::web::AppState;

/// `?notice=` on any page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct NoticeQuery {
    pub(crate) notice: Option<String>,
}

pub(crate) async fn home(MaybeSession(session): MaybeSession) -> Result<Response, PageError> {
    if let Some(session) = session {
        return Ok(Redirect::to(home_of(session.principal.role())).into_response());
    }
    Ok(render("home.html", context! {})?.into_response())
}

pub(crate) async fn about(MaybeSession(session): MaybeSession) -> Result<Response, PageError> {
    let layout = session.as_ref().map(Session::layout);
    Ok(render("about.html", context! { ..layout.unwrap_or_default() })?.into_response())
}

/// What the registration form sends.
#[derive(Default, Deserialize, serde::Serialize)]
pub(crate) struct RegisterForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default, skip_serializing)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    specialty: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    phone: String,
}

fn register_page(
    state: &AppState,
    jar: CookieJar,
    values: &RegisterForm,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (jar, token) = csrf::anonymous(&state.config.csrf_key, jar, state.config.secure_cookies);
    let page = render(
        "register.html",
        context! { csrf => token, values => values, errors => errors },
    )?;
    Ok((status, jar, page).into_response())
}

pub(crate) async fn register_form(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    jar: CookieJar,
) -> Result<Response, PageError> {
    if let Some(session) = session {
        return Ok(Redirect::to(home_of(session.principal.role())).into_response());
    }
    let values = RegisterForm {
        role: "patient".to_owned(),
        ..RegisterForm::default()
    };
    register_page(&state, jar, &values, &FieldErrors::new(), StatusCode::OK)
}

pub(crate) async fn register(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    jar: CookieJar,
    PageForm(form): PageForm<RegisterForm>,
) -> Result<Response, PageError> {
    if state.limiter.check_address(address).is_err() {
        return Err(PageError::status(StatusCode::TOO_MANY_REQUESTS));
    }
    let role = match parse_role(&form.role) {
        Ok(role) => role,
        Err(err) => {
            let errors = FieldErrors::from([field_error(&err)]);
            return register_page(
                &state,
                jar,
                &form,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let account = NewAccount {
        name: form.name.clone(),
        email: form.email.clone(),
        password: form.password.clone(),
        role: Some(role),
        phone: Some(form.phone.clone()),
        birth_date: None,
        time_zone: Some(form.time_zone.clone()),
        specialty: (role == Role::Doctor).then(|| form.specialty.clone()),
    };
    match state.medtrack.register(account).await {
        Ok(_) => {}
        Err(Error::Invalid(err)) => {
            let errors = FieldErrors::from([field_error(&err)]);
            return register_page(
                &state,
                jar,
                &form,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
        Err(Error::EmailTaken) => {
            let errors = FieldErrors::from([(
                "email".to_owned(),
                "An account with this email already exists. Sign in instead.".to_owned(),
            )]);
            return register_page(&state, jar, &form, &errors, StatusCode::CONFLICT);
        }
        Err(other) => return Err(other.into()),
    }
    sign_in(&state, jar, &form.email, &form.password).await
}

/// Opens a session, sets its cookie and goes to the role's home page.
async fn sign_in(
    state: &AppState,
    jar: CookieJar,
    email: &str,
    password: &str,
) -> Result<Response, PageError> {
    if let Some(old) = jar.get(SESSION_COOKIE) {
        state.medtrack.logout(old.value()).await?;
    }
    let session = state.medtrack.login(email, password).await?;
    let cookie = session_cookie(
        session.token.expose_secret().to_owned(),
        state.config.secure_cookies,
    );
    let jar = jar
        .add(csrf::removal(
            csrf::PRE_SESSION_COOKIE,
            state.config.secure_cookies,
        ))
        .add(cookie);
    let home = home_of(session.principal.role());
    Ok((jar, Redirect::to(home)).into_response())
}

/// What the login form sends.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

fn login_page(
    state: &AppState,
    jar: CookieJar,
    email: &str,
    problem: Option<&str>,
    notice_code: Option<&str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (jar, token) = csrf::anonymous(&state.config.csrf_key, jar, state.config.secure_cookies);
    let page = render(
        "login.html",
        context! { csrf => token, email => email, problem => problem, notice => notice(notice_code) },
    )?;
    Ok((status, jar, page).into_response())
}

pub(crate) async fn login_form(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    jar: CookieJar,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    if let Some(session) = session {
        return Ok(Redirect::to(home_of(session.principal.role())).into_response());
    }
    login_page(
        &state,
        jar,
        "",
        None,
        query.notice.as_deref(),
        StatusCode::OK,
    )
}

pub(crate) async fn login(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    jar: CookieJar,
    PageForm(form): PageForm<LoginForm>,
) -> Result<Response, PageError> {
    if state.limiter.check(&form.email, address).is_err() {
        let problem = "There were too many sign-in attempts. Wait a minute and try again.";
        return login_page(
            &state,
            jar,
            &form.email,
            Some(problem),
            None,
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    match sign_in(&state, jar.clone(), &form.email, &form.password).await {
        Err(PageError::SignIn) => {
            let problem = "The email or password is not right.";
            login_page(
                &state,
                jar,
                &form.email,
                Some(problem),
                None,
                StatusCode::UNAUTHORIZED,
            )
        }
        other => other,
    }
}

pub(crate) async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Response, PageError> {
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        state.medtrack.logout(cookie.value()).await?;
    }
    let jar = jar.add(csrf::removal(SESSION_COOKIE, state.config.secure_cookies));
    Ok((jar, render("logged_out.html", context! {})?).into_response())
}

/// What the details form sends.
#[derive(Default, Deserialize, serde::Serialize)]
pub(crate) struct ProfileForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    time_zone: String,
}

fn profile_page(
    session: &Session,
    values: &ProfileForm,
    errors: &FieldErrors,
    notice_code: Option<&str>,
) -> Result<Response, PageError> {
    let page = render(
        "profile.html",
        context! {
            values => values,
            errors => errors,
            notice => notice(notice_code),
            email => session.profile.email.as_ref(),
            is_patient => session.principal.role() == Role::Patient,
            ..session.layout()
        },
    )?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, page).into_response())
}

pub(crate) async fn profile_form(
    session: Session,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let profile = &session.profile;
    let values = ProfileForm {
        name: profile.name.as_ref().to_owned(),
        phone: profile
            .phone
            .as_ref()
            .map(|phone| phone.as_ref().to_owned())
            .unwrap_or_default(),
        time_zone: profile
            .time_zone
            .map(|zone| zone.name().to_owned())
            .unwrap_or_default(),
    };
    profile_page(
        &session,
        &values,
        &FieldErrors::new(),
        query.notice.as_deref(),
    )
}

pub(crate) async fn update_profile(
    State(state): State<AppState>,
    session: Session,
    PageForm(form): PageForm<ProfileForm>,
) -> Result<Response, PageError> {
    let update = ProfileUpdate {
        name: Some(form.name.clone()),
        phone: Some(form.phone.clone()),
        time_zone: (session.principal.role() == Role::Patient).then(|| form.time_zone.clone()),
    };
    match state
        .medtrack
        .update_profile(&session.principal, update)
        .await
    {
        Ok(_) => Ok(Redirect::to("/profile?notice=profile_saved").into_response()),
        Err(Error::Invalid(err)) => profile_page(
            &session,
            &form,
            &FieldErrors::from([field_error(&err)]),
            None,
        ),
        Err(other) => Err(other.into()),
    }
}

crate::web::redacted_debug!(RegisterForm, LoginForm, ProfileForm);
