//! Shared test support: telemetry capture, the two framework harnesses serving the SAME
//! routes, and helpers to read exported spans and metrics.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use ferrotel_http::HttpInstrumentation;
use ferrotel_http::client::ClientTracing;
use ferrotel_http::health::HealthRegistry;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::{TraceId, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{
    InstrumentKind, ManualReader, Pipeline, SdkMeterProvider, Temporality,
};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing_subscriber::layer::SubscriberExt;

static SPANS: OnceLock<(SpanLayer, InMemorySpanExporter)> = OnceLock::new();

/// Which span layer the test binary's global subscriber uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SpanLayer {
    /// `ferrotel_tracing::OtelSpanLayer`, what `ferrotel::init()` installs.
    Ours,
    /// `tracing-opentelemetry`'s layer, what hand-built subscribers usually have.
    TracingOpentelemetry,
}

/// Installs the global subscriber with `layer` (first call wins; later calls must agree).
pub fn install(layer: SpanLayer) -> &'static InMemorySpanExporter {
    let (installed, exporter) = SPANS.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let tracer = provider.tracer("conformance");
        let registry = tracing_subscriber::registry();
        let result = match layer {
            SpanLayer::Ours => tracing::subscriber::set_global_default(
                registry.with(ferrotel_tracing::OtelSpanLayer::new(tracer)),
            ),
            SpanLayer::TracingOpentelemetry => tracing::subscriber::set_global_default(
                registry.with(tracing_opentelemetry::layer().with_tracer(tracer)),
            ),
        };
        result.expect("one global subscriber per test binary");
        opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
            Box::new(TraceContextPropagator::new()),
            Box::new(BaggagePropagator::new()),
        ]));
        (layer, exporter)
    });
    assert_eq!(*installed, layer, "one span layer per test binary");
    exporter
}

/// The process-wide span exporter (one global subscriber per test binary, with our span layer
/// unless the binary installed another first). Tests find their own spans by trace id, which
/// they learn from the `traceresponse` header.
pub fn spans() -> &'static InMemorySpanExporter {
    match SPANS.get() {
        Some((_, exporter)) => exporter,
        None => install(SpanLayer::Ours),
    }
}

/// A `ManualReader` shared between the meter provider and the assertions.
#[derive(Clone, Debug, Default)]
pub struct SharedReader(Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline)
    }
    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

/// Per-server metrics: a meter provider whose only reader is read by the assertions.
#[derive(Clone)]
pub struct Telemetry {
    pub provider: SdkMeterProvider,
    pub reader: SharedReader,
}

impl Telemetry {
    pub fn new() -> Self {
        spans();
        let reader = SharedReader::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(reader.clone())
            .build();
        Self { provider, reader }
    }

    pub fn collect(&self) -> ResourceMetrics {
        let mut rm = ResourceMetrics::default();
        self.reader.collect(&mut rm).expect("collect");
        rm
    }

    /// Data points of `name` as (attributes, count-or-value, sum, bounds).
    pub fn points(&self, name: &str) -> Vec<Point> {
        let rm = self.collect();
        let mut out = Vec::new();
        for scope in rm.scope_metrics() {
            for metric in scope.metrics().filter(|m| m.name() == name) {
                collect_points(metric.data(), &mut out);
            }
        }
        out
    }
}

#[derive(Debug, Clone)]
pub struct Point {
    pub attrs: BTreeMap<String, String>,
    /// Histogram count, or sum/gauge value.
    pub value: f64,
    /// Histogram sum.
    pub sum: f64,
    pub bounds: Vec<f64>,
}

fn collect_points(data: &AggregatedMetrics, out: &mut Vec<Point>) {
    fn of(d: &MetricData<f64>, out: &mut Vec<Point>) {
        let attrs = |it: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
            it.map(|kv| (kv.key.to_string(), kv.value.to_string()))
                .collect()
        };
        match d {
            MetricData::Histogram(h) => out.extend(h.data_points().map(|dp| Point {
                attrs: attrs(&mut dp.attributes()),
                value: dp.count() as f64,
                sum: dp.sum(),
                bounds: dp.bounds().collect(),
            })),
            MetricData::Sum(s) => out.extend(s.data_points().map(|dp| Point {
                attrs: attrs(&mut dp.attributes()),
                value: dp.value(),
                sum: 0.0,
                bounds: vec![],
            })),
            MetricData::Gauge(g) => out.extend(g.data_points().map(|dp| Point {
                attrs: attrs(&mut dp.attributes()),
                value: dp.value(),
                sum: 0.0,
                bounds: vec![],
            })),
            MetricData::ExponentialHistogram(_) => {}
        }
    }
    match data {
        AggregatedMetrics::F64(d) => of(d, out),
        AggregatedMetrics::U64(d) => of_u64(d, out),
        AggregatedMetrics::I64(d) => of_i64(d, out),
    }
}

fn of_u64(d: &MetricData<u64>, out: &mut Vec<Point>) {
    let attrs = |it: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
        it.map(|kv| (kv.key.to_string(), kv.value.to_string()))
            .collect()
    };
    match d {
        MetricData::Histogram(h) => out.extend(h.data_points().map(|dp| Point {
            attrs: attrs(&mut dp.attributes()),
            value: dp.count() as f64,
            sum: dp.sum() as f64,
            bounds: dp.bounds().collect(),
        })),
        MetricData::Sum(s) => out.extend(s.data_points().map(|dp| Point {
            attrs: attrs(&mut dp.attributes()),
            value: dp.value() as f64,
            sum: 0.0,
            bounds: vec![],
        })),
        _ => {}
    }
}

fn of_i64(d: &MetricData<i64>, out: &mut Vec<Point>) {
    let attrs = |it: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
        it.map(|kv| (kv.key.to_string(), kv.value.to_string()))
            .collect()
    };
    if let MetricData::Sum(s) = d {
        out.extend(s.data_points().map(|dp| Point {
            attrs: attrs(&mut dp.attributes()),
            value: dp.value() as f64,
            sum: 0.0,
            bounds: vec![],
        }));
    }
}

/// Polls `f` every 20 ms until it returns `Some`, for at most 10 s (telemetry is recorded when
/// the server finishes the response body, which can be just after the client has it).
pub async fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Exported spans of one trace.
pub fn trace_spans(trace_id: TraceId) -> Vec<SpanData> {
    spans()
        .get_finished_spans()
        .expect("spans")
        .into_iter()
        .filter(|s| s.span_context.trace_id() == trace_id)
        .collect()
}

pub fn span_attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

/// Parses `00-{trace}-{span}-{flags}` from a `traceresponse` header.
pub fn trace_id_of(response: &reqwest::Response) -> TraceId {
    let header = response
        .headers()
        .get("traceresponse")
        .expect("traceresponse header")
        .to_str()
        .expect("ascii");
    let parts: Vec<&str> = header.split('-').collect();
    assert_eq!(parts.len(), 4, "malformed traceresponse {header}");
    TraceId::from_hex(parts[1]).expect("trace id")
}

/// Everything a harness needs to build the shared app.
#[derive(Clone)]
pub struct AppSpec {
    pub instrumentation: HttpInstrumentation,
    pub health: HealthRegistry,
    pub telemetry: Telemetry,
    /// Base URL `/call` forwards to (propagation test).
    pub downstream: Option<String>,
}

impl AppSpec {
    pub fn new(telemetry: &Telemetry, health: HealthRegistry) -> Self {
        Self {
            instrumentation: HttpInstrumentation::builder()
                .meter_provider(&telemetry.provider)
                .build(),
            health,
            telemetry: telemetry.clone(),
            downstream: None,
        }
    }

    fn client(&self) -> reqwest_middleware::ClientWithMiddleware {
        reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(ClientTracing::with_meter_provider(&self.telemetry.provider))
            .build()
    }
}

pub struct TestServer {
    pub base: String,
    stop: Option<Box<dyn FnOnce() + Send>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}

/// A framework under test. Both implementations serve exactly the same routes:
/// `GET /users/{id}` (with a child span), `POST /echo`, `GET /fail` (500), `GET /slow`
/// (300 ms), any method on `/any/{id}`, `GET /call` (forwards to the downstream with the
/// reqwest middleware), the health endpoints and a stand-in `/metrics`.
pub trait Framework {
    const NAME: &'static str;
    fn start(spec: AppSpec) -> TestServer;
}

fn loopback_listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    (listener, addr)
}

async fn user_body(id: String) -> String {
    let _child = tracing::info_span!("load_user", user.id = %id).entered();
    format!("user {id}")
}

pub struct Axum;

impl Framework for Axum {
    const NAME: &'static str = "axum";

    fn start(spec: AppSpec) -> TestServer {
        use axum::Router;
        use axum::extract::Path;
        use axum::routing::{any, get, post};
        use ferrotel_http::HttpLayer;

        let (listener, addr) = loopback_listener();
        let client = spec.client();
        let downstream = spec.downstream.clone();
        let app = Router::new()
            .route("/users/{id}", get(|Path(id): Path<String>| user_body(id)))
            .route("/echo", post(|body: axum::body::Bytes| async move { body }))
            .route(
                "/fail",
                get(|| async { (http::StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "slow"
                }),
            )
            .route("/any/{id}", any(|| async { "any" }))
            .route(
                "/call",
                get(move || {
                    let client = client.clone();
                    let downstream = downstream.clone();
                    async move {
                        let url = format!("{}/users/7", downstream.unwrap_or_default());
                        match client.get(url).send().await {
                            Ok(r) => r.text().await.unwrap_or_default(),
                            Err(e) => format!("error {e}"),
                        }
                    }
                }),
            )
            .merge(ferrotel_http::health::axum::router(spec.health.clone()))
            // A stand-in: the exporter lives in ferrotel-prometheus; the path is excluded.
            .route("/metrics", get(|| async { "metrics" }))
            .layer(HttpLayer::new(spec.instrumentation.clone()));

        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                listener.set_nonblocking(true).expect("nonblocking");
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(async move {
                    let _ = stop_rx.await;
                })
                .await
                .expect("serve");
            });
        });
        TestServer {
            base: format!("http://{addr}"),
            stop: Some(Box::new(move || {
                let _ = stop_tx.send(());
                let _ = thread.join();
            })),
        }
    }
}

pub struct Actix;

impl Framework for Actix {
    const NAME: &'static str = "actix";

    fn start(spec: AppSpec) -> TestServer {
        use actix_web::{App, HttpResponse, HttpServer, web};
        use ferrotel_http::HttpMiddleware;

        let (listener, addr) = loopback_listener();
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    let spec = spec.clone();
                    let client = spec.client();
                    let downstream = spec.downstream.clone();
                    App::new()
                        .wrap(HttpMiddleware::new(spec.instrumentation.clone()))
                        .route(
                            "/users/{id}",
                            web::get().to(|id: web::Path<String>| user_body(id.into_inner())),
                        )
                        .route(
                            "/echo",
                            web::post().to(|body: web::Bytes| async move { body }),
                        )
                        .route(
                            "/fail",
                            web::get()
                                .to(|| async { HttpResponse::InternalServerError().body("boom") }),
                        )
                        .route(
                            "/slow",
                            web::get().to(|| async {
                                tokio::time::sleep(Duration::from_millis(300)).await;
                                "slow"
                            }),
                        )
                        .route("/any/{id}", web::route().to(|| async { "any" }))
                        .route(
                            "/call",
                            web::get().to(move || {
                                let client = client.clone();
                                let downstream = downstream.clone();
                                async move {
                                    let url = format!("{}/users/7", downstream.unwrap_or_default());
                                    match client.get(url).send().await {
                                        Ok(r) => r.text().await.unwrap_or_default(),
                                        Err(e) => format!("error {e}"),
                                    }
                                }
                            }),
                        )
                        .configure(ferrotel_http::health::actix::configure(spec.health.clone()))
                        // A stand-in: the exporter lives in ferrotel-prometheus.
                        .route("/metrics", web::get().to(|| async { "metrics" }))
                })
                .workers(1)
                .disable_signals()
                .listen(listener)
                .expect("listen")
                .run();
                let _ = handle_tx.send(server.handle());
                server.await.expect("server");
            });
        });
        let handle = handle_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("actix server started");
        TestServer {
            base: format!("http://{addr}"),
            stop: Some(Box::new(move || {
                futures::executor::block_on(handle.stop(false));
                let _ = thread.join();
            })),
        }
    }
}
