//! The JSON API under `/api`, with its OpenAPI document generated from the handlers.

mod accounts;
mod admin;
mod appointments;
mod doctors;
pub(crate) mod dto;
pub(crate) mod extract;
mod records;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) use accounts::parse_role;
pub(crate) use admin::user_filter;

use crate::web::error::ApiError;
use crate::web::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "MedTrack API",
        description = "Patients, doctors, appointments and medical records. Times are RFC 3339 \
            in UTC. Errors are `{\"error\": {\"code\", \"message\", \"field\"?}}`; lists are \
            `{\"items\", \"next_cursor\"}` with `?cursor=` and `?limit=` (default 50, at most 200)."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "accounts", description = "Registration, sessions and one's own profile"),
        (name = "doctors", description = "Doctors, free slots and schedules"),
        (name = "appointments", description = "Booking and the life of an appointment"),
        (name = "records", description = "Medical records, reports and their audit trail"),
        (name = "admin", description = "Accounts and the full audit log"),
        (name = "health", description = "Liveness"),
    )
)]
struct ApiDoc;

/// Declares the `bearer` scheme the handlers refer to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The routes and their OpenAPI description, before the state is attached.
fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(accounts::register))
        .routes(routes!(accounts::login))
        .routes(routes!(accounts::logout))
        .routes(routes!(accounts::me, accounts::update_me))
        .routes(routes!(doctors::list))
        .routes(routes!(doctors::slots))
        .routes(routes!(doctors::schedule))
        .routes(routes!(doctors::update_schedule))
        .routes(routes!(appointments::book, appointments::list))
        .routes(routes!(appointments::cancel))
        .routes(routes!(appointments::reschedule))
        .routes(routes!(appointments::no_show))
        .routes(routes!(appointments::diagnosis))
        .routes(routes!(records::record))
        .routes(routes!(records::submit_report))
        .routes(routes!(records::my_audit))
        .routes(routes!(admin::users))
        .routes(routes!(admin::approve))
        .routes(routes!(admin::deactivate))
        .routes(routes!(admin::audit))
        .routes(routes!(healthz))
}

/// The OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented().into_openapi()
}

/// The API routes, `/api/openapi.json` and `/healthz`.
pub(crate) fn router(state: AppState) -> Router {
    let (router, document) = documented().split_for_parts();
    let document = std::sync::Arc::new(document);
    router
        .route(
            "/api/openapi.json",
            get(move || {
                let document = std::sync::Arc::clone(&document);
                async move { Json(document.as_ref().clone()) }
            }),
        )
        .with_state(state)
}

/// Answers 200 when the backend answers.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses(
        (status = 200, body = dto::Health),
        (status = 503, description = "The backend does not answer", body = dto::Health),
    ))]
async fn healthz(State(state): State<AppState>) -> Response {
    match state.medtrack.store().count_pending_events().await {
        Ok(_) => Json(dto::Health { status: "ok" }).into_response(),
        Err(err) => {
            crate::web::error::log_failure(&err);
            let body = Json(dto::Health {
                status: "unavailable",
            });
            (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
        }
    }
}

/// The answer for a path under `/api` that names no route.
pub(crate) fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route").into_response()
}

/// The answer for an `/api` path asked with a method it does not take.
pub(crate) fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
    .into_response()
}
