//! Generates the gRPC server and client code for the workspace's `proto/crm/metrics/v1` with
//! tonic-prost-build.
//!
//! protoc comes from the `protoc-bin-vendored` crate (and so do the well-known types such as
//! `google/protobuf/timestamp.proto`), so no system protoc is needed. Maps are generated as
//! `BTreeMap` so iteration and encoding are deterministic. A file descriptor set is written next to
//! the generated code for the server-reflection service.

use std::path::PathBuf;

/// The contract lives at the workspace's root (`proto/`), where buf and the other languages'
/// generators read it too.
const PROTO_ROOT: &str = "../proto";
const PROTOS: [&str; 5] = [
    "../proto/crm/metrics/v1/common.proto",
    "../proto/crm/metrics/v1/records.proto",
    "../proto/crm/metrics/v1/ingest.proto",
    "../proto/crm/metrics/v1/metrics.proto",
    "../proto/crm/metrics/v1/tenants.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={PROTO_ROOT}");
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let protos: Vec<PathBuf> = PROTOS.iter().map(|p| manifest_dir.join(p)).collect();
    let includes = [
        manifest_dir.join(PROTO_ROOT),
        protoc_bin_vendored::include_path()?,
    ];

    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .btree_map(".")
        // Prost's codec, with a message that does not decode reported as INVALID_ARGUMENT.
        .codec_path("crate::codec::MessageCodec")
        .file_descriptor_set_path(out_dir.join("crm_metrics_descriptor.bin"))
        .compile_with_config(config, &protos, &includes)?;
    Ok(())
}
