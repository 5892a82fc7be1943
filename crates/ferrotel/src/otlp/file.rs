//! The OTLP file exporter (`otlp_file/development`): each export is one line of OTLP JSON, the
//! `Export{Trace,Metrics,Logs}ServiceRequest` in the protobuf JSON mapping, as the OTLP file
//! exporter specification lays out (JSON Lines; trace and span ids in hex).
//!
//! The messages are the stock `opentelemetry-proto` conversions of the SDK's data (metrics with
//! the family's exemplars joined in, as every other metrics path sends them) written with its
//! serde implementation: a collector's OTLP/JSON receiver reads each line as it is.
//!
//! A line is written with one `write` call on a file opened for appending (or under the
//! standard output's lock), so the lines of several signals sharing one file never interleave.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::metrics::{ExemplarCursor, request_with_exemplars};
use crate::config::OtlpFileOutput;

/// Where the lines go, opened once when the pipeline is built.
#[derive(Debug)]
enum Destination {
    Stdout,
    /// `None` once shut down.
    File(Mutex<Option<File>>),
}

/// Writes whole lines to one output stream.
#[derive(Debug)]
pub(crate) struct LineWriter {
    destination: Destination,
    /// Named in write errors (the accounting's export warnings show it).
    name: String,
}

impl LineWriter {
    /// Opens `output` (a file is created when missing and appended to).
    pub(crate) fn open(output: &OtlpFileOutput) -> Result<Self, String> {
        let destination = match output {
            OtlpFileOutput::Stdout => Destination::Stdout,
            OtlpFileOutput::File(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("cannot open {} for appending: {e}", path.display()))?;
                Destination::File(Mutex::new(Some(file)))
            }
        };
        Ok(Self {
            destination,
            name: output.to_string(),
        })
    }

    /// Writes `json` and a newline as one write.
    fn write_line(&self, mut json: Vec<u8>) -> OTelSdkResult {
        json.push(b'\n');
        let failed = |e: std::io::Error| {
            OTelSdkError::InternalFailure(format!("writing OTLP JSON to {}: {e}", self.name))
        };
        match &self.destination {
            Destination::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(&json)
                    .and_then(|()| out.flush())
                    .map_err(failed)
            }
            Destination::File(file) => {
                let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
                let Some(file) = file.as_mut() else {
                    return Err(OTelSdkError::AlreadyShutdown);
                };
                file.write_all(&json).map_err(failed)
            }
        }
    }

    /// Writes the outcome of `serde_json::to_vec` of a request.
    fn write_json(&self, encoded: serde_json::Result<Vec<u8>>) -> OTelSdkResult {
        let json = encoded.map_err(|e| {
            OTelSdkError::InternalFailure(format!("OTLP JSON encoding failed: {e}"))
        })?;
        self.write_line(json)
    }

    fn shutdown(&self) -> OTelSdkResult {
        match &self.destination {
            Destination::Stdout => std::io::stdout()
                .flush()
                .map_err(|e| OTelSdkError::InternalFailure(e.to_string())),
            Destination::File(file) => {
                let file = file.lock().unwrap_or_else(PoisonError::into_inner).take();
                match file {
                    Some(file) => file
                        .sync_data()
                        .map_err(|e| OTelSdkError::InternalFailure(e.to_string())),
                    None => Err(OTelSdkError::AlreadyShutdown),
                }
            }
        }
    }
}

/// Spans as OTLP JSON lines.
#[derive(Debug)]
pub(crate) struct FileSpanExporter {
    out: LineWriter,
    resource: ResourceAttributesWithSchema,
}

impl FileSpanExporter {
    pub(crate) fn new(out: LineWriter) -> Self {
        Self {
            out,
            resource: ResourceAttributesWithSchema::default(),
        }
    }
}

impl SpanExporter for FileSpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
        };
        self.out.write_json(serde_json::to_vec(&request))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.out.shutdown()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

/// Log records as OTLP JSON lines.
#[derive(Debug)]
pub(crate) struct FileLogExporter {
    out: LineWriter,
    resource: ResourceAttributesWithSchema,
}

impl FileLogExporter {
    pub(crate) fn new(out: LineWriter) -> Self {
        Self {
            out,
            resource: ResourceAttributesWithSchema::default(),
        }
    }
}

impl LogExporter for FileLogExporter {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let request = ExportLogsServiceRequest {
            resource_logs: group_logs_by_resource_and_scope(&batch, &self.resource),
        };
        self.out.write_json(serde_json::to_vec(&request))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.out.shutdown()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

/// Metrics as OTLP JSON lines, histogram points with their exemplars.
#[derive(Debug)]
pub(crate) struct FileMetricExporter {
    out: LineWriter,
    temporality: Temporality,
    cursor: ExemplarCursor,
}

impl FileMetricExporter {
    pub(crate) fn new(out: LineWriter, temporality: Temporality) -> Self {
        Self {
            out,
            temporality,
            cursor: ExemplarCursor::default(),
        }
    }
}

impl PushMetricExporter for FileMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        self.out
            .write_json(serde_json::to_vec(&request_with_exemplars(
                metrics,
                self.cursor.advance(),
            )))
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.out.shutdown()
    }

    fn temporality(&self) -> Temporality {
        self.temporality
    }
}
