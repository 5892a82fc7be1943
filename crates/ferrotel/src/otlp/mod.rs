//! Our OTLP span export path: protobuf written straight from the SDK's span data
//! ([`encode`]) and sent over HTTP ([`http`]). The other paths (gRPC, `http/json`, gzip
//! compression, and the metrics and logs signals) use the stock `opentelemetry-otlp` exporters.

pub(crate) mod encode;
pub(crate) mod http;

use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

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
