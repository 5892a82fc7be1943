//! Soak benchmark (run by `benches/soak.sh`, which starts rotel and stops and restarts it every
//! `--flap` seconds): spans at a steady `--rate` through `ferrotel::builder()` for `--seconds`,
//! one status line per second, and at the end whether every record is accounted for.
//!
//! Each `tick` line carries the seconds since start, the process RSS and the export counts so
//! far, so the script can check that export resumes after every outage and that memory stays
//! flat. The last line is `accounted accepted=.. exported=.. failed=.. dropped=.. in_flight=..`
//! after a clean shutdown.
//!
//! ```text
//! cargo run --release -p contextd-demo --bin soak -- --endpoint http://127.0.0.1:4318 \
//!     --seconds 600 --rate 10000
//! ```

use std::time::{Duration, Instant};

struct Opts {
    endpoint: String,
    seconds: u64,
    rate: u64,
}

fn parse() -> Result<Opts, String> {
    let mut o = Opts {
        endpoint: "http://127.0.0.1:4318".into(),
        seconds: 600,
        rate: 10_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        let num = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag} {v:?}: not a number"))
        };
        match flag.as_str() {
            "--endpoint" => o.endpoint = v,
            "--seconds" => o.seconds = num(&v)?,
            "--rate" => o.rate = num(&v)?.max(1),
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = parse()?;
    let endpoint = o.endpoint.clone();
    let guard = ferrotel::builder()
        .service_name("soak")
        .global(false)
        // Export warnings go to stderr (the script keeps them apart from the tick lines).
        .console_format(ferrotel::ConsoleFormat::Off)
        .log_filter("info")
        .env_lookup(move |name| match name {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(endpoint.clone()),
            "OTEL_BSP_SCHEDULE_DELAY" => Some("200".into()),
            "OTEL_EXPORTER_OTLP_TIMEOUT" => Some("2000".into()),
            "OTEL_METRICS_EXPORTER" | "OTEL_LOGS_EXPORTER" => Some("none".into()),
            _ => std::env::var(name).ok(),
        })
        .without_runtime_metrics()
        .init()?;
    println!(
        "soak: {} spans/s for {} s to {}",
        o.rate, o.seconds, o.endpoint
    );
    let start = Instant::now();
    let mut created: u64 = 0;
    let mut next_tick = 1;
    tracing::dispatcher::with_default(guard.dispatch(), || {
        while start.elapsed() < Duration::from_secs(o.seconds) {
            // Bursts of 100 spans, paced to the rate.
            for _ in 0..100 {
                tracing::info_span!(
                    "soak.request",
                    n = created as i64,
                    route = "/mcp/tools/{tool}"
                )
                .in_scope(|| {});
                created += 1;
            }
            let due = Duration::from_secs_f64(created as f64 / o.rate as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
            if start.elapsed() >= Duration::from_secs(next_tick) {
                let s = guard.stats().spans;
                println!(
                    "tick t={next_tick} rss_kib={} created={created} exported={} failed={} dropped={} in_flight={}",
                    rss_kib(),
                    s.exported,
                    s.failed,
                    s.dropped,
                    s.in_flight
                );
                next_tick += 1;
            }
        }
    });
    let report = guard.shutdown();
    let s = report.stats.spans;
    println!(
        "shutdown traces={:?} elapsed={:?}",
        report.traces, report.elapsed
    );
    println!(
        "accounted created={created} exported={} failed={} dropped={} in_flight={}",
        s.exported, s.failed, s.dropped, s.in_flight
    );
    Ok(())
}
