//! Unit tests of `telemetry`.

use opentelemetry::trace::TraceContextExt;

use super::*;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn request() -> http::Request<()> {
    http::Request::builder()
        .uri("/crm.metrics.v1.MetricsService/ComputeMetrics")
        .header("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
        .body(())
        .unwrap()
}

#[test]
fn the_request_span_exists_only_when_exported_or_logged_at_debug() {
    let at = |directives: &str| {
        tracing_subscriber::registry()
            .with(EnvFilter::new(directives))
            .with(tracing_subscriber::fmt::layer().with_test_writer())
    };
    tracing::subscriber::with_default(at("info"), || {
        assert!(request_span(&request(), false).is_disabled());
        assert!(!request_span(&request(), true).is_disabled());
    });
    tracing::subscriber::with_default(at("debug"), || {
        assert!(!request_span(&request(), false).is_disabled());
    });
}

#[test]
fn an_exported_request_span_continues_the_callers_trace() {
    let provider = SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(EnvFilter::new("info"))
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    tracing::subscriber::with_default(subscriber, || {
        let span = request_span(&request(), true);
        let context = span.context();
        assert_eq!(
            context.span().span_context().trace_id().to_string(),
            TRACE_ID
        );
    });
}

#[test]
fn a_valid_traceparent_gives_its_trace_id_and_anything_else_none() {
    let valid = format!("00-{TRACE_ID}-00f067aa0ba902b7-01");
    assert_eq!(traceparent_trace_id(&valid), Some(TRACE_ID));
    assert_eq!(
        traceparent_trace_id("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
        None
    );
    assert_eq!(
        traceparent_trace_id("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
        None
    );
    assert_eq!(
        traceparent_trace_id("00-4bf92f35-00f067aa0ba902b7-01"),
        None
    );
    assert_eq!(traceparent_trace_id("garbage"), None);
}

#[test]
fn without_a_span_the_callers_trace_id_or_a_fresh_one_is_logged() {
    let disabled = tracing::Span::none();
    assert_eq!(trace_id(&disabled, request().headers()), TRACE_ID);
    let none = http::HeaderMap::new();
    let first = trace_id(&disabled, &none);
    let second = trace_id(&disabled, &none);
    assert_eq!(first.len(), 32);
    assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(first, second);
    assert!(traceparent_trace_id(&format!("00-{first}-00f067aa0ba902b7-01")).is_some());
}
