//! Raw writes of the same rows into the same tables, with none of the service's logic (no
//! classification, no outcome per record, no tombstones, no stage-history replacement): the
//! database's own floor, which the load generator measures beside the service's ingestion. Like
//! every write, a raw batch advances one of the tenant's change lanes and stamps its rows, so
//! the service's in-memory snapshots stay exact over raw rows too (and the floor includes the
//! same change index the service maintains).
//!
//! It is the load generator's (`crm-load raw-ingest`), not part of the service's write path: it
//! takes a plain pool, never a [`Store`](super::Store).
//!
//! Two methods: `COPY ... FROM STDIN` (text format) and a plain
//! `INSERT ... SELECT FROM UNNEST(...) ON CONFLICT DO UPDATE`. Both write exactly the columns the
//! service writes, so rows written either way read back as the same engine records.

use crm_metrics_engine::records::Record;
use sqlx::{AssertSqlSafe, PgConnection, PgPool};

use super::copy_text::copy_in;
use super::table::{Pending, Table, copy_statement};
use super::upsert::plain_upsert;
use super::{Batch, StorageError, changes, sales};

/// How a raw batch is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawMethod {
    /// One `COPY ... FROM STDIN` per table.
    Copy,
    /// One `INSERT ... SELECT FROM UNNEST(...) ON CONFLICT DO UPDATE` per table.
    Unnest,
}

/// Writes `records` of one tenant in one transaction with `method`; returns the rows written
/// (deal stage entries not counted).
pub async fn write(
    pool: &PgPool,
    tenant_id: &str,
    records: &[Record],
    method: RawMethod,
) -> Result<u64, StorageError> {
    let batch = Batch::split(records);
    let mut tx = pool.begin().await?;
    let conn: &mut PgConnection = &mut tx;
    // Raw rows are stamped with a change like the service's, so in-memory copies of the
    // tenant stay exact over them too.
    let change = changes::advance(conn, tenant_id).await?;
    let mut rows = 0;
    rows += write_kind(conn, tenant_id, change, &batch.customers, method).await?;
    rows += write_kind(conn, tenant_id, change, &batch.leads, method).await?;
    rows += write_kind(conn, tenant_id, change, &batch.deals, method).await?;
    let deals: Vec<_> = batch.deals.iter().map(|item| item.record).collect();
    match method {
        RawMethod::Copy => sales::copy_stage_entries(conn, tenant_id, &deals).await?,
        RawMethod::Unnest => sales::insert_stage_entries(conn, tenant_id, &deals).await?,
    }
    rows += write_kind(conn, tenant_id, change, &batch.orders, method).await?;
    rows += write_kind(conn, tenant_id, change, &batch.subscriptions, method).await?;
    rows += write_kind(conn, tenant_id, change, &batch.activities, method).await?;
    rows += write_kind(conn, tenant_id, change, &batch.tickets, method).await?;
    rows += write_kind(conn, tenant_id, change, &batch.survey_responses, method).await?;
    rows += write_kind(conn, tenant_id, change, &batch.costs, method).await?;
    rows += write_kind(conn, tenant_id, change, &batch.engagement_events, method).await?;
    rows += write_kind(conn, tenant_id, change, &batch.crm_users, method).await?;
    rows += write_kind(conn, tenant_id, change, &batch.user_events, method).await?;
    rows += write_kind(conn, tenant_id, change, &batch.quotas, method).await?;
    rows += write_kind(conn, tenant_id, change, &batch.exchange_rates, method).await?;
    tx.commit().await?;
    Ok(rows)
}

/// Writes one kind's rows with `method`.
async fn write_kind<T: Table>(
    conn: &mut PgConnection,
    tenant_id: &str,
    change: changes::Change,
    items: &[Pending<'_, T>],
    method: RawMethod,
) -> Result<u64, StorageError> {
    if items.is_empty() {
        return Ok(0);
    }
    let items: Vec<&Pending<'_, T>> = items.iter().collect();
    match method {
        RawMethod::Copy => {
            let (statement, data) = copy_statement(tenant_id, change, &items)?;
            Ok(copy_in(conn, &statement, data).await?)
        }
        RawMethod::Unnest => {
            let (sql, arguments) = plain_upsert(tenant_id, change, &items)?;
            Ok(sqlx::query_with(AssertSqlSafe(sql), arguments)
                .execute(&mut *conn)
                .await?
                .rows_affected())
        }
    }
}

#[cfg(test)]
#[path = "tests/raw.rs"]
mod tests;
