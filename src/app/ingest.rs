//! Ingestion use cases: an atomic batch upsert, deletion by id, and erasure of a customer's
//! personal data.

use crm_metrics_engine::query::Problem;
use crm_metrics_engine::records::{Record, RecordKind};

use super::retry::retrying_conflicts;
use super::{App, AppError};
use crate::storage::{ErasureCounts, UpsertOutcome};

/// The result of one committed batch.
#[derive(Debug, Clone)]
pub struct IngestOutcome {
    /// One outcome per record, in request order.
    pub outcomes: Vec<UpsertOutcome>,
    /// Opaque token: a ComputeMetrics call carrying it sees this batch.
    pub consistency_token: String,
}

impl App {
    /// Upserts one batch atomically: every record is committed, or none is.
    pub async fn ingest(
        &self,
        tenant_id: &str,
        records: &[Record],
    ) -> Result<IngestOutcome, AppError> {
        validate_tenant(tenant_id)?;
        self.check_batch_size(records.len())?;
        let (outcomes, consistency_token) =
            retrying_conflicts(|| self.store.upsert_batch(tenant_id, records)).await?;
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
        tenant_id: &str,
        kind: RecordKind,
        ids: &[String],
    ) -> Result<(u64, String), AppError> {
        validate_tenant(tenant_id)?;
        if ids.is_empty() {
            return Err(AppError::invalid("ids", "at least one id is required"));
        }
        if ids.len() > self.limits.max_batch_records {
            return Err(AppError::invalid(
                "ids",
                format!("at most {} ids per call", self.limits.max_batch_records),
            ));
        }
        let problems: Vec<Problem> = ids
            .iter()
            .enumerate()
            .filter_map(|(i, id)| id_problem(&format!("ids[{i}]"), id))
            .collect();
        if !problems.is_empty() {
            return Err(AppError::Invalid(problems));
        }
        retrying_conflicts(|| self.store.delete_records(tenant_id, kind, ids)).await
    }

    /// Removes the personal data of one customer (and of its leads and survey comments), keeping
    /// the facts metrics need.
    pub async fn erase_customer(
        &self,
        tenant_id: &str,
        customer_id: &str,
    ) -> Result<ErasureCounts, AppError> {
        validate_tenant(tenant_id)?;
        if let Some(problem) = id_problem("customer_id", customer_id) {
            return Err(AppError::Invalid(vec![problem]));
        }
        retrying_conflicts(|| self.store.erase_customer(tenant_id, customer_id)).await
    }
}

/// What is wrong with a record id, if anything: it has 1 to 128 characters and no NUL (which
/// could not be stored).
fn id_problem(field: &str, id: &str) -> Option<Problem> {
    if !(1..=128).contains(&id.chars().count()) {
        Some(Problem::new(field, "an id has 1 to 128 characters"))
    } else if id.contains('\0') {
        Some(Problem::new(
            field,
            "an id must not contain NUL (\\0) characters",
        ))
    } else {
        None
    }
}

/// A tenant id has 1 to 128 characters, not all of them blank, and no control character (a NUL
/// could not be stored; a blank or control character would make ids that look alike differ).
pub(super) fn validate_tenant(tenant_id: &str) -> Result<(), AppError> {
    if !(1..=128).contains(&tenant_id.chars().count()) {
        Err(AppError::invalid(
            "tenant_id",
            "a tenant id has 1 to 128 characters",
        ))
    } else if tenant_id.trim().is_empty() || tenant_id.chars().any(char::is_control) {
        Err(AppError::invalid(
            "tenant_id",
            "a tenant id must not be blank or contain control characters",
        ))
    } else {
        Ok(())
    }
}
