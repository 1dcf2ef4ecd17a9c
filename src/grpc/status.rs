//! The one exhaustive mapping from [`AppError`] to `tonic::Status`. Invalid input carries a
//! `google.rpc.BadRequest` with one field violation per problem; internal details are logged,
//! never sent. A computation refused at capacity is `RESOURCE_EXHAUSTED` with a
//! `google.rpc.RetryInfo`.

use crm_metrics_engine::query::Problem;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::admission::AtCapacity;
use crate::app::AppError;

/// An INVALID_ARGUMENT status with a BadRequest detail listing every problem.
pub fn invalid_argument(problems: &[Problem]) -> Status {
    let mut details = ErrorDetails::new();
    for problem in problems {
        details.add_bad_request_violation(problem.field.clone(), problem.description.clone());
    }
    let summary = problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.description))
        .collect::<Vec<_>>()
        .join("; ");
    Status::with_error_details(Code::InvalidArgument, summary, details)
}

impl From<AppError> for Status {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Invalid(problems) => invalid_argument(&problems),
            AppError::NotFound(message) => Status::not_found(message),
            AppError::FailedPrecondition(message) => Status::failed_precondition(message),
            AppError::Unauthenticated(message) => Status::unauthenticated(message),
            AppError::PermissionDenied(message) => Status::permission_denied(message),
            AppError::Unavailable(message) => {
                tracing::warn!(error = %message, "database unavailable");
                Status::unavailable("the database is unavailable; retry later")
            }
            AppError::Internal(message) => {
                tracing::error!(error = %message, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

impl From<AtCapacity> for Status {
    fn from(refusal: AtCapacity) -> Self {
        Status::with_error_details(
            Code::ResourceExhausted,
            refusal.to_string(),
            ErrorDetails::with_retry_info(Some(refusal.retry_after)),
        )
    }
}
