//! Example axum service instrumented with `telemetry-http-middleware`.
//!
//! Environment: `LISTEN_ADDR` (default `127.0.0.1:8080`), `DOWNSTREAM_URL` (base URL `/call`
//! forwards to), `OTEL_EXPORTER_OTLP_ENDPOINT` (when set, spans go there over OTLP/HTTP, 100%
//! sampled), `RUST_LOG`.
//!
//! Routes: `GET /users/{id}`, `POST /echo`, `GET /call`, `/health`, `/livez`, `/readyz`,
//! `/version`, `/metrics`, and `/debug/pprof/profile` when built with `--features pprof`.
//!
//! Built on the raw SDK; switch to `telemetry::init()` (with `.with_metric_reader(exporter)`)
//! once the init crate lands.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::{get, post};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::SdkTracerProvider;
use telemetry_http_middleware::client::ClientTracing;
use telemetry_http_middleware::health::{CheckOptions, HealthRegistry};
use telemetry_http_middleware::prometheus::PrometheusExporter;
use telemetry_http_middleware::{HttpInstrumentation, HttpLayer};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

fn init_tracing() -> Result<SdkTracerProvider, Box<dyn std::error::Error>> {
    let mut builder = SdkTracerProvider::builder();
    if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()?;
        builder = builder.with_batch_exporter(exporter);
    }
    let provider = builder.build();
    opentelemetry::global::set_text_map_propagator(
        opentelemetry::propagation::TextMapCompositePropagator::new(vec![
            Box::new(TraceContextPropagator::new()),
            Box::new(BaggagePropagator::new()),
        ]),
    );
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "warn,telemetry::http=info".into());
    tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("axum-service")))
        .with(tracing_subscriber::fmt::layer().with_filter(filter))
        .try_init()?;
    Ok(provider)
}

use tracing_subscriber::Layer as _;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tracer_provider = init_tracing()?;
    let exporter = PrometheusExporter::default();
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(exporter.clone())
        .build();

    let instrumentation = HttpInstrumentation::builder()
        .meter_provider(&meter_provider)
        .build();
    let health = HealthRegistry::builder()
        .version(env!("CARGO_PKG_VERSION"))
        .git_commit(option_env!("GIT_COMMIT").unwrap_or("unknown"))
        .check("self", || async { Ok(()) })
        .check_with(
            CheckOptions::new("downstream")
                .optional()
                .timeout(Duration::from_millis(500)),
            || async { Ok(()) },
        )
        .build();
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(ClientTracing::with_meter_provider(&meter_provider))
        .build();
    let downstream = std::env::var("DOWNSTREAM_URL").ok();

    let addr: SocketAddr = std::env::var("LISTEN_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:8080".into())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;

    #[allow(unused_mut)]
    let mut app = Router::new()
        .route(
            "/users/{id}",
            get(|Path(id): Path<u64>| async move { format!("user {id}") }),
        )
        .route("/echo", post(|body: axum::body::Bytes| async move { body }))
        .route(
            "/call",
            get(move || {
                let (client, downstream) = (client.clone(), downstream.clone());
                async move {
                    let Some(base) = downstream else {
                        return "no DOWNSTREAM_URL".to_owned();
                    };
                    match client.get(format!("{base}/users/7")).send().await {
                        Ok(r) => r.text().await.unwrap_or_default(),
                        Err(e) => format!("downstream error: {e}"),
                    }
                }
            }),
        )
        .merge(telemetry_http_middleware::health::axum::router(health))
        .merge(telemetry_http_middleware::prometheus::axum::router(
            exporter,
        ));
    #[cfg(feature = "pprof")]
    {
        let endpoint = telemetry_http_middleware::pprof::PprofEndpoint::new(local)?;
        app = app.merge(telemetry_http_middleware::pprof::axum::router(endpoint));
    }
    let app = app.layer(HttpLayer::new(instrumentation));

    println!("axum-service listening on http://{local}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    tracer_provider.shutdown()?;
    meter_provider.shutdown()?;
    Ok(())
}
