//! Unit tests of `status`: application errors as gRPC statuses with bounded details.

use crm_metrics_engine::query::Problem;
use tonic::Code;
use tonic_types::StatusExt;

use super::{MAX_LISTED_PROBLEMS, invalid_argument, listed_problems};

/// The bytes a status takes in trailers: its message and its encoded details, base64 encoded as
/// `grpc-status-details-bin` travels.
fn trailer_bytes(status: &tonic::Status) -> usize {
    status.message().len() + status.details().len().div_ceil(3) * 4
}

fn problems(count: usize, description: &str) -> Vec<Problem> {
    (0..count)
        .map(|i| Problem::new(format!("records[{i}].deal.id"), description))
        .collect()
}

#[test]
fn a_few_problems_are_all_listed() {
    let status = invalid_argument(&problems(3, "must be 1-128 characters"));
    assert_eq!(status.code(), Code::InvalidArgument);
    let details = status.get_error_details();
    assert_eq!(details.bad_request().unwrap().field_violations.len(), 3);
    assert!(!status.message().contains("in all"), "{}", status.message());
}

#[test]
fn ten_thousand_problems_stay_under_the_metadata_budget_and_are_counted() {
    let status = invalid_argument(&problems(10_000, "must be 1-128 characters, got 0"));
    let listed = status
        .get_error_details()
        .bad_request()
        .unwrap()
        .field_violations
        .clone();
    assert!(
        !listed.is_empty() && listed.len() <= MAX_LISTED_PROBLEMS,
        "{}",
        listed.len()
    );
    assert_eq!(listed[0].field, "records[0].deal.id");
    assert!(
        status
            .message()
            .contains(&format!("10000 problems in all, {} listed", listed.len())),
        "{}",
        status.message()
    );
    assert!(
        trailer_bytes(&status) < 6 * 1024,
        "{}",
        trailer_bytes(&status)
    );
}

#[test]
fn long_texts_are_clipped_at_a_character_boundary() {
    let long = "é".repeat(1_000);
    let status = invalid_argument(&[Problem::new(long.clone(), long.clone())]);
    let violation = status
        .get_error_details()
        .bad_request()
        .unwrap()
        .field_violations[0]
        .clone();
    assert!(violation.field.len() <= 512 && violation.field.ends_with('…'));
    assert!(violation.description.len() <= 512 && violation.description.ends_with('…'));
    assert!(
        trailer_bytes(&status) < 4 * 1024,
        "{}",
        trailer_bytes(&status)
    );
    // Huge texts cannot push many problems past the budget either.
    let listed = listed_problems(&problems(500, &long));
    assert!(listed.len() < MAX_LISTED_PROBLEMS && !listed.is_empty());
}
