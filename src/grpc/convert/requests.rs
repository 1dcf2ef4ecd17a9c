//! The small requests: tenant ids, `DeleteRecords`, `EraseCustomer`, and problems → proto field
//! violations (for `BadRequest` details and `BatchRejection`).

use crm_metrics_engine::query::Problem;
use crm_metrics_engine::records::RecordKind;

use super::enums;
use super::fields::Fields;
use super::pb;

/// A validated `DeleteRecords` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteInput {
    pub tenant_id: String,
    pub kind: RecordKind,
    /// The ids to delete, each 1–128 characters, at least one.
    pub ids: Vec<String>,
}

/// A validated `EraseCustomer` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EraseInput {
    pub tenant_id: String,
    pub customer_id: String,
}

/// A tenant id: 1–128 characters. The problem names the field `tenant_id`.
pub fn tenant_from_proto(tenant_id: String) -> Result<String, Problem> {
    let mut problems = Vec::new();
    Fields::new("", &mut problems)
        .id("tenant_id", tenant_id)
        .ok_or_else(|| {
            problems
                .pop()
                .unwrap_or_else(|| Problem::new("tenant_id", "is invalid"))
        })
}

/// Validates a `DeleteRecords` request.
pub fn delete_request_from_proto(
    request: pb::DeleteRecordsRequest,
) -> Result<DeleteInput, Vec<Problem>> {
    let pb::DeleteRecordsRequest {
        tenant_id,
        kind,
        ids,
    } = request;
    let mut problems = Vec::new();
    let mut f = Fields::new("", &mut problems);
    let tenant_id = f.id("tenant_id", tenant_id);
    let kind = f.enumeration(
        "kind",
        kind,
        pb::RecordKind::as_str_name,
        enums::record_kind,
    );
    if ids.is_empty() {
        f.problem("ids", "at least one id is required");
    }
    let mut valid_ids = Vec::with_capacity(ids.len());
    for (i, id) in ids.into_iter().enumerate() {
        if let Some(id) = f.id(&format!("ids[{i}]"), id) {
            valid_ids.push(id);
        }
    }
    match (tenant_id, kind) {
        (Some(tenant_id), Some(kind)) if problems.is_empty() => Ok(DeleteInput {
            tenant_id,
            kind,
            ids: valid_ids,
        }),
        _ => Err(problems),
    }
}

/// Validates an `EraseCustomer` request.
pub fn erase_request_from_proto(
    request: pb::EraseCustomerRequest,
) -> Result<EraseInput, Vec<Problem>> {
    let pb::EraseCustomerRequest {
        tenant_id,
        customer_id,
    } = request;
    let mut problems = Vec::new();
    let mut f = Fields::new("", &mut problems);
    let tenant_id = f.id("tenant_id", tenant_id);
    let customer_id = f.id("customer_id", customer_id);
    match (tenant_id, customer_id) {
        (Some(tenant_id), Some(customer_id)) => Ok(EraseInput {
            tenant_id,
            customer_id,
        }),
        _ => Err(problems),
    }
}

/// Problems as proto field violations, in order: the first ones, within the limits of an error's
/// details (`status::listed_problems`; the rejection's message gives the total).
pub fn violations_to_proto(problems: &[Problem]) -> Vec<pb::FieldViolation> {
    crate::grpc::status::listed_problems(problems)
        .into_iter()
        .map(|p| pb::FieldViolation {
            field: p.field,
            description: p.description,
        })
        .collect()
}

#[cfg(test)]
#[path = "tests/requests.rs"]
mod tests;
