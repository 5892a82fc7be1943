//! Load-test server for `benches/http-load.sh` (end-to-end req/s over loopback).
//!
//! `http_load_server receiver PORT` — an OTLP/HTTP sink: accepts `POST /v1/{signal}` and drops it.
//! `http_load_server axum|actix bare|ours|peers PORT [OTLP_ENDPOINT]` — serves
//! `GET /users/{id}`; instrumented variants export 100%-sampled spans over OTLP/HTTP (batch
//! processor) to `OTLP_ENDPOINT` and record metrics into an SDK meter provider.
//!
//! `http_load_server inprocess axum|actix bare|ours|peers ITERATIONS` — no network: calls the
//! service in-process ITERATIONS times (as `benches/http.rs` does) and exits, for counting
//! instructions under valgrind, which the noise of a shared VM does not disturb:
//! `valgrind --tool=cachegrind --cache-sim=no http_load_server inprocess axum ours 2000`, minus
//! the same with `0` iterations, divided by 2000 = instructions per request.
//!
//! (`inprocess` also takes `ours-metrics`: the middleware without a tracing subscriber.)
//!
//! Variants: `bare` (no instrumentation), `ours` (ferrotel-http under the subscriber
//! `ferrotel::builder().init()` installs), `peers` (axum-tracing-opentelemetry +
//! axum-otel-metrics, or opentelemetry-instrumentation-actix-web, under a stock
//! `tracing-opentelemetry` layer).

use std::net::SocketAddr;

use ferrotel_http::{HttpInstrumentation, HttpLayer, HttpMiddleware};
use ferrotel_prometheus::PrometheusExporter;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The peers' tracing: a stock `tracing-opentelemetry` layer (which `axum-tracing-opentelemetry`
/// needs) over a batch processor exporting OTLP/HTTP to `endpoint`.
fn install_stock_tracing(endpoint: &str) -> Result<SdkTracerProvider, BoxError> {
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{endpoint}/v1/traces"))
        .build()?;
    install_stock_layer(exporter)
}

/// A batch processor over `exporter`, installed globally with W3C propagation, under a stock
/// `tracing-opentelemetry` layer without location, thread or timing attributes.
fn install_stock_layer(
    exporter: impl opentelemetry_sdk::trace::SpanExporter + 'static,
) -> Result<SdkTracerProvider, BoxError> {
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("load"))
        .with_tracked_inactivity(false)
        .with_threads(false)
        .with_location(false)
        .with_target(false)
        .with_error_records_to_exceptions(true);
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))?;
    Ok(provider)
}

/// Our middleware's tracing: what `ferrotel::init()` sets up (our span layer, log bridge,
/// redaction, exact accounting), exporting traces over OTLP/HTTP to `endpoint`; metrics and
/// logs exporters off (the middleware's metrics go to the shared meter provider), console off.
fn install_telemetry(endpoint: &str) -> Result<ferrotel::Guard, BoxError> {
    let guard = ferrotel::builder()
        .service_name("http-load")
        .endpoint(endpoint)
        .env_lookup(|_| None)
        .exporters(&[ferrotel::ExporterKind::Otlp])
        .console_format(ferrotel::ConsoleFormat::Off)
        .without_runtime_metrics()
        .log_filter("info")
        .init()?;
    Ok(guard)
}

enum Tracing {
    Stock(SdkTracerProvider),
    Telemetry(Box<ferrotel::Guard>),
}

fn install(variant: &str, endpoint: &str) -> Result<Option<Tracing>, BoxError> {
    Ok(match variant {
        "bare" => None,
        "ours" => Some(Tracing::Telemetry(Box::new(install_telemetry(endpoint)?))),
        _ => Some(Tracing::Stock(install_stock_tracing(endpoint)?)),
    })
}

fn usage() -> BoxError {
    "usage: http_load_server receiver PORT | (axum|actix) (bare|ours|peers) PORT [OTLP_ENDPOINT] \
     | inprocess (axum|actix) (bare|ours|peers) ITERATIONS"
        .into()
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [mode, port] if mode == "receiver" => receiver(port.parse()?),
        [mode, framework, variant, iterations] if mode == "inprocess" => {
            inprocess::run(framework, variant, iterations.parse()?)
        }
        [framework, variant, port, rest @ ..] => {
            let addr = SocketAddr::from(([127, 0, 0, 1], port.parse()?));
            let endpoint = rest
                .first()
                .cloned()
                .unwrap_or_else(|| "http://127.0.0.1:4318".into());
            let _tracing = install(variant, &endpoint)?;
            let meters = SdkMeterProvider::builder()
                .with_reader(PrometheusExporter::default())
                .build();
            match framework.as_str() {
                "axum" => axum_server(addr, variant, &meters),
                "actix" => actix_server(addr, variant, &meters),
                _ => Err(usage()),
            }
        }
        _ => Err(usage()),
    }
}

fn receiver(port: u16) -> Result<(), BoxError> {
    tokio::runtime::Runtime::new()?.block_on(async move {
        let app = axum::Router::new().route(
            "/v1/{signal}",
            axum::routing::post(|_body: axum::body::Bytes| async { "" }),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        axum::serve(listener, app).await?;
        Ok(())
    })
}

fn axum_server(addr: SocketAddr, variant: &str, meters: &SdkMeterProvider) -> Result<(), BoxError> {
    use axum::Router;
    use axum::extract::Path;
    use axum::routing::get;
    let router = Router::new().route(
        "/users/{id}",
        get(|Path(id): Path<u64>| async move { format!("user {id}") }),
    );
    let app = match variant {
        "bare" => router,
        "ours" => router.layer(HttpLayer::new(
            HttpInstrumentation::builder()
                .meter_provider(meters)
                .build(),
        )),
        "peers" => {
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
    };
    tokio::runtime::Runtime::new()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        axum::serve(listener, app).await?;
        Ok(())
    })
}

fn actix_server(
    addr: SocketAddr,
    variant: &str,
    meters: &SdkMeterProvider,
) -> Result<(), BoxError> {
    use actix_web::middleware::Condition;
    use actix_web::{App, HttpServer, web};
    use opentelemetry_instrumentation_actix_web::{RequestMetrics, RequestTracing};
    let ours = variant == "ours";
    let peers = variant == "peers";
    if !matches!(variant, "bare" | "ours" | "peers") {
        return Err(usage());
    }
    let instrumentation = HttpInstrumentation::builder()
        .meter_provider(meters)
        .build();
    let meters = meters.clone();
    actix_rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new()
                .wrap(Condition::new(
                    ours,
                    HttpMiddleware::new(instrumentation.clone()),
                ))
                .wrap(Condition::new(
                    peers,
                    RequestMetrics::builder()
                        .with_meter_provider(meters.clone())
                        .build(),
                ))
                .wrap(Condition::new(peers, RequestTracing::new()))
                .route(
                    "/users/{id}",
                    web::get().to(|id: web::Path<u64>| async move { format!("user {id}") }),
                )
        })
        .bind(addr)?
        .run()
        .await
    })?;
    Ok(())
}

/// In-process calls for instruction counting (same setup as `benches/http.rs`).
mod inprocess {
    use super::*;
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SpanData, SpanExporter};

    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[derive(Debug)]
    struct DropExporter;

    impl SpanExporter for DropExporter {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            drop(batch);
            Ok(())
        }
    }

    /// The peers' tracing: stock `tracing-opentelemetry`, 100% sampled, spans dropped.
    fn install_stock_tracing() -> Result<SdkTracerProvider, BoxError> {
        install_stock_layer(DropExporter)
    }

    /// Our middleware's tracing: `ferrotel::builder()`, 100% sampled, spans dropped.
    fn install_telemetry() -> Result<ferrotel::Guard, BoxError> {
        let guard = ferrotel::builder()
            .service_name("inprocess")
            .env_lookup(|_| None)
            .exporters(&[])
            .with_span_exporter(DropExporter)
            .console_format(ferrotel::ConsoleFormat::Off)
            .without_runtime_metrics()
            .log_filter("info")
            .init()?;
        Ok(guard)
    }

    /// `ours-metrics` is `ours` without a tracing subscriber: metrics, request id and headers,
    /// no spans (the attribution row of `benches/http.rs`).
    pub fn run(framework: &str, variant: &str, iterations: u64) -> Result<(), BoxError> {
        let (variant, spans) = match variant {
            "bare" => ("bare", false),
            "ours" => ("ours", true),
            "peers" => ("peers", true),
            "ours-metrics" => ("ours", false),
            _ => return Err(usage()),
        };
        let tracing = match (spans, variant) {
            (false, _) => None,
            (true, "ours") => Some(Tracing::Telemetry(Box::new(install_telemetry()?))),
            (true, _) => Some(Tracing::Stock(install_stock_tracing()?)),
        };
        let meters = SdkMeterProvider::builder()
            .with_reader(PrometheusExporter::default())
            .build();
        match framework {
            "axum" => axum(variant, iterations, &meters)?,
            "actix" => actix(variant, iterations, &meters)?,
            _ => return Err(usage()),
        }
        match tracing {
            Some(Tracing::Stock(provider)) => provider.shutdown()?,
            Some(Tracing::Telemetry(guard)) => drop(guard.shutdown()),
            None => {}
        }
        Ok(())
    }

    fn axum(variant: &str, iterations: u64, meters: &SdkMeterProvider) -> Result<(), BoxError> {
        use axum::Router;
        use axum::extract::Path;
        use axum::routing::get;
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let router = Router::new().route(
            "/users/{id}",
            get(|Path(id): Path<u64>| async move { format!("user {id}") }),
        );
        let app = match variant {
            "ours" => router.layer(HttpLayer::new(
                HttpInstrumentation::builder()
                    .meter_provider(meters)
                    .build(),
            )),
            "peers" => {
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
            _ => router,
        };
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

    fn actix(variant: &str, iterations: u64, meters: &SdkMeterProvider) -> Result<(), BoxError> {
        use actix_web::dev::Service;
        use actix_web::middleware::Condition;
        use actix_web::{App, test, web};
        use opentelemetry_instrumentation_actix_web::{RequestMetrics, RequestTracing};
        let (ours, peers) = (variant == "ours", variant == "peers");
        let instrumentation = HttpInstrumentation::builder()
            .meter_provider(meters)
            .build();
        actix_rt::System::new().block_on(async move {
            let user = |id: web::Path<u64>| async move { format!("user {id}") };
            // Same shape as the bench: the bare variant is a plain App; the others wrap it.
            let app = App::new()
                .wrap(Condition::new(ours, HttpMiddleware::new(instrumentation)))
                .wrap(Condition::new(
                    peers,
                    RequestMetrics::builder()
                        .with_meter_provider(meters.clone())
                        .build(),
                ))
                .wrap(Condition::new(peers, RequestTracing::new()))
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
