//! Ingestion use cases: an atomic batch upsert, deletion by id, and erasure of a customer's
//! personal data.

use crm_metrics_engine::records::{Record, RecordKind};

use super::retry::retrying_conflicts;
use super::{App, AppError, RecordId, TenantId};
use crate::storage::{ErasureCounts, UpsertOutcome};

/// What one record of a committed batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome {
    /// The id was new.
    Created,
    /// The stored record was replaced by different content.
    Updated,
    /// The content equals the stored content (the version may have been raised).
    Unchanged,
    /// The stored version is higher: nothing was written.
    Stale,
}

impl From<UpsertOutcome> for RecordOutcome {
    fn from(outcome: UpsertOutcome) -> RecordOutcome {
        match outcome {
            UpsertOutcome::Created => RecordOutcome::Created,
            UpsertOutcome::Updated => RecordOutcome::Updated,
            UpsertOutcome::Unchanged => RecordOutcome::Unchanged,
            UpsertOutcome::Stale => RecordOutcome::Stale,
        }
    }
}

/// The result of one committed batch.
#[derive(Debug, Clone)]
pub struct IngestOutcome {
    /// One outcome per record, in request order.
    pub outcomes: Vec<RecordOutcome>,
    /// Opaque token: a ComputeMetrics call carrying it sees this batch.
    pub consistency_token: String,
}

impl App {
    /// Upserts one batch atomically: every record is committed, or none is.
    pub async fn ingest(
        &self,
        tenant_id: &TenantId,
        records: &[Record],
    ) -> Result<IngestOutcome, AppError> {
        self.check_batch_size(records.len())?;
        let (outcomes, consistency_token) =
            retrying_conflicts(|| self.store.upsert_batch(tenant_id, records)).await?;
        let outcomes: Vec<RecordOutcome> = outcomes.into_iter().map(RecordOutcome::from).collect();
        self.ingested
            .add_batch(records.iter().map(Record::kind), &outcomes);
        Ok(IngestOutcome {
            outcomes,
            consistency_token,
        })
    }

    /// Refuses a batch of more than the configured number of records (callers check this before
    /// converting a large request).
    pub fn check_batch_size(&self, records: usize) -> Result<(), AppError> {
        if records > self.limits.max_batch_records {
            return Err(AppError::invalid(
                "records",
                format!(
                    "a batch holds at most {} records (got {records})",
                    self.limits.max_batch_records
                ),
            ));
        }
        Ok(())
    }

    /// Deletes records of one kind by id; returns how many existed.
    pub async fn delete(
        &self,
        tenant_id: &TenantId,
        kind: RecordKind,
        ids: &[RecordId],
    ) -> Result<(u64, String), AppError> {
        if ids.is_empty() {
            return Err(AppError::invalid("ids", "at least one id is required"));
        }
        if ids.len() > self.limits.max_batch_records {
            return Err(AppError::invalid(
                "ids",
                format!("at most {} ids per call", self.limits.max_batch_records),
            ));
        }
        let ids: Vec<String> = ids.iter().map(|id| id.as_str().to_owned()).collect();
        retrying_conflicts(|| self.store.delete_records(tenant_id, kind, &ids)).await
    }

    /// Removes the personal data of one customer (and of its leads and survey comments), keeping
    /// the facts metrics need.
    pub async fn erase_customer(
        &self,
        tenant_id: &TenantId,
        customer_id: &RecordId,
    ) -> Result<ErasureCounts, AppError> {
        retrying_conflicts(|| self.store.erase_customer(tenant_id, customer_id)).await
    }
}
