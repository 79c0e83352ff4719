//! The admin's pages: accounts (approve, deactivate) and the full audit log.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use medtrack_core::id::{DoctorId, UserId};
use medtrack_core::model::{AccountStatus, Role};
use medtrack_core::store::PageRequest;
use medtrack_core::Error;
use minijinja::context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::view::{audit_view, directory};
use super::{notice, render, PageError, PagePath, Session};
use crate::web::api::dto::status_name;
use crate::web::api::user_filter;
use crate::web::AppState;

#[derive(Debug, Deserialize)]
pub(crate) struct AccountsQuery {
    role: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
    notice: Option<String>,
}

#[derive(Serialize)]
struct AccountRow {
    id: String,
    name: String,
    email: String,
    role: &'static str,
    status: &'static str,
    specialty: Option<String>,
    can_approve: bool,
    can_deactivate: bool,
}

pub(crate) async fn accounts(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<AccountsQuery>,
) -> Result<Response, PageError> {
    session.require(Role::Admin)?;
    let filter = user_filter(query.role.as_deref(), query.status.as_deref())
        .map_err(|_| PageError::status(StatusCode::BAD_REQUEST))?;
    let page = PageRequest {
        cursor: query.cursor.clone().filter(|cursor| !cursor.is_empty()),
        limit: 50,
    };
    let listed = state
        .medtrack
        .accounts(&session.principal, filter, page)
        .await?;
    let rows: Vec<_> = listed
        .items
        .into_iter()
        .map(|account| AccountRow {
            id: account.id.to_string(),
            name: account.name.as_ref().to_owned(),
            email: account.email.as_ref().to_owned(),
            role: account.role.as_str(),
            status: status_name(account.status),
            specialty: account.specialty.map(String::from),
            can_approve: account.role == Role::Doctor
                && account.status == AccountStatus::PendingApproval,
            can_deactivate: account.status != AccountStatus::Deactivated
                && account.id != session.principal.user_id(),
        })
        .collect();
    let page = render(
        "admin/accounts.html",
        context! {
            accounts => rows,
            role => query.role.unwrap_or_default(),
            status => query.status.unwrap_or_default(),
            next_cursor => listed.next_cursor,
            notice => notice(query.notice.as_deref()),
            ..session.layout()
        },
    )?;
    Ok(page.into_response())
}

fn back(notice: &str) -> Response {
    Redirect::to(&format!("/admin?notice={notice}")).into_response()
}

pub(crate) async fn approve(
    State(state): State<AppState>,
    session: Session,
    PagePath(id): PagePath<Uuid>,
) -> Result<Response, PageError> {
    session.require(Role::Admin)?;
    match state
        .medtrack
        .approve_doctor(&session.principal, DoctorId::from_uuid(id))
        .await
    {
        Ok(_) => Ok(back("approved")),
        Err(Error::Forbidden) => Ok(back("not_allowed")),
        Err(other) => Err(other.into()),
    }
}

pub(crate) async fn deactivate(
    State(state): State<AppState>,
    session: Session,
    PagePath(id): PagePath<Uuid>,
) -> Result<Response, PageError> {
    session.require(Role::Admin)?;
    match state
        .medtrack
        .deactivate_user(&session.principal, UserId::from_uuid(id))
        .await
    {
        Ok(_) => Ok(back("deactivated")),
        Err(Error::Forbidden) => Ok(back("not_allowed")),
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct CursorQuery {
    cursor: Option<String>,
}

pub(crate) async fn audit(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<CursorQuery>,
) -> Result<Response, PageError> {
    session.require(Role::Admin)?;
    let page = PageRequest {
        cursor: query.cursor.filter(|cursor| !cursor.is_empty()),
        limit: 50,
    };
    let entries = state
        .medtrack
        .audit_log(&session.principal, None, page)
        .await?;
    let doctors = directory(&state, &session.principal).await?;
    let zone = session.zone();
    let rows: Vec<_> = entries
        .items
        .iter()
        .map(|entry| audit_view(entry, zone, &session.principal, &doctors))
        .collect();
    let page = render(
        "admin/audit.html",
        context! { entries => rows, next_cursor => entries.next_cursor, zone => zone.name(), ..session.layout() },
    )?;
    Ok(page.into_response())
}

crate::web::redacted_debug!(AccountRow);
