//! The storage layer's one error type, classified so callers can tell "retry later" from bugs.

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database cannot be reached or refuses work right now (connection refused or lost, pool
    /// timed out or closed, server shutting down or overloaded). Safe to retry.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// The transaction lost a race with another one (deadlock, serialization failure) and was
    /// rolled back. Nothing was written; safe to retry.
    #[error("transaction conflict: {0}")]
    Conflict(#[source] sqlx::Error),
    /// The database holds a value this build cannot turn into a domain record.
    #[error("corrupt data in storage: {0}")]
    Corrupt(String),
    /// Applying the migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database error (a bug, a violated constraint, a schema mismatch).
    #[error("database error: {0}")]
    Other(#[source] sqlx::Error),
}

impl StorageError {
    /// True when the database is unreachable or not accepting work: the service should report
    /// NOT_SERVING / UNAVAILABLE rather than an internal error.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StorageError::Unavailable(_))
    }

    /// True when the same call may succeed if simply retried.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StorageError::Unavailable(_) | StorageError::Conflict(_)
        )
    }
}

impl From<sqlx::Error> for StorageError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StorageError::Unavailable(error),
            sqlx::Error::Database(db) => match db.code().as_deref() {
                Some(code) if is_unavailable_state(code) => StorageError::Unavailable(error),
                // serialization_failure, deadlock_detected
                Some("40001" | "40P01") => StorageError::Conflict(error),
                _ => StorageError::Other(error),
            },
            _ => StorageError::Other(error),
        }
    }
}

/// SQLSTATEs that mean "the server cannot serve you now" rather than "your statement is wrong".
fn is_unavailable_state(code: &str) -> bool {
    // Class 08: connection exception. 57P01..57P03: admin/crash shutdown, cannot connect now.
    // 53300: too many connections. 3D000 (unknown database) stays Other: retrying will not help.
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_unavailable() {
        assert!(StorageError::from(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(StorageError::from(sqlx::Error::PoolClosed).is_unavailable());
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(StorageError::from(sqlx::Error::Io(io)).is_unavailable());
        assert!(!StorageError::from(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!StorageError::Corrupt("x".into()).is_retryable());
    }

    #[test]
    fn sqlstates_are_classified() {
        assert!(is_unavailable_state("08006"));
        assert!(is_unavailable_state("57P01"));
        assert!(!is_unavailable_state("23505"));
    }
}
