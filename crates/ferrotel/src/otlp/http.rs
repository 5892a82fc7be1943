//! OTLP/HTTP protobuf export with our own request bodies: [`HttpSpanExporter`] (the direct span
//! encoder) and [`HttpMetricExporter`] (the stock message types, with the family's exemplars
//! joined in), both on one [`HttpSender`].
//!
//! The sender keeps the stock `opentelemetry-otlp` HTTP exporter's behaviour: the same HTTP
//! clients (reqwest's blocking client for `http://`, our rustls client for `https://`), the
//! configured headers and timeout, and the same retry policy (at most 3 retries, exponential
//! backoff from 100 ms to 1.6 s with up to 100 ms of jitter, all within the export timeout; 429
//! and 503 honour `Retry-After`; 502, 504 and network errors are retried; any other status is
//! final), and the same error messages, which the accounting turns into the rate-limited export
//! warnings.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

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

const MAX_RETRIES: u32 = 3;
const INITIAL_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_millis(1600);
const MAX_JITTER_MS: u64 = 100;
/// A `Retry-After` beyond this is not waited for (the export timeout bounds it anyway).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Sends protobuf bodies to one OTLP/HTTP endpoint, with the stock exporter's retries.
#[derive(Debug)]
pub(crate) struct HttpSender {
    /// Taken at shutdown, on the exporting thread: dropping reqwest's blocking client inside an
    /// async context would panic.
    client: Mutex<Option<Arc<dyn HttpClient>>>,
    endpoint: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    timeout: Duration,
}

/// Why an attempt failed, and whether (and when) to try again.
enum Attempt {
    Retry(Option<Duration>, String),
    Final(String),
}

impl HttpSender {
    /// A sender to `endpoint` (the full URL, `/v1/<signal>` included) through `client`.
    pub(crate) fn new(
        client: Arc<dyn HttpClient>,
        endpoint: &str,
        headers: &[(String, String)],
        timeout: Duration,
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
        })
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
            .header(http::header::CONTENT_TYPE, "application/x-protobuf")
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
                    .filter(|d| *d <= MAX_RETRY_AFTER);
                Attempt::Retry(after, message)
            }
            502 | 504 => Attempt::Retry(None, message),
            _ => Attempt::Final(message),
        })
    }

    /// Sends `body`, retrying what OTLP calls transient within the export timeout.
    async fn send(&self, body: Bytes) -> OTelSdkResult {
        let client = self.client().ok_or(OTelSdkError::AlreadyShutdown)?;
        let deadline = Instant::now() + self.timeout;
        let mut retries = 0;
        loop {
            let (after, message) = match self.attempt(&*client, &body).await {
                Ok(()) => return Ok(()),
                Err(Attempt::Final(message)) => return Err(OTelSdkError::InternalFailure(message)),
                Err(Attempt::Retry(after, message)) => (after, message),
            };
            let delay = after.unwrap_or_else(|| backoff(retries));
            if retries >= MAX_RETRIES || Instant::now() + delay >= deadline {
                return Err(OTelSdkError::InternalFailure(message));
            }
            // The batch worker and the periodic reader export on threads of their own:
            // sleeping blocks nothing but this export.
            std::thread::sleep(delay);
            retries += 1;
        }
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

/// The delay before retry `n` (0-based): exponential from [`INITIAL_DELAY`], capped, plus jitter.
fn backoff(n: u32) -> Duration {
    let base = INITIAL_DELAY.saturating_mul(1 << n.min(16)).min(MAX_DELAY);
    base + Duration::from_millis(rand::random::<u64>() % (MAX_JITTER_MS + 1))
}

/// Exports spans as `application/x-protobuf` to one OTLP/HTTP traces endpoint.
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
        self.sender.send(Bytes::from(out)).await
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.sender.shutdown()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = Some(EncodedResource::new(resource));
    }
}

/// Exports metrics as `application/x-protobuf` to one OTLP/HTTP metrics endpoint, with the
/// exemplars the family's reservoirs hold for each histogram data point (which the stock
/// exporter cannot send: the SDK's data points have no way to receive them).
#[derive(Debug)]
pub(crate) struct HttpMetricExporter {
    sender: HttpSender,
    temporality: Temporality,
    /// Exemplars recorded before this were sent with an earlier export.
    sent_until: Mutex<SystemTime>,
}

impl HttpMetricExporter {
    pub(crate) fn new(sender: HttpSender, temporality: Temporality) -> Self {
        Self {
            sender,
            temporality,
            sent_until: Mutex::new(SystemTime::UNIX_EPOCH),
        }
    }
}

impl PushMetricExporter for HttpMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        use prost::Message as _;
        let now = SystemTime::now();
        let since = std::mem::replace(
            &mut *self
                .sent_until
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
            now,
        );
        let request = super::metrics::request_with_exemplars(metrics, since);
        self.sender.send(Bytes::from(request.encode_to_vec())).await
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
            HttpSender::new(client, "http://h/v1/traces", &[], Duration::from_secs(1))
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
                Duration::from_secs(1)
            )
            .is_err()
        );
    }
}
