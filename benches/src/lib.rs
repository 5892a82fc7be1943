//! Support code shared by the benchmarks: exporters that discard what they receive, so that a
//! benchmark measures the cost paid on the application's thread, not the network.

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// A span exporter that drops every batch.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiscardSpans;

impl SpanExporter for DiscardSpans {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        std::hint::black_box(batch);
        Ok(())
    }
}

/// A log exporter that drops every batch.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiscardLogs;

impl LogExporter for DiscardLogs {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        std::hint::black_box(batch.iter().count());
        Ok(())
    }
}
