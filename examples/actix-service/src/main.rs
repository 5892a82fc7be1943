//! Example actix-web service instrumented with `telemetry-http-middleware`.
//!
//! Environment: `LISTEN_ADDR` (default `127.0.0.1:8081`), `DOWNSTREAM_URL` (base URL `/call`
//! forwards to), `OTEL_EXPORTER_OTLP_ENDPOINT` (when set, spans go there over OTLP/HTTP, 100%
//! sampled), `WORKERS` (default: actix's default), `RUST_LOG`.
//!
//! Routes: `GET /users/{id}`, `POST /echo`, `GET /call`, `/health`, `/livez`, `/readyz`,
//! `/version`, `/metrics`, and `/debug/pprof/profile` when built with `--features pprof`.
//!
//! Built on the raw SDK; switch to `telemetry::init()` (with `.with_metric_reader(exporter)`)
//! once the init crate lands.

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::SdkTracerProvider;
use telemetry_http_middleware::client::ClientTracing;
use telemetry_http_middleware::health::{CheckOptions, HealthRegistry};
use telemetry_http_middleware::prometheus::PrometheusExporter;
use telemetry_http_middleware::{HttpInstrumentation, HttpMiddleware};
use tracing_subscriber::Layer as _;
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
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("actix-service")))
        .with(tracing_subscriber::fmt::layer().with_filter(filter))
        .try_init()?;
    Ok(provider)
}

#[actix_web::main]
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
        .unwrap_or_else(|_| "127.0.0.1:8081".into())
        .parse()?;
    let listener = std::net::TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    #[cfg(feature = "pprof")]
    let pprof = telemetry_http_middleware::pprof::PprofEndpoint::new(local)?;

    let mut server = HttpServer::new(move || {
        let (client, downstream) = (client.clone(), downstream.clone());
        #[allow(unused_mut)]
        let mut app = App::new()
            .wrap(HttpMiddleware::new(instrumentation.clone()))
            .route(
                "/users/{id}",
                web::get().to(|id: web::Path<u64>| async move { format!("user {id}") }),
            )
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
            .configure(telemetry_http_middleware::health::actix::configure(
                health.clone(),
            ))
            .configure(telemetry_http_middleware::prometheus::actix::configure(
                exporter.clone(),
            ));
        #[cfg(feature = "pprof")]
        {
            app = app.configure(telemetry_http_middleware::pprof::actix::configure(
                pprof.clone(),
            ));
        }
        app
    })
    .listen(listener)?;
    if let Some(workers) = std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()) {
        server = server.workers(workers);
    }
    println!("actix-service listening on http://{local}");
    server.run().await?;
    tracer_provider.shutdown()?;
    meter_provider.shutdown()?;
    Ok(())
}
