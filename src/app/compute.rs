//! The compute use case: validate a query against the catalog, read one snapshot of the tenant's
//! rows the query needs, and evaluate every metric over it with the engine.

use crm_metrics_engine::eval::{MetricReport, prepare};
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
    /// Computes every metric of `request` over one snapshot of the tenant's data.
    pub async fn compute(
        &self,
        tenant_id: &str,
        request: &ComputeRequest,
    ) -> Result<ComputeOutcome, AppError> {
        validate_tenant(tenant_id)?;
        let prepared = prepare(request).map_err(AppError::Invalid)?;
        let dataset = self.store.load(tenant_id, &prepared.plan()).await?;
        let records_read = dataset.len();
        // The engine is CPU-bound: keep it off the async workers.
        let reports = tokio::task::spawn_blocking(move || prepared.evaluate(&dataset))
            .await
            .map_err(|join| AppError::Internal(format!("evaluation task failed: {join}")))??;
        tracing::debug!(tenant_id, records_read, "computed metrics");
        Ok(ComputeOutcome {
            reports,
            records_read,
        })
    }
}
