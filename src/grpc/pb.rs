//! The protobuf types and gRPC stubs of `crm.metrics.v1`, from the `crm-metrics-api` crate.
//!
//! Only `src/grpc` names these types; everything else works with the engine's domain types, and
//! `grpc::convert` translates between the two.

pub use crm_metrics_api::*;
