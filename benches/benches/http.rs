//! In-process per-request cost of the HTTP middleware (service called directly, no network),
//! side by side in one run:
//!
//! - axum: bare router | + `ferrotel_http::HttpLayer` | + the contrib tower layer
//!   (`opentelemetry-instrumentation-tower` `http::server::Layer`, the cheapest peer: SDK spans
//!   started directly, HTTP metrics) | + the peer crates users pick today
//!   (`axum-tracing-opentelemetry` `OtelAxumLayer` + `OtelInResponseLayer`, and
//!   `axum-otel-metrics` `HttpMetricsLayer`);
//! - actix-web: bare app | + `HttpMiddleware` | + `opentelemetry-instrumentation-actix-web`
//!   (`RequestTracing` + `RequestMetrics`).
//!
//! Every instrumented variant records metrics into a real SDK meter provider and creates
//! 100%-sampled spans through a batch span processor whose exporter drops the batches, so the
//! measured cost is the instrumentation, not an exporter. The per-request overhead is the
//! difference to the bare variant of the same framework.
//!
//! Our middleware runs under the subscriber `ferrotel::builder().init()` builds (our span
//! layer, log bridge, redaction and exact-accounting span processors, batch export to a
//! discarding exporter): what a user of this SDK gets. The peers run under a stock
//! `tracing-opentelemetry` layer (which `axum-tracing-opentelemetry` needs), configured without
//! location, thread or inactivity-timing attributes; `HTTP_BENCH_OTEL_LAYER=default` uses that
//! layer's defaults instead.
//!
//! Time is the bench thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), so other processes
//! competing for the shared 2-core machine do not inflate the figures; the batch exporter
//! thread is not counted, for any variant. `HTTP_BENCH_CLOCK=wall` measures wall time instead.
//!
//! Run: `cargo bench -p ferrotel-benches --bench http`.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ferrotel_http::{HttpInstrumentation, HttpLayer, HttpMiddleware};
use ferrotel_prometheus::PrometheusExporter;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tracing_subscriber::layer::SubscriberExt;

/// Accepts and drops every batch.
#[derive(Debug)]
struct DropExporter;

impl SpanExporter for DropExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        drop(batch);
        Ok(())
    }
}

/// The subscriber the peer crates run under: stock `tracing-opentelemetry`.
fn stock_dispatch() -> (SdkTracerProvider, tracing::Dispatch) {
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(DropExporter)
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"));
    let layer = if std::env::var_os("HTTP_BENCH_OTEL_LAYER").is_some_and(|v| v == "default") {
        layer
    } else {
        layer
            .with_tracked_inactivity(false)
            .with_threads(false)
            .with_location(false)
            .with_target(false)
            .with_error_records_to_exceptions(true)
    };
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    (provider, dispatch)
}

/// The subscriber our middleware runs under: `ferrotel::builder()` with a discarding exporter.
fn telemetry_guard() -> ferrotel::Guard {
    ferrotel::builder()
        .service_name("bench")
        .global(false)
        .env_lookup(|_| None)
        .exporters(&[])
        .with_span_exporter(DropExporter)
        .with_log_exporter(ferrotel_benches::DiscardLogs)
        .console_format(ferrotel::ConsoleFormat::Off)
        .without_runtime_metrics()
        .log_filter("info")
        .init()
        .expect("telemetry init")
}

fn meter_provider() -> SdkMeterProvider {
    SdkMeterProvider::builder()
        .with_reader(PrometheusExporter::default())
        .build()
}

/// The calling thread's CPU time.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `routine` per iteration, timed with thread CPU time (or wall time, see the module docs).
fn measure<O>(b: &mut criterion::Bencher<'_>, mut routine: impl FnMut() -> O) {
    if std::env::var_os("HTTP_BENCH_CLOCK").is_some_and(|v| v == "wall") {
        return b.iter(routine);
    }
    b.iter_custom(|iters| {
        let start = thread_cpu_time();
        for _ in 0..iters {
            std::hint::black_box(routine());
        }
        thread_cpu_time().saturating_sub(start)
    });
}

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

mod axum_variants {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::extract::Path;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    pub fn router() -> Router {
        Router::new().route(
            "/users/{id}",
            get(|Path(id): Path<u64>| async move { format!("user {id}") }),
        )
    }

    pub fn ours(provider: &SdkMeterProvider) -> Router {
        router().layer(HttpLayer::new(
            HttpInstrumentation::builder()
                .meter_provider(provider)
                .build(),
        ))
    }

    /// The contrib layer on the global tracer provider (the stock one `stock_dispatch` sets) and
    /// on a meter of `provider`.
    pub fn contrib(provider: &SdkMeterProvider) -> Router {
        opentelemetry::global::set_meter_provider(provider.clone());
        router().layer(opentelemetry_instrumentation_tower::http::server::Layer::new())
    }

    pub fn peers() -> Router {
        let metrics_provider = opentelemetry_sdk_032::metrics::SdkMeterProvider::builder()
            .with_reader(opentelemetry_sdk_032::metrics::ManualReader::builder().build())
            .build();
        router()
            .layer(
                axum_otel_metrics::HttpMetricsLayerBuilder::new()
                    .with_provider(metrics_provider)
                    .build(),
            )
            .layer(axum_tracing_opentelemetry::middleware::OtelInResponseLayer)
            .layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default())
    }

    pub async fn call(app: &Router) -> usize {
        let request = http::Request::get("/users/42")
            .header("traceparent", TRACEPARENT)
            .body(Body::empty())
            .expect("request");
        let response = app.clone().oneshot(request).await.expect("infallible");
        response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .len()
    }
}

fn bench_axum(c: &mut Criterion) {
    let (_stock_provider, stock) = stock_dispatch();
    let guard = telemetry_guard();
    let provider = meter_provider();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let variants = [
        ("bare", axum_variants::router(), &stock),
        (
            "ferrotel-http",
            axum_variants::ours(&provider),
            guard.dispatch(),
        ),
        (
            "opentelemetry-instrumentation-tower",
            axum_variants::contrib(&provider),
            &stock,
        ),
        (
            "axum-tracing-opentelemetry+axum-otel-metrics",
            axum_variants::peers(),
            &stock,
        ),
    ];
    let mut group = c.benchmark_group("http/axum");
    group
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(30);
    for (name, app, dispatch) in &variants {
        tracing::dispatcher::with_default(dispatch, || {
            assert_eq!(
                rt.block_on(axum_variants::call(app)),
                7,
                "{name} serves the route"
            );
            group.bench_function(*name, |b| {
                measure(b, || rt.block_on(axum_variants::call(app)))
            });
        });
    }
    // Attribution: the same layer with no tracing subscriber (metrics, ids, headers; no spans).
    let ours = &variants[1].1;
    group.bench_function("ferrotel-http/metrics-only", |b| {
        tracing::dispatcher::with_default(&tracing::Dispatch::none(), || {
            measure(b, || rt.block_on(axum_variants::call(ours)))
        })
    });
    group.finish();
}

fn bench_actix(c: &mut Criterion) {
    use actix_web::dev::Service;
    use actix_web::{App, test, web};
    use opentelemetry_instrumentation_actix_web::{RequestMetrics, RequestTracing};
    let (_stock_provider, stock) = stock_dispatch();
    let guard = telemetry_guard();
    let provider = meter_provider();
    let system = actix_rt::System::new();
    let mut group = c.benchmark_group("http/actix");
    group
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(30);

    macro_rules! run {
        ($name:expr, $dispatch:expr, $app:expr) => {{
            let _default = tracing::dispatcher::set_default($dispatch);
            let service = system.block_on(test::init_service($app));
            let request = || {
                test::TestRequest::get()
                    .uri("/users/42")
                    .insert_header(("traceparent", TRACEPARENT))
                    .to_request()
            };
            let call = || async {
                let response = service.call(request()).await.expect("response");
                let status = response.status();
                let body = actix_web::body::to_bytes(response.into_body())
                    .await
                    .map(|b| b.len())
                    .ok();
                (status, body)
            };
            let (status, body) = system.block_on(call());
            assert_eq!(
                (status.as_u16(), body),
                (200, Some(7)),
                "{} serves the route",
                $name
            );
            group.bench_function($name, |b| measure(b, || system.block_on(call())));
        }};
    }
    let user = |id: web::Path<u64>| async move { format!("user {id}") };
    run!(
        "bare",
        &stock,
        App::new().route("/users/{id}", web::get().to(user))
    );
    run!(
        "ferrotel-http",
        guard.dispatch(),
        App::new()
            .wrap(HttpMiddleware::new(
                HttpInstrumentation::builder()
                    .meter_provider(&provider)
                    .build()
            ))
            .route("/users/{id}", web::get().to(user))
    );
    run!(
        "opentelemetry-instrumentation-actix-web",
        &stock,
        App::new()
            .wrap(
                RequestMetrics::builder()
                    .with_meter_provider(provider.clone())
                    .build()
            )
            .wrap(RequestTracing::new())
            .route("/users/{id}", web::get().to(user))
    );
    group.finish();
}

/// The floor: the telemetry one request produces, made with direct SDK calls and no framework
/// or middleware logic: extract the incoming traceparent, a server span with the attributes the
/// middleware sets, and the five metric measurements (`raw_sdk_request_telemetry`: the plain
/// SDK calls; `.../bound`: through instruments pre-bound to the request's attribute set, the
/// cheapest the SDK offers, as our middleware does). A middleware emitting the same data costs
/// about this much per request on this machine, before any framework work.
fn bench_floor(c: &mut Criterion) {
    use opentelemetry::KeyValue;
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry::propagation::TextMapPropagator as _;
    use opentelemetry::trace::{Span as _, SpanKind, Tracer as _};
    let (provider, _stock) = stock_dispatch();
    let tracer = provider.tracer("floor");
    let meters = meter_provider();
    let meter = meters.meter("floor");
    let duration = meter.f64_histogram("http.server.request.duration").build();
    let requests = meter.u64_counter("http.server.requests").build();
    let active = meter
        .i64_up_down_counter("http.server.active_requests")
        .build();
    let request_size = meter.u64_histogram("http.server.request.body.size").build();
    let response_size = meter
        .u64_histogram("http.server.response.body.size")
        .build();
    let propagator = TraceContextPropagator::new();
    let mut headers = std::collections::HashMap::new();
    headers.insert("traceparent".to_string(), TRACEPARENT.to_string());
    let mut group = c.benchmark_group("http/floor");
    group
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(30);
    group.bench_function("raw_sdk_request_telemetry", |b| {
        measure(b, || {
            let start = std::time::Instant::now();
            let parent = propagator.extract(&headers);
            let active_attrs = [
                KeyValue::new("http.request.method", "GET"),
                KeyValue::new("url.scheme", "http"),
            ];
            active.add(1, &active_attrs);
            let mut span = tracer
                .span_builder("GET /users/{id}")
                .with_kind(SpanKind::Server)
                .with_attributes([
                    KeyValue::new("http.request.method", "GET"),
                    KeyValue::new("http.route", "/users/{id}".to_string()),
                    KeyValue::new("url.path", "/users/42".to_string()),
                    KeyValue::new("url.scheme", "http"),
                    KeyValue::new("network.protocol.version", "1.1"),
                    KeyValue::new("user_agent.original", "bench/1.0".to_string()),
                    KeyValue::new("client.address", "127.0.0.1".to_string()),
                    KeyValue::new("request_id", "0123456789abcdef".to_string()),
                ])
                .start_with_context(&tracer, &parent);
            span.set_attribute(KeyValue::new("http.response.status_code", 200_i64));
            let attrs = [
                KeyValue::new("http.request.method", "GET"),
                KeyValue::new("http.route", "/users/{id}"),
                KeyValue::new("http.response.status_code", 200_i64),
                KeyValue::new("url.scheme", "http"),
                KeyValue::new("network.protocol.version", "1.1"),
            ];
            duration.record(start.elapsed().as_secs_f64(), &attrs);
            requests.add(1, &attrs);
            request_size.record(0, &attrs);
            response_size.record(7, &attrs);
            active.add(-1, &active_attrs);
            span.end();
        })
    });
    let bound_attrs = [
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("http.route", "/users/{id}"),
        KeyValue::new("http.response.status_code", 200_i64),
        KeyValue::new("url.scheme", "http"),
        KeyValue::new("network.protocol.version", "1.1"),
    ];
    let bound_active = active.bind(&[
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("url.scheme", "http"),
    ]);
    let bound_duration = duration.bind(&bound_attrs);
    let bound_requests = requests.bind(&bound_attrs);
    let bound_request_size = request_size.bind(&bound_attrs);
    let bound_response_size = response_size.bind(&bound_attrs);
    group.bench_function("raw_sdk_request_telemetry/bound", |b| {
        measure(b, || {
            let start = std::time::Instant::now();
            let parent = propagator.extract(&headers);
            bound_active.add(1);
            let mut span = tracer
                .span_builder("GET /users/{id}")
                .with_kind(SpanKind::Server)
                .with_attributes([
                    KeyValue::new("http.request.method", "GET"),
                    KeyValue::new("http.route", "/users/{id}".to_string()),
                    KeyValue::new("url.path", "/users/42".to_string()),
                    KeyValue::new("url.scheme", "http"),
                    KeyValue::new("network.protocol.version", "1.1"),
                    KeyValue::new("user_agent.original", "bench/1.0".to_string()),
                    KeyValue::new("client.address", "127.0.0.1".to_string()),
                    KeyValue::new("request_id", "0123456789abcdef".to_string()),
                ])
                .start_with_context(&tracer, &parent);
            span.set_attribute(KeyValue::new("http.response.status_code", 200_i64));
            bound_duration.record(start.elapsed().as_secs_f64());
            bound_requests.add(1);
            bound_request_size.record(0);
            bound_response_size.record(7);
            bound_active.add(-1);
            span.end();
        })
    });
    group.finish();
}

criterion_group!(benches, bench_floor, bench_axum, bench_actix);
criterion_main!(benches);
