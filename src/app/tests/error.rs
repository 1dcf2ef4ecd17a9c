//! Unit tests of `AppError`: causes stay attached and are logged in full.

use std::error::Error as _;

use super::*;

#[test]
fn a_storage_failure_keeps_its_cause_under_the_internal_error() {
    let error = AppError::from(StorageError::Corrupt(
        "deals.amount is not a number".to_owned(),
    ));
    assert!(matches!(error, AppError::Internal { .. }));
    let cause = error.source().expect("the storage error is the cause");
    assert_eq!(
        cause.to_string(),
        "corrupt data in storage: deals.amount is not a number"
    );
    assert_eq!(
        error_chain(&error),
        "internal error: storage failed: corrupt data in storage: deals.amount is not a number"
    );
}

#[test]
fn an_unreachable_database_keeps_the_driver_error() {
    let error = AppError::from(StorageError::Unavailable(sqlx::Error::PoolTimedOut));
    assert!(matches!(error, AppError::Unavailable(_)));
    let chain = error_chain(&error);
    assert!(chain.starts_with("database unavailable: "), "{chain}");
    assert!(chain.contains("pool timed out"), "{chain}");
}

#[test]
fn a_cause_already_in_its_parents_text_is_not_repeated() {
    let error = AppError::internal_caused(
        "evaluation failed",
        StorageError::Other(sqlx::Error::RowNotFound),
    );
    let chain = error_chain(&error);
    // StorageError's text already includes sqlx's; the chain shows it once.
    assert_eq!(chain.matches("no rows returned").count(), 1, "{chain}");
}
