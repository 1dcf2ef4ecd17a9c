//! The compute use case: validate a query against the catalog, read one snapshot of the tenant's
//! rows the query needs, and evaluate every metric over it with the engine.

use crm_metrics_engine::dataset::Dataset;
use crm_metrics_engine::eval::{MetricReport, Prepared, prepare};
use crm_metrics_engine::money::Currency;
use crm_metrics_engine::query::ComputeRequest;

use super::ingest::validate_tenant;
use super::{App, AppError};

/// Reports for every metric of a request.
#[derive(Debug, Clone)]
pub struct ComputeOutcome {
    pub reports: Vec<MetricReport>,
    /// How many records the engine read.
    pub records_read: usize,
}

impl App {
    /// Computes every metric of `request` over one snapshot of the tenant's data. Money is
    /// converted into `reporting_currency` (else the tenant's configured one) when there is one.
    pub async fn compute(
        &self,
        tenant_id: &str,
        request: &ComputeRequest,
        reporting_currency: Option<Currency>,
        min_consistency_token: Option<&str>,
    ) -> Result<ComputeOutcome, AppError> {
        validate_tenant(tenant_id)?;
        if let Some(token) = min_consistency_token {
            // Reads go to the primary after every acknowledged commit, so a well-formed token is
            // always satisfied; a malformed one is a caller error, not something to ignore.
            if !is_consistency_token(token) {
                return Err(AppError::invalid(
                    "min_consistency_token",
                    "not a token returned by IngestRecords, StreamRecords or DeleteRecords",
                ));
            }
        }
        let prepared = prepare(request).map_err(AppError::Invalid)?;
        let dataset = self.store.load(tenant_id, &prepared.plan()).await?;
        let currency = reporting_currency.or_else(|| self.reporting_currency_of(tenant_id));
        let outcome = evaluate(prepared, dataset, currency).await?;
        tracing::debug!(
            tenant_id,
            records_read = outcome.records_read,
            "computed metrics"
        );
        Ok(outcome)
    }

    /// Computes every metric of `request` over `records` sent with it (already validated like an
    /// ingestion batch); nothing is written to the tenant's data.
    pub async fn compute_on_records(
        &self,
        tenant_id: &str,
        request: &ComputeRequest,
        records: Dataset,
        reporting_currency: Option<Currency>,
    ) -> Result<ComputeOutcome, AppError> {
        validate_tenant(tenant_id)?;
        self.check_batch_size(records.len())?;
        let prepared = prepare(request).map_err(AppError::Invalid)?;
        let currency = reporting_currency.or_else(|| self.reporting_currency_of(tenant_id));
        evaluate(prepared, records, currency).await
    }
}

/// Evaluates a prepared request over `dataset` on a blocking thread (the engine is CPU-bound).
async fn evaluate(
    prepared: Prepared,
    dataset: Dataset,
    reporting_currency: Option<Currency>,
) -> Result<ComputeOutcome, AppError> {
    let records_read = dataset.len();
    let reports =
        tokio::task::spawn_blocking(move || prepared.evaluate(&dataset, reporting_currency))
            .await
            .map_err(|join| AppError::Internal(format!("evaluation task failed: {join}")))??;
    Ok(ComputeOutcome {
        reports,
        records_read,
    })
}

/// Whether `token` has the form storage issues (`xid:<transaction id>`).
fn is_consistency_token(token: &str) -> bool {
    token
        .strip_prefix("xid:")
        .is_some_and(|xid| !xid.is_empty() && xid.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::is_consistency_token;

    #[test]
    fn consistency_tokens_have_the_issued_form() {
        assert!(is_consistency_token("xid:1234"));
        assert!(!is_consistency_token("xid:"));
        assert!(!is_consistency_token("1234"));
        assert!(!is_consistency_token("xid:12a"));
    }
}
