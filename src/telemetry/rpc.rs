//! Per-call telemetry around every gRPC call, as one tower layer: the call's span (child of the
//! caller's W3C trace context), `rpc.server.duration` by method and status code,
//! `rpc.server.active_requests`, the span's status, and one access-log line.
//!
//! A call ends when its response body ends (the trailers carry `grpc-status`), when the
//! response is trailers-only (`grpc-status` in the headers), or when the caller goes away first
//! (counted as CANCELLED). Whichever comes first, the call is recorded exactly once, when its
//! [`Call`] is dropped.
//!
//! The handlers note the caller's principal and tenant on the call ([`CallNote`], in the
//! request's extensions) as soon as they know them, so the access log names them whether the call
//! succeeds or is refused.
//!
//! Method names come from a table of the services this server registers, so a caller sending
//! made-up paths cannot grow the metric's label sets: any other path is `_OTHER`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Histogram, Meter, UpDownCounter};
use prost::Message;
use tonic::Code;
use tower::{Layer, Service};

use crate::grpc::TENANT_METADATA;

/// Bucket bounds of `rpc.server.duration`, in milliseconds.
const DURATION_BOUNDS_MS: [f64; 16] = [
    0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0,
    10000.0, 30000.0,
];

/// The label of a path that is no method of this server.
const OTHER: &str = "_OTHER";

/// Instruments and method table shared by every call.
struct Shared {
    duration: Histogram<f64>,
    active: UpDownCounter<i64>,
    methods: HashMap<String, Arc<Method>>,
    other: Arc<Method>,
    exporting: bool,
}

/// One method's attributes, built once.
struct Method {
    /// `rpc.system`, `rpc.service`, `rpc.method`.
    attributes: [KeyValue; 3],
    /// The same plus `rpc.grpc.status_code`, one entry per code (0-16).
    by_code: Vec<[KeyValue; 4]>,
}

impl Method {
    fn new(service: &str, method: &str) -> Method {
        let attributes = [
            KeyValue::new("rpc.system", "grpc"),
            KeyValue::new("rpc.service", service.to_owned()),
            KeyValue::new("rpc.method", method.to_owned()),
        ];
        let by_code = (0..=16)
            .map(|code| {
                let [system, service, method] = attributes.clone();
                [
                    system,
                    service,
                    method,
                    KeyValue::new("rpc.grpc.status_code", i64::from(code)),
                ]
            })
            .collect();
        Method {
            attributes,
            by_code,
        }
    }
}

/// The layer; clones share instruments.
#[derive(Clone)]
pub struct RpcTelemetryLayer {
    shared: Arc<Shared>,
}

impl RpcTelemetryLayer {
    /// Records into `meter` the calls of the methods in `descriptor_sets` (encoded
    /// `FileDescriptorSet`s); spans are at INFO when `exporting` traces (see
    /// [`super::request_span`]).
    pub fn new(meter: &Meter, descriptor_sets: &[&[u8]], exporting: bool) -> RpcTelemetryLayer {
        let mut methods = HashMap::new();
        for encoded in descriptor_sets {
            let Ok(set) = prost_types::FileDescriptorSet::decode(*encoded) else {
                continue;
            };
            for file in set.file {
                let package = file.package();
                for service in &file.service {
                    let service_name = if package.is_empty() {
                        service.name().to_owned()
                    } else {
                        format!("{package}.{}", service.name())
                    };
                    for method in &service.method {
                        methods.insert(
                            format!("/{service_name}/{}", method.name()),
                            Arc::new(Method::new(&service_name, method.name())),
                        );
                    }
                }
            }
        }
        RpcTelemetryLayer {
            shared: Arc::new(Shared {
                duration: meter
                    .f64_histogram("rpc.server.duration")
                    .with_unit("ms")
                    .with_description("Duration of inbound calls, to the end of the response")
                    .with_boundaries(DURATION_BOUNDS_MS.to_vec())
                    .build(),
                active: meter
                    .i64_up_down_counter("rpc.server.active_requests")
                    .with_description("Calls in progress")
                    .build(),
                methods,
                other: Arc::new(Method::new(OTHER, OTHER)),
                exporting,
            }),
        }
    }
}

impl<S> Layer<S> for RpcTelemetryLayer {
    type Service = RpcTelemetry<S>;

    fn layer(&self, inner: S) -> RpcTelemetry<S> {
        RpcTelemetry {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service the layer wraps.
#[derive(Clone)]
pub struct RpcTelemetry<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S, RequestBody, ResponseBody> Service<http::Request<RequestBody>> for RpcTelemetry<S>
where
    S: Service<http::Request<RequestBody>, Response = http::Response<ResponseBody>>,
    S::Error: Into<tower::BoxError>,
{
    type Response = http::Response<ObservedBody<ResponseBody>>;
    type Error = tower::BoxError;
    type Future = ObservedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: http::Request<RequestBody>) -> Self::Future {
        let call = Call::start(&self.shared, &request);
        request.extensions_mut().insert(call.note.clone());
        let inner = {
            let _entered = call.span.enter();
            self.inner.call(request)
        };
        ObservedFuture {
            inner,
            call: Some(call),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future, run inside the call's span.
    pub struct ObservedFuture<F> {
        #[pin]
        inner: F,
        call: Option<Call>,
    }
}

impl<F, ResponseBody, E> Future for ObservedFuture<F>
where
    F: Future<Output = Result<http::Response<ResponseBody>, E>>,
    E: Into<tower::BoxError>,
{
    type Output = Result<http::Response<ObservedBody<ResponseBody>>, tower::BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = {
            let _entered = this.call.as_ref().map(|call| call.span.enter());
            match this.inner.poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(output) => output,
            }
        };
        let mut call = this.call.take();
        match output {
            Ok(response) => {
                if let Some(call) = &mut call {
                    call.note_status(response.headers());
                }
                Poll::Ready(Ok(response.map(|inner| ObservedBody { inner, call })))
            }
            Err(error) => {
                let error: tower::BoxError = error.into();
                if let Some(call) = &mut call {
                    call.code = Some(error_code(&*error));
                }
                Poll::Ready(Err(error))
            }
        }
    }
}

/// The status tonic answers an error of the service stack with.
fn error_code(error: &(dyn std::error::Error + Send + Sync + 'static)) -> Code {
    if error.is::<tower::load_shed::error::Overloaded>() {
        Code::ResourceExhausted
    } else if let Some(status) = error.downcast_ref::<tonic::Status>() {
        status.code()
    } else {
        Code::Unknown
    }
}

pin_project_lite::pin_project! {
    /// The response body; the call is recorded when it ends or is dropped.
    pub struct ObservedBody<B> {
        #[pin]
        inner: B,
        call: Option<Call>,
    }
}

impl<B> Body for ObservedBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        let frame = this.inner.poll_frame(cx);
        match &frame {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(trailers), Some(call)) = (frame.trailers_ref(), this.call.as_mut()) {
                    call.note_status(trailers);
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(call) = this.call.as_mut() {
                    call.code.get_or_insert(Code::Internal);
                }
            }
            Poll::Ready(None) => {
                if let Some(mut call) = this.call.take() {
                    // A body that ends without trailers answered with HTTP alone.
                    call.code.get_or_insert(Code::Unknown);
                }
            }
            Poll::Pending => {}
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// What the handler learns about a call, for its access-log line: who called, for which tenant.
/// Each is kept as first noted.
#[derive(Debug, Default)]
pub struct CallNote {
    principal: OnceLock<String>,
    tenant: OnceLock<String>,
}

impl CallNote {
    /// Notes the caller's principal.
    pub fn principal(&self, principal: &str) {
        let _ = self.principal.set(principal.chars().take(256).collect());
    }

    /// Notes the tenant the call acts on.
    pub fn tenant(&self, tenant: &str) {
        let _ = self.tenant.set(tenant.chars().take(128).collect());
    }
}

/// One call in progress; recorded once, when dropped.
pub struct Call {
    shared: Arc<Shared>,
    method: Arc<Method>,
    path: Option<String>,
    note: Arc<CallNote>,
    /// The `x-tenant-id` metadata, for when the handler notes no tenant.
    tenant_metadata: Option<http::HeaderValue>,
    trace_id: String,
    started: Instant,
    code: Option<Code>,
    span: tracing::Span,
}

impl Call {
    fn start<B>(shared: &Arc<Shared>, request: &http::Request<B>) -> Call {
        let path = request.uri().path();
        let (method, path) = match shared.methods.get(path) {
            Some(method) => (method.clone(), None),
            None => (shared.other.clone(), Some(path.chars().take(200).collect())),
        };
        let headers = request.headers();
        let span = super::span_for(request.uri().path(), headers, shared.exporting);
        let trace_id = super::trace_id(&span, headers);
        shared.active.add(1, &method.attributes);
        Call {
            shared: shared.clone(),
            method,
            path,
            note: Arc::default(),
            tenant_metadata: headers.get(TENANT_METADATA).cloned(),
            trace_id,
            started: Instant::now(),
            code: None,
            span,
        }
    }

    fn note_status(&mut self, headers: &http::HeaderMap) {
        if let Some(code) = headers.get("grpc-status") {
            self.code = Some(Code::from_bytes(code.as_bytes()));
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        let code = self.code.unwrap_or(Code::Cancelled);
        let elapsed = self.started.elapsed();
        let milliseconds = elapsed.as_secs_f64() * 1000.0;
        let code_number = code as i32;
        let index = usize::try_from(code_number).unwrap_or(2).min(16);
        self.shared
            .duration
            .record(milliseconds, &self.method.by_code[index]);
        self.shared.active.add(-1, &self.method.attributes);
        super::record_span_status(&self.span, code);
        tracing::info!(
            target: "access",
            service = %self.method.attributes[1].value,
            method = %self.method.attributes[2].value,
            path = self.path.as_deref(),
            principal = self.note.principal.get().map_or("-", String::as_str),
            tenant = self.note.tenant.get().map_or_else(
                || {
                    self.tenant_metadata
                        .as_ref()
                        .and_then(|value| value.to_str().ok())
                        .map_or("-", |tenant| &tenant[..tenant.len().min(128)])
                },
                String::as_str
            ),
            code = code_number,
            status = code_name(code),
            duration_ms = (milliseconds * 1000.0).round() / 1000.0,
            trace_id = %self.trace_id,
            "call"
        );
    }
}

/// The canonical name of a status code, as gRPC documents it.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
