//! The application's error type: one enum, mapped exhaustively to gRPC status codes in
//! `grpc::status`.

use crm_metrics_engine::query::Problem;
use crm_metrics_engine::value::EvalError;

use crate::auth::AuthError;
use crate::storage::StorageError;

/// Everything a use case can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad input; one problem per offending field.
    #[error("invalid request: {}", summarize(.0))]
    Invalid(Vec<Problem>),
    /// A named thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The data cannot answer the request as asked (e.g. amounts in several currencies).
    #[error("{0}")]
    FailedPrecondition(String),
    /// The write lost a race with another transaction on every attempt; nothing was written and
    /// the caller may retry.
    #[error("{0}")]
    Aborted(String),
    /// The database cannot be reached; safe to retry.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The call carries no identity the service accepts.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller lacks the permission the call needs.
    #[error("{0}")]
    PermissionDenied(String),
    /// A bug or a corrupt row; details are logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
}

fn summarize(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl AppError {
    /// A single-field invalid-argument error.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> AppError {
        AppError::Invalid(vec![Problem::new(field, description)])
    }
}

impl From<AuthError> for AppError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Unauthenticated(message) => AppError::Unauthenticated(message),
            AuthError::PermissionDenied(message) => AppError::PermissionDenied(message),
        }
    }
}

impl From<StorageError> for AppError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::Unavailable(_) => AppError::Unavailable(error.to_string()),
            StorageError::Conflict(_) => AppError::Aborted(
                "the write conflicted with a concurrent one and was not applied; retry it"
                    .to_owned(),
            ),
            _ => AppError::Internal(error.to_string()),
        }
    }
}

impl From<EvalError> for AppError {
    fn from(error: EvalError) -> Self {
        match error {
            EvalError::MixedCurrencies { .. } => AppError::FailedPrecondition(error.to_string()),
            EvalError::Overflow { .. }
            | EvalError::MissingRate { .. }
            | EvalError::Unreachable { .. } => AppError::FailedPrecondition(error.to_string()),
            EvalError::TooManyGroups { .. } => AppError::invalid("group_by", error.to_string()),
        }
    }
}
