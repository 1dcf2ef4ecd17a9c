//! Logs and traces: `tracing` to stdout (pretty or JSON, filtered by `RUST_LOG`), and spans
//! exported over OTLP/gRPC when an endpoint is configured. Incoming W3C `traceparent` metadata
//! becomes the parent of each request's span.
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
        LogFormat::Pretty => tracing_subscriber::fmt::layer().boxed(),
    };
    let provider = match &config.otlp_endpoint {
        None => None,
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.clone())
                .build()
                .map_err(|e| format!("cannot build the OTLP exporter for {endpoint}: {e}"))?;
            let resource = opentelemetry_sdk::Resource::builder()
                .with_service_name("crm-metrics")
                .build();
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
    let span = if exporting {
        tracing::info_span!(
            "grpc.request",
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.method = %request.uri().path(),
        )
    } else {
        tracing::debug_span!(
            "grpc.request",
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.method = %request.uri().path(),
        )
    };
    if span.is_disabled() {
        return span;
    }
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(request.headers()));
    // Without an exporter there is no OpenTelemetry layer and setting a parent is a no-op.
    let _ = span.set_parent(parent);
    span
}

#[cfg(test)]
#[path = "tests/telemetry.rs"]
mod tests;
