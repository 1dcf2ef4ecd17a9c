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
    /// The write lost a race with another transaction on every attempt (or the state it was
    /// based on changed); nothing was written and the caller may retry.
    #[error("{message}")]
    Aborted {
        message: String,
        #[source]
        source: Option<StorageError>,
    },
    /// The database cannot be reached; safe to retry.
    #[error("database unavailable")]
    Unavailable(#[source] StorageError),
    /// The call carries no identity the service accepts.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller lacks the permission the call needs.
    #[error("{0}")]
    PermissionDenied(String),
    /// A bug or a corrupt row; details, with the whole chain of causes, are logged, not sent.
    #[error("internal error: {message}")]
    Internal {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
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

    /// An internal error with no underlying cause.
    pub fn internal(message: impl Into<String>) -> AppError {
        AppError::Internal {
            message: message.into(),
            source: None,
        }
    }

    /// An internal error caused by `source`, which stays attached (and is logged in full).
    pub fn internal_caused(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> AppError {
        AppError::Internal {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// An aborted write with no underlying database error.
    pub fn aborted(message: impl Into<String>) -> AppError {
        AppError::Aborted {
            message: message.into(),
            source: None,
        }
    }
}

/// An error and every cause under it, `: `-separated, for logs. A cause whose text its parent
/// already shows is not repeated.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        let next_text = next.to_string();
        if !text.contains(&next_text) {
            text.push_str(": ");
            text.push_str(&next_text);
        }
        cause = next.source();
    }
    text
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
            StorageError::Unavailable(_) => AppError::Unavailable(error),
            StorageError::Conflict(_) => AppError::Aborted {
                message: "the write conflicted with a concurrent one and was not applied; retry it"
                    .to_owned(),
                source: Some(error),
            },
            _ => AppError::internal_caused("storage failed", error),
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

#[cfg(test)]
#[path = "tests/error.rs"]
mod tests;
