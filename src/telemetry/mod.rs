//! Logs and traces: `tracing` to stdout (pretty or JSON, filtered by `RUST_LOG`), and spans
//! exported over OTLP/gRPC when an endpoint is configured. Incoming W3C `traceparent` metadata
//! becomes the parent of each request's span.
//!
//! Metrics live in [`metrics`], per-call telemetry (span, metrics, access log) in [`rpc`], and the
//! admin HTTP port (scrape, liveness, readiness) in [`admin`].
//!
//! One global `RUST_LOG` filter serves both outputs: it does its bookkeeping once per span enter
//! and exit, where a filter per output did it once per output, and a span it disables is
//! `Span::none()`, whose enter and exit do nothing.

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{Config, LogFormat};

pub mod admin;
pub mod metrics;
pub mod rpc;

/// Keeps the trace exporter alive; [`Telemetry::shutdown`] flushes it.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Flushes and stops the trace exporter.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "trace exporter did not shut down cleanly");
        }
    }
}

/// Installs the global subscriber. Call once, at startup, inside the tokio runtime.
pub fn init(config: &Config) -> Result<Telemetry, String> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt_layer = match config.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer().json().boxed(),
        // Colours only on a terminal: a log file or collector gets plain text.
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .boxed(),
    };
    let provider = match &config.otlp_endpoint {
        None => None,
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.clone())
                .build()
                .map_err(|e| format!("cannot build the OTLP exporter for {endpoint}: {e}"))?;
            let resource = service_resource();
            Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(resource)
                    .build(),
            )
        }
    };
    let otel_layer = provider
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("crm-metrics")));
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt_layer)
        .with(otel_layer)
        .try_init()
        .map_err(|e| format!("cannot install the log subscriber: {e}"))?;
    Ok(Telemetry { provider })
}

/// The OpenTelemetry resource every signal of the service carries.
pub(crate) fn service_resource() -> opentelemetry_sdk::Resource {
    opentelemetry_sdk::Resource::builder()
        .with_service_name("crm-metrics")
        .build()
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The span of one gRPC request, child of the caller's W3C trace context when present.
///
/// Tonic enters this span on every poll of the request's future, and each enter and exit of an
/// enabled span costs subscriber work (the filter's bookkeeping, the layers' callbacks) many
/// times per call. So the span is at INFO only when traces are `exporting` (`--otlp-endpoint`),
/// where it is the point of the exercise; otherwise it is at DEBUG, which the default `info`
/// filter disables: the span is then `Span::none()`, costs nothing per poll, and the
/// `traceparent` is not even parsed. `RUST_LOG=debug` brings it back around the request's log
/// lines.
pub fn request_span(request: &http::Request<()>, exporting: bool) -> tracing::Span {
    span_for(request.uri().path(), request.headers(), exporting)
}

/// The span of a call to `path` with `headers` (see [`request_span`]). Its status code is
/// recorded when the call ends ([`record_span_status`]).
pub(crate) fn span_for(path: &str, headers: &http::HeaderMap, exporting: bool) -> tracing::Span {
    // The level of a span is fixed where it is written, so the span is written once per level.
    macro_rules! call_span {
        ($level:expr) => {
            tracing::span!(
                $level,
                "grpc.request",
                otel.kind = "server",
                rpc.system = "grpc",
                rpc.method = %path,
                rpc.grpc.status_code = tracing::field::Empty,
                otel.status_code = tracing::field::Empty,
            )
        };
    }
    let span = if exporting {
        call_span!(tracing::Level::INFO)
    } else {
        call_span!(tracing::Level::DEBUG)
    };
    if span.is_disabled() {
        return span;
    }
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    // Without an exporter there is no OpenTelemetry layer and setting a parent is a no-op.
    let _ = span.set_parent(parent);
    span
}

/// Sets the span's `rpc.grpc.status_code` and, for the codes that mean the server failed
/// (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS, as the
/// OpenTelemetry conventions for gRPC servers say), an ERROR status.
pub(crate) fn record_span_status(span: &tracing::Span, code: tonic::Code) {
    if span.is_disabled() {
        return;
    }
    span.record("rpc.grpc.status_code", code as i64);
    if matches!(
        code,
        tonic::Code::Unknown
            | tonic::Code::DeadlineExceeded
            | tonic::Code::Unimplemented
            | tonic::Code::Internal
            | tonic::Code::Unavailable
            | tonic::Code::DataLoss
    ) {
        span.record("otel.status_code", "ERROR");
    }
}

/// The trace id a call's log lines carry: the exported span's, else the caller's `traceparent`
/// trace id, else a fresh random one, so every access-log line has one to search by.
pub(crate) fn trace_id(span: &tracing::Span, headers: &http::HeaderMap) -> String {
    use opentelemetry::trace::TraceContextExt;
    if !span.is_disabled() {
        let context = span.context();
        let span_context = context.span().span_context().clone();
        if span_context.is_valid() {
            return span_context.trace_id().to_string();
        }
    }
    headers
        .get("traceparent")
        .and_then(|value| value.to_str().ok())
        .and_then(traceparent_trace_id)
        .map_or_else(fresh_trace_id, str::to_owned)
}

/// A random W3C trace id (32 hex digits) without a system call: two outputs of std's randomly
/// keyed SipHash (keyed once per thread from the OS, a fresh key per call). Unique, not secret.
fn fresh_trace_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let half = |salt: u64| {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(salt);
        hasher.finish()
    };
    format!("{:016x}{:016x}", half(1), half(2))
}

/// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), unless invalid.
fn traceparent_trace_id(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.split('-');
    let _version = parts.next()?;
    let trace_id = parts.next()?;
    let valid = trace_id.len() == 32
        && trace_id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && trace_id.bytes().any(|b| b != b'0');
    valid.then_some(trace_id)
}

#[cfg(test)]
#[path = "tests/telemetry.rs"]
mod tests;
