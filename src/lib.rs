//! `crm-metrics`: a gRPC service that ingests CRM records into PostgreSQL and computes exactly
//! defined CRM metrics over them with the pure `crm-metrics-engine`.
//!
//! Layers (see ARCHITECTURE.md): [`grpc`] (protobuf edge) → [`app`] (use cases, clock) →
//! [`storage`] (PostgreSQL) and the engine crate (formulas).

pub mod admission;
pub mod app;
pub mod auth;
pub mod config;
pub mod grpc;
pub mod shutdown;
pub mod snapshot;
pub mod startup;
pub mod storage;
pub mod telemetry;
pub mod transport;
