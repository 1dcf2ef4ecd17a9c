//! Problems → proto field violations (for `BadRequest` details and `BatchRejection`).

use crm_metrics_engine::query::Problem;

use super::pb;

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
