//! The backend's own errors and how they become [`StoreError`]s.
//!
//! Service errors keep only the operation, DynamoDB's error code and the request id: their
//! messages can repeat key values (which hold emails and ids), so they are dropped.
//! Conditional failures inside a transaction are told apart by the per-item cancellation
//! reasons, read against the [`ItemRole`] of each item in the request.

use std::error::Error as StdError;
use std::fmt;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::CancellationReason;
use medtrack_core::error::{BoxError, ConflictKind, Entity, StoreError};

/// The backend name used in [`StoreError::Backend`].
pub(crate) const BACKEND: &str = "dynamodb";

/// Error codes (of whole requests or of single transaction items) that mean DynamoDB is
/// busy or throttling, so the same request may succeed later.
const BUSY_CODES: &[&str] = &[
    "ThrottlingException",
    "ThrottlingError",
    "ProvisionedThroughputExceededException",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
    "TransactionConflict",
    "TransactionConflictException",
    "TransactionInProgressException",
    "InternalServerError",
    "ServiceUnavailable",
];

/// What went wrong inside the backend.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DynamoError {
    /// A condition failed; the kind says on what.
    #[error("conflict: {0:?}")]
    Conflict(ConflictKind),
    /// The item does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// What kind of record.
        entity: Entity,
        /// Its id.
        id: String,
    },
    /// Transactions kept colliding with concurrent ones (or were throttled) after every
    /// retry.
    #[error("DynamoDB kept cancelling the transaction as contended")]
    Contended,
    /// Throttling, a timeout or a failed connection after the SDK's retries.
    #[error("DynamoDB is unavailable")]
    Unavailable(#[source] BoxError),
    /// DynamoDB refused the request for another reason.
    #[error(transparent)]
    Service(#[from] ServiceFailure),
    /// A transaction was cancelled for reasons other than conditions or contention.
    #[error("transaction cancelled with item codes {0:?}")]
    Cancelled(Vec<String>),
    /// A request could not be built.
    #[error("invalid DynamoDB request")]
    Build(#[from] BuildError),
    /// A record could not be turned into JSON.
    #[error("a record could not be encoded")]
    Encode(#[source] serde_json::Error),
    /// A stored body is not valid JSON for its record; the position is in the body.
    #[error("a stored record could not be decoded (line {line}, column {column})")]
    Decode {
        /// Line in the body.
        line: usize,
        /// Column in the body.
        column: usize,
    },
    /// A stored item lacks an attribute the backend writes on every item of its kind.
    #[error("a stored item lacks its {0} attribute")]
    MissingAttribute(&'static str),
    /// A page cursor was not made by this backend.
    #[error("the page cursor is malformed")]
    BadCursor,
    /// A write would need more items than one transaction may hold.
    #[error("the write needs {0} items, more than one transaction holds")]
    TooManyItems(usize),
    /// The operation is not supported by this backend.
    #[error("dynamodb does not support {0}")]
    Unsupported(&'static str),
    /// Releasing a time cell found it held by another appointment.
    #[error("a released time cell is held by another appointment")]
    ClaimMismatch,
}

impl DynamoError {
    /// A decoding failure, keeping only where in the body it happened (serde's messages can
    /// quote stored values).
    pub(crate) fn decode(err: &serde_json::Error) -> Self {
        Self::Decode {
            line: err.line(),
            column: err.column(),
        }
    }

    /// Whether trying the same request again may succeed.
    pub(crate) fn is_contended(&self) -> bool {
        matches!(self, Self::Contended)
    }
}

impl From<DynamoError> for StoreError {
    fn from(err: DynamoError) -> Self {
        match err {
            DynamoError::Conflict(kind) => StoreError::Conflict(kind),
            DynamoError::NotFound { entity, id } => StoreError::NotFound { entity, id },
            DynamoError::Unavailable(source) => StoreError::Unavailable {
                retryable: true,
                source,
            },
            DynamoError::Unsupported(operation) => StoreError::Unsupported {
                backend: BACKEND,
                operation,
            },
            DynamoError::BadCursor => StoreError::InvalidCursor,
            DynamoError::Contended => StoreError::Unavailable {
                retryable: true,
                source: Box::new(DynamoError::Contended),
            },
            other => StoreError::Backend {
                backend: BACKEND,
                source: Box::new(other),
            },
        }
    }
}

/// A refused request: which operation, DynamoDB's error code and the request id. The
/// service's message is left out because it can quote key values.
#[derive(Debug, thiserror::Error)]
pub(crate) struct ServiceFailure {
    operation: &'static str,
    code: Option<String>,
    status: Option<u16>,
    request_id: Option<String>,
}

impl fmt::Display for ServiceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.code.as_deref().unwrap_or("no error code");
        write!(f, "DynamoDB {} failed: {code}", self.operation)?;
        if let Some(status) = self.status {
            write!(f, ", HTTP {status}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request {id})")?;
        }
        Ok(())
    }
}

/// Maps any SDK error: busy and throttling codes, server errors (HTTP 5xx), timeouts and
/// connection failures become `Unavailable`, everything else a [`ServiceFailure`]. The SDK
/// has already retried all of these as far as its retry policy allows.
pub(crate) fn sdk<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> DynamoError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let status = err.raw_response().map(|raw| raw.status().as_u16());
    let failure = ServiceFailure {
        operation,
        code: err.code().map(str::to_owned),
        status,
        request_id: err.meta().extra("aws_request_id").map(str::to_owned),
    };

    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            DynamoError::Unavailable(Box::new(err))
        }
        _ if is_busy(failure.code.as_deref()) || status.is_some_and(|s| s >= 500) => {
            DynamoError::Unavailable(Box::new(failure))
        }
        _ => DynamoError::Service(failure),
    }
}

fn is_busy(code: Option<&str>) -> bool {
    code.is_some_and(|code| BUSY_CODES.contains(&code))
}

/// What an item in a transaction stands for, so a failed condition on it maps to the right
/// error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ItemRole {
    /// No condition.
    Plain,
    /// A cell of someone's time that must be free; the kind says whose.
    Claim(ConflictKind),
    /// An email that must not belong to another account.
    Email,
    /// A new record whose id must be unused.
    Fresh,
    /// A record whose stored version must match; absent means not found.
    Versioned {
        /// What kind of record.
        entity: Entity,
        /// Its id.
        id: String,
    },
    /// A cell being released, which must be free or held by the same appointment.
    Release,
    /// A record the write refers to, which must exist.
    Referenced {
        /// What kind of record.
        entity: Entity,
        /// Its id.
        id: String,
    },
}

impl ItemRole {
    /// Lower comes first when several conditions failed at once.
    fn precedence(&self) -> u8 {
        match self {
            Self::Referenced { .. } | Self::Versioned { .. } => 0,
            Self::Claim(ConflictKind::DoctorTime) => 1,
            Self::Claim(_) => 2,
            Self::Email => 3,
            Self::Fresh => 4,
            Self::Release => 5,
            Self::Plain => 6,
        }
    }
}

/// The error a cancelled transaction stands for, from its per-item reasons (in request
/// order) and the roles of the items sent.
pub(crate) fn cancellation(reasons: &[CancellationReason], roles: &[ItemRole]) -> DynamoError {
    let failed = reasons
        .iter()
        .zip(roles)
        .filter(|(reason, _)| reason.code() == Some("ConditionalCheckFailed"))
        .min_by_key(|(_, role)| role.precedence());
    if let Some((reason, role)) = failed {
        return condition_failure(role, reason.item().is_some());
    }

    if reasons.iter().any(|reason| is_busy(reason.code())) {
        return DynamoError::Contended;
    }
    let codes = reasons
        .iter()
        .filter_map(|reason| reason.code())
        .filter(|code| *code != "None")
        .map(str::to_owned)
        .collect();
    DynamoError::Cancelled(codes)
}

fn condition_failure(role: &ItemRole, item_existed: bool) -> DynamoError {
    match role {
        ItemRole::Versioned { entity, id } if !item_existed => DynamoError::NotFound {
            entity: *entity,
            id: id.clone(),
        },
        ItemRole::Versioned { .. } => DynamoError::Conflict(ConflictKind::StaleVersion),
        ItemRole::Referenced { entity, id } => DynamoError::NotFound {
            entity: *entity,
            id: id.clone(),
        },
        ItemRole::Claim(kind) => DynamoError::Conflict(*kind),
        ItemRole::Email => DynamoError::Conflict(ConflictKind::Email),
        ItemRole::Fresh => DynamoError::Conflict(ConflictKind::AlreadyExists),
        ItemRole::Release | ItemRole::Plain => DynamoError::ClaimMismatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use std::collections::HashMap;

    fn reason(code: &str) -> CancellationReason {
        CancellationReason::builder().code(code).build()
    }

    fn failed_with_item() -> CancellationReason {
        CancellationReason::builder()
            .code("ConditionalCheckFailed")
            .set_item(Some(HashMap::new()))
            .build()
    }

    #[test]
    fn a_doctor_cell_collision_wins_over_a_patient_cell_collision() {
        let roles = [
            ItemRole::Claim(ConflictKind::PatientTime),
            ItemRole::Claim(ConflictKind::DoctorTime),
            ItemRole::Fresh,
        ];
        let reasons = [
            reason("ConditionalCheckFailed"),
            reason("ConditionalCheckFailed"),
            reason("None"),
        ];
        let err = StoreError::from(cancellation(&reasons, &roles));
        assert!(matches!(
            err,
            StoreError::Conflict(ConflictKind::DoctorTime)
        ));
    }

    #[test]
    fn patient_cells_alone_give_patient_time() {
        let roles = [
            ItemRole::Claim(ConflictKind::DoctorTime),
            ItemRole::Claim(ConflictKind::PatientTime),
        ];
        let reasons = [reason("None"), reason("ConditionalCheckFailed")];
        let err = StoreError::from(cancellation(&reasons, &roles));
        assert!(matches!(
            err,
            StoreError::Conflict(ConflictKind::PatientTime)
        ));
    }

    #[test]
    fn a_failed_version_check_is_stale_or_not_found() {
        let versioned = ItemRole::Versioned {
            entity: Entity::Appointment,
            id: "a1".into(),
        };
        let roles = [versioned, ItemRole::Claim(ConflictKind::DoctorTime)];

        let stale = cancellation(&[failed_with_item(), reason("None")], &roles);
        assert!(matches!(
            StoreError::from(stale),
            StoreError::Conflict(ConflictKind::StaleVersion)
        ));

        let gone = cancellation(&[reason("ConditionalCheckFailed"), reason("None")], &roles);
        assert!(matches!(
            StoreError::from(gone),
            StoreError::NotFound {
                entity: Entity::Appointment,
                ..
            }
        ));
    }

    #[test]
    fn email_and_id_collisions_have_their_own_kinds() {
        let roles = [ItemRole::Email, ItemRole::Fresh];
        let both = [
            reason("ConditionalCheckFailed"),
            reason("ConditionalCheckFailed"),
        ];
        assert!(matches!(
            StoreError::from(cancellation(&both, &roles)),
            StoreError::Conflict(ConflictKind::Email)
        ));
        let id_only = [reason("None"), reason("ConditionalCheckFailed")];
        assert!(matches!(
            StoreError::from(cancellation(&id_only, &roles)),
            StoreError::Conflict(ConflictKind::AlreadyExists)
        ));
    }

    #[test]
    fn transaction_conflicts_are_contention_and_retryable() {
        let roles = [ItemRole::Claim(ConflictKind::DoctorTime), ItemRole::Fresh];
        for code in ["TransactionConflict", "ThrottlingError"] {
            let err = cancellation(&[reason(code), reason("None")], &roles);
            assert!(err.is_contended(), "{code} should be contention");
            assert!(matches!(
                StoreError::from(err),
                StoreError::Unavailable {
                    retryable: true,
                    ..
                }
            ));
        }
    }

    fn service_error(code: Option<&str>, status: u16) -> SdkError<GetItemError, HttpResponse> {
        let mut meta = ErrorMetadata::builder().message("mentions ann@example.org");
        if let Some(code) = code {
            meta = meta.code(code);
        }
        let raw = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        SdkError::service_error(GetItemError::generic(meta.build()), raw)
    }

    #[test]
    fn throttling_and_server_errors_are_retryable_unavailable() {
        let cases = [
            (Some("ThrottlingException"), 400),
            (Some("ProvisionedThroughputExceededException"), 400),
            (Some("RequestLimitExceeded"), 400),
            (None, 500),
        ];
        for (code, status) in cases {
            let err = StoreError::from(sdk("GetItem", service_error(code, status)));
            assert!(
                matches!(
                    err,
                    StoreError::Unavailable {
                        retryable: true,
                        ..
                    }
                ),
                "{code:?} {status}: {err:?}"
            );
        }
    }

    #[test]
    fn refused_requests_keep_the_code_but_not_the_message() {
        let err = sdk("GetItem", service_error(Some("ValidationException"), 400));

        assert_eq!(
            err.to_string(),
            "DynamoDB GetItem failed: ValidationException, HTTP 400"
        );
        assert!(!format!("{err:?}").contains("ann@"));
        assert!(matches!(StoreError::from(err), StoreError::Backend { .. }));
    }

    #[test]
    fn other_cancellations_are_backend_errors_naming_only_codes() {
        let err = cancellation(&[reason("ValidationError")], &[ItemRole::Plain]);
        assert_eq!(
            err.to_string(),
            "transaction cancelled with item codes [\"ValidationError\"]"
        );
        assert!(matches!(
            StoreError::from(err),
            StoreError::Backend {
                backend: BACKEND,
                ..
            }
        ));
    }
}
