//! An OpsConductor-style automation service (seed 003): Prometheus scrapes `/metrics` (the pull
//! model), which carries the `ai_*` execution metrics, the selector cache metrics, a build-info
//! gauge, and the semconv HTTP metrics the bundled SLO rules (`deploy/rules/http-slo.rules.yml`)
//! and the `automation-execution` / `automation-selector` dashboards read.
//!
//! ```text
//! cargo run -p opsconductor-style                       # http://127.0.0.1:8010/metrics
//! cargo run -p opsconductor-style -- --listen 127.0.0.1:0 --duration 30s --rate 20
//! ```
//!
//! Routes: `POST /ai/execute/{tool}` (tools: echo, ssh, powershell, http_check; about 4% fail),
//! `GET /selector/{group}` (a cached lookup: fresh, cache or degraded), `/metrics`, `/health`,
//! `/livez`, `/readyz`, `/version`. A built-in client (`--rate` per second, 0 disables it)
//! calls both routes over HTTP so the dashboards fill without external traffic.
//!
//! Metrics are pull-only here: `OTEL_METRICS_EXPORTER` defaults to `none` (set it to `otlp` to
//! push as well). Traces and logs follow the usual `OTEL_*` settings.
//!
//! Dependencies: `ferrotel`, `ferrotel-catalog` (the seed 003 [`AutomationMeters`] set),
//! `ferrotel-meters` (its cardinality views),
//! `ferrotel-http` (semconv HTTP metrics, `/metrics`, health), `axum`, `tokio`,
//! `serde_json`, `rand` (simulated latency and failures), `opentelemetry` (meter trait).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use ferrotel_catalog::seeds::{AiStatus, AutomationMeters, SelectorSource, SelectorStatus};
use ferrotel_http::health::HealthRegistry;
use ferrotel_http::{HttpInstrumentation, HttpLayer};
use ferrotel_meters::{InstrumentSet, cardinality_views};
use ferrotel_prometheus::PrometheusExporter;
use opentelemetry::metrics::MeterProvider as _;
use rand::Rng as _;
use serde_json::json;
use tracing::Instrument as _;

/// Tools the service runs; anything else is a 404 (a client cannot invent label values).
const TOOLS: &[&str] = &["echo", "ssh", "powershell", "http_check"];
const CACHE_TTL: Duration = Duration::from_secs(5);
/// Smaller than the 80 groups the built-in client asks for, so evictions show within seconds.
const CACHE_CAPACITY: usize = 16;
const VERSION: &str = env!("CARGO_PKG_VERSION");

struct App {
    meters: AutomationMeters,
    cache: Mutex<HashMap<String, (Instant, Vec<String>)>>,
}

impl App {
    async fn execute(&self, tool: &'static str) -> Result<String, String> {
        let span =
            tracing::info_span!("ai.execute", tool, otel.status_code = tracing::field::Empty);
        let started = Instant::now();
        let result = async {
            let ms = rand::rng().random_range(5..60);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            if rand::rng().random_bool(0.04) {
                tracing::warn!(tool, "tool execution failed: exit status 1");
                Err(format!("{tool} failed"))
            } else {
                Ok(format!("{tool} ok"))
            }
        }
        .instrument(span.clone())
        .await;
        let status = if result.is_ok() {
            AiStatus::Success
        } else {
            AiStatus::Error
        };
        self.meters.ai_requests.add(1, (status, tool));
        self.meters
            .ai_request_duration
            .record_duration(started.elapsed(), tool);
        if result.is_err() {
            self.meters.ai_request_errors.add(1, tool);
            span.record("otel.status_code", "ERROR");
        }
        result
    }

    async fn select(&self, group: &str) -> Result<(SelectorSource, Vec<String>), String> {
        let started = Instant::now();
        let cached = {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            cache.get(group).cloned()
        };
        let outcome = match cached {
            Some((at, hosts)) if at.elapsed() < CACHE_TTL => {
                self.meters.selector_cache_hits.add(1, ());
                Ok((SelectorSource::Cache, hosts))
            }
            stale => {
                self.meters.selector_cache_misses.add(1, ());
                let lookup_ms = rand::rng().random_range(2..15);
                tokio::time::sleep(Duration::from_millis(lookup_ms)).await;
                if rand::rng().random_bool(0.03) {
                    self.meters.selector_db_errors.add(1, ());
                    match stale {
                        // Serve the expired answer rather than fail: degraded.
                        Some((_, hosts)) => Ok((SelectorSource::Degraded, hosts)),
                        None => Err("inventory database unavailable".to_owned()),
                    }
                } else {
                    let n = rand::rng().random_range(1..5);
                    let hosts: Vec<String> = (0..n).map(|i| format!("{group}-{i:02}")).collect();
                    self.store(group, hosts.clone());
                    Ok((SelectorSource::Fresh, hosts))
                }
            }
        };
        let (status, source) = match &outcome {
            Ok((source, _)) => (SelectorStatus::Ok, *source),
            Err(_) => (SelectorStatus::Error, SelectorSource::Fresh),
        };
        self.meters.selector_requests.add(1, (status, source));
        self.meters
            .selector_request_duration
            .record_duration(started.elapsed(), source);
        outcome
    }

    fn store(&self, group: &str, hosts: Vec<String>) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CACHE_CAPACITY && !cache.contains_key(group) {
            let oldest = cache
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                cache.remove(&k);
                self.meters.selector_cache_evictions.add(1, ());
            }
        }
        cache.insert(group.to_owned(), (Instant::now(), hosts));
    }
}

async fn execute(State(app): State<Arc<App>>, Path(tool): Path<String>) -> Response {
    let Some(tool) = TOOLS.iter().copied().find(|t| *t == tool) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "unknown tool", "tools": TOOLS })),
        )
            .into_response();
    };
    match app.execute(tool).await {
        Ok(out) => Json(json!({ "status": "success", "output": out })).into_response(),
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            Json(json!({ "status": "error", "error": e })),
        )
            .into_response(),
    }
}

async fn selector(State(app): State<Arc<App>>, Path(group): Path<String>) -> Response {
    match app.select(&group).await {
        Ok((source, hosts)) => {
            Json(json!({ "source": source.as_str(), "hosts": hosts })).into_response()
        }
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "error": e }))).into_response(),
    }
}

/// Calls the service over HTTP at `rate` per second (so HTTP metrics and spans exist too).
async fn self_traffic(base: String, rate: f64) {
    if rate <= 0.0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    loop {
        tick.tick().await;
        let path = if rand::rng().random_bool(0.6) {
            format!(
                "/ai/execute/{}",
                TOOLS[rand::rng().random_range(0..TOOLS.len())]
            )
        } else {
            format!("/selector/group-{}", rand::rng().random_range(0..80))
        };
        let method = if path.starts_with("/ai") {
            "POST"
        } else {
            "GET"
        };
        tokio::spawn(http_call(base.clone(), method, path));
    }
}

/// A minimal HTTP/1.1 client call (the example needs no HTTP client dependency).
async fn http_call(base: String, method: &'static str, path: String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = base.trim_start_matches("http://").to_owned();
    let Ok(mut stream) = tokio::net::TcpStream::connect(&addr).await else {
        return;
    };
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(req.as_bytes()).await.is_ok() {
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut sink)).await;
    }
}

struct Args {
    listen: SocketAddr,
    duration: Option<Duration>,
    rate: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 8010)),
        duration: None,
        rate: 10.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => {
                args.listen = value
                    .parse()
                    .map_err(|e| format!("--listen {value:?}: {e}"))?
            }
            "--duration" => {
                let secs: f64 = value
                    .trim_end_matches('s')
                    .parse()
                    .map_err(|_| format!("--duration {value:?}: expected seconds, e.g. 30s"))?;
                args.duration = Some(
                    Duration::try_from_secs_f64(secs).map_err(|e| format!("--duration: {e}"))?,
                );
            }
            "--rate" => {
                args.rate = value
                    .parse()
                    .ok()
                    .filter(|r: &f64| r.is_finite() && *r >= 0.0)
                    .ok_or(format!(
                        "--rate {value:?}: expected requests per second >= 0"
                    ))?
            }
            _ => {
                return Err(format!(
                    "unknown option {flag:?} (use --listen, --duration, --rate)"
                ));
            }
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let prometheus = PrometheusExporter::default();
    // Version, git commit and build time from build.rs, for build.info and /version.
    let build = ferrotel::runtime_metrics::build_info!();
    let guard = ferrotel::builder()
        .service_name("automation-service")
        .service_version(VERSION)
        .build_info(build.clone())
        .with_view(cardinality_views(
            <AutomationMeters as InstrumentSet>::DESCRIPTORS,
        ))
        .with_metric_reader(prometheus.clone())
        // Pull model: metrics are scraped, not pushed, unless OTEL_METRICS_EXPORTER says so.
        .env_lookup(|name| {
            std::env::var(name)
                .ok()
                .or_else(|| (name == "OTEL_METRICS_EXPORTER").then(|| "none".to_owned()))
        })
        .init()?;
    let meter_provider = guard
        .meter_provider()
        .cloned()
        .ok_or("telemetry is shut down")?;
    let meters = AutomationMeters::new(&meter_provider.meter("automation-service"));
    let commit = build.git_commit().to_owned();
    let built_at = build.build_time().to_owned();
    meters.build_info.register(move |o| {
        o.observe(1, (VERSION, commit.as_str(), built_at.as_str()));
        Ok(())
    });
    meters
        .selector_cache_ttl
        .register_value(|| CACHE_TTL.as_secs());
    let app = Arc::new(App {
        meters,
        cache: Mutex::new(HashMap::new()),
    });
    let cache_reader = Arc::clone(&app);
    app.meters.selector_cache_entries.register_value(move || {
        cache_reader
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len() as u64
    });

    let health = HealthRegistry::builder()
        .version(VERSION)
        .git_commit(build.git_commit())
        .build_time(build.build_time())
        .check("inventory-db", || async { Ok(()) })
        .build();
    let router = Router::new()
        .route("/ai/execute/{tool}", post(execute))
        .route("/selector/{group}", get(selector))
        .with_state(app)
        .merge(ferrotel_http::health::axum::router(health))
        .merge(ferrotel_prometheus::axum::router(prometheus))
        .layer(HttpLayer::new(
            HttpInstrumentation::builder()
                .meter_provider(&meter_provider)
                .build(),
        ));

    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let url = format!("http://{}", listener.local_addr()?);
    println!("opsconductor-style listening on {url} (scrape {url}/metrics)");
    tracing::info!(%url, "automation service started");
    let traffic = tokio::spawn(self_traffic(url, args.rate));
    let stop = async move {
        match args.duration {
            Some(d) => tokio::select! {
                _ = tokio::time::sleep(d) => {}
                _ = tokio::signal::ctrl_c() => {}
            },
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    axum::serve(listener, router)
        .with_graceful_shutdown(stop)
        .await?;
    traffic.abort();
    let report = tokio::task::spawn_blocking(move || guard.shutdown()).await?;
    println!("telemetry shut down: {:?}", report.stats);
    Ok(())
}
