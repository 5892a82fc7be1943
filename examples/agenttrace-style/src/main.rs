//! An AgentTrace-style ingestion API (seed 004): health endpoints with dependency checks,
//! background workers with queue-depth and job metrics, database-pool gauges, the seed's
//! `http_requests_total`-style metrics beside the semconv ones, and JSON logs whose lines
//! carry `request_id` and `trace_id` (what Loki derived fields and Tempo links need).
//!
//! ```text
//! cargo run -p agenttrace-style                         # http://127.0.0.1:8080
//! cargo run -p agenttrace-style -- --listen 127.0.0.1:0 --duration 30s --rate 20
//! ```
//!
//! Routes: `POST /v1/traces` (ingest: enqueues a job), `POST /v1/scores`, `POST /v1/api-keys`,
//! `/health` (postgres, clickhouse, redis checks with `latency_ms`; redis optional), `/livez`,
//! `/readyz`, `/version`, `/metrics` (scraped as in the seed's ServiceMonitor). A built-in client
//! (`--rate` per second) drives the API over HTTP.
//!
//! Dependencies: `ferrotel` (JSON console logs with trace ids, OTLP), `ferrotel-catalog` (the
//! seed 004 [`AgentTraceMeters`] set), `ferrotel-meters` (its cardinality views), `ferrotel-http` (request spans with request
//! ids, health, `/metrics`), `axum`, `tokio`, `serde_json`, `rand`, `opentelemetry` (meter trait).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use ferrotel::ConsoleFormat;
use ferrotel_catalog::seeds::{AgentTraceMeters, Database, HttpMethod, JobStatus};
use ferrotel_http::health::{CheckOptions, HealthRegistry};
use ferrotel_http::{HttpInstrumentation, HttpLayer};
use ferrotel_meters::{InstrumentSet, cardinality_views};
use ferrotel_prometheus::PrometheusExporter;
use opentelemetry::metrics::MeterProvider as _;
use rand::Rng as _;
use serde_json::json;
use tokio::sync::{Semaphore, mpsc};
use tracing::Instrument as _;

const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Connections per simulated database pool.
const POOL_MAX: usize = 10;
/// Jobs a queue holds before ingestion is refused (429).
const QUEUE_CAPACITY: usize = 10_000;

/// A simulated connection pool: a semaphore whose permits are connections.
struct Pool {
    db: Database,
    slots: Semaphore,
}

impl Pool {
    fn new(db: Database) -> Pool {
        Pool {
            db,
            slots: Semaphore::new(POOL_MAX),
        }
    }

    fn active(&self) -> u64 {
        (POOL_MAX - self.slots.available_permits()) as u64
    }

    /// Runs one query holding a connection, recording `db_query_duration_seconds{db}`.
    async fn query(&self, meters: &AgentTraceMeters, min_ms: u64, max_ms: u64) {
        let span = tracing::info_span!("db.query", db.system.name = self.db.as_str());
        async {
            let Ok(_conn) = self.slots.acquire().await else {
                return;
            };
            let started = Instant::now();
            let ms = rand::rng().random_range(min_ms..=max_ms);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            meters
                .db_query_duration
                .record_duration(started.elapsed(), self.db);
        }
        .instrument(span)
        .await
    }
}

struct Queue {
    name: &'static str,
    tx: mpsc::Sender<Job>,
    depth: AtomicI64,
}

struct Job {
    kind: &'static str,
    observations: u64,
    request_id: String,
    enqueued: Instant,
}

struct App {
    meters: AgentTraceMeters,
    postgres: Pool,
    clickhouse: Pool,
    redis: Pool,
    ingest: Queue,
    api_keys: AtomicU64,
}

fn request_id(req_headers: &axum::http::HeaderMap) -> String {
    req_headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned()
}

async fn ingest_trace(State(app): State<Arc<App>>, headers: axum::http::HeaderMap) -> Response {
    let observations = rand::rng().random_range(1..40);
    app.postgres.query(&app.meters, 1, 4).await; // API key lookup
    if rand::rng().random_bool(0.02) {
        // A revoked or unknown key: the API dashboard's 4xx share has data.
        tracing::warn!("api key lookup found no project: rejecting ingestion");
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid api key" })),
        )
            .into_response();
    }
    if rand::rng().random_bool(0.03) {
        // Simulated outage of the metadata store: the seed's 5xx error-rate panel has data.
        tracing::error!(db = "postgres", "api key lookup failed: connection reset");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": "try again" })),
        )
            .into_response();
    }
    let job = Job {
        kind: "ingest_trace",
        observations,
        request_id: request_id(&headers),
        enqueued: Instant::now(),
    };
    if app.ingest.tx.try_send(job).is_err() {
        tracing::warn!(queue = app.ingest.name, "queue full; rejecting ingestion");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({ "error": "queue full" })),
        )
            .into_response();
    }
    app.ingest.depth.fetch_add(1, Ordering::Relaxed);
    app.meters.traces_ingested.add(1, ());
    app.meters.observations_ingested.add(observations, ());
    tracing::info!(
        observations_count = observations,
        project_id = "proj_demo",
        "trace accepted"
    );
    (
        StatusCode::ACCEPTED,
        Json(json!({ "accepted": observations })),
    )
        .into_response()
}

async fn create_score(State(app): State<Arc<App>>) -> Response {
    app.clickhouse.query(&app.meters, 2, 12).await;
    app.meters.clickhouse_insert_rows.add(1, "scores");
    app.meters.scores_created.add(1, ());
    (StatusCode::CREATED, Json(json!({ "ok": true }))).into_response()
}

async fn create_api_key(State(app): State<Arc<App>>) -> Response {
    app.postgres.query(&app.meters, 2, 6).await;
    let n = app.api_keys.fetch_add(1, Ordering::Relaxed) + 1;
    app.meters.api_keys_created.add(1, ());
    tracing::info!(
        key_number = i64::try_from(n).unwrap_or(i64::MAX),
        "api key created"
    );
    (
        StatusCode::CREATED,
        Json(json!({ "key_id": format!("key_{n}") })),
    )
        .into_response()
}

/// The seed's own HTTP metrics (`http_requests_total{method,path,status}` and friends), next to
/// the semconv ones from the middleware. `path` is the route template, never the raw path.
async fn seed_http_metrics(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = match *req.method() {
        axum::http::Method::GET => HttpMethod::Get,
        axum::http::Method::POST => HttpMethod::Post,
        axum::http::Method::PUT => HttpMethod::Put,
        axum::http::Method::PATCH => HttpMethod::Patch,
        axum::http::Method::DELETE => HttpMethod::Delete,
        axum::http::Method::HEAD => HttpMethod::Head,
        axum::http::Method::OPTIONS => HttpMethod::Options,
        _ => HttpMethod::Other,
    };
    let Some(path) = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
    else {
        return next.run(req).await;
    };
    let req_size = content_length(req.headers());
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    let m = &app.meters;
    m.http_requests.add(1, (method, &path, &status));
    m.http_request_duration
        .record_duration(started.elapsed(), (method, &path));
    m.http_request_size.record(req_size, method);
    m.http_response_size
        .record(content_length(resp.headers()), method);
    resp
}

fn content_length(h: &axum::http::HeaderMap) -> f64 {
    h.get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// Attempts a job gets before a timeout counts as failed.
const MAX_ATTEMPTS: u32 = 2;

/// Chance that one attempt times out (a simulated ClickHouse insert timeout): retried.
const ATTEMPT_TIMEOUT_PROBABILITY: f64 = 0.05;

/// Chance that a job is rejected for good (a malformed batch): failed at once.
const PERMANENT_FAILURE_PROBABILITY: f64 = 0.02;

/// How one attempt at a job ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Attempt {
    Done,
    TimedOut,
    Rejected,
}

/// A worker: takes jobs, writes them to ClickHouse, records job metrics.
async fn worker(app: Arc<App>, rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>) {
    loop {
        // Hold the lock only while waiting for the next job.
        let Some(job) = rx.lock().await.recv().await else {
            break;
        };
        app.ingest.depth.fetch_sub(1, Ordering::Relaxed);
        app.meters.worker_active_jobs.add(1, ());
        let started = Instant::now();
        // A timed-out attempt is retried (counted as `retried`) until the last one, whose
        // timeout counts as `failed`; a rejected job fails at once.
        let mut attempt = 1;
        let status = loop {
            let span = tracing::info_span!(
                "worker.job",
                job.type = job.kind,
                job.attempt = attempt,
                request_id = %job.request_id
            );
            let outcome = async {
                app.clickhouse.query(&app.meters, 3, 15).await;
                app.redis.query(&app.meters, 0, 1).await;
                let roll: f64 = rand::rng().random();
                let outcome = if roll < PERMANENT_FAILURE_PROBABILITY {
                    Attempt::Rejected
                } else if roll < PERMANENT_FAILURE_PROBABILITY + ATTEMPT_TIMEOUT_PROBABILITY {
                    Attempt::TimedOut
                } else {
                    Attempt::Done
                };
                match outcome {
                    Attempt::Rejected => tracing::error!(
                        request_id = %job.request_id,
                        "job failed: malformed observation batch"
                    ),
                    Attempt::TimedOut => tracing::error!(
                        request_id = %job.request_id,
                        attempt,
                        "job attempt failed: clickhouse insert timed out"
                    ),
                    Attempt::Done => {
                        app.meters
                            .clickhouse_insert_rows
                            .add(job.observations, "observations");
                        tracing::info!(
                            request_id = %job.request_id,
                            observations_count = i64::try_from(job.observations).unwrap_or(0),
                            duration_ms = i64::try_from(job.enqueued.elapsed().as_millis()).unwrap_or(i64::MAX),
                            "trace ingested"
                        );
                    }
                }
                outcome
            }
            .instrument(span)
            .await;
            match outcome {
                Attempt::Done => break JobStatus::Completed,
                Attempt::Rejected => break JobStatus::Failed,
                Attempt::TimedOut if attempt == MAX_ATTEMPTS => break JobStatus::Failed,
                Attempt::TimedOut => {
                    app.meters
                        .worker_jobs_processed
                        .add(1, (job.kind, JobStatus::Retried));
                    attempt += 1;
                }
            }
        };
        app.meters.worker_jobs_processed.add(1, (job.kind, status));
        app.meters
            .worker_job_duration
            .record_duration(started.elapsed(), job.kind);
        app.meters.worker_active_jobs.add(-1, ());
    }
}

async fn self_traffic(addr: SocketAddr, rate: f64) {
    if rate <= 0.0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    loop {
        tick.tick().await;
        let path = match rand::rng().random_range(0..10) {
            0..7 => "/v1/traces",
            7..9 => "/v1/scores",
            _ => "/v1/api-keys",
        };
        tokio::spawn(post_empty(addr, path));
    }
}

/// A minimal HTTP/1.1 POST (the example needs no HTTP client dependency).
async fn post_empty(addr: SocketAddr, path: &'static str) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return;
    };
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).await.is_ok() {
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut sink)).await;
    }
}

fn parse_args() -> Result<(SocketAddr, Option<Duration>, f64), String> {
    let (mut listen, mut duration, mut rate) =
        (SocketAddr::from(([127, 0, 0, 1], 8080)), None, 10.0);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => listen = v.parse().map_err(|e| format!("--listen {v:?}: {e}"))?,
            "--duration" => {
                let secs: f64 = v
                    .trim_end_matches('s')
                    .parse()
                    .map_err(|_| format!("--duration {v:?}: expected seconds"))?;
                duration = Some(Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())?);
            }
            "--rate" => {
                rate = v
                    .parse()
                    .ok()
                    .filter(|r: &f64| r.is_finite() && *r >= 0.0)
                    .ok_or(format!("--rate {v:?}: expected requests per second >= 0"))?
            }
            _ => {
                return Err(format!(
                    "unknown option {flag:?} (use --listen, --duration, --rate)"
                ));
            }
        }
    }
    Ok((listen, duration, rate))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (listen, duration, rate) = parse_args()?;
    let prometheus = PrometheusExporter::default();
    // Version, git commit and build time from build.rs, for build.info and /version.
    let build = ferrotel::runtime_metrics::build_info!();
    let mut builder = ferrotel::builder()
        .service_name("agenttrace-api")
        .service_version(VERSION)
        .build_info(build.clone())
        .with_view(cardinality_views(
            <AgentTraceMeters as InstrumentSet>::DESCRIPTORS,
        ))
        .with_metric_reader(prometheus.clone());
    if std::env::var_os("TELEMETRY_LOG_FORMAT").is_none() {
        builder = builder.console_format(ConsoleFormat::Json); // the seed's structured logs
    }
    let guard = builder.init()?;
    let provider = guard
        .meter_provider()
        .cloned()
        .ok_or("telemetry is shut down")?;
    let meters = AgentTraceMeters::new(&provider.meter("agenttrace"));

    let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
    let app = Arc::new(App {
        meters,
        postgres: Pool::new(Database::Postgres),
        clickhouse: Pool::new(Database::Clickhouse),
        redis: Pool::new(Database::Redis),
        ingest: Queue {
            name: "ingest",
            tx,
            depth: AtomicI64::new(0),
        },
        api_keys: AtomicU64::new(0),
    });
    let g = Arc::clone(&app);
    app.meters.worker_queue_depth.register(move |o| {
        o.observe(
            g.ingest.depth.load(Ordering::Relaxed).max(0) as u64,
            g.ingest.name,
        );
        Ok(())
    });
    for (gauge, read) in [
        (
            &app.meters.db_connections_active,
            Pool::active as fn(&Pool) -> u64,
        ),
        (&app.meters.db_connections_idle, |p: &Pool| {
            POOL_MAX as u64 - p.active()
        }),
        (&app.meters.db_connections_max, |_: &Pool| POOL_MAX as u64),
    ] {
        let g = Arc::clone(&app);
        gauge.register(move |o| {
            for pool in [&g.postgres, &g.clickhouse, &g.redis] {
                o.observe(read(pool), pool.db);
            }
            Ok(())
        });
    }
    // Two workers share the ingest queue.
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    for _ in 0..2 {
        tokio::spawn(worker(Arc::clone(&app), Arc::clone(&rx)));
    }

    let health = HealthRegistry::builder()
        .version(VERSION)
        .git_commit(build.git_commit())
        .build_time(build.build_time())
        .check("postgres", {
            let a = Arc::clone(&app);
            move || {
                let a = Arc::clone(&a);
                async move {
                    a.postgres.query(&a.meters, 1, 3).await;
                    Ok(())
                }
            }
        })
        .check("clickhouse", {
            let a = Arc::clone(&app);
            move || {
                let a = Arc::clone(&a);
                async move {
                    a.clickhouse.query(&a.meters, 2, 6).await;
                    Ok(())
                }
            }
        })
        .check_with(
            CheckOptions::new("redis")
                .optional()
                .timeout(Duration::from_millis(500)),
            || async { Ok(()) },
        )
        .build();
    let router = Router::new()
        .route("/v1/traces", post(ingest_trace))
        .route("/v1/scores", post(create_score))
        .route("/v1/api-keys", post(create_api_key))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&app),
            seed_http_metrics,
        ))
        .with_state(Arc::clone(&app))
        .merge(ferrotel_http::health::axum::router(health))
        .merge(ferrotel_prometheus::axum::router(prometheus))
        .layer(HttpLayer::new(
            HttpInstrumentation::builder()
                .meter_provider(&provider)
                .build(),
        ));

    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    println!("agenttrace-style listening on http://{addr} (health: http://{addr}/health)");
    tracing::info!(url = %format!("http://{addr}"), "agenttrace api started");
    let traffic = tokio::spawn(self_traffic(addr, rate));
    let stop = async move {
        match duration {
            Some(d) => {
                tokio::select! { _ = tokio::time::sleep(d) => {} _ = tokio::signal::ctrl_c() => {} }
            }
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
