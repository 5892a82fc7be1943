//! [`PrometheusExporter`]: the SDK `MetricReader` that collects on demand and encodes a scrape.

use std::sync::{Arc, Weak};
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InstrumentKind, ManualReader, Pipeline, Temporality};

use crate::families::{self, ExporterConfig};
use crate::format::Format;
use crate::{openmetrics, text004};

/// A metric reader that renders the meter provider's metrics in Prometheus formats on demand.
///
/// Cloning shares the underlying reader: register one clone on the meter provider and keep
/// another for the `/metrics` handler.
#[derive(Debug, Clone)]
pub struct PrometheusExporter {
    reader: Arc<ManualReader>,
    config: Arc<ExporterConfig>,
}

/// Builder for [`PrometheusExporter`].
#[derive(Debug)]
pub struct PrometheusExporterBuilder {
    config: ExporterConfig,
}

impl PrometheusExporterBuilder {
    /// Omits the `otel_scope_name` / `otel_scope_version` labels.
    pub fn without_scope_labels(mut self) -> Self {
        self.config.scope_labels = false;
        self
    }

    /// Omits the `target_info` family (resource attributes).
    pub fn without_target_info(mut self) -> Self {
        self.config.target_info = false;
        self
    }

    /// Builds the exporter (cumulative temporality, as Prometheus requires).
    pub fn build(self) -> PrometheusExporter {
        PrometheusExporter {
            reader: Arc::new(
                ManualReader::builder()
                    .with_temporality(Temporality::Cumulative)
                    .build(),
            ),
            config: Arc::new(self.config),
        }
    }
}

impl Default for PrometheusExporter {
    fn default() -> Self {
        Self::builder().build()
    }
}

/// The output of one scrape.
#[derive(Debug, Clone)]
pub struct Exposition {
    /// Value for the `Content-Type` response header.
    pub content_type: &'static str,
    /// The encoded metrics.
    pub body: String,
}

/// Why a scrape failed.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// The SDK could not collect (for example the meter provider was shut down).
    #[error("collecting metrics failed: {0}")]
    Collect(String),
    /// Encoding failed (a formatter error).
    #[error("encoding metrics failed")]
    Encode(#[from] std::fmt::Error),
}

impl PrometheusExporter {
    /// Starts building an exporter.
    pub fn builder() -> PrometheusExporterBuilder {
        PrometheusExporterBuilder {
            config: ExporterConfig {
                scope_labels: true,
                target_info: true,
            },
        }
    }

    /// Collects from the meter provider and encodes for the given `Accept` header.
    pub fn render(&self, accept: Option<&str>) -> Result<Exposition, ScrapeError> {
        let format = Format::from_accept(accept);
        let body = self.render_format(format)?;
        Ok(Exposition {
            content_type: format.content_type(),
            body,
        })
    }

    /// Collects and encodes in an explicit format.
    pub fn render_format(&self, format: Format) -> Result<String, ScrapeError> {
        let mut rm = ResourceMetrics::default();
        self.reader
            .collect(&mut rm)
            .map_err(|e| ScrapeError::Collect(e.to_string()))?;
        let families = families::convert(&rm, &self.config);
        let mut out = String::with_capacity(4096);
        match format {
            Format::Text => text004::encode(&mut out, &families)?,
            Format::OpenMetrics => openmetrics::encode(&mut out, &families)?,
        }
        Ok(out)
    }
}

impl MetricReader for PrometheusExporter {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.reader.register_pipeline(pipeline)
    }

    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.reader.collect(rm)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.reader.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.reader.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, _kind: InstrumentKind) -> Temporality {
        Temporality::Cumulative
    }
}
