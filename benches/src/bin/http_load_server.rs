//! Load-test server for `benches/http-load.sh` (end-to-end, over loopback, CPU per request).
//!
//! `http_load_server axum|actix VARIANT PORT OTLP_ENDPOINT` serves `GET /users/{id}` on one
//! worker thread (a one-worker tokio runtime, or one actix worker). Instrumented variants export
//! 100%-sampled spans and their metrics over OTLP/HTTP (protobuf) to `OTLP_ENDPOINT` (rotel, in
//! the script) with batch export, as a service would.
//!
//! Variants:
//! - `bare`: no instrumentation.
//! - `ours`: `ferrotel::builder()` (what `ferrotel::init()` sets up: our span layer, log bridge,
//!   JSON console, redaction, exact accounting, OTLP traces, metrics and logs) and
//!   `ferrotel_http::HttpLayer` / `HttpMiddleware` on the global meter provider.
//! - `contrib`: the OpenTelemetry contrib middleware of that framework
//!   (`opentelemetry-instrumentation-tower` 0.19 `http::server::Layer`, or
//!   `opentelemetry-instrumentation-actix-web` `RequestTracing` + `RequestMetrics`) on a stock SDK
//!   tracer provider (batch processor, `opentelemetry-otlp` span exporter) and a stock meter
//!   provider (periodic reader, `opentelemetry-otlp` metric exporter), both global.
//! - `davidb` (axum only): `axum-tracing-opentelemetry` + `axum-otel-metrics` under a stock
//!   `tracing-opentelemetry` layer over the same stock tracer provider.
//!
//! `http_load_server inprocess axum|actix VARIANT ITERATIONS OTLP_ENDPOINT` — calls the service
//! in-process ITERATIONS times (no HTTP server) and exits, for counting instructions under
//! valgrind, which the noise of a shared VM does not disturb (`benches/http-icount.sh`). The
//! telemetry is the same as the server's, exported to `OTLP_ENDPOINT` by the real exporters.
//! `ours-metrics` is `ours` without a tracing subscriber (metrics, request id and headers only).

use std::net::SocketAddr;

use ferrotel_http::{HttpInstrumentation, HttpLayer, HttpMiddleware};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What keeps a variant's telemetry running until the server stops.
enum Telemetry {
    None,
    Stock(SdkTracerProvider, SdkMeterProvider),
    Ours(Box<ferrotel::Guard>),
}

impl Telemetry {
    fn shutdown(self) -> Result<(), BoxError> {
        match self {
            Telemetry::None => {}
            Telemetry::Stock(traces, metrics) => {
                traces.shutdown()?;
                metrics.shutdown()?;
            }
            Telemetry::Ours(guard) => drop(guard.shutdown()),
        }
        Ok(())
    }
}

/// A stock SDK tracer provider (batch processor over `exporter`) and meter provider (periodic
/// reader over `metrics`), both global, with W3C propagation. With `tracing_layer`, also a stock
/// `tracing-opentelemetry` layer without location, thread or timing attributes.
fn install_stock(
    exporter: impl opentelemetry_sdk::trace::SpanExporter + 'static,
    metrics: Option<opentelemetry_otlp::MetricExporter>,
    tracing_layer: bool,
) -> Result<Telemetry, BoxError> {
    let traces = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    let mut meters = SdkMeterProvider::builder();
    if let Some(metrics) = metrics {
        meters = meters
            .with_reader(opentelemetry_sdk::metrics::PeriodicReader::builder(metrics).build());
    }
    let meters = meters.build();
    opentelemetry::global::set_tracer_provider(traces.clone());
    opentelemetry::global::set_meter_provider(meters.clone());
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    if tracing_layer {
        let layer = tracing_opentelemetry::layer()
            .with_tracer(traces.tracer("load"))
            .with_tracked_inactivity(false)
            .with_threads(false)
            .with_location(false)
            .with_target(false)
            .with_error_records_to_exceptions(true);
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))?;
    }
    Ok(Telemetry::Stock(traces, meters))
}

/// The stock OTLP/HTTP protobuf exporters to `endpoint`.
fn install_stock_otlp(endpoint: &str, tracing_layer: bool) -> Result<Telemetry, BoxError> {
    use opentelemetry_otlp::WithExportConfig;
    let spans = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{endpoint}/v1/traces"))
        .build()?;
    let metrics = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_endpoint(format!("{endpoint}/v1/metrics"))
        .build()?;
    install_stock(spans, Some(metrics), tracing_layer)
}

/// What `ferrotel::init()` sets up, exporting to `endpoint` (the environment is ignored, so a
/// stray `OTEL_*` variable cannot change the comparison).
fn install_ours(endpoint: &str) -> Result<Telemetry, BoxError> {
    let guard = ferrotel::builder()
        .service_name("http-load")
        .endpoint(endpoint)
        .env_lookup(|_| None)
        .console_format(ferrotel::ConsoleFormat::Json)
        .without_runtime_metrics()
        .log_filter("info")
        .init()?;
    Ok(Telemetry::Ours(Box::new(guard)))
}

fn usage() -> BoxError {
    "usage: http_load_server (axum|actix) (bare|ours|contrib|davidb) PORT OTLP_ENDPOINT \
     | inprocess (axum|actix) (bare|ours|ours-metrics|contrib|davidb) ITERATIONS OTLP_ENDPOINT \
     | export (ours|ours-unredacted|stock) SPANS OTLP_ENDPOINT"
        .into()
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [mode, framework, variant, iterations, endpoint] if mode == "inprocess" => {
            inprocess::run(framework, variant, iterations.parse()?, endpoint)
        }
        [mode, exporter, spans, endpoint] if mode == "export" => {
            export_spans(exporter, spans.parse()?, endpoint)
        }
        [framework, variant, port, endpoint] => {
            let addr = SocketAddr::from(([127, 0, 0, 1], port.parse()?));
            let telemetry = match (framework.as_str(), variant.as_str()) {
                (_, "bare") => Telemetry::None,
                (_, "ours") => install_ours(endpoint)?,
                (_, "contrib") => install_stock_otlp(endpoint, false)?,
                ("axum", "davidb") => install_stock_otlp(endpoint, true)?,
                _ => return Err(usage()),
            };
            match framework.as_str() {
                "axum" => axum_server(addr, variant)?,
                "actix" => actix_server(addr, variant)?,
                _ => return Err(usage()),
            }
            telemetry.shutdown()
        }
        _ => Err(usage()),
    }
}

/// The axum app of `variant`; metrics go to the global meter provider (davidB's
/// `axum-otel-metrics` is built on opentelemetry 0.32, so it records into a 0.32 SDK provider
/// read by a manual reader: its recording cost is counted, its export is not).
fn axum_app(variant: &str) -> Result<axum::Router, BoxError> {
    use axum::Router;
    use axum::extract::Path;
    use axum::routing::get;
    let router = Router::new().route(
        "/users/{id}",
        get(|Path(id): Path<u64>| async move { format!("user {id}") }),
    );
    Ok(match variant {
        "bare" => router,
        "ours" => router.layer(HttpLayer::new(HttpInstrumentation::new())),
        "contrib" => router.layer(opentelemetry_instrumentation_tower::http::server::Layer::new()),
        "davidb" => {
            let provider = opentelemetry_sdk_032::metrics::SdkMeterProvider::builder()
                .with_reader(opentelemetry_sdk_032::metrics::ManualReader::builder().build())
                .build();
            router
                .layer(
                    axum_otel_metrics::HttpMetricsLayerBuilder::new()
                        .with_provider(provider)
                        .build(),
                )
                .layer(axum_tracing_opentelemetry::middleware::OtelInResponseLayer)
                .layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default())
        }
        _ => return Err(usage()),
    })
}

fn axum_server(addr: SocketAddr, variant: &str) -> Result<(), BoxError> {
    let app = axum_app(variant)?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            axum::serve(listener, app)
                .with_graceful_shutdown(terminated())
                .await?;
            Ok(())
        })
}

/// Resolves on SIGTERM, so that the telemetry is shut down (and flushed) like a real service's.
async fn terminated() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => drop(term.recv().await),
        Err(_) => std::future::pending().await,
    }
}

fn actix_server(addr: SocketAddr, variant: &str) -> Result<(), BoxError> {
    use actix_web::middleware::Condition;
    use actix_web::{App, HttpServer, web};
    use opentelemetry_instrumentation_actix_web::{RequestMetrics, RequestTracing};
    if !matches!(variant, "bare" | "ours" | "contrib") {
        return Err(usage());
    }
    let (ours, contrib) = (variant == "ours", variant == "contrib");
    let instrumentation = HttpInstrumentation::new();
    actix_rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new()
                .wrap(Condition::new(
                    ours,
                    HttpMiddleware::new(instrumentation.clone()),
                ))
                .wrap(Condition::new(contrib, RequestMetrics::default()))
                .wrap(Condition::new(contrib, RequestTracing::new()))
                .route(
                    "/users/{id}",
                    web::get().to(|id: web::Path<u64>| async move { format!("user {id}") }),
                )
        })
        .workers(1)
        .bind(addr)?
        .run()
        .await
    })?;
    Ok(())
}

/// `export`: `spans` SDK spans of the middleware's shape (server kind, remote parent, the
/// attributes `HttpLayer` sets) exported over OTLP/HTTP, by our pipeline (`ours`: admission,
/// redaction, limits, our batch processor and encoder; `ours-unredacted` without redaction) or
/// by the stock batch processor and `opentelemetry-otlp` exporter (`stock`), for counting the
/// exporting threads' instructions per span.
fn export_spans(exporter: &str, spans: u64, endpoint: &str) -> Result<(), BoxError> {
    use opentelemetry::KeyValue;
    use opentelemetry::trace::{SpanKind, TraceContextExt as _, Tracer as _};
    let telemetry = match exporter {
        "ours" | "ours-unredacted" => {
            let mut builder = ferrotel::builder()
                .service_name("export-bench")
                .endpoint(endpoint)
                .env_lookup(|_| None)
                .console_format(ferrotel::ConsoleFormat::Off)
                .without_runtime_metrics();
            if exporter == "ours-unredacted" {
                builder = builder.without_redaction();
            }
            Telemetry::Ours(Box::new(builder.init()?))
        }
        "stock" => install_stock_otlp(endpoint, false)?,
        _ => return Err(usage()),
    };
    let tracer = opentelemetry::global::tracer("ferrotel-http");
    let parent = opentelemetry::Context::new().with_remote_span_context(
        opentelemetry::trace::SpanContext::new(
            opentelemetry::trace::TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736_u128),
            opentelemetry::trace::SpanId::from(0x00f0_67aa_0ba9_02b7_u64),
            opentelemetry::trace::TraceFlags::SAMPLED,
            true,
            Default::default(),
        ),
    );
    let route: std::sync::Arc<str> = std::sync::Arc::from("/users/{id}");
    for i in 0..spans {
        let span = tracer
            .span_builder("GET /users/{id}")
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new("http.request.method", "GET"),
                KeyValue::new("http.route", std::sync::Arc::clone(&route)),
                KeyValue::new("url.path", format!("/users/{}", i % 1000)),
                KeyValue::new("url.scheme", "http"),
                KeyValue::new("network.protocol.version", "1.1"),
                KeyValue::new("client.address", "127.0.0.1"),
                KeyValue::new(
                    "request_id",
                    format!("{:032x}", u128::from(i) * 0x9e37_79b9),
                ),
                KeyValue::new("http.response.status_code", 200_i64),
            ])
            .start_with_context(&tracer, &parent);
        drop(span);
    }
    telemetry.shutdown()
}

/// In-process calls for instruction counting.
mod inprocess {
    use super::*;
    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn install(variant: &str, spans: bool, endpoint: &str) -> Result<Telemetry, BoxError> {
        if !spans {
            opentelemetry::global::set_meter_provider(SdkMeterProvider::builder().build());
            return Ok(Telemetry::None);
        }
        Ok(match variant {
            "bare" => Telemetry::None,
            "ours" => install_ours(endpoint)?,
            "contrib" => install_stock_otlp(endpoint, false)?,
            "davidb" => install_stock_otlp(endpoint, true)?,
            _ => return Err(usage()),
        })
    }

    pub fn run(
        framework: &str,
        variant: &str,
        iterations: u64,
        endpoint: &str,
    ) -> Result<(), BoxError> {
        let (variant, spans) = match variant {
            "ours-metrics" => ("ours", false),
            other => (other, true),
        };
        let telemetry = install(variant, spans, endpoint)?;
        match framework {
            "axum" => axum(variant, iterations)?,
            "actix" => actix(variant, iterations)?,
            _ => return Err(usage()),
        }
        telemetry.shutdown()
    }

    fn axum(variant: &str, iterations: u64) -> Result<(), BoxError> {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let app = axum_app(variant)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        for _ in 0..iterations {
            let request = http::Request::get("/users/42")
                .header("traceparent", TRACEPARENT)
                .body(axum::body::Body::empty())?;
            let len = rt.block_on(async {
                let response = app.clone().oneshot(request).await?;
                Ok::<_, BoxError>(response.into_body().collect().await?.to_bytes().len())
            })?;
            if len != 7 {
                return Err(format!("unexpected body length {len}").into());
            }
        }
        Ok(())
    }

    fn actix(variant: &str, iterations: u64) -> Result<(), BoxError> {
        use actix_web::dev::Service;
        use actix_web::middleware::Condition;
        use actix_web::{App, test, web};
        use opentelemetry_instrumentation_actix_web::{RequestMetrics, RequestTracing};
        if !matches!(variant, "bare" | "ours" | "contrib") {
            return Err(usage());
        }
        let (ours, contrib) = (variant == "ours", variant == "contrib");
        let instrumentation = HttpInstrumentation::new();
        actix_rt::System::new().block_on(async move {
            let user = |id: web::Path<u64>| async move { format!("user {id}") };
            let app = App::new()
                .wrap(Condition::new(ours, HttpMiddleware::new(instrumentation)))
                .wrap(Condition::new(contrib, RequestMetrics::default()))
                .wrap(Condition::new(contrib, RequestTracing::new()))
                .route("/users/{id}", web::get().to(user));
            let service = test::init_service(app).await;
            for _ in 0..iterations {
                let request = test::TestRequest::get()
                    .uri("/users/42")
                    .insert_header(("traceparent", TRACEPARENT))
                    .to_request();
                let response = service
                    .call(request)
                    .await
                    .map_err(|e| format!("call: {e}"))?;
                let body = actix_web::body::to_bytes(response.into_body())
                    .await
                    .map_err(|e| format!("body: {e}"))?;
                if body.len() != 7 {
                    return Err(format!("unexpected body length {}", body.len()).into());
                }
            }
            Ok::<_, BoxError>(())
        })
    }
}
