//! The compute use case: validate a query against the catalog, read one snapshot of the tenant's
//! rows the query needs, and evaluate every metric over it with the engine.

use std::sync::Arc;

use crm_metrics_engine::Tz;
use crm_metrics_engine::dataset::Dataset;
use crm_metrics_engine::eval::{MetricReport, Prepared, prepare};
use crm_metrics_engine::money::Currency;
use crm_metrics_engine::query::{ComputeRequest, TenantCalendar};
use tokio::sync::Semaphore;

use super::{App, AppError, TenantId, TenantSettings};
use crate::snapshot::TenantData;
use crate::storage::{Observed, parse_token, token};

/// Reports for every metric of a request.
#[derive(Debug, Clone)]
pub struct ComputeOutcome {
    pub reports: Vec<MetricReport>,
    /// How many records the engine read.
    pub records_read: usize,
    /// The time zone the request was computed in (the request's, else the tenant's).
    pub time_zone: Tz,
}

/// What a request names itself, where the tenant's settings fill in what it does not.
#[derive(Debug, Clone, Copy, Default)]
pub struct Asked {
    /// The currency to report money in.
    pub reporting_currency: Option<Currency>,
    /// The time zone to cut calendar buckets in.
    pub time_zone: Option<Tz>,
}

/// `request` with the tenant's settings where the request names nothing, and the reporting
/// currency that applies.
fn with_settings(
    request: &ComputeRequest,
    asked: Asked,
    settings: TenantSettings,
) -> (ComputeRequest, Option<Currency>) {
    let mut request = request.clone();
    request.time_zone = asked.time_zone.unwrap_or(settings.time_zone);
    request.tenant = TenantCalendar {
        base_currency: settings.base_currency,
        fiscal_year_start_month: settings.fiscal_year_start_month,
    };
    let currency = asked.reporting_currency.or(settings.reporting_currency);
    (request, currency)
}

impl App {
    /// Computes every metric of `request` over one snapshot of the tenant's data, with the
    /// tenant's settings where the request names nothing: money is converted into the reporting
    /// currency when there is one.
    pub async fn compute(
        &self,
        tenant_id: &TenantId,
        request: &ComputeRequest,
        asked: Asked,
        min_consistency_token: Option<&str>,
    ) -> Result<ComputeOutcome, AppError> {
        let required_change = match min_consistency_token {
            None => None,
            Some(token) => Some(parse_token(token).ok_or_else(|| {
                AppError::invalid(
                    "min_consistency_token",
                    "not a token returned by IngestRecords, StreamRecords or DeleteRecords",
                )
            })?),
        };
        let (prepared, currency, observed) =
            self.prepare_settled(tenant_id, request, asked).await?;
        let data = self
            .snapshots
            .read_observed(tenant_id, &prepared.plan(currency), observed.position)
            .await?;
        if let Some(required) = required_change
            && !data.position.contains(required)
        {
            // Every acknowledged write of the tenant is visible to the next read, so a token
            // ahead of the tenant's changes was not issued for this tenant.
            return Err(AppError::FailedPrecondition(format!(
                "min_consistency_token {} is ahead of tenant {tenant_id:?}, whose change lanes \
                 are at {}; tokens are issued per tenant",
                token(required),
                data.position
            )));
        }
        let outcome = evaluate_kept(prepared, data, currency, &self.evaluation_slots).await?;
        tracing::debug!(
            tenant_id = tenant_id.as_str(),
            records_read = outcome.records_read,
            "computed metrics"
        );
        Ok(outcome)
    }

    /// Computes every metric of `request` over `records` sent with it (already validated like an
    /// ingestion batch); nothing is written to the tenant's data.
    pub async fn compute_on_records(
        &self,
        tenant_id: &TenantId,
        request: &ComputeRequest,
        records: Dataset,
        asked: Asked,
    ) -> Result<ComputeOutcome, AppError> {
        self.check_batch_size(records.len())?;
        let (prepared, currency, _) = self.prepare_settled(tenant_id, request, asked).await?;
        evaluate(prepared, records, currency, &self.evaluation_slots).await
    }

    /// Reads the tenant's position and settings (one statement), and prepares `request` with
    /// the settings where it names nothing; also returns the reporting currency that applies.
    async fn prepare_settled(
        &self,
        tenant_id: &str,
        request: &ComputeRequest,
        asked: Asked,
    ) -> Result<(Prepared, Option<Currency>, Observed), AppError> {
        let observed = self.store.observe(tenant_id).await?;
        let settings = self
            .settings_at(tenant_id, observed.settings_version)
            .await?;
        let (request, currency) = with_settings(request, asked, settings);
        let prepared = prepare(&request).map_err(AppError::Invalid)?;
        Ok((prepared, currency, observed))
    }
}

/// Evaluates a prepared request over `dataset` on a blocking thread (the engine is CPU-bound).
async fn evaluate(
    prepared: Prepared,
    dataset: Dataset,
    reporting_currency: Option<Currency>,
    slots: &Arc<Semaphore>,
) -> Result<ComputeOutcome, AppError> {
    on_blocking_thread(slots, move || {
        let records_read = dataset.len();
        let reports = prepared.evaluate(&dataset, reporting_currency)?;
        Ok(ComputeOutcome {
            reports,
            records_read,
            time_zone: prepared.frame.time_zone,
        })
    })
    .await
}

/// Requests over at most this many records (counting every record of the kinds they read) are
/// evaluated on the calling task: they take well under a millisecond, less than handing them to
/// a blocking thread and waking the task again costs.
const INLINE_RECORDS: usize = 50_000;

/// Evaluates a prepared request over a tenant's records (kept in memory or just read) once an
/// evaluation slot is free: small ones right here, large ones on a blocking thread (the engine
/// is CPU-bound). Small ones take a slot too, so no more evaluations run at once than there are
/// cores, whatever their size; otherwise the inline ones share the cores with the blocking ones
/// and stretch them.
async fn evaluate_kept(
    prepared: Prepared,
    data: TenantData,
    reporting_currency: Option<Currency>,
    slots: &Arc<Semaphore>,
) -> Result<ComputeOutcome, AppError> {
    let size = data.records_at_most();
    let evaluate = move || {
        let view = data.view();
        let records_read = view.len();
        let reports = prepared.evaluate_view(view, reporting_currency)?;
        Ok(ComputeOutcome {
            reports,
            records_read,
            time_zone: prepared.frame.time_zone,
        })
    };
    if size <= INLINE_RECORDS {
        let _slot = slots.acquire().await.map_err(slots_closed)?;
        evaluate()
    } else {
        on_blocking_thread(slots, evaluate).await
    }
}

/// Runs `work` on a blocking thread once one of `slots` (one per core) is free, first come first
/// served. Large evaluations thus run one per core at full speed instead of all sharing the
/// cores: a heavy request is not stretched by every other admitted one, and those queued behind
/// it wait less than sharing would have slowed them. The slot is held until the work ends, even
/// if the caller goes away.
async fn on_blocking_thread(
    slots: &Arc<Semaphore>,
    work: impl FnOnce() -> Result<ComputeOutcome, AppError> + Send + 'static,
) -> Result<ComputeOutcome, AppError> {
    let slot = Arc::clone(slots)
        .acquire_owned()
        .await
        .map_err(slots_closed)?;
    tokio::task::spawn_blocking(move || {
        let outcome = work();
        drop(slot);
        outcome
    })
    .await
    .map_err(|join| AppError::internal_caused("evaluation task failed", join))?
}

fn slots_closed(closed: tokio::sync::AcquireError) -> AppError {
    AppError::internal_caused("evaluation slots closed", closed)
}
