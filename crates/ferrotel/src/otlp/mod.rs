//! OTLP export with our own request bodies.
//!
//! `ferrotel::init()` exports metrics, on every protocol (`http/protobuf`, `http/json`, `grpc`,
//! gzipped or not), as the stock message with the family's exemplars joined into the histogram
//! points (which the stock exporter cannot carry). Traces over `http/protobuf` (gzipped or not,
//! the default) are protobuf written straight from the SDK's span data. Traces over `http/json`
//! or gRPC, and the logs signal, use the stock `opentelemetry-otlp` exporters.
//! [`encode_traces`] is the span encoder on its own, for other transports.

pub(crate) mod encode;
#[cfg(feature = "otlp-file")]
pub(crate) mod file;
#[cfg(feature = "grpc")]
pub(crate) mod grpc;
pub(crate) mod http;
pub(crate) mod metrics;
mod retry;

use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// The OTLP protobuf `ExportTraceServiceRequest` for `spans` under `resource`: the bytes our
/// exporter sends (one `ResourceSpans`, spans grouped by instrumentation scope in order of first
/// appearance). They decode, with the `opentelemetry-proto` types, to exactly the message the
/// stock `opentelemetry-otlp` exporter builds for the same spans.
///
/// ```
/// use opentelemetry::trace::{Tracer as _, TracerProvider as _};
///
/// let spans = opentelemetry_sdk::trace::InMemorySpanExporter::default();
/// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
///     .with_simple_exporter(spans.clone())
///     .build();
/// provider.tracer("example").in_span("work", |_| {});
/// let finished = spans.get_finished_spans().unwrap();
/// let resource = opentelemetry_sdk::Resource::builder().with_service_name("example").build();
/// let body = ferrotel::otlp::encode_traces(Some(&resource), &finished);
/// assert!(body.windows(4).any(|w| w == b"work"));
/// ```
pub fn encode_traces(resource: Option<&Resource>, spans: &[SpanData]) -> Vec<u8> {
    let resource = resource.map(encode::EncodedResource::new);
    let mut out = Vec::new();
    encode::export_trace_request(&mut out, resource.as_ref(), spans);
    out
}

/// The traces exporter: ours for `http/protobuf` without compression, else the stock one.
#[derive(Debug)]
pub(crate) enum TraceExporter {
    Direct(http::HttpSpanExporter),
    Stock(opentelemetry_otlp::SpanExporter),
}

impl SpanExporter for TraceExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        match self {
            Self::Direct(e) => e.export(batch).await,
            Self::Stock(e) => e.export(batch).await,
        }
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self {
            Self::Direct(e) => e.shutdown_with_timeout(timeout),
            Self::Stock(e) => e.shutdown_with_timeout(timeout),
        }
    }
    fn force_flush(&self) -> OTelSdkResult {
        match self {
            Self::Direct(e) => e.force_flush(),
            Self::Stock(e) => e.force_flush(),
        }
    }
    fn set_resource(&mut self, resource: &Resource) {
        match self {
            Self::Direct(e) => e.set_resource(resource),
            Self::Stock(e) => e.set_resource(resource),
        }
    }
}

/// The OTLP metrics exporter, ours (with exemplars) on every protocol.
#[derive(Debug)]
pub(crate) enum MetricExporter {
    Http(http::HttpMetricExporter),
    #[cfg(feature = "grpc")]
    Grpc(grpc::GrpcMetricExporter),
}

impl opentelemetry_sdk::metrics::exporter::PushMetricExporter for MetricExporter {
    async fn export(
        &self,
        metrics: &opentelemetry_sdk::metrics::data::ResourceMetrics,
    ) -> OTelSdkResult {
        match self {
            Self::Http(e) => e.export(metrics).await,
            #[cfg(feature = "grpc")]
            Self::Grpc(e) => e.export(metrics).await,
        }
    }
    fn force_flush(&self) -> OTelSdkResult {
        match self {
            Self::Http(e) => e.force_flush(),
            #[cfg(feature = "grpc")]
            Self::Grpc(e) => e.force_flush(),
        }
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self {
            Self::Http(e) => e.shutdown_with_timeout(timeout),
            #[cfg(feature = "grpc")]
            Self::Grpc(e) => e.shutdown_with_timeout(timeout),
        }
    }
    fn temporality(&self) -> opentelemetry_sdk::metrics::Temporality {
        match self {
            Self::Http(e) => e.temporality(),
            #[cfg(feature = "grpc")]
            Self::Grpc(e) => e.temporality(),
        }
    }
}
