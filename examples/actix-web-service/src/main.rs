//! Example actix-web service: `ferrotel::init()` plus `ferrotel-http`.
//!
//! Run: `cargo run -p actix-web-service` (OTLP to `http://localhost:4318` by default; without a
//! collector add `OTEL_TRACES_EXPORTER=none OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none`
//! or `=console`). Every `OTEL_*` variable `ferrotel::init()` supports applies (see
//! docs/configuration.md), plus `LISTEN_ADDR` (default `127.0.0.1:8081`), `DOWNSTREAM_URL`
//! (base URL `/call` forwards to) and `WORKERS` (default: actix's default).
//!
//! Routes: `GET /users/{id}`, `POST /echo`, `GET /call`, `/health`, `/livez`, `/readyz`,
//! `/version`, `/metrics`, and `/debug/pprof/profile` when built with `--features pprof`.
//!
//! One set of instruments, both delivery models: the Prometheus exporter is a metric reader on
//! the same meter provider as the OTLP exporter, so `/metrics` and OTLP show the same data.

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use ferrotel_http::client::ClientTracing;
use ferrotel_http::health::{CheckOptions, HealthRegistry};
use ferrotel_http::{HttpInstrumentation, HttpMiddleware};
use ferrotel_prometheus::PrometheusExporter;

/// A handler span: a child of the middleware's server span.
#[tracing::instrument]
async fn user(id: web::Path<u64>) -> String {
    format!("user {id}")
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Version, git commit and build time from build.rs, for build.info and /version.
    let build = ferrotel::runtime_metrics::build_info!();
    let prometheus = PrometheusExporter::default();
    let telemetry = ferrotel::builder()
        .service_name("actix-web-service")
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
        .unwrap_or_else(|_| "127.0.0.1:8081".into())
        .parse()?;
    let listener = std::net::TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    #[cfg(feature = "pprof")]
    let pprof = ferrotel_http::pprof::PprofEndpoint::new(local)?;

    let mut server = HttpServer::new(move || {
        let (client, downstream) = (client.clone(), downstream.clone());
        #[allow(unused_mut)]
        let mut app = App::new()
            .wrap(HttpMiddleware::new(instrumentation.clone()))
            .route("/users/{id}", web::get().to(user))
            .route(
                "/echo",
                web::post().to(|body: web::Bytes| async move { body }),
            )
            .route(
                "/call",
                web::get().to(move || {
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
            .configure(ferrotel_http::health::actix::configure(health.clone()))
            .configure(ferrotel_prometheus::actix::configure(prometheus.clone()));
        #[cfg(feature = "pprof")]
        {
            app = app.configure(ferrotel_http::pprof::actix::configure(pprof.clone()));
        }
        app
    })
    .listen(listener)?;
    if let Some(workers) = std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()) {
        server = server.workers(workers);
    }
    tracing::info!(%local, "actix-web-service listening");
    println!("actix-web-service listening on http://{local}");
    server.run().await?;
    // Flushes spans, the final metric export and logs, within the shutdown timeout.
    drop(meter_provider);
    let report = telemetry.shutdown();
    println!("telemetry shutdown: {report:?}");
    Ok(())
}
