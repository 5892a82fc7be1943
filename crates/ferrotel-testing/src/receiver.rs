//! The fake OTLP receiver; see [`FakeReceiver`] (all documentation is on the type, which the
//! crate root re-exports).

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use tokio::runtime::{Handle, Runtime, RuntimeFlavor};

use crate::series;

mod grpc;
mod http;
mod json;
mod model;
mod server;
mod store;
#[cfg(test)]
mod tests;
mod tls;

pub use model::{
    AttrValue, Attributes, MetricKind, PointValue, ReceivedDataPoint, ReceivedLogRecord,
    ReceivedSpan, RequestInfo, Scope, Signal, Transport,
};
pub use store::Fault;
#[cfg(feature = "capture")]
pub(crate) use store::points_of;
pub use tls::{ReceiverTls, TestPki, TestPkiFiles};

/// The OTLP protobuf types (`opentelemetry_proto::tonic`), for reading raw requests.
pub use opentelemetry_proto::tonic as proto;

/// Largest accepted request body (after gzip decompression) and gRPC message.
pub(crate) const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// How long `shutdown`/`restart` wait for a stopped listener to release its port.
const PORT_RELEASE_PATIENCE: Duration = Duration::from_secs(5);

/// Why the receiver could not start, restart, or see what a test waited for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiverError {
    /// A listener could not be bound.
    #[error("fake OTLP receiver: cannot bind {what} listener on {addr}: {source}")]
    Bind {
        /// `"HTTP"` or `"gRPC"`.
        what: &'static str,
        /// The address it tried.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The background runtime could not be created.
    #[error("fake OTLP receiver: cannot start its background runtime: {0}")]
    Runtime(std::io::Error),
    /// `start_on_current_runtime` was called outside a tokio runtime.
    #[error(
        "fake OTLP receiver: start_on_current_runtime() needs a tokio runtime; \
         use FakeReceiver::start() outside one"
    )]
    NoRuntime,
    /// The TLS settings (certificate, key, client CA) could not be used, or test certificates
    /// could not be generated.
    #[error("fake OTLP receiver: TLS: {0}")]
    Tls(String),
    /// A `wait_for` predicate was still false when the timeout passed.
    #[error(
        "fake OTLP receiver: condition not met within {timeout:?}; received so far: {received}"
    )]
    Timeout {
        /// The timeout that passed.
        timeout: Duration,
        /// A summary of what had been received, to make the failure readable.
        received: String,
    },
}

/// The runtime the servers run on.
struct Exec {
    handle: Handle,
    /// Our own multi-thread runtime (one worker thread), if we made one.
    owned: Option<Runtime>,
}

impl Exec {
    fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Whether another thread drives the runtime, so blocking on its progress is safe.
    fn runs_elsewhere(&self) -> bool {
        self.owned.is_some() || self.handle.runtime_flavor() != RuntimeFlavor::CurrentThread
    }
}

struct Running {
    http: server::RunningServer,
    grpc: server::RunningServer,
}

/// Configures and starts a [`FakeReceiver`]; see [`FakeReceiver::builder`].
#[derive(Debug, Clone)]
pub struct FakeReceiverBuilder {
    http_port: u16,
    grpc_port: u16,
    tls: Option<ReceiverTls>,
}

impl FakeReceiverBuilder {
    /// Serve OTLP/HTTP on this loopback port instead of a free one (0 = pick a free port).
    pub fn http_port(mut self, port: u16) -> Self {
        self.http_port = port;
        self
    }

    /// Serve OTLP/gRPC on this loopback port instead of a free one (0 = pick a free port).
    pub fn grpc_port(mut self, port: u16) -> Self {
        self.grpc_port = port;
        self
    }

    /// Terminate TLS on both listeners (OTLP/HTTP over `https://`, gRPC over TLS), optionally
    /// demanding a client certificate. The endpoints then start with `https://`. Failed
    /// handshakes are listed by [`FakeReceiver::tls_handshake_errors`].
    pub fn tls(mut self, tls: ReceiverTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Starts on a background runtime thread owned by the receiver. Works from synchronous
    /// tests and from any tokio runtime, including while the test thread blocks (for example
    /// in `force_flush()` of a provider whose exporter talks to this receiver).
    pub fn start(self) -> Result<FakeReceiver, ReceiverError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fake-otlp-receiver")
            .enable_all()
            .build()
            .map_err(ReceiverError::Runtime)?;
        FakeReceiver::launch(
            self,
            Exec {
                handle: runtime.handle().clone(),
                owned: Some(runtime),
            },
        )
    }

    /// Starts on the tokio runtime of the caller (no extra thread). On a current-thread
    /// runtime the servers only run while the test `.await`s: do not block that thread
    /// (blocking `force_flush`, [`FakeReceiver::wait_for_blocking`]) while waiting for an
    /// export, and `.await` something (e.g. `tokio::task::yield_now()`) between
    /// [`FakeReceiver::shutdown`] and [`FakeReceiver::restart`].
    pub fn start_on_current_runtime(self) -> Result<FakeReceiver, ReceiverError> {
        let handle = Handle::try_current().map_err(|_| ReceiverError::NoRuntime)?;
        FakeReceiver::launch(
            self,
            Exec {
                handle,
                owned: None,
            },
        )
    }
}

/// A fake OTLP receiver for end-to-end tests: a real OTLP/HTTP (protobuf and JSON) and
/// OTLP/gRPC server on free loopback ports that keeps everything it decodes and answers
/// questions about it.
///
/// Point any OTLP exporter at [`FakeReceiver::http_endpoint`] or
/// [`FakeReceiver::grpc_endpoint`], produce telemetry, then wait for it with
/// [`FakeReceiver::wait_for`] (async) or [`FakeReceiver::wait_for_blocking`] and assert on
/// flattened views: [`ReceivedSpan`], [`ReceivedDataPoint`], [`ReceivedLogRecord`]. The raw
/// decoded requests stay available ([`FakeReceiver::trace_requests`] and friends) as
/// [`proto`] types.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use opentelemetry::trace::{Tracer, TracerProvider as _};
/// use opentelemetry_otlp::{SpanExporter, WithExportConfig};
/// use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
/// use ferrotel_testing::{FakeReceiver, Signal};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Serves on its own background runtime: works in plain #[test]s and in #[tokio::test]s.
/// let receiver = FakeReceiver::start()?;
///
/// let exporter = SpanExporter::builder()
///     .with_http()
///     .with_endpoint(receiver.http_signal_url(Signal::Traces))
///     .build()?;
/// let provider = SdkTracerProvider::builder()
///     .with_resource(Resource::builder().with_service_name("checkout").build())
///     .with_simple_exporter(exporter)
///     .build();
/// let tracer = provider.tracer("example");
/// tracer.in_span("parent", |_| tracer.in_span("child", |_| {}));
///
/// receiver.wait_for_blocking(Duration::from_secs(10), |r| r.spans().len() == 2)?;
/// let parent = receiver.span_named("parent").expect("parent span");
/// let child = receiver.span_named("child").expect("child span");
/// assert!(child.is_child_of(&parent));
/// assert_eq!(receiver.children_of(&parent).len(), 1);
/// assert_eq!(parent.resource_attribute("service.name").unwrap(), "checkout");
/// # provider.shutdown()?;
/// # Ok(())
/// # }
/// ```
///
/// With a tokio test, wait asynchronously (the receiver may also share the test's runtime, see
/// [`FakeReceiver::start_on_current_runtime`]). The tonic (gRPC) exporters run their
/// connection on the tokio runtime, so a blocking `force_flush` needs a multi-thread runtime
/// (on a current-thread one it would block the very thread the export needs):
///
/// ```
/// # use std::time::Duration;
/// # use ferrotel_testing::{AttrValue, FakeReceiver};
/// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use opentelemetry::{KeyValue, metrics::MeterProvider as _};
/// use opentelemetry_otlp::{MetricExporter, WithExportConfig};
/// use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
///
/// let receiver = FakeReceiver::start()?;
/// let exporter = MetricExporter::builder()
///     .with_tonic()
///     .with_endpoint(receiver.grpc_endpoint())
///     .build()?;
/// let provider = SdkMeterProvider::builder()
///     .with_reader(PeriodicReader::builder(exporter).build())
///     .build();
/// let counter = provider.meter("example").u64_counter("jobs.done").build();
/// counter.add(2, &[KeyValue::new("queue", "a")]);
/// counter.add(3, &[KeyValue::new("queue", "a")]);
/// provider.force_flush()?;
///
/// receiver
///     .wait_for(Duration::from_secs(10), |r| r.metric_names().contains(&"jobs.done".to_string()))
///     .await?;
/// assert_eq!(receiver.counter_sum("jobs.done", &[("queue", AttrValue::from("a"))]), Some(5.0));
/// # provider.shutdown()?;
/// # Ok(())
/// # }
/// ```
///
/// # Fault injection
///
/// [`FakeReceiver::set_fault`] / [`FakeReceiver::fail_next`] make the receiver answer
/// `503`/`UNAVAILABLE` (retryable), `400`/`INVALID_ARGUMENT` (permanent) or answer late.
/// [`FakeReceiver::shutdown`] closes the listeners and every open connection (a dead
/// collector); [`FakeReceiver::restart`] serves again on the same ports, keeping what was
/// received so far.
///
/// # Protocol notes
///
/// - HTTP: `POST /v1/traces|metrics|logs`, `Content-Type: application/x-protobuf` or
///   `application/json`, optional `Content-Encoding: gzip`; other content types get `415`,
///   undecodable bodies `400` (see [`FakeReceiver::decode_errors`]). Bodies up to 64 MiB.
/// - OTLP/JSON is decoded with `opentelemetry-proto`'s serde support after normalising the
///   places where it is stricter than the OTLP/JSON spec (`null` members, unknown `AnyValue`
///   members, enum names, 32-bit integers as strings).
/// - gRPC: the standard `opentelemetry.proto.collector.*.v1` services, gzip accepted.
/// - TLS ([`FakeReceiverBuilder::tls`]): both listeners terminate TLS (rustls, ring provider
///   passed explicitly, ALPN `h2` and `http/1.1`), optionally demanding a client certificate;
///   [`TestPki`] generates the certificates at test time. Failed handshakes are kept
///   ([`FakeReceiver::tls_handshake_errors`]).
///
/// Dropping it stops both servers (and its background runtime, if it has one). All query
/// methods return owned snapshots; they never block on the network.
pub struct FakeReceiver {
    shared: Arc<store::Shared>,
    exec: Exec,
    http_addr: SocketAddr,
    grpc_addr: SocketAddr,
    tls: Option<server::Tls>,
    running: Mutex<Option<Running>>,
}

impl fmt::Debug for FakeReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeReceiver")
            .field("http_addr", &self.http_addr)
            .field("grpc_addr", &self.grpc_addr)
            .field("tls", &self.tls.is_some())
            .field("running", &self.is_running())
            .finish_non_exhaustive()
    }
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
}

impl FakeReceiver {
    /// A builder, to choose ports or the runtime.
    pub fn builder() -> FakeReceiverBuilder {
        FakeReceiverBuilder {
            http_port: 0,
            grpc_port: 0,
            tls: None,
        }
    }

    /// Starts on free loopback ports with its own background runtime thread.
    /// See [`FakeReceiverBuilder::start`].
    pub fn start() -> Result<FakeReceiver, ReceiverError> {
        Self::builder().start()
    }

    /// Starts on free loopback ports on the caller's tokio runtime.
    /// See [`FakeReceiverBuilder::start_on_current_runtime`].
    pub fn start_on_current_runtime() -> Result<FakeReceiver, ReceiverError> {
        Self::builder().start_on_current_runtime()
    }

    fn launch(config: FakeReceiverBuilder, exec: Exec) -> Result<FakeReceiver, ReceiverError> {
        let shared = Arc::new(store::Shared::new());
        let tls = match &config.tls {
            Some(tls) => Some(server::Tls {
                acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(tls.server_config()?)),
                shared: shared.clone(),
            }),
            None => None,
        };
        let http = bind("HTTP", loopback(config.http_port), None)?;
        let grpc = bind("gRPC", loopback(config.grpc_port), None)?;
        let http_addr = local_addr("HTTP", &http)?;
        let grpc_addr = local_addr("gRPC", &grpc)?;
        let receiver = FakeReceiver {
            shared,
            exec,
            http_addr,
            grpc_addr,
            tls,
            running: Mutex::new(None),
        };
        receiver.serve(http, grpc)?;
        Ok(receiver)
    }

    fn serve(
        &self,
        http: std::net::TcpListener,
        grpc: std::net::TcpListener,
    ) -> Result<(), ReceiverError> {
        let handle = self.exec.handle();
        let http = server::spawn(
            handle,
            http,
            http::router(self.shared.clone()),
            self.tls.clone(),
        )
        .map_err(|source| ReceiverError::Bind {
            what: "HTTP",
            addr: self.http_addr,
            source,
        })?;
        let grpc = match server::spawn(
            handle,
            grpc,
            grpc::router(self.shared.clone()),
            self.tls.clone(),
        ) {
            Ok(grpc) => grpc,
            Err(source) => {
                http.stop(None);
                return Err(ReceiverError::Bind {
                    what: "gRPC",
                    addr: self.grpc_addr,
                    source,
                });
            }
        };
        *self.running.lock().unwrap_or_else(PoisonError::into_inner) = Some(Running { http, grpc });
        Ok(())
    }

    /// The OTLP/HTTP listener address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The OTLP/gRPC listener address.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// `http://127.0.0.1:PORT` (`https://` with [`FakeReceiverBuilder::tls`]): the OTLP/HTTP base
    /// endpoint (what `OTEL_EXPORTER_OTLP_ENDPOINT` takes with `http/protobuf` or `http/json`;
    /// exporters append `/v1/<signal>`).
    pub fn http_endpoint(&self) -> String {
        format!("{}://{}", self.scheme(), self.http_addr)
    }

    /// `http://127.0.0.1:PORT/v1/<signal>` (`https://` with TLS): the full per-signal URL (what
    /// programmatic `with_endpoint` on an HTTP exporter and `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
    /// take).
    pub fn http_signal_url(&self, signal: Signal) -> String {
        format!(
            "{}://{}{}",
            self.scheme(),
            self.http_addr,
            signal.http_path()
        )
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS): the OTLP/gRPC endpoint.
    pub fn grpc_endpoint(&self) -> String {
        format!("{}://{}", self.scheme(), self.grpc_addr)
    }

    /// Why TLS handshakes failed (untrusted or missing client certificate, a client that does
    /// not trust the receiver's certificate, ...), in arrival order. Always empty without TLS.
    pub fn tls_handshake_errors(&self) -> Vec<String> {
        self.shared.store().tls_errors().to_vec()
    }

    /// Whether the servers are currently accepting connections.
    pub fn is_running(&self) -> bool {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Stops both servers: closes the listeners and drops every open connection, as if the
    /// collector died. Received data is kept. Idempotent.
    ///
    /// With the receiver's own runtime (or a multi-thread runtime) this returns once the ports
    /// are released; on a current-thread runtime that happens at the caller's next `.await`.
    pub fn shutdown(&self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(running) = running {
            let wait = self.exec.runs_elsewhere().then_some(PORT_RELEASE_PATIENCE);
            running.http.stop(wait);
            running.grpc.stop(wait);
        }
    }

    /// Serves again on the same ports after [`shutdown`](Self::shutdown), keeping what was
    /// received. Does nothing if already running. Fails if another process took a port.
    pub fn restart(&self) -> Result<(), ReceiverError> {
        if self.is_running() {
            return Ok(());
        }
        let patience = self.exec.runs_elsewhere().then_some(PORT_RELEASE_PATIENCE);
        let http = bind("HTTP", self.http_addr, patience)?;
        let grpc = bind("gRPC", self.grpc_addr, patience)?;
        self.serve(http, grpc)
    }

    /// Answers every following request with `fault` (until [`clear_fault`](Self::clear_fault)).
    pub fn set_fault(&self, fault: Fault) {
        self.shared.set_fault(Some(fault), None);
    }

    /// Answers only the next `n` requests (any signal, any transport) with `fault`.
    pub fn fail_next(&self, n: u64, fault: Fault) {
        self.shared.set_fault(Some(fault), Some(n));
    }

    /// Back to accepting every request normally.
    pub fn clear_fault(&self) {
        self.shared.set_fault(None, None);
    }

    /// Forgets everything received (data, request log, decode errors).
    pub fn clear(&self) {
        self.shared.clear();
    }

    /// Takes one OTLP/HTTP request body as if it had been posted to `/v1/<signal>` (to replay
    /// a captured export, say): `content_type` and `content_encoding` are that request's
    /// headers. Injected faults do not apply. An error is the message the receiver would have
    /// answered with; like one from the wire, it is also kept as a decode error and the request
    /// is logged as not accepted.
    pub fn ingest_http_body(
        &self,
        signal: Signal,
        content_type: &str,
        content_encoding: Option<&str>,
        body: &[u8],
    ) -> Result<(), String> {
        let content_type = content_type.to_ascii_lowercase();
        let transport = http::transport_of(signal, &content_type).inspect_err(|msg| {
            self.shared.record_decode_error(msg.clone());
        })?;
        let compression = content_encoding
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty() && v != "identity");
        let info = |accepted| RequestInfo {
            signal,
            transport,
            headers: vec![("content-type".to_owned(), content_type.clone())],
            compression: compression.clone(),
            accepted,
        };
        if body.len() > MAX_MESSAGE_BYTES {
            let msg = format!(
                "{signal}: body of {} bytes, above {MAX_MESSAGE_BYTES}",
                body.len()
            );
            self.shared.record_decode_error(msg.clone());
            return Err(msg);
        }
        match http::decode_body(signal, transport, compression.as_deref(), body) {
            Ok(payload) => {
                self.shared.record(info(true), Some(payload));
                Ok(())
            }
            Err((_, msg)) => {
                self.shared.record_decode_error(msg.clone());
                self.shared.record(info(false), None);
                Err(msg)
            }
        }
    }

    // ---- waiting -------------------------------------------------------------------------

    /// Waits (asynchronously) until `condition` holds, re-checking it whenever a request
    /// arrives; never longer than `timeout`. The error lists what was received.
    ///
    /// Needs a tokio runtime with the time driver (`#[tokio::test]` has one).
    pub async fn wait_for(
        &self,
        timeout: Duration,
        mut condition: impl FnMut(&FakeReceiver) -> bool,
    ) -> Result<(), ReceiverError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changes = self.shared.subscribe();
        loop {
            changes.borrow_and_update();
            if condition(self) {
                return Ok(());
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                // Sender gone cannot happen while `self` lives; treat it like a timeout.
                Ok(Err(_)) | Err(_) => {
                    return if condition(self) {
                        Ok(())
                    } else {
                        Err(self.timeout_error(timeout))
                    };
                }
            }
        }
    }

    /// Blocks the calling thread until `condition` holds, re-checking it whenever a request
    /// arrives; never longer than `timeout`. The error lists what was received.
    ///
    /// Do not call it on the thread of a current-thread runtime the receiver was started on
    /// with [`start_on_current_runtime`](Self::start_on_current_runtime).
    pub fn wait_for_blocking(
        &self,
        timeout: Duration,
        mut condition: impl FnMut(&FakeReceiver) -> bool,
    ) -> Result<(), ReceiverError> {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self.shared.version();
            if condition(self) {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(self.timeout_error(timeout));
            }
            self.shared.wait_change_blocking(seen, deadline - now);
        }
    }

    fn timeout_error(&self, timeout: Duration) -> ReceiverError {
        ReceiverError::Timeout {
            timeout,
            received: self.summary(),
        }
    }

    /// A one-line human summary of what was received (used in timeout errors).
    pub fn summary(&self) -> String {
        let store = self.shared.store();
        let mut span_names: Vec<String> =
            store.spans().iter().map(|s| s.name().to_owned()).collect();
        span_names.sort();
        span_names.dedup();
        let points = store.data_points();
        let mut metric_names: Vec<&str> = points.iter().map(|p| p.metric_name.as_str()).collect();
        metric_names.sort();
        metric_names.dedup();
        let logs = store.log_records().len();
        let counts: Vec<String> = Signal::ALL
            .iter()
            .flat_map(|s| Transport::ALL.iter().map(move |t| (*s, *t)))
            .filter_map(|(s, t)| {
                let n = store.request_count(s, t);
                (n > 0).then(|| format!("{s} over {t}: {n}"))
            })
            .collect();
        format!(
            "requests [{}]; spans {:?}; metrics {:?}; {} log records; {} rejected; decode errors {:?}; TLS handshake errors {:?}",
            counts.join(", "),
            span_names,
            metric_names,
            logs,
            store.requests().iter().filter(|r| !r.accepted).count(),
            store.decode_errors(),
            store.tls_errors(),
        )
    }

    // ---- traces --------------------------------------------------------------------------

    /// Every received span, in arrival order.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.shared.store().spans()
    }

    /// Every received span named `name`.
    pub fn spans_named(&self, name: &str) -> Vec<ReceivedSpan> {
        self.spans()
            .into_iter()
            .filter(|s| s.name() == name)
            .collect()
    }

    /// The first received span named `name`.
    pub fn span_named(&self, name: &str) -> Option<ReceivedSpan> {
        self.spans().into_iter().find(|s| s.name() == name)
    }

    /// The received spans whose parent is `parent`.
    pub fn children_of(&self, parent: &ReceivedSpan) -> Vec<ReceivedSpan> {
        self.spans()
            .into_iter()
            .filter(|s| s.is_child_of(parent))
            .collect()
    }

    /// The received parent of `child`, if it was received.
    pub fn parent_of(&self, child: &ReceivedSpan) -> Option<ReceivedSpan> {
        self.spans().into_iter().find(|p| child.is_child_of(p))
    }

    // ---- metrics -------------------------------------------------------------------------

    /// Names of every received metric, sorted, without duplicates.
    pub fn metric_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .shared
            .store()
            .data_points()
            .into_iter()
            .map(|p| p.metric_name)
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Every received data point of metric `name`, in arrival order (cumulative metrics repeat
    /// their series on every export).
    pub fn data_points(&self, name: &str) -> Vec<ReceivedDataPoint> {
        self.shared
            .store()
            .data_points()
            .into_iter()
            .filter(|p| p.metric_name == name)
            .collect()
    }

    /// The data points of metric `name` whose attributes include all of `attributes`
    /// (other attributes may be present too; `&[]` matches every point).
    pub fn data_points_with(
        &self,
        name: &str,
        attributes: &[(&str, AttrValue)],
    ) -> Vec<ReceivedDataPoint> {
        series::matching(self.data_points(name), attributes)
    }

    /// The current total of sum metric (counter) `name` over the series whose attributes
    /// include `attributes`: the latest point of each cumulative series plus every point of
    /// delta series (the crate's one series rule, shared with the in-memory capture). `None` if
    /// no such point was received.
    pub fn counter_sum(&self, name: &str, attributes: &[(&str, AttrValue)]) -> Option<f64> {
        series::counter_sum(&self.data_points(name), attributes)
    }

    /// The total count of histogram `name` over the series whose attributes include
    /// `attributes` (the same series rule).
    pub fn histogram_count(&self, name: &str, attributes: &[(&str, AttrValue)]) -> Option<u64> {
        series::histogram_count(&self.data_points(name), attributes)
    }

    /// The total sum of histogram `name` over the series whose attributes include
    /// `attributes`; `None` if no point (or no point with a sum) was received.
    pub fn histogram_sum(&self, name: &str, attributes: &[(&str, AttrValue)]) -> Option<f64> {
        series::histogram_sum(&self.data_points(name), attributes)
    }

    /// The latest value of gauge `name` for the series whose attributes include `attributes`
    /// (the most recent point if several series match).
    pub fn gauge_value(&self, name: &str, attributes: &[(&str, AttrValue)]) -> Option<f64> {
        series::gauge_value(&self.data_points(name), attributes)
    }

    // ---- logs ----------------------------------------------------------------------------

    /// Every received log record, in arrival order.
    pub fn log_records(&self) -> Vec<ReceivedLogRecord> {
        self.shared.store().log_records()
    }

    /// The log records whose string body contains `text`.
    pub fn log_records_containing(&self, text: &str) -> Vec<ReceivedLogRecord> {
        self.log_records()
            .into_iter()
            .filter(|r| r.body_str().is_some_and(|b| b.contains(text)))
            .collect()
    }

    // ---- resources, requests, raw data ---------------------------------------------------

    /// The distinct resources (attribute lists) that sent `signal`, in first-seen order.
    pub fn resources(&self, signal: Signal) -> Vec<Attributes> {
        self.shared.store().resources(signal)
    }

    /// The value of resource attribute `key` on the first resource that sent `signal`.
    pub fn resource_attribute(&self, signal: Signal, key: &str) -> Option<AttrValue> {
        self.resources(signal)
            .iter()
            .find_map(|r| r.get(key).cloned())
    }

    /// Accepted requests of `signal` that arrived over `transport`.
    pub fn request_count(&self, signal: Signal, transport: Transport) -> usize {
        self.shared.store().request_count(signal, transport)
    }

    /// Accepted requests of `signal` over any transport.
    pub fn request_count_total(&self, signal: Signal) -> usize {
        let store = self.shared.store();
        Transport::ALL
            .iter()
            .map(|t| store.request_count(signal, *t))
            .sum()
    }

    /// Requests of `signal` answered with an injected fault or a decoding error.
    pub fn rejected_count(&self, signal: Signal) -> usize {
        self.shared.store().rejected_count(signal)
    }

    /// Metadata (transport, headers, compression, accepted) of every export request, in
    /// arrival order.
    pub fn requests(&self) -> Vec<RequestInfo> {
        self.shared.store().requests().to_vec()
    }

    /// Why requests were refused (bad content type, undecodable protobuf/JSON, bad gzip).
    pub fn decode_errors(&self) -> Vec<String> {
        self.shared.store().decode_errors().to_vec()
    }

    /// Every accepted trace request, exactly as decoded.
    pub fn trace_requests(&self) -> Vec<ExportTraceServiceRequest> {
        self.shared.store().trace_requests()
    }

    /// Every accepted metrics request, exactly as decoded.
    pub fn metrics_requests(&self) -> Vec<ExportMetricsServiceRequest> {
        self.shared.store().metrics_requests()
    }

    /// Every accepted logs request, exactly as decoded.
    pub fn logs_requests(&self) -> Vec<ExportLogsServiceRequest> {
        self.shared.store().logs_requests()
    }
}

fn bind(
    what: &'static str,
    addr: SocketAddr,
    patience: Option<Duration>,
) -> Result<std::net::TcpListener, ReceiverError> {
    let result = match patience {
        Some(p) => server::bind_with_retry(addr, p),
        None => server::bind(addr),
    };
    result.map_err(|source| ReceiverError::Bind { what, addr, source })
}

fn local_addr(what: &'static str, l: &std::net::TcpListener) -> Result<SocketAddr, ReceiverError> {
    l.local_addr().map_err(|source| ReceiverError::Bind {
        what,
        addr: loopback(0),
        source,
    })
}

impl Drop for FakeReceiver {
    fn drop(&mut self) {
        let running = self
            .running
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(running) = running {
            running.http.stop(None);
            running.grpc.stop(None);
        }
        if let Some(runtime) = self.exec.owned.take() {
            // Unlike dropping a runtime, this is allowed inside another runtime's context.
            runtime.shutdown_background();
        }
    }
}
