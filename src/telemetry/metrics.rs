//! Service metrics as OpenTelemetry instruments, read two ways: a Prometheus scrape of the admin
//! port (`/metrics`) and, when `--otlp-endpoint` is set, a periodic OTLP push.
//!
//! What is measured (names follow the OpenTelemetry semantic conventions where one exists):
//! - `rpc.server.duration` (ms histogram) and `rpc.server.active_requests`, by `rpc.service`,
//!   `rpc.method` and, for durations, `rpc.grpc.status_code` (see [`super::rpc`]);
//! - `crm.records.ingested` by `record.kind` and `outcome` (created, updated, unchanged, stale);
//! - the tenant snapshots: memory held, tenant-kinds kept and loading, lookups by result, loads
//!   and evictions;
//! - computations running and the admission capacity;
//! - the database pool: `db.client.connection.count` by state and `db.client.connection.max`.
//!
//! Each service instance owns its meter provider (nothing global), so instances in one process
//! (as in tests) keep their own figures.

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Meter, MeterProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use prometheus::{Encoder, TextEncoder};

use crm_metrics_engine::records::RecordKind;

use crate::admission::AdmissionGate;
use crate::app::App;
use crate::app::RecordOutcome;

/// The instrumentation scope of every instrument.
const SCOPE: &str = "crm-metrics";

/// How often metrics are pushed over OTLP (`OTEL_METRIC_EXPORT_INTERVAL` overrides it).
const OTLP_PUSH_INTERVAL: Duration = Duration::from_secs(30);

/// The meter provider of one service instance and the Prometheus registry it fills.
pub struct Meters {
    provider: SdkMeterProvider,
    registry: prometheus::Registry,
    meter: Meter,
}

impl Meters {
    /// A provider read by a Prometheus registry and, with `otlp_endpoint`, pushed over OTLP.
    pub fn new(otlp_endpoint: Option<&str>) -> Result<Meters, String> {
        let registry = prometheus::Registry::new();
        let prometheus = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .build()
            .map_err(|e| format!("cannot build the Prometheus exporter: {e}"))?;
        let mut builder = SdkMeterProvider::builder()
            .with_reader(prometheus)
            .with_resource(super::service_resource());
        if let Some(endpoint) = otlp_endpoint {
            let exporter = opentelemetry_otlp::MetricExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.to_owned())
                .build()
                .map_err(|e| {
                    format!("cannot build the OTLP metric exporter for {endpoint}: {e}")
                })?;
            let interval = std::env::var("OTEL_METRIC_EXPORT_INTERVAL")
                .ok()
                .and_then(|ms| ms.parse().ok())
                .map_or(OTLP_PUSH_INTERVAL, Duration::from_millis);
            builder = builder.with_reader(
                PeriodicReader::builder(exporter)
                    .with_interval(interval)
                    .build(),
            );
        }
        let provider = builder.build();
        let meter = provider.meter(SCOPE);
        Ok(Meters {
            provider,
            registry,
            meter,
        })
    }

    /// The meter instruments are created from.
    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// The current figures in the Prometheus text format.
    pub fn prometheus_text(&self) -> Result<String, String> {
        let mut text = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut text)
            .map_err(|e| format!("cannot encode the metrics: {e}"))?;
        String::from_utf8(text).map_err(|e| format!("metrics are not UTF-8: {e}"))
    }

    /// Registers the gauges read from the running service: snapshots, admission and pool.
    pub fn observe_service(&self, app: &App, admission: &AdmissionGate) {
        let snapshots = app.snapshots().clone();
        let stats = move || snapshots.stats();
        let read = stats.clone();
        self.meter
            .u64_observable_gauge("crm.snapshot.memory")
            .with_unit("By")
            .with_description("Approximate memory held by tenant snapshots")
            .with_callback(move |gauge| gauge.observe(read().bytes, &[]))
            .build();
        let read = stats.clone();
        self.meter
            .u64_observable_gauge("crm.snapshot.kinds")
            .with_description(
                "Tenant-kinds held in memory (state=kept) or being loaded (state=loading)",
            )
            .with_callback(move |gauge| {
                let now = read();
                gauge.observe(now.kept, &[KeyValue::new("state", "kept")]);
                gauge.observe(now.loading, &[KeyValue::new("state", "loading")]);
            })
            .build();
        let read = stats.clone();
        self.meter
            .u64_observable_counter("crm.snapshot.lookups")
            .with_description(
                "Record kinds a computation took from memory unchanged (hit), from memory after \
                 applying newer changes (advance), or from the database (miss)",
            )
            .with_callback(move |counter| {
                let now = read();
                counter.observe(now.hits, &[KeyValue::new("result", "hit")]);
                counter.observe(now.advances, &[KeyValue::new("result", "advance")]);
                counter.observe(now.misses, &[KeyValue::new("result", "miss")]);
            })
            .build();
        let read = stats;
        self.meter
            .u64_observable_counter("crm.snapshot.changes")
            .with_description("Whole tenant-kinds loaded into memory (load) or evicted (eviction)")
            .with_callback(move |counter| {
                let now = read();
                counter.observe(now.loads, &[KeyValue::new("change", "load")]);
                counter.observe(now.evictions, &[KeyValue::new("change", "eviction")]);
            })
            .build();
        let gate = admission.clone();
        self.meter
            .u64_observable_gauge("crm.computations.active")
            .with_description("Computations running now (state=running) and the admission capacity (state=capacity)")
            .with_callback(move |gauge| {
                gauge.observe(gate.in_flight() as u64, &[KeyValue::new("state", "running")]);
                gauge.observe(gate.capacity() as u64, &[KeyValue::new("state", "capacity")]);
            })
            .build();
        let pool = app.store().pool().clone();
        self.meter
            .u64_observable_gauge("db.client.connection.count")
            .with_description("Database connections by state")
            .with_callback(move |gauge| {
                let open = u64::from(pool.size());
                let idle = pool.num_idle() as u64;
                gauge.observe(idle, &[KeyValue::new("db.client.connection.state", "idle")]);
                gauge.observe(
                    open.saturating_sub(idle),
                    &[KeyValue::new("db.client.connection.state", "used")],
                );
            })
            .build();
        let pool = app.store().pool().clone();
        self.meter
            .u64_observable_gauge("db.client.connection.max")
            .with_description("The most database connections the pool opens")
            .with_callback(move |gauge| {
                gauge.observe(u64::from(pool.options().get_max_connections()), &[])
            })
            .build();
    }

    /// Pushes what is pending over OTLP and stops the readers.
    pub fn shutdown(&self) {
        if let Err(error) = self.provider.shutdown() {
            tracing::warn!(%error, "metric exporter did not shut down cleanly");
        }
    }
}

/// Counts ingested records by kind and outcome.
#[derive(Clone)]
pub struct IngestCounter {
    counter: Counter<u64>,
}

impl IngestCounter {
    /// The counter `crm.records.ingested` of `meter`.
    pub fn new(meter: &Meter) -> IngestCounter {
        IngestCounter {
            counter: meter
                .u64_counter("crm.records.ingested")
                .with_description("Records committed by ingestion, by kind and outcome")
                .build(),
        }
    }

    /// A counter that counts nowhere (an application built without meters).
    pub fn disabled() -> IngestCounter {
        IngestCounter::new(&opentelemetry::metrics::noop::NoopMeterProvider::new().meter(SCOPE))
    }

    /// Adds one committed batch: `kinds` and `outcomes` pair up in order. One addition per
    /// kind and outcome present, not per record.
    pub fn add_batch(&self, kinds: impl Iterator<Item = RecordKind>, outcomes: &[RecordOutcome]) {
        const OUTCOMES: usize = 4;
        let mut counts = [[0u64; OUTCOMES]; RecordKind::ALL.len()];
        for (kind, outcome) in kinds.zip(outcomes) {
            counts[kind_index(kind)][outcome_index(*outcome)] += 1;
        }
        for (kind, by_outcome) in RecordKind::ALL.iter().zip(counts) {
            for (outcome, count) in by_outcome.into_iter().enumerate() {
                if count > 0 {
                    self.counter.add(
                        count,
                        &[
                            KeyValue::new("record.kind", kind.name()),
                            KeyValue::new("outcome", OUTCOME_NAMES[outcome]),
                        ],
                    );
                }
            }
        }
    }
}

/// The name of each [`RecordOutcome`], by [`outcome_index`].
const OUTCOME_NAMES: [&str; 4] = ["created", "updated", "unchanged", "stale"];

fn outcome_index(outcome: RecordOutcome) -> usize {
    match outcome {
        RecordOutcome::Created => 0,
        RecordOutcome::Updated => 1,
        RecordOutcome::Unchanged => 2,
        RecordOutcome::Stale => 3,
    }
}

fn kind_index(kind: RecordKind) -> usize {
    RecordKind::ALL
        .iter()
        .position(|candidate| *candidate == kind)
        .unwrap_or(0)
}
