//! Example axum service: `ferrotel::init()` plus `ferrotel-http`.
//!
//! Run: `cargo run -p axum-service` (OTLP to `http://localhost:4318` by default; without a
//! collector add `OTEL_TRACES_EXPORTER=none OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none`
//! or `=console`). Every `OTEL_*` variable `ferrotel::init()` supports applies (see
//! docs/configuration.md), plus `LISTEN_ADDR` (default `127.0.0.1:8080`) and `DOWNSTREAM_URL`
//! (base URL `/call` forwards to).
//!
//! Routes: `GET /users/{id}`, `POST /echo`, `GET /call`, `/health`, `/livez`, `/readyz`,
//! `/version`, `/metrics`, and `/debug/pprof/profile` when built with `--features pprof`.
//!
//! One set of instruments, both delivery models: the Prometheus exporter is a metric reader on
//! the same meter provider as the OTLP exporter, so `/metrics` and OTLP show the same data.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::{get, post};
use ferrotel_http::client::ClientTracing;
use ferrotel_http::health::{CheckOptions, HealthRegistry};
use ferrotel_http::{HttpInstrumentation, HttpLayer};
use ferrotel_prometheus::PrometheusExporter;

/// A handler span: a child of the middleware's server span.
#[tracing::instrument]
async fn user(Path(id): Path<u64>) -> String {
    format!("user {id}")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Version, git commit and build time from build.rs, for build.info and /version.
    let build = ferrotel::runtime_metrics::build_info!();
    let prometheus = PrometheusExporter::default();
    let telemetry = ferrotel::builder()
        .service_name("axum-service")
        .service_version(env!("CARGO_PKG_VERSION"))
        .build_info(build.clone())
        .with_metric_reader(prometheus.clone())
        .init()?;
    let meter_provider = telemetry
        .meter_provider()
        .ok_or("telemetry shut down during start")?
        .clone();

    let instrumentation = HttpInstrumentation::builder()
        .meter_provider(&meter_provider)
        .build();
    let health = HealthRegistry::builder()
        .version(build.version())
        .git_commit(build.git_commit())
        .build_time(build.build_time())
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
        .route("/users/{id}", get(user))
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
        .merge(ferrotel_http::health::axum::router(health))
        .merge(ferrotel_prometheus::axum::router(prometheus));
    #[cfg(feature = "pprof")]
    {
        let endpoint = ferrotel_http::pprof::PprofEndpoint::new(local)?;
        app = app.merge(ferrotel_http::pprof::axum::router(endpoint));
    }
    // `Router::layer` runs after routing, so the layer sees the matched route template.
    let app = app.layer(HttpLayer::new(instrumentation));

    tracing::info!(%local, "axum-service listening");
    println!("axum-service listening on http://{local}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    // Flushes spans, the final metric export and logs, within the shutdown timeout.
    drop(meter_provider);
    let report = telemetry.shutdown();
    println!("telemetry shutdown: {report:?}");
    Ok(())
}
