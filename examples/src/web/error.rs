//! Errors as the API and the pages answer them.
//!
//! Every core error gets one status and one stable code here, so the API and the pages never
//! disagree. A 4xx answer carries the core's own message, which names fields and entities but
//! never what someone typed. A 5xx answer says only that something failed; its cause chain
//! goes to the log.

use std::borrow::Cow;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use medtrack_core::{BookingRefusal, Error};
use serde::Serialize;
use utoipa::ToSchema;

/// How a core error is answered: status, code, and whether its message is safe to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Class {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
}

const fn class(status: StatusCode, code: &'static str) -> Class {
    Class { status, code }
}

/// The status and code for a booking refusal.
pub(crate) fn refusal_class(refusal: BookingRefusal) -> Class {
    match refusal {
        BookingRefusal::SlotTaken => class(StatusCode::CONFLICT, "slot_taken"),
        BookingRefusal::PatientBusy => class(StatusCode::CONFLICT, "patient_busy"),
        BookingRefusal::OutsideWorkingHours => {
            class(StatusCode::UNPROCESSABLE_ENTITY, "outside_working_hours")
        }
        BookingRefusal::TooSoon => class(StatusCode::UNPROCESSABLE_ENTITY, "too_soon"),
        BookingRefusal::BeyondHorizon => class(StatusCode::UNPROCESSABLE_ENTITY, "beyond_horizon"),
        BookingRefusal::TooLate => class(StatusCode::CONFLICT, "too_late"),
        BookingRefusal::DoctorUnavailable => class(StatusCode::CONFLICT, "doctor_unavailable"),
        BookingRefusal::WrongStatus => class(StatusCode::CONFLICT, "wrong_status"),
        _ => class(StatusCode::CONFLICT, "refused"),
    }
}

/// The status and code for any core error.
pub(crate) fn classify(err: &Error) -> Class {
    match err {
        Error::Invalid(_) => class(StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        Error::Unauthorized => class(StatusCode::UNAUTHORIZED, "unauthorized"),
        Error::Forbidden => class(StatusCode::FORBIDDEN, "forbidden"),
        Error::NotFound(_) => class(StatusCode::NOT_FOUND, "not_found"),
        Error::EmailTaken => class(StatusCode::CONFLICT, "email_taken"),
        Error::Booking(refusal) => refusal_class(*refusal),
        Error::Conflict => class(StatusCode::CONFLICT, "conflict"),
        Error::Unavailable { .. } => class(StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        _ => class(StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

/// Writes an unexpected failure and its cause chain to the log. Core and store errors name
/// ids and entities only, never values, so the chain is safe to log.
pub(crate) fn log_failure(err: &(dyn std::error::Error + 'static)) {
    let mut causes = Vec::new();
    let mut next = err.source();
    while let Some(cause) = next {
        causes.push(cause.to_string());
        next = cause.source();
    }
    tracing::error!(error = %err, causes = ?causes, "request failed");
}

/// The body of every API error: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code such as `slot_taken` or `invalid`.
    #[schema(example = "slot_taken")]
    pub code: &'static str,
    /// A message safe to show a person.
    pub message: String,
    /// The rejected field, for validation errors only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error answer of the JSON API.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: Cow<'static, str>,
    field: Option<String>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with an explicit status, code and message.
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// A validation error of `field`.
    pub(crate) fn invalid(field: &str, message: impl Into<Cow<'static, str>>) -> Self {
        let mut err = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message);
        err.field = Some(field.to_owned());
        err
    }

    /// Too many attempts; try again after `seconds`.
    pub(crate) fn rate_limited(seconds: u64) -> Self {
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many attempts, try again later",
        );
        err.retry_after = Some(seconds.max(1));
        err
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let Class { status, code } = classify(&err);
        if status.is_server_error() {
            log_failure(&err);
        }
        let message: Cow<'static, str> = match &err {
            _ if status == StatusCode::INTERNAL_SERVER_ERROR => "something went wrong".into(),
            Error::Storage(_) => "the page cursor is not valid".into(),
            other => other.to_string().into(),
        };
        let field = match &err {
            Error::Invalid(invalid) => Some(invalid.field().to_owned()),
            Error::Storage(_) if code == "invalid" => Some("cursor".to_owned()),
            _ => None,
        };
        let retry_after = (status == StatusCode::SERVICE_UNAVAILABLE).then_some(5);
        Self {
            status,
            code,
            message,
            field,
            retry_after,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message.into_owned(),
                field: self.field,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
