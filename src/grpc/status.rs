//! The one exhaustive mapping from [`AppError`] to `tonic::Status`. Invalid input carries a
//! `google.rpc.BadRequest` with one field violation per problem; internal details are logged,
//! never sent. A computation refused at capacity is `RESOURCE_EXHAUSTED` with a
//! `google.rpc.RetryInfo`.

use crm_metrics_engine::query::Problem;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::admission::AtCapacity;
use crate::app::{AppError, error_chain};

/// Most field violations one error lists; the message counts the rest.
pub const MAX_LISTED_PROBLEMS: usize = 100;

/// Bytes of field paths and descriptions one error lists at most. Status details travel base64
/// encoded in a trailer beside the message, and default clients accept 8 KiB of metadata in all
/// (Python's grpcio refuses more, Java reports INTERNAL, grpc-js hangs), so the listed problems,
/// their framing and the message stay well below that.
const LISTED_PROBLEM_BYTES: usize = 3 * 1024;

/// Longest field path or description kept, in bytes; longer ones are cut with `…`.
const MAX_PROBLEM_TEXT: usize = 512;

/// Longest summary of problems in the message, in bytes (the total is appended after it).
const MAX_SUMMARY: usize = 1536;

/// Problems the message itself summarizes.
const SUMMARIZED_PROBLEMS: usize = 3;

/// An INVALID_ARGUMENT status with a BadRequest detail listing the problems: all of them when
/// they fit, else the first [`MAX_LISTED_PROBLEMS`] that fit in the metadata budget, with the
/// message giving the total.
pub fn invalid_argument(problems: &[Problem]) -> Status {
    let listed = listed_problems(problems);
    let mut details = ErrorDetails::new();
    for problem in &listed {
        details.add_bad_request_violation(problem.field.clone(), problem.description.clone());
    }
    let summary = listed
        .iter()
        .take(SUMMARIZED_PROBLEMS)
        .map(|p| format!("{}: {}", p.field, p.description))
        .collect::<Vec<_>>()
        .join("; ");
    let mut summary = clip(&summary, MAX_SUMMARY);
    if problems.len() > SUMMARIZED_PROBLEMS {
        summary.push_str(&format!(
            "; {} problems in all, {} listed in the details",
            problems.len(),
            listed.len()
        ));
    }
    Status::with_error_details(Code::InvalidArgument, summary, details)
}

/// The problems an error lists: the first ones, each text clipped to [`MAX_PROBLEM_TEXT`], as many
/// as fit in [`MAX_LISTED_PROBLEMS`] and [`LISTED_PROBLEM_BYTES`].
pub fn listed_problems(problems: &[Problem]) -> Vec<Problem> {
    let mut listed = Vec::new();
    let mut bytes = 0;
    for problem in problems.iter().take(MAX_LISTED_PROBLEMS) {
        let field = clip(&problem.field, MAX_PROBLEM_TEXT);
        let description = clip(&problem.description, MAX_PROBLEM_TEXT);
        // Each violation also costs a few bytes of protobuf framing.
        bytes += field.len() + description.len() + 8;
        if bytes > LISTED_PROBLEM_BYTES {
            break;
        }
        listed.push(Problem::new(field, description));
    }
    listed
}

/// `text` cut to at most `max` bytes at a character boundary, marked with `…`.
fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

impl From<AppError> for Status {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Invalid(problems) => invalid_argument(&problems),
            AppError::NotFound(message) => Status::not_found(message),
            AppError::FailedPrecondition(message) => Status::failed_precondition(message),
            AppError::Unauthenticated(message) => Status::unauthenticated(message),
            AppError::PermissionDenied(message) => Status::permission_denied(message),
            AppError::Aborted { message, source } => {
                if let Some(source) = &source {
                    tracing::info!(error = %error_chain(source), "write aborted");
                }
                Status::aborted(message)
            }
            AppError::Unavailable(source) => {
                tracing::warn!(error = %error_chain(&source), "database unavailable");
                Status::unavailable("the database is unavailable; retry later")
            }
            error @ AppError::Internal { .. } => {
                tracing::error!(error = %error_chain(&error), "internal error");
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

#[cfg(test)]
#[path = "tests/status.rs"]
mod tests;
