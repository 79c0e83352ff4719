//! Accounts and the full audit log, for admins.

use axum::extract::State;
use axum::Json;
use medtrack_core::id::{DoctorId, UserId};
use medtrack_core::model::AccountStatus;
use medtrack_core::store::UserFilter;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::accounts::parse_role;
use super::dto::{AccountBody, AuditBody, ListPage};
use super::extract::{ApiPath, ApiQuery, Caller, Paging};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

/// Which accounts to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsersQuery {
    /// Only this role: `patient`, `doctor` or `admin`.
    pub role: Option<String>,
    /// Only this status: `active`, `pending_approval` or `deactivated`.
    pub status: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page: default 50, at most 200.
    pub limit: Option<u32>,
}

/// Parses the filter of an account listing.
pub(crate) fn user_filter(
    role: Option<&str>,
    status: Option<&str>,
) -> Result<UserFilter, ApiError> {
    let role = match role.filter(|raw| !raw.is_empty()) {
        Some("admin") => Some(medtrack_core::model::Role::Admin),
        Some(raw) => Some(parse_role(raw).map_err(medtrack_core::Error::from)?),
        None => None,
    };
    let status = match status.filter(|raw| !raw.is_empty()) {
        Some("active") => Some(AccountStatus::Active),
        Some("pending_approval") => Some(AccountStatus::PendingApproval),
        Some("deactivated") => Some(AccountStatus::Deactivated),
        Some(_) => {
            return Err(ApiError::invalid(
                "status",
                "status must be active, pending_approval or deactivated",
            ))
        }
        None => None,
    };
    Ok(UserFilter { role, status })
}

/// Accounts, ordered by email.
#[utoipa::path(get, path = "/api/admin/users", tag = "admin", security(("bearer" = [])),
    params(UsersQuery),
    responses(
        (status = 200, body = ListPage<AccountBody>),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
    ))]
pub async fn users(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<UsersQuery>,
) -> Result<Json<ListPage<AccountBody>>, ApiError> {
    let filter = user_filter(query.role.as_deref(), query.status.as_deref())?;
    let paging = Paging {
        cursor: query.cursor,
        limit: query.limit,
    };
    let page = state
        .medtrack
        .accounts(&caller.principal, filter, paging.request())
        .await?;
    Ok(Json(ListPage::from_page(page, AccountBody::from)))
}

/// Lets patients book a doctor who registered themselves.
#[utoipa::path(post, path = "/api/admin/doctors/{id}/approve", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The doctor")),
    responses(
        (status = 200, body = AccountBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
        (status = 404, description = "`not_found`: no such doctor", body = ErrorBody),
    ))]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<AccountBody>, ApiError> {
    let profile = state
        .medtrack
        .approve_doctor(&caller.principal, DoctorId::from_uuid(id))
        .await?;
    Ok(Json(profile.into()))
}

/// Switches an account off: it can no longer sign in, and its sessions stop working.
#[utoipa::path(post, path = "/api/admin/users/{id}/deactivate", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The account")),
    responses(
        (status = 200, body = AccountBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin, or one's own account", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ))]
pub async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<AccountBody>, ApiError> {
    let profile = state
        .medtrack
        .deactivate_user(&caller.principal, UserId::from_uuid(id))
        .await?;
    Ok(Json(profile.into()))
}

/// Everyone's audit log, newest first.
#[utoipa::path(get, path = "/api/admin/audit", tag = "admin", security(("bearer" = [])),
    params(Paging),
    responses(
        (status = 200, body = ListPage<AuditBody>),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
    ))]
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<ListPage<AuditBody>>, ApiError> {
    let page = state
        .medtrack
        .audit_log(&caller.principal, None, paging.request())
        .await?;
    Ok(Json(ListPage::from_page(page, AuditBody::from)))
}
