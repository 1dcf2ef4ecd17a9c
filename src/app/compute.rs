//! The compute use case: validate a query against the catalog, read one snapshot of the tenant's
//! rows the query needs, and evaluate every metric over it with the engine.

use crm_metrics_engine::dataset::Dataset;
use crm_metrics_engine::eval::{MetricReport, Prepared, prepare};
use crm_metrics_engine::money::Currency;
use crm_metrics_engine::query::ComputeRequest;
use crm_metrics_engine::value::{MetricResult, Value};

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
    /// Computes every metric of `request` over one snapshot of the tenant's data. Money results
    /// must come out in `reporting_currency` when one is given.
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
        let outcome = evaluate(prepared, dataset, reporting_currency).await?;
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
        evaluate(prepared, records, reporting_currency).await
    }
}

/// Evaluates a prepared request over `dataset` on a blocking thread (the engine is CPU-bound).
async fn evaluate(
    prepared: Prepared,
    dataset: Dataset,
    reporting_currency: Option<Currency>,
) -> Result<ComputeOutcome, AppError> {
    let records_read = dataset.len();
    let reports = tokio::task::spawn_blocking(move || prepared.evaluate(&dataset))
        .await
        .map_err(|join| AppError::Internal(format!("evaluation task failed: {join}")))??;
    if let Some(currency) = reporting_currency {
        check_reporting_currency(&reports, currency)?;
    }
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

/// Every money value must be in the requested reporting currency: amounts are never converted
/// without exchange rates, and a requested currency is never silently ignored.
fn check_reporting_currency(reports: &[MetricReport], currency: Currency) -> Result<(), AppError> {
    let mut results: Vec<&MetricResult> = Vec::new();
    for report in reports {
        results.push(&report.total);
        results.extend(report.series.iter().map(|p| &p.result));
        results.extend(report.previous.iter().map(|p| &p.result));
        for group in &report.groups {
            results.push(&group.total);
            results.extend(group.series.iter().map(|p| &p.result));
        }
        for result in &results {
            if let Ok(Value::Money(money)) = &result.value
                && money.amount.currency != currency
            {
                return Err(AppError::FailedPrecondition(format!(
                    "{}: the data is in {} and no exchange rate converts it into the reporting currency {}",
                    report.metric, money.amount.currency, currency
                )));
            }
        }
        results.clear();
    }
    Ok(())
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
