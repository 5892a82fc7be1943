//! Sustained span export benchmark (run by `benches/export-throughput.sh`, which starts rotel).
//!
//! Phase "up": producer threads create `tracing` spans through `ferrotel::builder()` (the real
//! path: the span layer, redaction, admission control, batch processor, OTLP
//! exporter) as fast as possible or at `--rate` spans/s, for `--seconds`, exporting to
//! `--endpoint` (a collector on loopback). Reports spans created/s, spans exported/s
//! (acknowledged by the collector, counted by `Guard::stats`), dropped and failed, the RSS
//! ceiling, and span-creation latency.
//!
//! Phase "down": the same load against `--down-endpoint` (nothing listening, like a stopped
//! collector): span creation must not block (same creation rate and latency), and what
//! cannot be exported is counted as failed or dropped, with bounded memory.
//!
//! ```text
//! cargo run --release -p contextd-demo --bin export_throughput -- \
//!     --endpoint http://127.0.0.1:4318 --down-endpoint http://127.0.0.1:1 --seconds 10
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

struct Opts {
    endpoint: String,
    down_endpoint: Option<String>,
    seconds: f64,
    threads: usize,
    rate: f64,
}

fn parse() -> Result<Opts, String> {
    let mut o = Opts {
        endpoint: "http://127.0.0.1:4318".into(),
        down_endpoint: None,
        seconds: 10.0,
        threads: 2,
        rate: 0.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        let num = |v: &str| {
            v.parse::<f64>()
                .map_err(|_| format!("{flag} {v:?}: not a number"))
        };
        match flag.as_str() {
            "--endpoint" => o.endpoint = v,
            "--down-endpoint" => o.down_endpoint = Some(v),
            "--seconds" => o.seconds = num(&v)?,
            "--threads" => o.threads = num(&v)?.max(1.0) as usize,
            "--rate" => o.rate = num(&v)?.max(0.0),
            _ => return Err(format!("unknown option {flag:?}")),
        }
    }
    Ok(o)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// Bench defaults for the batch processor unless the environment sets them.
fn env_with_defaults(endpoint: String) -> impl Fn(&str) -> Option<String> + 'static {
    move |name| {
        if name == "OTEL_EXPORTER_OTLP_ENDPOINT" {
            return Some(endpoint.clone());
        }
        std::env::var(name).ok().or_else(|| {
            let v = match name {
                "OTEL_BSP_MAX_EXPORT_BATCH_SIZE" => "4096",
                "OTEL_BSP_MAX_QUEUE_SIZE" => "32768",
                "OTEL_BSP_SCHEDULE_DELAY" => "100",
                "OTEL_EXPORTER_OTLP_TIMEOUT" => "2000",
                "OTEL_METRICS_EXPORTER" | "OTEL_LOGS_EXPORTER" => "none",
                _ => return None,
            };
            Some(v.to_owned())
        })
    }
}

struct PhaseResult {
    created: u64,
    elapsed: Duration,
    drain: Duration,
    stats: ferrotel::Stats,
    rss_start: u64,
    rss_max: u64,
    max_create: Duration,
    p999_create: Duration,
}

fn run_phase(endpoint: &str, o: &Opts) -> Result<PhaseResult, Box<dyn std::error::Error>> {
    let guard = ferrotel::builder()
        .service_name("export-bench")
        .global(false)
        .console_format(ferrotel::ConsoleFormat::Off)
        .log_filter("info")
        .env_lookup(env_with_defaults(endpoint.to_owned()))
        .without_runtime_metrics()
        .init()?;
    let dispatch = guard.dispatch().clone();
    let stop = Arc::new(AtomicBool::new(false));
    let created = Arc::new(AtomicU64::new(0));
    let rss_start = rss_kib();
    let rss_max = Arc::new(AtomicU64::new(rss_start));
    let started = Instant::now();
    let per_thread_rate = o.rate / o.threads as f64;
    let mut handles = Vec::new();
    for t in 0..o.threads {
        let (dispatch, stop, created) = (dispatch.clone(), stop.clone(), created.clone());
        handles.push(std::thread::spawn(move || {
            let mut latencies = Vec::with_capacity(1 << 16);
            tracing::dispatcher::with_default(&dispatch, || {
                let begin = Instant::now();
                let mut n: u64 = 0;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..256 {
                        let t0 = Instant::now();
                        let span = tracing::info_span!(
                            "bench.request",
                            thread = t as i64,
                            n = n as i64,
                            route = "/mcp/tools/{tool}"
                        );
                        let entered = span.enter();
                        drop(entered);
                        drop(span);
                        let dt = t0.elapsed();
                        if n.is_multiple_of(64) {
                            latencies.push(dt);
                        }
                        n += 1;
                    }
                    created.fetch_add(256, Ordering::Relaxed);
                    if per_thread_rate > 0.0 {
                        let due = Duration::from_secs_f64(n as f64 / per_thread_rate);
                        if let Some(wait) = due.checked_sub(begin.elapsed()) {
                            std::thread::sleep(wait);
                        }
                    }
                }
            });
            latencies
        }));
    }
    let monitor = {
        let (stop, rss_max) = (stop.clone(), rss_max.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                rss_max.fetch_max(rss_kib(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    std::thread::sleep(Duration::from_secs_f64(o.seconds));
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let mut lat: Vec<Duration> = Vec::new();
    for h in handles {
        lat.extend(h.join().map_err(|_| "producer panicked")?);
    }
    let _ = monitor.join();
    let drain_start = Instant::now();
    let report = guard.shutdown();
    let drain = drain_start.elapsed();
    rss_max.fetch_max(rss_kib(), Ordering::Relaxed);
    lat.sort();
    Ok(PhaseResult {
        created: created.load(Ordering::Relaxed),
        elapsed,
        drain,
        stats: report.stats,
        rss_start,
        rss_max: rss_max.load(Ordering::Relaxed),
        max_create: lat.last().copied().unwrap_or_default(),
        p999_create: lat.get(lat.len() * 999 / 1000).copied().unwrap_or_default(),
    })
}

fn print(name: &str, r: &PhaseResult) {
    let s = &r.stats.spans;
    let secs = r.elapsed.as_secs_f64();
    println!(
        "{name:<5} created {:>9} ({:>9.0}/s) | exported {:>9} ({:>9.0}/s over run+drain {:.1}s) | dropped {:>9} failed {:>9} | RSS {} -> max {} KiB | create p99.9 {:?} max {:?}",
        r.created,
        r.created as f64 / secs,
        s.exported,
        s.exported as f64 / (secs + r.drain.as_secs_f64()),
        secs + r.drain.as_secs_f64(),
        s.dropped,
        s.failed,
        r.rss_start,
        r.rss_max,
        r.p999_create,
        r.max_create,
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = parse()?;
    println!(
        "export_throughput: {} producer threads, {} s per phase, offered rate {}",
        o.threads,
        o.seconds,
        if o.rate > 0.0 {
            format!("{} spans/s", o.rate)
        } else {
            "unbounded".into()
        }
    );
    let up = run_phase(&o.endpoint.clone(), &o)?;
    print("up", &up);
    if let Some(down) = o.down_endpoint.clone() {
        let r = run_phase(&down, &o)?;
        print("down", &r);
        println!(
            "collector down vs up: creation rate {:.2}x, p99.9 creation latency {:?} vs {:?}",
            (r.created as f64 / r.elapsed.as_secs_f64())
                / (up.created as f64 / up.elapsed.as_secs_f64()),
            r.p999_create,
            up.p999_create
        );
    }
    Ok(())
}
