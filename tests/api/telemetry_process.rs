//! The real binary as deployed: JSON access-log lines on stdout with each call's trace id, and
//! spans (with their status codes) and metrics pushed to an OTLP collector on loopback.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::*;
use crm_metrics::grpc::pb;
use crm_metrics::grpc::pb::metrics_service_client::MetricsServiceClient;

/// What the collector received: spans, and the names of metrics.
#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Span>>>,
    metrics: Arc<Mutex<Vec<String>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let spans = request
            .into_inner()
            .resource_spans
            .into_iter()
            .flat_map(|resource| resource.scope_spans)
            .flat_map(|scope| scope.spans);
        self.spans.lock().unwrap().extend(spans);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let names = request
            .into_inner()
            .resource_metrics
            .into_iter()
            .flat_map(|resource| resource.scope_metrics)
            .flat_map(|scope| scope.metrics)
            .map(|metric| metric.name);
        self.metrics.lock().unwrap().extend(names);
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

fn traceparent(trace_id: &str) -> String {
    format!("00-{trace_id}-00f067aa0ba902b7-01")
}

/// A request carrying `trace_id`, and the tenant as metadata too when `tenant_metadata`.
fn with_trace<T>(message: T, trace_id: &str, tenant_metadata: bool) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let metadata = request.metadata_mut();
    metadata.insert("traceparent", traceparent(trace_id).parse().unwrap());
    if tenant_metadata {
        metadata.insert("x-tenant-id", "acme".parse().unwrap());
    }
    request
}

fn int_attribute(span: &Span, key: &str) -> Option<i64> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.as_ref()?.value.as_ref())
        .and_then(|value| match value {
            Value::IntValue(value) => Some(*value),
            _ => None,
        })
}

/// Waits until `condition` holds, for at most 30 s.
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_binary_logs_each_call_with_its_trace_id_and_exports_span_status_and_metrics() {
    let collector = Collector::default();
    let collector_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_address = collector_listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .add_service(MetricsServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(
                collector_listener,
            )),
    );

    let database = fresh_database().await.expect("a fresh test database");
    let mut service = tokio::process::Command::new(env!("CARGO_BIN_EXE_crm-metrics"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ])
        .env("DATABASE_URL", database.url())
        .env("RUST_LOG", "info")
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://{collector_address}"),
        )
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("OTEL_METRIC_EXPORT_INTERVAL", "200")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the service");
    let mut lines = BufReader::new(service.stdout.take().unwrap()).lines();
    let mut next_line = async || -> serde_json::Value {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("a log line in time")
            .expect("read stdout")
            .expect("the service is still running");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    };
    let address = loop {
        let line = next_line().await;
        if line["fields"]["message"] == "serving" {
            break line["fields"]["address"].as_str().unwrap().to_owned();
        }
    };

    let mut client = MetricsServiceClient::connect(format!("http://{address}"))
        .await
        .unwrap();
    let ok_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let bad_trace = "0af7651916cd43dd8448eb211c80319c";
    let window = march();
    client
        .compute_metrics(with_trace(
            pb::ComputeMetricsRequest {
                tenant_id: "acme".to_owned(),
                metrics: vec![metric("win_rate")],
                window: Some(window),
                ..Default::default()
            },
            ok_trace,
            true,
        ))
        .await
        .expect("the computation succeeds");
    let refused = client
        .compute_metrics(with_trace(
            pb::ComputeMetricsRequest {
                tenant_id: "globex".to_owned(),
                metrics: vec![metric("no_such_metric")],
                window: Some(march()),
                ..Default::default()
            },
            bad_trace,
            false,
        ))
        .await
        .expect_err("an unknown metric is refused");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);

    // One access-log line per call, with the caller's trace id.
    let mut access = Vec::new();
    while access.len() < 2 {
        let line = next_line().await;
        if line["target"] == "access" && line["fields"]["method"] == "ComputeMetrics" {
            access.push(line["fields"].clone());
        }
    }
    assert_eq!(access[0]["trace_id"], ok_trace);
    assert_eq!(access[0]["status"], "OK");
    assert_eq!(access[0]["code"], 0);
    assert_eq!(access[0]["tenant"], "acme");
    assert_eq!(access[0]["service"], "crm.metrics.v1.MetricsService");
    assert!(access[0]["duration_ms"].as_f64().is_some_and(|ms| ms > 0.0));
    assert_eq!(access[1]["trace_id"], bad_trace);
    assert_eq!(access[1]["status"], "INVALID_ARGUMENT");
    assert_eq!(access[1]["code"], 3);
    // The tenant named only in the request body, as the handler resolved it.
    assert_eq!(access[1]["tenant"], "globex");
    // Open access on loopback: no principal.
    assert_eq!(access[1]["principal"], "-");

    // The exported spans belong to the callers' traces and carry the status code.
    let span_of = |trace: &str| {
        let trace = hex_bytes(trace);
        collector
            .spans
            .lock()
            .unwrap()
            .iter()
            .find(|span| span.trace_id == trace)
            .cloned()
    };
    eventually("both spans", || {
        span_of(ok_trace).is_some() && span_of(bad_trace).is_some()
    })
    .await;
    let ok_span = span_of(ok_trace).unwrap();
    assert_eq!(int_attribute(&ok_span, "rpc.grpc.status_code"), Some(0));
    let bad_span = span_of(bad_trace).unwrap();
    assert_eq!(int_attribute(&bad_span, "rpc.grpc.status_code"), Some(3));
    // A client's mistake is not a server error: the span status stays unset.
    assert_eq!(bad_span.status.map_or(0, |status| status.code), 0);

    eventually("rpc.server.duration over OTLP", || {
        collector
            .metrics
            .lock()
            .unwrap()
            .iter()
            .any(|name| name == "rpc.server.duration")
    })
    .await;
    service.start_kill().expect("stop the service");
    let _ = service.wait().await;
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}
