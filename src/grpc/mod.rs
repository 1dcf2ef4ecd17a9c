//! The gRPC edge: generated protobuf types, proto ⇄ domain conversion with validation, the
//! service handlers, and the one mapping from application errors to `tonic::Status`.
//! Only this module names protobuf types.

mod caller;
pub mod convert;
mod health;
mod ingest_service;
mod ingest_stream;
mod metrics_service;
pub mod pb;
mod personal_apart;
pub mod status;
mod tenant_service;

pub use caller::TENANT_METADATA;
pub use health::DrainingHealth;
pub use ingest_service::IngestHandler;
pub use metrics_service::MetricsHandler;
pub use personal_apart::keep_personal_data_apart;
pub use tenant_service::TenantHandler;
