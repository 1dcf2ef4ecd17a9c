//! `IngestService`: atomic batch upserts, a bulk-load stream acknowledged batch by batch
//! (`ingest_stream.rs`), deletion and erasure.

use prost::Message;
use tonic::{Request, Response, Status, Streaming};

use super::caller::caller_of;
use super::convert::{kind_from_proto, records_from_proto, violations_to_proto};
use super::ingest_stream::{AckStream, stream_records};
use super::pb;
use super::pb::ingest_service_server::IngestService;
use super::status::invalid_argument;
use crate::app::{App, AppError, IngestOutcome, RecordId, RecordOutcome, TenantId};
use crate::auth::{Access, Permission};
use crate::shutdown::Stopping;
use crm_metrics_engine::query::Problem;
use crm_metrics_engine::records::Record;

/// Handles `crm.metrics.v1.IngestService`.
#[derive(Clone)]
pub struct IngestHandler {
    app: App,
    pub(super) access: Access,
    /// Ends open streams once the service stops accepting connections.
    pub(super) stopping: Stopping,
}

impl IngestHandler {
    /// A handler over `app`; `access` decides who may write, delete and erase which tenant;
    /// open streams end once `stopping` fires.
    pub fn new(app: App, access: Access, stopping: Stopping) -> IngestHandler {
        IngestHandler {
            app,
            access,
            stopping,
        }
    }

    /// Validates, converts and commits one batch.
    async fn ingest_batch(
        &self,
        tenant_id: &TenantId,
        records: Vec<pb::CrmRecord>,
        encoded_len: usize,
    ) -> Result<pb::IngestRecordsResponse, AppError> {
        let records = self.prepare_batch(records, encoded_len)?;
        self.commit_batch(tenant_id, &records).await
    }

    /// Checks a batch's size and converts its records, everything before the database.
    pub(super) fn prepare_batch(
        &self,
        records: Vec<pb::CrmRecord>,
        encoded_len: usize,
    ) -> Result<Vec<Record>, AppError> {
        let limits = self.app.limits();
        if encoded_len > limits.max_message_bytes {
            return Err(AppError::invalid(
                "records",
                format!(
                    "a batch message holds at most {} bytes (got {encoded_len})",
                    limits.max_message_bytes
                ),
            ));
        }
        self.app.check_batch_size(records.len())?;
        records_from_proto(records).map_err(AppError::Invalid)
    }

    /// Commits a converted batch.
    pub(super) async fn commit_batch(
        &self,
        tenant_id: &TenantId,
        records: &[Record],
    ) -> Result<pb::IngestRecordsResponse, AppError> {
        let outcome = self.app.ingest(tenant_id, records).await?;
        Ok(ingest_response(records, outcome))
    }
}

fn ingest_response(
    records: &[crm_metrics_engine::records::Record],
    outcome: IngestOutcome,
) -> pb::IngestRecordsResponse {
    let mut response = pb::IngestRecordsResponse {
        consistency_token: outcome.consistency_token,
        ..Default::default()
    };
    for (index, (record, result)) in records.iter().zip(outcome.outcomes).enumerate() {
        let proto_outcome = match result {
            RecordOutcome::Created => {
                response.created += 1;
                pb::RecordOutcome::Created
            }
            RecordOutcome::Updated => {
                response.updated += 1;
                pb::RecordOutcome::Updated
            }
            RecordOutcome::Unchanged => {
                response.unchanged += 1;
                pb::RecordOutcome::Unchanged
            }
            RecordOutcome::Stale => {
                response.stale += 1;
                pb::RecordOutcome::Stale
            }
        };
        response.results.push(pb::RecordResult {
            index: index as u32,
            kind: super::convert::kind_to_proto(record.kind()),
            id: record.meta().id.to_string(),
            outcome: proto_outcome as i32,
        });
    }
    response
}

/// The acknowledgement of a rejected batch: the status it would have had as a unary call.
pub(super) fn rejection(error: AppError) -> pb::BatchRejection {
    let field_violations = match &error {
        AppError::Invalid(problems) => violations_to_proto(problems),
        _ => Vec::new(),
    };
    let status = Status::from(error);
    pb::BatchRejection {
        code: status.code() as i32,
        message: status.message().to_owned(),
        field_violations,
    }
}

#[tonic::async_trait]
impl IngestService for IngestHandler {
    async fn ingest_records(
        &self,
        request: Request<pb::IngestRecordsRequest>,
    ) -> Result<Response<pb::IngestRecordsResponse>, Status> {
        let caller = caller_of(&self.access, &request)?;
        let encoded_len = request.get_ref().encoded_len();
        let pb::IngestRecordsRequest { tenant_id, records } = request.into_inner();
        let tenant_id = caller.tenant(&self.access, Permission::Ingest, tenant_id)?;
        let response = self.ingest_batch(&tenant_id, records, encoded_len).await?;
        Ok(Response::new(response))
    }

    type StreamRecordsStream = AckStream;

    async fn stream_records(
        &self,
        request: Request<Streaming<pb::StreamRecordsRequest>>,
    ) -> Result<Response<AckStream>, Status> {
        let caller = caller_of(&self.access, &request)?;
        Ok(Response::new(stream_records(
            self,
            caller,
            request.into_inner(),
        )))
    }

    async fn delete_records(
        &self,
        request: Request<pb::DeleteRecordsRequest>,
    ) -> Result<Response<pb::DeleteRecordsResponse>, Status> {
        let caller = caller_of(&self.access, &request)?;
        let pb::DeleteRecordsRequest {
            tenant_id,
            kind,
            ids,
        } = request.into_inner();
        let tenant_id = caller.tenant(&self.access, Permission::Delete, tenant_id)?;
        let requested = ids.len();
        let mut problems = Vec::new();
        let kind = kind_from_proto(kind);
        if kind.is_none() {
            problems.push(Problem::new("kind", "a record kind is required"));
        }
        let ids: Vec<RecordId> = ids
            .into_iter()
            .enumerate()
            .filter_map(|(i, id)| {
                RecordId::parse(&format!("ids[{i}]"), id)
                    .map_err(|problem| problems.push(problem))
                    .ok()
            })
            .collect();
        let Some(kind) = kind.filter(|_| problems.is_empty()) else {
            return Err(invalid_argument(&problems));
        };
        let (deleted, consistency_token) = self.app.delete(&tenant_id, kind, &ids).await?;
        tracing::info!(
            target: "audit",
            action = "delete_records",
            principal = caller.name(),
            tenant = %tenant_id,
            kind = ?kind,
            requested,
            deleted,
            "records deleted"
        );
        Ok(Response::new(pb::DeleteRecordsResponse {
            deleted,
            consistency_token,
        }))
    }

    async fn erase_customer(
        &self,
        request: Request<pb::EraseCustomerRequest>,
    ) -> Result<Response<pb::EraseCustomerResponse>, Status> {
        let caller = caller_of(&self.access, &request)?;
        let pb::EraseCustomerRequest {
            tenant_id,
            customer_id,
        } = request.into_inner();
        let tenant_id = caller.tenant(&self.access, Permission::Erase, tenant_id)?;
        let customer_id = RecordId::parse("customer_id", customer_id)
            .map_err(|problem| invalid_argument(&[problem]))?;
        let counts = self.app.erase_customer(&tenant_id, &customer_id).await?;
        // No customer id in the log: it may itself identify the person.
        tracing::info!(
            target: "audit",
            action = "erase_customer",
            principal = caller.name(),
            tenant = %tenant_id,
            customers = counts.customers,
            leads = counts.leads,
            survey_responses = counts.survey_responses,
            kept_computations = counts.kept_computations,
            "customer erased"
        );
        Ok(Response::new(pb::EraseCustomerResponse {
            customers: counts.customers,
            leads: counts.leads,
            survey_responses: counts.survey_responses,
            kept_computations: counts.kept_computations,
        }))
    }
}
