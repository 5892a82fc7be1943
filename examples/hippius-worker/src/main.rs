//! A Hippius-style storage worker (seed 002): a background worker with no HTTP server that
//! pushes traces, metrics and logs over OTLP/gRPC to a collector (`:4317`); in the bundled
//! stack B the collector sends metrics to Prometheus, traces to Tempo and logs to Loki, where
//! each log line links to its trace by `trace_id`.
//!
//! ```text
//! cargo run -p hippius-worker                                   # to http://localhost:4317
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4317 cargo run -p hippius-worker -- --jobs 200
//! ```
//!
//! It processes `--jobs` uploads (default 50; 0 runs until Ctrl-C), each a trace
//! `worker.process_upload` → `ipfs.pin` and `substrate.submit`, with a log record per job, and
//! the worker metrics declared below with `ferrotel_meters::instrument_set!` (the same
//! mechanism as the contextd catalog). At the end it prints what was exported.
//!
//! OTLP/gRPC is this example's default (`OTEL_EXPORTER_OTLP_PROTOCOL=grpc` unless set), as in
//! the seed; everything else follows the `OTEL_*` variables.
//!
//! Dependencies: `ferrotel` (feature `grpc`), `ferrotel-meters`, `tokio`, `tracing`, `rand`
//! (simulated sizes, latencies, failures), `opentelemetry` (meter trait).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrotel_meters::{DURATION_BUCKETS, InstrumentSet, cardinality_views};
use opentelemetry::metrics::MeterProvider as _;
use rand::Rng as _;
use tracing::Instrument as _;

ferrotel_meters::label_enum! {
    /// Which worker ran a job (`worker`).
    pub enum Worker {
        /// Uploads objects to IPFS.
        Uploader = "uploader",
        /// Submits storage requests on chain.
        Substrate = "substrate",
    }
}

ferrotel_meters::label_enum! {
    /// Job outcome (`status`).
    pub enum Outcome {
        /// Done.
        Success = "success",
        /// Failed; will be retried.
        Error = "error",
    }
}

ferrotel_meters::instrument_set! {
    /// The worker's instruments.
    pub struct WorkerMeters {
        counter jobs {
            name: "hippius_worker_jobs_total",
            unit: "{job}",
            description: "Jobs processed, by worker and outcome.",
            labels: { "worker": Worker, "status": Outcome },
        },
        histogram job_duration {
            name: "hippius_worker_job_duration_seconds",
            unit: "s",
            description: "Job processing time, by worker.",
            labels: { "worker": Worker },
            buckets: DURATION_BUCKETS,
        },
        counter bytes_uploaded {
            name: "hippius_worker_uploaded_bytes_total",
            unit: "By",
            description: "Bytes pinned to IPFS.",
            labels: {},
        },
        observable_gauge queue_depth {
            name: "hippius_worker_queue_depth",
            unit: "{job}",
            description: "Jobs waiting.",
            labels: { "worker": Worker },
        },
    }
}

async fn process(meters: &WorkerMeters, n: u64) {
    let size: u64 = rand::rng().random_range(1_000..5_000_000);
    let key = format!("bucket-{}/object-{n:05}", n % 3);
    let span = tracing::info_span!(
        "worker.process_upload",
        object.key = %key,
        object.size = i64::try_from(size).unwrap_or(i64::MAX),
        otel.status_code = tracing::field::Empty,
    );
    let started = Instant::now();
    let ok = async {
        let pinned = async {
            let ms = rand::rng().random_range(5..40);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            !rand::rng().random_bool(0.05)
        }
        .instrument(tracing::info_span!("ipfs.pin", object.size = i64::try_from(size).unwrap_or(0)))
        .await;
        if !pinned {
            tracing::error!(object.key = %key, "ipfs pin failed: context deadline exceeded");
            return false;
        }
        meters.bytes_uploaded.add(size, ());
        let submitted = Instant::now();
        let ms = rand::rng().random_range(10..60);
        async { tokio::time::sleep(Duration::from_millis(ms)).await }
            .instrument(tracing::info_span!("substrate.submit", chain = "hippius"))
            .await;
        meters
            .job_duration
            .record_duration(submitted.elapsed(), Worker::Substrate);
        meters.jobs.add(1, (Worker::Substrate, Outcome::Success));
        tracing::info!(object.key = %key, bytes = i64::try_from(size).unwrap_or(0), "object stored");
        true
    }
    .instrument(span.clone())
    .await;
    if !ok {
        span.record("otel.status_code", "ERROR");
    }
    let outcome = if ok { Outcome::Success } else { Outcome::Error };
    meters.jobs.add(1, (Worker::Uploader, outcome));
    meters
        .job_duration
        .record_duration(started.elapsed(), Worker::Uploader);
}

fn parse_jobs() -> Result<u64, String> {
    let mut jobs = 50;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match (flag.as_str(), it.next()) {
            ("--jobs", Some(v)) => {
                jobs = v
                    .parse()
                    .map_err(|_| format!("--jobs {v:?}: expected a number"))?
            }
            _ => return Err(format!("unknown option {flag:?} (use --jobs N)")),
        }
    }
    Ok(jobs)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let jobs = parse_jobs()?;
    // Version, git commit and build time from build.rs, for build.info.
    let build = ferrotel::runtime_metrics::build_info!();
    let guard = ferrotel::builder()
        .service_name("hippius-worker")
        .service_version(env!("CARGO_PKG_VERSION"))
        .build_info(build)
        .with_view(cardinality_views(
            <WorkerMeters as InstrumentSet>::DESCRIPTORS,
        ))
        // The seed's transport: OTLP/gRPC, unless OTEL_EXPORTER_OTLP_PROTOCOL says otherwise.
        .env_lookup(|name| {
            std::env::var(name)
                .ok()
                .or_else(|| (name == "OTEL_EXPORTER_OTLP_PROTOCOL").then(|| "grpc".to_owned()))
        })
        .init()?;
    let provider = guard
        .meter_provider()
        .cloned()
        .ok_or("telemetry is shut down")?;
    let meters = Arc::new(WorkerMeters::new(&provider.meter("hippius-worker")));
    let remaining = Arc::new(std::sync::atomic::AtomicU64::new(jobs));
    let r = Arc::clone(&remaining);
    meters.queue_depth.register(move |o| {
        o.observe(
            r.load(std::sync::atomic::Ordering::Relaxed),
            Worker::Uploader,
        );
        Ok(())
    });
    tracing::info!(jobs, endpoint = %guard.config().traces.otlp.endpoint, "worker started");

    let work = async {
        let mut n = 0u64;
        while jobs == 0 || n < jobs {
            n += 1;
            process(&meters, n).await;
            let _ = remaining.fetch_update(
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
                |r| r.checked_sub(1),
            );
        }
    };
    tokio::select! {
        _ = work => {}
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted"),
    }
    tracing::info!("worker stopping");
    let report = tokio::task::spawn_blocking(move || guard.shutdown()).await?;
    let s = report.stats;
    println!(
        "hippius-worker: spans exported {} failed {}; metric points exported {} failed {}; logs exported {} failed {}",
        s.spans.exported,
        s.spans.failed,
        s.metric_points.exported,
        s.metric_points.failed,
        s.logs.exported,
        s.logs.failed
    );
    Ok(())
}
