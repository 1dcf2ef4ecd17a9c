//! Protobuf ⇄ domain conversion: the only place that maps `pb` types to the engine's types.
//!
//! Every function here is pure (no I/O, no clock). Inbound conversions validate everything and
//! report every problem at once, each at its field path (`records[3].survey_response.score`), so a
//! caller can fix a whole batch in one round trip. Proto structs are destructured completely
//! (qdrant style): adding a field to a proto message breaks the build here until the field is
//! handled.
//!
//! - [`records`]: ingest batches → engine records.
//! - [`query`]: `ComputeMetricsRequest` → engine `ComputeRequest`.
//! - [`results`]: engine reports and catalog definitions → proto.
//! - [`page`]: page tokens of a group-by.
//! - [`settings`]: tenant settings.
//! - [`enums`]: enum mappings shared by the handlers (record kinds, outcomes, catalog enums).
//! - [`violations`]: problems → proto field violations. Tenant and record ids are parsed by
//!   the handlers with `app::ids`.

mod fields;

pub mod enums;
pub mod page;
pub mod personal;
pub mod query;
pub mod records;
pub mod results;
pub mod settings;
pub mod violations;

pub use enums::{kind_from_proto, kind_to_proto};
pub use query::{ComputeInput, compute_request_at, compute_request_from_proto};
pub use records::records_from_proto;
pub use results::{definition_to_proto, report_to_proto, result_to_proto};
pub use violations::violations_to_proto;

use chrono::DateTime;
use crm_metrics_engine::records::Timestamp;

// The generated code, relative so the module works wherever `grpc` is mounted.
use super::pb;

/// The first instant accepted on input: 1970-01-01T00:00:00Z.
pub const MIN_TIMESTAMP_SECONDS: i64 = 0;
/// The first instant rejected on input: 2200-01-01T00:00:00Z.
pub const END_TIMESTAMP_SECONDS: i64 = 7_258_118_400;

/// An engine instant as a protobuf timestamp.
pub fn timestamp_to_proto(t: Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        // A leap second can show up as nanos ≥ 10^9 in chrono; protobuf allows at most 10^9 − 1.
        nanos: i32::try_from(t.timestamp_subsec_nanos().min(999_999_999)).unwrap_or(999_999_999),
    }
}

/// A protobuf timestamp as an engine instant, truncated to microseconds (the storage precision,
/// so a record reads back exactly as it was converted). The error explains the accepted range.
pub fn timestamp_from_proto(t: &prost_types::Timestamp) -> Result<Timestamp, String> {
    if !(0..1_000_000_000).contains(&t.nanos) {
        return Err(format!("nanos must be in 0..=999999999, got {}", t.nanos));
    }
    if !(MIN_TIMESTAMP_SECONDS..END_TIMESTAMP_SECONDS).contains(&t.seconds) {
        return Err(format!(
            "must lie in [1970-01-01T00:00:00Z, 2200-01-01T00:00:00Z), got {} seconds since the epoch",
            t.seconds
        ));
    }
    let micros_as_nanos = u32::try_from(t.nanos / 1000 * 1000).unwrap_or(0);
    DateTime::from_timestamp(t.seconds, micros_as_nanos)
        .ok_or_else(|| "is not a valid instant".to_owned())
}

#[cfg(test)]
#[path = "tests/convert.rs"]
mod tests;
