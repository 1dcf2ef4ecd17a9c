//! The tenant change sequence: what makes in-memory copies of a tenant's records exactly fresh.
//!
//! Every write transaction first calls [`advance`], which raises the tenant's `change_seq` in
//! `tenant_changes` and so holds the tenant's row lock until it commits. Writes of one tenant
//! therefore commit in sequence order: a snapshot that sees sequence `S` sees every change
//! `1..=S` and none after. Rows a transaction writes carry its sequence (`change_seq` column),
//! deletions leave tombstones with it, so the changes after any earlier sequence are one indexed
//! read away ([`Store::changes_since`](super::Store)).
//!
//! The consistency token handed to writers is `seq:<n>`, the sequence of the committing write.

use sqlx::PgConnection;

use super::StorageError;

/// Raises the tenant's change sequence and returns the new value. Takes the tenant's row lock
/// for the rest of the transaction: call it first in every write transaction.
pub(crate) async fn advance(conn: &mut PgConnection, tenant_id: &str) -> Result<i64, StorageError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO tenant_changes AS c (tenant_id, change_seq) VALUES ($1, 1) \
         ON CONFLICT (tenant_id) DO UPDATE SET change_seq = c.change_seq + 1 \
         RETURNING change_seq",
    )
    .bind(tenant_id)
    .fetch_one(conn)
    .await?)
}

/// The tenant's change sequence as the transaction sees it (0 before its first write).
pub(crate) async fn current(conn: &mut PgConnection, tenant_id: &str) -> Result<i64, StorageError> {
    let seq: Option<i64> =
        sqlx::query_scalar("SELECT change_seq FROM tenant_changes WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(conn)
            .await?;
    Ok(seq.unwrap_or(0))
}

/// The consistency token of a write that committed as change `seq`.
pub fn token(seq: i64) -> String {
    format!("seq:{seq}")
}

/// The change sequence a consistency token names; `None` when it is not a token this service
/// issues.
pub fn parse_token(token: &str) -> Option<i64> {
    let digits = token.strip_prefix("seq:")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}
