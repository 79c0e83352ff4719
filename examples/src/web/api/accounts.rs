//! Registration, login, logout and one's own profile.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use medtrack_core::error::{ValidationError, ValidationReason};
use medtrack_core::model::Role;
use medtrack_core::{NewAccount, ProfileUpdate};
use secrecy::ExposeSecret as _;

use super::dto::{LoginRequest, ProfileBody, ProfilePatch, RegisterRequest, TokenBody, UserBody};
use super::extract::{ApiJson, Caller};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::ratelimit::ClientAddr;
use crate::web::AppState;

/// Parses the `role` of a registration.
pub(crate) fn parse_role(raw: &str) -> Result<Role, ValidationError> {
    match raw.trim() {
        "patient" => Ok(Role::Patient),
        "doctor" => Ok(Role::Doctor),
        _ => Err(ValidationError::new(
            "role",
            ValidationReason::Malformed("must be patient or doctor"),
        )),
    }
}

/// Registers a patient or a doctor.
#[utoipa::path(post, path = "/api/register", tag = "accounts",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered", body = UserBody),
        (status = 409, description = "`email_taken`", body = ErrorBody),
        (status = 422, description = "`invalid`, with the field", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn register(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<UserBody>), ApiError> {
    state
        .limiter
        .check_address(address)
        .map_err(|limited| ApiError::rate_limited(limited.retry_after_secs))?;
    let role = parse_role(&body.role).map_err(medtrack_core::Error::from)?;
    let account = NewAccount {
        name: body.name,
        email: body.email,
        password: body.password,
        role: Some(role),
        phone: body.phone,
        birth_date: body.birth_date,
        time_zone: body.time_zone,
        specialty: body.specialty,
    };
    let profile = state.medtrack.register(account).await?;
    let user = UserBody {
        id: profile.id.as_uuid(),
        email: profile.email.as_ref().to_owned(),
        name: profile.name.as_ref().to_owned(),
        role: profile.role.as_str(),
    };
    Ok((StatusCode::CREATED, Json(user)))
}

/// Signs in and returns a session token.
#[utoipa::path(post, path = "/api/login", tag = "accounts",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenBody),
        (status = 401, description = "`unauthorized`: wrong email or password", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<TokenBody>, ApiError> {
    state
        .limiter
        .check(&body.email, address)
        .map_err(|limited| ApiError::rate_limited(limited.retry_after_secs))?;
    let session = state.medtrack.login(&body.email, &body.password).await?;
    Ok(Json(TokenBody {
        token: session.token.expose_secret().to_owned(),
    }))
}

/// Ends the caller's session; the token stops working at once.
#[utoipa::path(post, path = "/api/logout", tag = "accounts", security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
    ))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, ApiError> {
    state.medtrack.logout(caller.token.expose_secret()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's profile.
#[utoipa::path(get, path = "/api/me", tag = "accounts", security(("bearer" = [])),
    responses(
        (status = 200, body = ProfileBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
    ))]
pub async fn me(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ProfileBody>, ApiError> {
    let profile = state.medtrack.me(&caller.principal).await?;
    Ok(Json(profile.into()))
}

/// Changes the caller's name, phone number or (patients) display zone.
#[utoipa::path(patch, path = "/api/me", tag = "accounts", security(("bearer" = [])),
    request_body = ProfilePatch,
    responses(
        (status = 200, body = ProfileBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 422, description = "`invalid`, with the field", body = ErrorBody),
    ))]
pub async fn update_me(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ProfilePatch>,
) -> Result<Json<ProfileBody>, ApiError> {
    let update = ProfileUpdate {
        name: body.name,
        phone: body.phone,
        time_zone: body.time_zone,
    };
    let profile = state
        .medtrack
        .update_profile(&caller.principal, update)
        .await?;
    Ok(Json(profile.into()))
}
