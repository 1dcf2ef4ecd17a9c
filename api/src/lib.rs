//! `crm-metrics-api`: the protobuf types, server traits and clients generated from
//! `proto/crm/metrics/v1` (package `crm.metrics.v1`) by `build.rs`, for the service and for every
//! Rust client (the demo, the load generator, tests).
//!
//! The service names these types only in its `grpc` layer; everything else works with the
//! engine's domain types.

pub mod codec;

/// The generated code: its docs come from the proto comments and its style from prost.
#[allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    clippy::nursery,
    rustdoc::all
)]
mod generated {
    tonic::include_proto!("crm.metrics.v1");
}

pub use generated::*;

/// The encoded `FileDescriptorSet` of every proto file, for the server-reflection service.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    tonic::include_file_descriptor_set!("crm_metrics_descriptor");
