//! Load-test server for `benches/http-load.sh` (end-to-end req/s over loopback).
//!
//! `http_load_server receiver PORT` — an OTLP/HTTP sink: accepts `POST /v1/traces` and drops it.
//! `http_load_server axum|actix bare|ours|peers PORT [OTLP_ENDPOINT]` — serves
//! `GET /users/{id}`; instrumented variants export 100%-sampled spans over OTLP/HTTP (batch
//! processor) to `OTLP_ENDPOINT` and record metrics into an SDK meter provider.
//!
//! Variants: `bare` (no instrumentation), `ours` (telemetry-http-middleware), `peers`
//! (axum-tracing-opentelemetry + axum-otel-metrics, or opentelemetry-instrumentation-actix-web).

use std::net::SocketAddr;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use telemetry_http_middleware::prometheus::PrometheusExporter;
use telemetry_http_middleware::{HttpInstrumentation, HttpLayer, HttpMiddleware};
use tracing_subscriber::layer::SubscriberExt;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn install_tracing(endpoint: &str) -> Result<SdkTracerProvider, BoxError> {
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{endpoint}/v1/traces"))
        .build()?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("load")));
    tracing::subscriber::set_global_default(subscriber)?;
    Ok(provider)
}

fn usage() -> BoxError {
    "usage: http_load_server receiver PORT | (axum|actix) (bare|ours|peers) PORT [OTLP_ENDPOINT]"
        .into()
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [mode, port] if mode == "receiver" => receiver(port.parse()?),
        [framework, variant, port, rest @ ..] => {
            let addr = SocketAddr::from(([127, 0, 0, 1], port.parse()?));
            let endpoint = rest
                .first()
                .cloned()
                .unwrap_or_else(|| "http://127.0.0.1:4318".into());
            let instrumented = variant != "bare";
            let _tracing = if instrumented {
                Some(install_tracing(&endpoint)?)
            } else {
                None
            };
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
            "/v1/traces",
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
