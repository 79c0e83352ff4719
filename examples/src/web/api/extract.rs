//! Extractors of the API: the bearer token, JSON bodies, queries and path ids, each failing
//! with an [`ApiError`] in the API's own error shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use medtrack_core::store::PageRequest;
use medtrack_core::Principal;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::web::error::ApiError;
use crate::web::AppState;

/// The default number of items per page.
pub const DEFAULT_LIMIT: u32 = 50;
/// The most items per page.
pub const MAX_LIMIT: u32 = 200;

/// The signed-in caller, from `Authorization: Bearer <token>`.
#[derive(Debug)]
pub struct Caller {
    /// Who they are.
    pub principal: Principal,
    /// Their session token, for logging out.
    pub token: SecretString,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(medtrack_core::Error::Unauthorized)?;
        let principal = state.medtrack.authenticate(token).await?;
        Ok(Self {
            principal,
            token: SecretString::from(token.to_owned()),
        })
    }
}

/// A JSON body. A body that does not parse names the field at fault without repeating what
/// was sent; a body over the limit answers 413.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| too_large())?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize(&mut deserializer) {
            Ok(value) => Ok(Self(value)),
            Err(err) => {
                let field = rejected_field(&err);
                Err(ApiError::invalid(
                    &field,
                    format!("{field} is missing, malformed or of the wrong type"),
                ))
            }
        }
    }
}

/// The field a body was rejected for: its path, or for a missing field the field's name,
/// which serde reports only in its message (`missing field `name``). Never the value sent.
fn rejected_field(err: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let missing = err
        .inner()
        .to_string()
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name.to_owned());
    let path = err.path().to_string();
    match (path.as_str(), missing) {
        (".", Some(name)) => name,
        (".", None) => "body".to_owned(),
        (_, Some(name)) => format!("{path}.{name}"),
        (_, None) => path,
    }
}

/// The answer to a body over the size limit.
pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        "the request body is too large",
    )
}

/// A query string; a malformed one answers 422.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(_) => Err(ApiError::invalid(
                "query",
                "the query string is malformed; check the parameter types",
            )),
        }
    }
}

/// An id in the path; one that is not a UUID names nothing, so it answers 404.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(_) => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "not found",
            )),
        }
    }
}

/// `?cursor=&limit=` of a list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page: default 50, at most 200.
    pub limit: Option<u32>,
}

impl Paging {
    /// The page to ask the service for, with the limit clamped to 1..=200.
    pub fn request(&self) -> PageRequest {
        PageRequest {
            cursor: self.cursor.clone().filter(|cursor| !cursor.is_empty()),
            limit: self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT),
        }
    }
}
