//! The protobuf types and gRPC stubs generated from `proto/crm/metrics/v1` (package
//! `crm.metrics.v1`) by `build.rs`.
//!
//! Only `src/grpc` names these types; everything else works with the engine's domain types, and
//! `grpc::convert` translates between the two.

// Generated code: its docs come from the proto comments and its style from prost.
#![allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    clippy::nursery,
    rustdoc::all
)]

tonic::include_proto!("crm.metrics.v1");

/// The encoded `FileDescriptorSet` of every proto file, for the server-reflection service.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    tonic::include_file_descriptor_set!("crm_metrics_descriptor");
