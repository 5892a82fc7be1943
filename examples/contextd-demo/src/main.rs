//! contextd demo: a simulated contextd service that emits everything the SDK can produce.
//!
//! ```text
//! cargo run -p contextd-demo -- --duration 20s
//! ```
//!
//! It serves an HTTP API with axum and `ferrotel-http` on `127.0.0.1` (an
//! OS-assigned port by default, printed at start) and drives it with a built-in load generator
//! (`--rate` requests per second): MCP tool calls, checkpoint save/search/list, remediation
//! save/search, skills create/apply, embeddings (OpenAI and TEI, tokens and cost), vector-database
//! operations with occasional errors. Telemetry goes through `ferrotel::builder()`:
//!
//! - all 31 catalog instruments: the 25 `contextd_*` ones ([`ferrotel_catalog::contextd`]),
//!   observable totals read from the in-memory store, test/bug gauges read from the fixture
//!   repository (`fixtures/repo`, scanned by `RepoScanner`), the 4 runtime instruments
//!   (`ferrotel-runtime`, on by default) and the 2 HTTP ones (the middleware);
//! - spans: `POST /mcp/tools/{tool}` → `mcp.tool_call` → `checkpoint.search` (`project_path`,
//!   `top_k`, `checkpoint_id`) → `embedding.generate`, `vectordb.search`, ...;
//! - JSON log lines on stdout with `trace_id`/`span_id`, also exported as OTLP log records;
//! - OTLP to `OTEL_EXPORTER_OTLP_ENDPOINT` (default `http://localhost:4318`), and a Prometheus
//!   `/metrics` endpoint fed by the same instruments; `/health`, `/livez`, `/readyz`, `/version`;
//!   `/demo/stats` with the export counters.
//!
//! Redaction is on (the default): the demo deliberately puts a fake API key, a bearer token, a
//! password inside a URL and a home-directory path into span attributes and logs; none of them
//! leaves the process. At the end (duration elapsed, Ctrl-C or SIGTERM) it stops the load,
//! drains requests, shuts telemetry down (final flush) and prints a summary: spans, metric
//! points and log records emitted/exported/failed/dropped, the catalog instruments that have
//! data, and where it sent them. `--summary-json FILE` writes the same as JSON (plus the
//! planted secrets, so a test can prove none reached a collector).
//!
//! Dependencies: `ferrotel` (feature `grpc` so `OTEL_EXPORTER_OTLP_PROTOCOL=grpc` works),
//! `ferrotel-catalog` (the contextd instruments, prices and repository scanner),
//! `ferrotel-meters` (cached sources, cardinality views), `ferrotel-http`, `opentelemetry`/`opentelemetry_sdk` (the
//! counting processors), `axum` + `tokio` (the service), `reqwest` (the load generator),
//! `serde`/`serde_json` (API bodies, summary), `rand` (latencies, errors, secrets).

mod args;
mod load;
mod routes;
mod secrets;
mod service;
mod summary;

use std::error::Error;
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ferrotel::{ConsoleFormat, ExporterKind, Guard};
use ferrotel_catalog::contextd::{self, ContextdMeters, files::RepoScanner};
use ferrotel_http::health::{CheckOptions, HealthRegistry};
use ferrotel_http::{HttpInstrumentation, HttpLayer};
use ferrotel_meters::{CachedSource, cardinality_views};
use ferrotel_prometheus::{Format, PrometheusExporter};
use opentelemetry::metrics::MeterProvider as _;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::args::{Args, USAGE};
use crate::load::LoadStats;
use crate::secrets::Secrets;
use crate::service::Service;
use crate::summary::{Emitted, LogCounter, SpanCounter};

type Shared = Arc<Mutex<Guard>>;

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("contextd-demo: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("contextd-demo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn env_unset(name: &str) -> bool {
    std::env::var_os(name).is_none_or(|v| v.is_empty())
}

fn run(args: Args) -> Result<(), Box<dyn Error>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let emitted = Arc::new(Emitted::default());
    let prometheus = PrometheusExporter::default();

    // Version, git commit and build time from build.rs, for build.info and /version.
    let build = ferrotel::runtime_metrics::build_info!();
    let mut builder = ferrotel::builder()
        .service_version(env!("CARGO_PKG_VERSION"))
        .build_info(build.clone())
        .with_view(cardinality_views(contextd::DESCRIPTORS))
        .with_metric_reader(prometheus.clone())
        .with_span_processor(SpanCounter(Arc::clone(&emitted)))
        .with_log_processor(LogCounter(Arc::clone(&emitted)));
    // Demo defaults; the environment still wins where it is set.
    if env_unset("OTEL_SERVICE_NAME") {
        builder = builder.service_name("contextd");
    }
    if env_unset("TELEMETRY_LOG_FORMAT") {
        builder = builder.console_format(ConsoleFormat::Json);
    }
    if env_unset("OTEL_METRIC_EXPORT_INTERVAL") {
        // The SDK default (60 s) is longer than a demo run.
        builder = builder.metric_export_interval(Duration::from_secs(5));
    }
    if env_unset("OTEL_ENVIRONMENT")
        && !std::env::var("OTEL_RESOURCE_ATTRIBUTES")
            .unwrap_or_default()
            .contains("deployment.environment")
    {
        builder = builder.deployment_environment("demo");
    }
    // Runtime metrics attach to the runtime current at init.
    let guard = {
        let _entered = rt.enter();
        builder.init()?
    };
    let endpoints = export_targets(&guard);
    let guard: Shared = Arc::new(Mutex::new(guard));

    let started = Instant::now();
    let outcome = rt.block_on(serve(
        &args,
        Arc::clone(&guard),
        prometheus.clone(),
        Arc::clone(&emitted),
    ))?;
    let seconds = started.elapsed().as_secs_f64();

    // What the instruments hold at the end, read locally before shutdown stops the readers.
    let exposition = prometheus.render_format(Format::Text).unwrap_or_default();
    let (present, missing) = summary::catalog_coverage(&exposition);

    let guard = Arc::try_unwrap(guard)
        .map_err(|_| "internal error: the telemetry guard is still in use")?
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let report = guard.shutdown();
    rt.shutdown_timeout(Duration::from_secs(2));

    let outcome_signal = |r: &Result<(), ferrotel::ShutdownError>| match r {
        Ok(()) => "ok".to_owned(),
        Err(e) => e.to_string(),
    };
    let summary = json!({
        "run": {
            "seconds": seconds,
            "stopped_by": outcome.stopped_by,
            "url": outcome.url,
            "rate": args.rate,
        },
        "load": serde_json::to_value(&*outcome.load)?,
        "totals": serde_json::to_value(&outcome.service.totals)?,
        "telemetry": summary::stats_json(&emitted, &report.stats),
        "shutdown": {
            "traces": outcome_signal(&report.traces),
            "metrics": outcome_signal(&report.metrics),
            "logs": outcome_signal(&report.logs),
            "seconds": report.elapsed.as_secs_f64(),
        },
        "export": { "endpoints": endpoints },
        "instruments": { "emitted": present, "missing": missing },
        "planted_secrets": outcome.service.secrets(),
        "embedding_provider": {
            // Seed 000: text is redacted before embedding; this says whether any planted value
            // still reached the (simulated) provider.
            "texts_received": outcome.service.embedding_provider().received().len(),
            "planted_secret_received": outcome.service.embedding_provider().received().iter().any(|t| outcome.service.secrets().appears_in(t)),
        },
    });
    summary::print(&summary, &emitted, &report.stats);
    if let Some(path) = &args.summary_json {
        summary::write_json(path, &summary)
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Where each signal is exported, for the summary.
fn export_targets(guard: &Guard) -> Value {
    let config = guard.config();
    if config.sdk_disabled {
        return json!({ "all": "nowhere (OTEL_SDK_DISABLED=true)" });
    }
    let describe = |signal: ferrotel::Signal| {
        let s = config.signal(signal);
        let targets: Vec<String> = s
            .exporters
            .iter()
            .map(|e| match e {
                ExporterKind::Otlp => format!("OTLP {} {}", s.otlp.protocol, s.otlp.endpoint),
                ExporterKind::Console => "console".to_owned(),
                other => format!("{other:?}"),
            })
            .collect();
        if targets.is_empty() {
            "none".to_owned()
        } else {
            targets.join(", ")
        }
    };
    json!({
        "traces": describe(ferrotel::Signal::Traces),
        "metrics": describe(ferrotel::Signal::Metrics),
        "logs": describe(ferrotel::Signal::Logs),
    })
}

struct Outcome {
    stopped_by: &'static str,
    url: String,
    load: Arc<LoadStats>,
    service: Arc<Service>,
}

async fn serve(
    args: &Args,
    guard: Shared,
    prometheus: PrometheusExporter,
    emitted: Arc<Emitted>,
) -> Result<Outcome, Box<dyn Error>> {
    let meter_provider = guard
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .meter_provider()
        .cloned()
        .ok_or("telemetry is already shut down")?;
    let meter = meter_provider.meter("contextd");
    let meters = ContextdMeters::new(&meter);

    // Repository gauges: scanned off the runtime every 10 s, read from the cache by callbacks.
    let scanner = RepoScanner::contextd_layout(&args.fixtures);
    if let Err(e) = scanner.scan() {
        tracing::warn!(error = %e, "repository fixture unreadable; test and bug gauges will be empty");
    }
    let repo = CachedSource::new("contextd-repo", Duration::from_secs(60));
    let refresher = repo.spawn_refresher(Duration::from_secs(10), move || scanner.scan())?;
    meters.register_repo_source(&repo);
    repo.register_age_gauge(&meter);

    // The same default rules `ferrotel::init()` applies to the telemetry.
    let service = Service::new(
        meters,
        Secrets::generate(),
        ferrotel::redaction::Redactor::default(),
    );
    service.register_store_gauges();
    service.connect().await;

    let instrumentation = HttpInstrumentation::builder()
        .meter_provider(&meter_provider)
        .build();
    let build = ferrotel::runtime_metrics::build_info!();
    let health = HealthRegistry::builder()
        .version(build.version())
        .git_commit(build.git_commit())
        .build_time(build.build_time())
        .check("vector-db", || async { Ok(()) })
        .check_with(
            CheckOptions::new("repository-scan")
                .optional()
                .timeout(Duration::from_millis(200)),
            move || {
                let repo = repo.clone();
                async move { repo.fresh().map(|_| ()).map_err(|e| e.to_string()) }
            },
        )
        .build();
    let stats_fn: routes::StatsFn = {
        let (guard, emitted) = (Arc::clone(&guard), Arc::clone(&emitted));
        Arc::new(move || {
            let stats = guard.lock().unwrap_or_else(PoisonError::into_inner).stats();
            summary::stats_json(&emitted, &stats)
        })
    };
    let app = routes::router(Arc::clone(&service), stats_fn)
        .merge(ferrotel_http::health::axum::router(health))
        .merge(ferrotel_prometheus::axum::router(prometheus))
        .layer(HttpLayer::new(instrumentation));

    let addr = args
        .listen
        .unwrap_or_else(|| (Ipv4Addr::LOCALHOST, args.port).into());
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    println!("contextd-demo listening on {url} (metrics: {url}/metrics, health: {url}/health)");
    let _ = std::io::stdout().flush();
    tracing::info!(%url, rate = args.rate, "contextd-demo started");

    // Two stop signals: the load generator stops and drains first, then the server, so no
    // request of the generator meets a closing connection.
    let (stop_tx, stop_rx) = watch::channel(false);
    let (server_stop_tx, mut server_stop) = watch::channel(false);
    let server = {
        tokio::spawn(
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = server_stop.wait_for(|s| *s).await;
            })
            .into_future(),
        )
    };
    let load = Arc::new(LoadStats::default());
    // A note a careless user would save: the API key and a home path, which must not reach the
    // embedding provider.
    let careless_note = format!(
        "deploy notes: OPENAI_API_KEY={} lives in {}/.env",
        service.secrets().api_key,
        service.secrets().project_path()
    );
    let load_task = tokio::spawn(load::run(
        url.clone(),
        careless_note,
        args.rate,
        Arc::clone(&load),
        stop_rx.clone(),
    ));

    let stopped_by = wait_for_stop(args.duration).await;
    tracing::info!(
        stopped_by,
        "stopping: draining requests, then flushing telemetry"
    );
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(15), load_task).await;
    let _ = server_stop_tx.send(true);
    match tokio::time::timeout(Duration::from_secs(10), server).await {
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "HTTP server stopped with an error"),
        Err(_) => tracing::warn!("HTTP server did not drain within 10 s"),
        _ => {}
    }
    drop(refresher);
    Ok(Outcome {
        stopped_by,
        url,
        load,
        service,
    })
}

async fn wait_for_stop(duration: Option<Duration>) -> &'static str {
    let elapsed = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = elapsed => "duration",
        _ = tokio::signal::ctrl_c() => "ctrl-c",
        _ = terminate => "SIGTERM",
    }
}
