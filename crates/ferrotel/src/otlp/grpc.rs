//! OTLP/gRPC metrics export with the family's exemplars: the stock message
//! ([`super::metrics::request_with_exemplars`]) sent with tonic's generated `MetricsService`
//! client, on the channel the stock exporter would use (ours for `https://`).
//!
//! It keeps the stock exporter's behaviour: configured metadata, gzip when asked, the export
//! timeout on every call, the shared retry policy ([`super::retry`]) for the codes OTLP calls
//! retryable, and error messages that name only the gRPC code (a server may echo credentials in
//! its status message).

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use tonic::Code;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;

use super::metrics::ExemplarCursor;
use super::retry::{Attempt, with_retries};

/// Exports metrics to one OTLP/gRPC endpoint, histogram points with their exemplars.
#[derive(Debug)]
pub(crate) struct GrpcMetricExporter {
    /// Taken at shutdown: later exports fail as the stock exporter's do.
    client: Mutex<Option<MetricsServiceClient<Channel>>>,
    metadata: MetadataMap,
    timeout: Duration,
    temporality: Temporality,
    cursor: ExemplarCursor,
}

impl GrpcMetricExporter {
    /// An exporter on `channel` (lazily connected, with its own timeouts), sending `metadata`
    /// with every call.
    pub(crate) fn new(
        channel: Channel,
        metadata: MetadataMap,
        timeout: Duration,
        gzip: bool,
        temporality: Temporality,
    ) -> Self {
        let mut client = MetricsServiceClient::new(channel);
        if gzip {
            client = client
                .send_compressed(tonic::codec::CompressionEncoding::Gzip)
                .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
        }
        Self {
            client: Mutex::new(Some(client)),
            metadata,
            timeout,
            temporality,
            cursor: ExemplarCursor::default(),
        }
    }

    async fn attempt(
        &self,
        mut client: MetricsServiceClient<Channel>,
        message: &ExportMetricsServiceRequest,
    ) -> Result<(), Attempt> {
        let mut request = tonic::Request::new(message.clone());
        *request.metadata_mut() = self.metadata.clone();
        request.set_timeout(self.timeout);
        match client.export(request).await {
            Ok(response) => {
                if let Some(partial) = response.into_inner().partial_success
                    && partial.rejected_data_points > 0
                {
                    // Not retried, as the spec says; the rejection is the server's to explain.
                    tracing::debug!(
                        target: "ferrotel::export",
                        rejected = partial.rejected_data_points,
                        "OTLP/gRPC metrics export partially rejected"
                    );
                }
                Ok(())
            }
            Err(status) => {
                let mut message = format!(
                    "gRPC metrics export failed with gRPC code: {:?}",
                    status.code()
                );
                // A locally made status (connect refused, DNS) has a source chain of library
                // text; the server's own message is left out.
                let mut source = std::error::Error::source(&status);
                while let Some(error) = source {
                    message.push_str(&format!(": {error}"));
                    source = error.source();
                }
                Err(if retryable(status.code()) {
                    Attempt::Retry(None, message)
                } else {
                    Attempt::Final(message)
                })
            }
        }
    }
}

/// The codes the OTLP specification calls retryable. `RESOURCE_EXHAUSTED` counts only with a
/// `RetryInfo` detail, which this exporter does not read, so it is final here.
fn retryable(code: Code) -> bool {
    matches!(
        code,
        Code::Cancelled
            | Code::DeadlineExceeded
            | Code::Aborted
            | Code::OutOfRange
            | Code::Unavailable
            | Code::DataLoss
    )
}

impl PushMetricExporter for GrpcMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let client = self
            .client
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(OTelSdkError::AlreadyShutdown)?;
        let message = super::metrics::request_with_exemplars(metrics, self.cursor.advance());
        with_retries(self.timeout, || self.attempt(client.clone(), &message)).await
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        match self
            .client
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            Some(_) => Ok(()),
            None => Err(OTelSdkError::AlreadyShutdown),
        }
    }

    fn temporality(&self) -> Temporality {
        self.temporality
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_specs_transient_codes_are_retried() {
        assert!(retryable(Code::Unavailable));
        assert!(retryable(Code::DeadlineExceeded));
        assert!(!retryable(Code::InvalidArgument));
        assert!(!retryable(Code::Unauthenticated));
        assert!(!retryable(Code::ResourceExhausted));
    }
}
