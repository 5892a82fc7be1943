//! OTLP/HTTP export with our own request bodies: [`HttpSpanExporter`] (the direct span encoder,
//! protobuf) and [`HttpMetricExporter`] (the stock message types with the family's exemplars
//! joined in, protobuf or JSON), both on one [`HttpSender`], which gzips when configured.
//!
//! The sender keeps the stock `opentelemetry-otlp` HTTP exporter's behaviour: the same HTTP
//! clients (reqwest's blocking client for `http://`, our rustls client for `https://`), the
//! configured headers and timeout, the same retry policy ([`super::retry`]; 429 and 503 honour
//! `Retry-After`; 502, 504 and network errors are retried; any other status is final), and the
//! same error messages, which the accounting turns into the rate-limited export warnings.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Uri};
use opentelemetry_http::HttpClient;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::encode::{EncodedResource, export_trace_request};
use super::metrics::ExemplarCursor;
use super::retry::{Attempt, MAX_SERVER_DELAY, with_retries};

/// How a request body is written: OTLP's protobuf or its JSON mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyFormat {
    Protobuf,
    #[cfg(feature = "http-json")]
    Json,
}

impl BodyFormat {
    fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => "application/x-protobuf",
            #[cfg(feature = "http-json")]
            Self::Json => "application/json",
        }
    }
}

/// Sends request bodies to one OTLP/HTTP endpoint, with the stock exporter's retries.
#[derive(Debug)]
pub(crate) struct HttpSender {
    /// Taken at shutdown, on the exporting thread: dropping reqwest's blocking client inside an
    /// async context would panic.
    client: Mutex<Option<Arc<dyn HttpClient>>>,
    endpoint: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    timeout: Duration,
    format: BodyFormat,
    /// gzip the body (`Content-Encoding: gzip`); only set by builds with the `gzip` feature.
    gzip: bool,
}

impl HttpSender {
    /// A sender to `endpoint` (the full URL, `/v1/<signal>` included) through `client`, of
    /// `format` bodies, gzipped when `gzip` is set.
    pub(crate) fn new(
        client: Arc<dyn HttpClient>,
        endpoint: &str,
        headers: &[(String, String)],
        timeout: Duration,
        format: BodyFormat,
        gzip: bool,
    ) -> Result<Self, String> {
        let endpoint: Uri = endpoint
            .parse()
            .map_err(|e| format!("invalid OTLP endpoint: {e}"))?;
        // The configuration has already dropped unusable headers with a warning.
        let headers = headers
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    HeaderName::from_bytes(k.as_bytes()).ok()?,
                    HeaderValue::from_str(v).ok()?,
                ))
            })
            .collect();
        Ok(Self {
            client: Mutex::new(Some(client)),
            endpoint,
            headers,
            timeout,
            format,
            gzip: gzip && cfg!(feature = "gzip"),
        })
    }

    /// The body format the exporters must write.
    pub(crate) fn format(&self) -> BodyFormat {
        self.format
    }

    fn client(&self) -> Option<Arc<dyn HttpClient>> {
        self.client
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn request(&self, body: Bytes) -> Result<http::Request<Bytes>, String> {
        let mut request = http::Request::builder()
            .method(http::Method::POST)
            .uri(self.endpoint.clone())
            .header(http::header::CONTENT_TYPE, self.format.content_type());
        if self.gzip {
            request = request.header(http::header::CONTENT_ENCODING, "gzip");
        }
        let mut request = request
            .body(body)
            .map_err(|e| format!("Failed to build HTTP request: {e}"))?;
        for (k, v) in &self.headers {
            request.headers_mut().insert(k.clone(), v.clone());
        }
        Ok(request)
    }

    async fn attempt(&self, client: &dyn HttpClient, body: &Bytes) -> Result<(), Attempt> {
        let request = self.request(body.clone()).map_err(Attempt::Final)?;
        let response = match client.send_bytes(request).await {
            Ok(response) => response,
            Err(_) => {
                return Err(Attempt::Retry(
                    None,
                    "HTTP export failed: network error".to_string(),
                ));
            }
        };
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let message = format!("HTTP export failed with status code: {}", status.as_u16());
        Err(match status.as_u16() {
            429 | 503 => {
                let after = response
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs)
                    .filter(|d| *d <= MAX_SERVER_DELAY);
                Attempt::Retry(after, message)
            }
            502 | 504 => Attempt::Retry(None, message),
            _ => Attempt::Final(message),
        })
    }

    /// Sends `body` (compressed first when configured), retrying what OTLP calls transient
    /// within the export timeout.
    async fn send(&self, body: Vec<u8>) -> OTelSdkResult {
        let client = self.client().ok_or(OTelSdkError::AlreadyShutdown)?;
        let body = self.compressed(body)?;
        with_retries(self.timeout, || self.attempt(&*client, &body)).await
    }

    #[cfg(feature = "gzip")]
    fn compressed(&self, body: Vec<u8>) -> Result<Bytes, OTelSdkError> {
        use std::io::Write as _;
        if !self.gzip {
            return Ok(Bytes::from(body));
        }
        let mut encoder = flate2::write::GzEncoder::new(
            Vec::with_capacity(body.len() / 4),
            flate2::Compression::default(),
        );
        encoder
            .write_all(&body)
            .and_then(|()| encoder.finish())
            .map(Bytes::from)
            .map_err(|e| OTelSdkError::InternalFailure(format!("gzip failed: {e}")))
    }

    #[cfg(not(feature = "gzip"))]
    fn compressed(&self, body: Vec<u8>) -> Result<Bytes, OTelSdkError> {
        Ok(Bytes::from(body))
    }

    fn shutdown(&self) -> OTelSdkResult {
        let taken = self
            .client
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match taken {
            Some(client) => {
                drop(client);
                Ok(())
            }
            None => Err(OTelSdkError::AlreadyShutdown),
        }
    }
}

/// Exports spans as `application/x-protobuf` to one OTLP/HTTP traces endpoint (the sender's
/// format must be [`BodyFormat::Protobuf`]).
#[derive(Debug)]
pub(crate) struct HttpSpanExporter {
    sender: HttpSender,
    resource: Option<EncodedResource>,
    /// The size of the last request, so that the next one is allocated once.
    last_len: AtomicUsize,
}

impl HttpSpanExporter {
    pub(crate) fn new(sender: HttpSender) -> Self {
        Self {
            sender,
            resource: None,
            last_len: AtomicUsize::new(0),
        }
    }
}

impl SpanExporter for HttpSpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if self.sender.client().is_none() {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let mut out = Vec::with_capacity(self.last_len.load(Ordering::Relaxed));
        export_trace_request(&mut out, self.resource.as_ref(), &batch);
        drop(batch);
        self.last_len.store(out.len(), Ordering::Relaxed);
        self.sender.send(out).await
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.sender.shutdown()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = Some(EncodedResource::new(resource));
    }
}

/// Exports metrics to one OTLP/HTTP metrics endpoint, in the sender's format, with the
/// exemplars the family's reservoirs hold for each histogram data point (which the stock
/// exporter cannot send: the SDK's data points have no way to receive them).
#[derive(Debug)]
pub(crate) struct HttpMetricExporter {
    sender: HttpSender,
    temporality: Temporality,
    cursor: ExemplarCursor,
}

impl HttpMetricExporter {
    pub(crate) fn new(sender: HttpSender, temporality: Temporality) -> Self {
        Self {
            sender,
            temporality,
            cursor: ExemplarCursor::default(),
        }
    }
}

impl PushMetricExporter for HttpMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let request = super::metrics::request_with_exemplars(metrics, self.cursor.advance());
        let body = match self.sender.format() {
            BodyFormat::Protobuf => prost::Message::encode_to_vec(&request),
            #[cfg(feature = "http-json")]
            BodyFormat::Json => serde_json::to_vec(&request).map_err(|e| {
                OTelSdkError::InternalFailure(format!("metrics JSON encoding failed: {e}"))
            })?,
        };
        self.sender.send(body).await
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.sender.shutdown()
    }

    fn temporality(&self) -> Temporality {
        self.temporality
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::AtomicU32;

    /// Answers with the statuses it is given, in order (then 200), and counts the requests.
    #[derive(Debug)]
    struct Scripted {
        statuses: Vec<u16>,
        calls: AtomicU32,
    }

    impl HttpClient for Scripted {
        fn send_bytes<'a, 'b>(
            &'a self,
            request: http::Request<Bytes>,
        ) -> Pin<
            Box<
                dyn Future<Output = Result<http::Response<Bytes>, opentelemetry_http::HttpError>>
                    + Send
                    + 'b,
            >,
        >
        where
            'a: 'b,
            Self: 'b,
        {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) as usize;
            assert_eq!(request.headers()["content-type"], "application/x-protobuf");
            assert_eq!(request.headers()["x-tenant"], "t1");
            let status = self.statuses.get(n).copied().unwrap_or(200);
            Box::pin(async move {
                Ok(http::Response::builder()
                    .status(status)
                    .body(Bytes::new())
                    .expect("response"))
            })
        }
    }

    fn export(statuses: &[u16]) -> (OTelSdkResult, u32) {
        let client = Arc::new(Scripted {
            statuses: statuses.to_vec(),
            calls: AtomicU32::new(0),
        });
        let exporter = HttpSpanExporter::new(
            HttpSender::new(
                client.clone(),
                "http://127.0.0.1:4318/v1/traces",
                &[("x-tenant".into(), "t1".into())],
                Duration::from_secs(10),
                BodyFormat::Protobuf,
                false,
            )
            .expect("sender"),
        );
        let result = futures_executor::block_on(exporter.export(Vec::new()));
        (result, client.calls.load(Ordering::SeqCst))
    }

    #[test]
    fn retries_what_otlp_says_is_transient_and_nothing_else() {
        let (result, calls) = export(&[]);
        assert!(
            result.is_ok() && calls == 1,
            "{result:?} after {calls} calls"
        );
        let (result, calls) = export(&[503, 502, 429]);
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(calls, 4);
        // Three retries at most.
        let (result, calls) = export(&[503, 503, 504, 503, 200]);
        assert!(
            format!("{result:?}").contains("status code: 503"),
            "{result:?}"
        );
        assert_eq!(calls, 4);
        // A final status is not retried.
        let (result, calls) = export(&[400]);
        assert!(
            format!("{result:?}").contains("status code: 400"),
            "{result:?}"
        );
        assert_eq!(calls, 1);
    }

    #[test]
    fn no_export_after_shutdown() {
        let client = Arc::new(Scripted {
            statuses: Vec::new(),
            calls: AtomicU32::new(0),
        });
        let exporter = HttpSpanExporter::new(
            HttpSender::new(
                client,
                "http://h/v1/traces",
                &[],
                Duration::from_secs(1),
                BodyFormat::Protobuf,
                false,
            )
            .expect("sender"),
        );
        assert!(
            exporter
                .shutdown_with_timeout(Duration::from_secs(1))
                .is_ok()
        );
        assert!(futures_executor::block_on(exporter.export(Vec::new())).is_err());
        assert!(
            exporter
                .shutdown_with_timeout(Duration::from_secs(1))
                .is_err()
        );
        assert!(
            HttpSender::new(
                Arc::new(Scripted {
                    statuses: Vec::new(),
                    calls: AtomicU32::new(0)
                }),
                "not a url with spaces",
                &[],
                Duration::from_secs(1),
                BodyFormat::Protobuf,
                false,
            )
            .is_err()
        );
    }
}
