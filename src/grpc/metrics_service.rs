//! `MetricsService`: the catalog, metric computation over the tenant's data or over inline
//! records, and kept computations.

use chrono::Utc;
use crm_metrics_engine::dataset::Dataset;
use crm_metrics_engine::eval::MetricReport;
use prost::Message;
use tonic::{Request, Response, Status};

use super::caller::caller_of;
use super::convert::page::page_token;
use super::convert::personal::{restore_personal, take_personal};
use super::convert::{
    ComputeInput, compute_request_at, compute_request_from_proto, definition_to_proto,
    records_from_proto, report_to_proto, timestamp_to_proto,
};
use super::pb;
use super::pb::metrics_service_server::MetricsService;
use super::status::invalid_argument;
use crate::admission::AdmissionGate;
use crate::app::{App, AppError, Asked, ComputationSource, ComputeOutcome};
use crate::auth::{Access, Permission};

/// Handles `crm.metrics.v1.MetricsService`.
#[derive(Clone)]
pub struct MetricsHandler {
    app: App,
    admission: AdmissionGate,
    access: Access,
}

impl MetricsHandler {
    /// A handler over `app`; `admission` bounds the computations running at once; `access`
    /// decides who may read which tenant.
    pub fn new(app: App, admission: AdmissionGate, access: Access) -> MetricsHandler {
        MetricsHandler {
            app,
            admission,
            access,
        }
    }
}

/// The response for computed reports, refused when it is over the response size limit.
fn compute_response(
    app: &App,
    outcome: &ComputeOutcome,
    input: &ComputeInput,
) -> Result<pb::ComputeMetricsResponse, AppError> {
    let request = &input.request;
    let response = pb::ComputeMetricsResponse {
        reports: outcome
            .reports
            .iter()
            .map(|r| report_to_proto(r, &request.group_by))
            .collect(),
        as_of: Some(timestamp_to_proto(request.as_of)),
        time_zone: outcome.time_zone.name().to_owned(),
        computation_id: String::new(),
        next_page_token: next_page_token(&outcome.reports, input),
    };
    app.check_response_size(response.encoded_len(), !request.group_by.is_empty())?;
    Ok(response)
}

/// The token of the page after this one, when a report has groups after it; empty otherwise.
fn next_page_token(reports: &[MetricReport], input: &ComputeInput) -> String {
    let offset = input.request.groups.offset;
    let more = reports
        .iter()
        .any(|r| r.group_count > offset.saturating_add(r.groups.len()));
    if !more {
        return String::new();
    }
    let listed = reports.iter().map(|r| r.groups.len()).max().unwrap_or(0);
    page_token(offset + listed, input.page_fingerprint)
}

/// What the request names itself, where the tenant's settings fill in the rest.
fn asked(input: &ComputeInput) -> Asked {
    Asked {
        reporting_currency: input.reporting_currency,
        time_zone: input.time_zone,
    }
}

/// Prefixes the field paths of invalid-argument problems (a query nested under `query`).
fn nested(error: AppError, prefix: &str) -> AppError {
    match error {
        AppError::Invalid(problems) => AppError::Invalid(
            problems
                .into_iter()
                .map(|mut p| {
                    p.field = format!("{prefix}.{}", p.field);
                    p
                })
                .collect(),
        ),
        other => other,
    }
}

#[tonic::async_trait]
impl MetricsService for MetricsHandler {
    async fn list_metrics(
        &self,
        request: Request<pb::ListMetricsRequest>,
    ) -> Result<Response<pb::ListMetricsResponse>, Status> {
        // The catalog is no tenant's data, but it is served only to accepted callers.
        caller_of(&self.access, &request)?;
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
        let caller = caller_of(&self.access, &request)?;
        let mut request = request.into_inner();
        let tenant = caller.tenant(
            &self.access,
            Permission::Read,
            std::mem::take(&mut request.tenant_id),
        )?;
        request.tenant_id = tenant.to_string();
        // Held to the end of the call: the read, the evaluation and keeping the result.
        let _admitted = self.admission.admit().await?;
        let encoded_request = request.save.then(|| request.encode_to_vec());
        let converted =
            compute_request_from_proto(request, receive_time).map_err(|p| invalid_argument(&p))?;
        let outcome = self
            .app
            .compute(
                &tenant,
                &converted.request,
                asked(&converted),
                converted.min_consistency_token.as_deref(),
            )
            .await?;
        let mut response = compute_response(&self.app, &outcome, &converted)?;
        if let Some(encoded_request) = encoded_request {
            let id = self
                .app
                .keep_computation(
                    &tenant,
                    ComputationSource::TenantData,
                    encoded_request,
                    Vec::new(),
                    response.encode_to_vec(),
                    &outcome.reports,
                )
                .await?;
            response.computation_id = id.to_string();
        }
        Ok(Response::new(response))
    }

    async fn compute_on_records(
        &self,
        request: Request<pb::ComputeOnRecordsRequest>,
    ) -> Result<Response<pb::ComputeOnRecordsResponse>, Status> {
        let receive_time = Utc::now();
        let caller = caller_of(&self.access, &request)?;
        let mut request = request.into_inner();
        let Some(query) = request.query.as_mut() else {
            return Err(invalid_argument(&[
                crm_metrics_engine::query::Problem::new("query", "a query is required"),
            ]));
        };
        let tenant = caller
            .tenant(
                &self.access,
                Permission::Read,
                std::mem::take(&mut query.tenant_id),
            )
            .map_err(|e| nested(e, "query"))?;
        query.tenant_id = tenant.to_string();
        // Held to the end of the call: the evaluation and keeping the result.
        let _admitted = self.admission.admit().await?;
        // What is kept: the request, with the personal data of its records stored apart.
        let mut kept_request = request.clone();
        let pb::ComputeOnRecordsRequest { query, records } = request;
        let Some(query) = query else {
            return Err(invalid_argument(&[
                crm_metrics_engine::query::Problem::new("query", "a query is required"),
            ]));
        };
        self.app.check_batch_size(records.len())?;
        // Every problem of both parts is reported together.
        let converted = compute_request_at("query", query, receive_time);
        let records = records_from_proto(records);
        let (converted, records) = match (converted, records) {
            (Ok(converted), Ok(records)) => (converted, records),
            (converted, records) => {
                let mut problems = converted.err().unwrap_or_default();
                problems.extend(records.err().unwrap_or_default());
                return Err(invalid_argument(&problems));
            }
        };
        let outcome = self
            .app
            .compute_on_records(
                &tenant,
                &converted.request,
                Dataset::from_records(records),
                asked(&converted),
            )
            .await
            .map_err(|e| nested(e, "query"))?;
        let result =
            compute_response(&self.app, &outcome, &converted).map_err(|e| nested(e, "query"))?;
        let personal = take_personal(&mut kept_request.records);
        let id = self
            .app
            .keep_computation(
                &tenant,
                ComputationSource::InlineRecords,
                kept_request.encode_to_vec(),
                personal,
                result.encode_to_vec(),
                &outcome.reports,
            )
            .await
            .map_err(|e| nested(e, "query"))?;
        Ok(Response::new(pb::ComputeOnRecordsResponse {
            result: Some(result),
            computation_id: id.to_string(),
        }))
    }

    async fn get_computation(
        &self,
        request: Request<pb::GetComputationRequest>,
    ) -> Result<Response<pb::GetComputationResponse>, Status> {
        let caller = caller_of(&self.access, &request)?;
        let pb::GetComputationRequest {
            tenant_id,
            computation_id,
        } = request.into_inner();
        let tenant_id = caller.tenant(&self.access, Permission::Read, tenant_id)?;
        let kept = self.app.computation(&tenant_id, &computation_id).await?;
        let corrupt = |what: &str, e: prost::DecodeError| {
            Status::from(AppError::internal_caused(
                format!("computation {}: cannot decode the kept {what}", kept.id),
                e,
            ))
        };
        let result = pb::ComputeMetricsResponse::decode(kept.result.as_slice())
            .map_err(|e| corrupt("result", e))?;
        let (query, records) = match kept.source {
            ComputationSource::TenantData => (
                pb::ComputeMetricsRequest::decode(kept.request.as_slice())
                    .map_err(|e| corrupt("request", e))?,
                Vec::new(),
            ),
            ComputationSource::InlineRecords => {
                let mut request = pb::ComputeOnRecordsRequest::decode(kept.request.as_slice())
                    .map_err(|e| corrupt("request", e))?;
                // Personal data not erased since goes back in its place.
                restore_personal(&mut request.records, kept.personal);
                (request.query.unwrap_or_default(), request.records)
            }
        };
        let source = match kept.source {
            ComputationSource::TenantData => pb::ComputationSource::TenantData,
            ComputationSource::InlineRecords => pb::ComputationSource::InlineRecords,
        };
        Ok(Response::new(pb::GetComputationResponse {
            computation: Some(pb::Computation {
                computation_id: kept.id.to_string(),
                tenant_id: tenant_id.to_string(),
                created_time: Some(timestamp_to_proto(kept.created_at)),
                source: source as i32,
                query: Some(query),
                records,
                result: Some(result),
                definition_versions: kept.definition_versions.into_iter().collect(),
            }),
        }))
    }
}
