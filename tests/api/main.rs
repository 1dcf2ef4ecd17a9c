//! Integration tests: a real PostgreSQL (the one in `DATABASE_URL`, else an embedded cluster
//! started once per run), a fresh database per test, the real server on a loopback port, and the
//! generated gRPC clients.

mod helpers;

mod access;
mod admission;
mod bad_input;
mod bounded;
mod catalog_doc;
mod catalog_metrics;
mod computations;
mod compute_queries;
mod erasure;
mod ingestion;
mod load_generator;
mod many_customers;
mod sales_metrics;
mod service;
mod settings;
mod snapshots;
mod survey_metrics;
mod telemetry;
mod telemetry_process;
mod tls;
mod value_metrics;
mod web;
