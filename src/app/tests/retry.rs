//! Unit tests of `retry`: conflicts retried, then ABORTED; other errors not retried.

use std::sync::atomic::{AtomicU32, Ordering};

use super::{WRITE_ATTEMPTS, retrying_conflicts};
use crate::app::AppError;
use crate::storage::StorageError;

fn conflict() -> StorageError {
    StorageError::Conflict(sqlx::Error::Protocol("deadlock detected".to_owned()))
}

#[tokio::test]
async fn a_conflict_is_retried_until_the_write_succeeds() {
    let calls = AtomicU32::new(0);
    let result = retrying_conflicts(|| async {
        if calls.fetch_add(1, Ordering::SeqCst) < WRITE_ATTEMPTS - 1 {
            Err(conflict())
        } else {
            Ok("written")
        }
    })
    .await;
    assert_eq!(result.unwrap(), "written");
    assert_eq!(calls.load(Ordering::SeqCst), WRITE_ATTEMPTS);
}

#[tokio::test]
async fn a_conflict_on_every_attempt_is_aborted() {
    let calls = AtomicU32::new(0);
    let result: Result<(), AppError> = retrying_conflicts(|| async {
        calls.fetch_add(1, Ordering::SeqCst);
        Err(conflict())
    })
    .await;
    assert!(
        matches!(
            result,
            Err(AppError::Aborted {
                source: Some(_),
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), WRITE_ATTEMPTS);
    let status = tonic::Status::from(result.unwrap_err());
    assert_eq!(status.code(), tonic::Code::Aborted);
}

#[tokio::test]
async fn other_errors_are_not_retried() {
    let calls = AtomicU32::new(0);
    let result: Result<(), AppError> = retrying_conflicts(|| async {
        calls.fetch_add(1, Ordering::SeqCst);
        Err(StorageError::Corrupt("bad row".to_owned()))
    })
    .await;
    assert!(
        matches!(
            result,
            Err(AppError::Internal {
                source: Some(_),
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
