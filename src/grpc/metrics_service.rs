//! `MetricsService`: the catalog and metric computation.

use chrono::Utc;
use tonic::{Request, Response, Status};

use super::convert::{
    compute_request_from_proto, definition_to_proto, report_to_proto, timestamp_to_proto,
};
use super::pb;
use super::pb::metrics_service_server::MetricsService;
use super::status::invalid_argument;
use crate::app::App;

/// Handles `crm.metrics.v1.MetricsService`.
#[derive(Clone)]
pub struct MetricsHandler {
    app: App,
}

impl MetricsHandler {
    /// A handler over `app`.
    pub fn new(app: App) -> MetricsHandler {
        MetricsHandler { app }
    }
}

#[tonic::async_trait]
impl MetricsService for MetricsHandler {
    async fn list_metrics(
        &self,
        _request: Request<pb::ListMetricsRequest>,
    ) -> Result<Response<pb::ListMetricsResponse>, Status> {
        let metrics = crm_metrics_engine::metrics::catalog()
            .iter()
            .map(|m| definition_to_proto(m.definition()))
            .collect();
        Ok(Response::new(pb::ListMetricsResponse { metrics }))
    }

    async fn compute_metrics(
        &self,
        request: Request<pb::ComputeMetricsRequest>,
    ) -> Result<Response<pb::ComputeMetricsResponse>, Status> {
        let receive_time = Utc::now();
        let converted = compute_request_from_proto(request.into_inner(), receive_time)
            .map_err(|p| invalid_argument(&p))?;
        let outcome = self
            .app
            .compute(
                &converted.tenant_id,
                &converted.request,
                converted.reporting_currency,
                converted.min_consistency_token.as_deref(),
            )
            .await?;
        Ok(Response::new(pb::ComputeMetricsResponse {
            reports: outcome
                .reports
                .iter()
                .map(|r| report_to_proto(r, &converted.request.group_by))
                .collect(),
            as_of: Some(timestamp_to_proto(converted.request.as_of)),
            time_zone: converted.request.time_zone.name().to_owned(),
        }))
    }
}
