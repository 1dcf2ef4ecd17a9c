//! Kept computations: what a computation was asked and what it answered, retrievable by id.

use std::collections::BTreeMap;

use chrono::Utc;
use crm_metrics_engine::eval::MetricReport;
use uuid::Uuid;

use super::ingest::validate_tenant;
use super::{App, AppError};
use crate::storage::{Computation, ComputationSource, PersonalField};

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
        let definition_versions: BTreeMap<String, u32> = reports
            .iter()
            .map(|r| (r.metric.to_owned(), r.definition_version))
            .collect();
        let computation = Computation {
            id: Uuid::new_v4(),
            created_at: Utc::now(),
            source,
            request,
            result,
            definition_versions,
            personal,
        };
        self.store.save_computation(tenant_id, &computation).await?;
        Ok(computation.id)
    }

    /// The tenant's computation with `computation_id`.
    pub async fn computation(
        &self,
        tenant_id: &str,
        computation_id: &str,
    ) -> Result<Computation, AppError> {
        validate_tenant(tenant_id)?;
        let id = Uuid::parse_str(computation_id)
            .map_err(|_| AppError::invalid("computation_id", "a computation id is a UUID"))?;
        self.store.computation(tenant_id, id).await?.ok_or_else(|| {
            AppError::NotFound(format!("no computation {id} for tenant {tenant_id}"))
        })
    }
}
