//! Kept computations: what a computation was asked and what it answered, retrievable by id.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use crm_metrics_engine::eval::MetricReport;
use uuid::Uuid;

use super::{App, AppError, TenantId};
use crate::storage::{self, Computation, PersonalField};

/// Where a kept computation's records came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComputationSource {
    /// The tenant's stored records (`ComputeMetrics` with `save`).
    TenantData,
    /// Records sent with the request (`ComputeOnRecords`).
    InlineRecords,
}

impl From<ComputationSource> for storage::ComputationSource {
    fn from(source: ComputationSource) -> Self {
        match source {
            ComputationSource::TenantData => storage::ComputationSource::TenantData,
            ComputationSource::InlineRecords => storage::ComputationSource::InlineRecords,
        }
    }
}

impl From<storage::ComputationSource> for ComputationSource {
    fn from(source: storage::ComputationSource) -> Self {
        match source {
            storage::ComputationSource::TenantData => ComputationSource::TenantData,
            storage::ComputationSource::InlineRecords => ComputationSource::InlineRecords,
        }
    }
}

/// A kept computation as the use cases hand it out.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptComputation {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub source: ComputationSource,
    /// The encoded request (its inputs) without the personal data of its records.
    pub request: Vec<u8>,
    /// The encoded result, as returned.
    pub result: Vec<u8>,
    /// Metric id → definition version.
    pub definition_versions: BTreeMap<String, u32>,
    /// The personal data of the request's records not erased since, to put back in place.
    pub personal: Vec<PersonalField>,
}

impl From<Computation> for KeptComputation {
    fn from(kept: Computation) -> Self {
        KeptComputation {
            id: kept.id,
            created_at: kept.created_at,
            source: kept.source.into(),
            request: kept.request,
            result: kept.result,
            definition_versions: kept.definition_versions,
            personal: kept.personal,
        }
    }
}

impl App {
    /// Keeps a computation's encoded request (without the personal data of its records, kept
    /// beside it as `personal`) and result with the definition versions of its reports; returns
    /// the new computation's id.
    pub async fn keep_computation(
        &self,
        tenant_id: &str,
        source: ComputationSource,
        request: Vec<u8>,
        personal: Vec<PersonalField>,
        result: Vec<u8>,
        reports: &[MetricReport],
    ) -> Result<Uuid, AppError> {
        if result.len() > self.limits.max_saved_result_bytes {
            // ComputeMetrics keeps its result only when asked to; ComputeOnRecords always does,
            // so there the page of groups is what to change.
            let field = match source {
                ComputationSource::TenantData => "save",
                ComputationSource::InlineRecords => "group_limit",
            };
            return Err(AppError::invalid(
                field,
                format!(
                    "the result is {} bytes, over the {} bytes a kept computation may hold \
                     (the service's --max-saved-result-bytes); nothing was kept: ask for fewer \
                     groups (group_limit), a coarser granularity or fewer metrics",
                    result.len(),
                    self.limits.max_saved_result_bytes
                ),
            ));
        }
        let definition_versions: BTreeMap<String, u32> = reports
            .iter()
            .map(|r| (r.metric.to_owned(), r.definition_version))
            .collect();
        let computation = Computation {
            id: Uuid::new_v4(),
            created_at: Utc::now(),
            source: source.into(),
            request,
            result,
            definition_versions,
            personal,
        };
        self.store.save_computation(tenant_id, &computation).await?;
        Ok(computation.id)
    }

    /// Refuses a computation response of `bytes` encoded bytes over the response limit (before
    /// it is kept or sent); `grouped` says whether the request pages groups.
    pub fn check_response_size(&self, bytes: usize, grouped: bool) -> Result<(), AppError> {
        let limit = self.limits.max_response_bytes;
        if bytes <= limit {
            return Ok(());
        }
        Err(AppError::invalid(
            if grouped { "group_limit" } else { "metrics" },
            format!(
                "the response would be {bytes} bytes, over the {limit}-byte limit of this service \
                 (--max-response-bytes); ask for fewer groups (group_limit), a coarser \
                 granularity or fewer metrics"
            ),
        ))
    }

    /// The tenant's computation with `computation_id`.
    pub async fn computation(
        &self,
        tenant_id: &TenantId,
        computation_id: &str,
    ) -> Result<KeptComputation, AppError> {
        let id = Uuid::parse_str(computation_id)
            .map_err(|_| AppError::invalid("computation_id", "a computation id is a UUID"))?;
        // One past the retention period is gone, whether or not the sweep has deleted it yet.
        let kept_since = self.retention_cutoff()?;
        self.store
            .computation(tenant_id, id, kept_since)
            .await?
            .map(KeptComputation::from)
            .ok_or_else(|| {
                AppError::NotFound(format!("no computation {id} for tenant {tenant_id}"))
            })
    }

    /// Up to `limit` kept computations whose personal data is still inside their encoded
    /// request (kept before it was kept apart): (tenant, id, request).
    pub async fn computations_with_personal_inside(
        &self,
        limit: i64,
    ) -> Result<Vec<(String, Uuid, Vec<u8>)>, AppError> {
        Ok(self.store.computations_with_personal_inside(limit).await?)
    }

    /// Replaces a kept computation's request by `request` (without personal data) and keeps
    /// `personal` apart, where erasure reaches it.
    pub async fn keep_personal_apart(
        &self,
        tenant_id: &str,
        id: Uuid,
        request: &[u8],
        personal: &[PersonalField],
    ) -> Result<(), AppError> {
        Ok(self
            .store
            .keep_personal_apart(tenant_id, id, request, personal)
            .await?)
    }

    /// Deletes a kept computation.
    pub async fn forget_computation(&self, tenant_id: &str, id: Uuid) -> Result<(), AppError> {
        Ok(self.store.delete_computation(tenant_id, id).await?)
    }

    /// Deletes every tenant's computations older than the retention period (with the personal
    /// data kept beside them); returns how many were deleted.
    pub async fn delete_expired_computations(&self) -> Result<u64, AppError> {
        let kept_since = self.retention_cutoff()?;
        Ok(self.store.delete_computations_before(kept_since).await?)
    }

    /// The oldest creation time still within the retention period.
    fn retention_cutoff(&self) -> Result<DateTime<Utc>, AppError> {
        chrono::Duration::from_std(self.computation_retention)
            .ok()
            .and_then(|retention| Utc::now().checked_sub_signed(retention))
            .ok_or_else(|| AppError::internal("the computation retention period is out of range"))
    }

    /// How often expired computations should be swept: the retention period, at most hourly.
    pub fn computation_sweep_interval(&self) -> std::time::Duration {
        self.computation_retention
            .min(std::time::Duration::from_secs(3600))
            .max(std::time::Duration::from_millis(100))
    }
}
