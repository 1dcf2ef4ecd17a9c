//! Retrying a write that lost a race with another transaction.
//!
//! PostgreSQL rolls back a transaction that deadlocks with another (40P01) or cannot be
//! serialized with one (40001); nothing of it was written, and running it again usually
//! succeeds. A use case retries such a write a few times, with a short growing pause, and then
//! reports ABORTED so the caller retries later.

use std::future::Future;
use std::time::Duration;

use super::AppError;
use crate::storage::StorageError;

/// How many times a write is tried before its conflict is reported.
pub const WRITE_ATTEMPTS: u32 = 3;

/// The pause before the second attempt; it doubles for each later one.
const FIRST_PAUSE: Duration = Duration::from_millis(10);

/// Runs `write` until it succeeds, fails with anything but a conflict, or has been tried
/// [`WRITE_ATTEMPTS`] times (then its conflict is reported as ABORTED).
pub async fn retrying_conflicts<T, F, Fut>(mut write: F) -> Result<T, AppError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StorageError>>,
{
    let mut pause = FIRST_PAUSE;
    let mut attempt = 1;
    loop {
        match write().await {
            Err(StorageError::Conflict(error)) if attempt < WRITE_ATTEMPTS => {
                tracing::info!(attempt, %error, "write conflicted with another transaction; retrying");
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
            }
            Err(conflict @ StorageError::Conflict(_)) => {
                return Err(AppError::Aborted {
                    message: format!(
                        "the write conflicted with concurrent ones on each of {WRITE_ATTEMPTS} \
                         attempts and was not applied; retry it"
                    ),
                    source: Some(conflict),
                });
            }
            other => return other.map_err(AppError::from),
        }
    }
}

#[cfg(test)]
#[path = "tests/retry.rs"]
mod tests;
