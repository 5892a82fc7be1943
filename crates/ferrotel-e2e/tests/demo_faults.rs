//! Faults around the contextd demo: the collector (rotel) killed mid-run and restarted, and no
//! collector at all. The demo must keep serving with unchanged latency, count what it could not
//! export, resume exporting, keep its memory bounded and warn at a bounded rate.
//!
//! Needs `rotel-agent` (`pip install rotel==0.0.1a15`); a missing binary fails these tests.

mod demo_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use demo_support::{Demo, closed_port_url, fast_export_env, http, u64_at};
use ferrotel_e2e::{ExportProtocol, Rotel};
use ferrotel_testing::FakeReceiver;

/// Memory ceiling for the demo (debug build) under these tests.
const MAX_RSS_KIB: u64 = 256 * 1024;
/// Growth allowed while the collector is unreachable (queues are bounded).
const MAX_GROWTH_KIB: u64 = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Up,
    Down,
    Restarted,
}

#[derive(Debug)]
struct Sample {
    phase: Phase,
    status: u16,
    latency: Duration,
    rss_kib: u64,
}

/// Calls the demo's `status` tool every 50 ms from another thread, recording status, latency
/// and the demo's RSS, tagged with the current phase.
struct Prober {
    stop: Arc<AtomicBool>,
    phase: Arc<Mutex<Phase>>,
    samples: Arc<Mutex<Vec<Sample>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Prober {
    fn start(url: &str, pid: u32) -> Prober {
        let stop = Arc::new(AtomicBool::new(false));
        let phase = Arc::new(Mutex::new(Phase::Up));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (s, p, out, url) = (stop.clone(), phase.clone(), samples.clone(), url.to_owned());
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !s.load(Ordering::Relaxed) && Instant::now() < deadline {
                let (status, latency) = probe(&format!("{url}/mcp/tools/status"));
                let rss_kib = rss_kib(pid);
                let phase = *p.lock().unwrap();
                out.lock().unwrap().push(Sample {
                    phase,
                    status,
                    latency,
                    rss_kib,
                });
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Prober {
            stop,
            phase,
            samples,
            thread: Some(thread),
        }
    }

    fn set_phase(&self, phase: Phase) {
        *self.phase.lock().unwrap() = phase;
    }

    fn finish(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().expect("prober thread");
        }
        std::mem::take(&mut *self.samples.lock().unwrap())
    }
}

/// One call; status 0 when no response came (recorded, not a panic, so the test reports it).
fn probe(url: &str) -> (u16, Duration) {
    let started = Instant::now();
    let status = std::panic::catch_unwind(|| http("POST", url, Some("{}")).0).unwrap_or(0);
    (status, started.elapsed())
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn latencies(samples: &[Sample], phase: Phase) -> Vec<Duration> {
    samples
        .iter()
        .filter(|s| s.phase == phase)
        .map(|s| s.latency)
        .collect()
}

#[test]
fn collector_killed_and_restarted_demo_keeps_serving_and_export_resumes() {
    let receiver = FakeReceiver::start().unwrap();
    let mut rotel = Rotel::builder()
        .export_to(receiver.grpc_endpoint(), ExportProtocol::Grpc)
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut env = fast_export_env();
    env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", rotel.http_endpoint()));
    let mut demo = Demo::start(&["--rate", "40"], &env);
    let prober = Prober::start(&demo.url, demo.proc.pid());

    receiver
        .wait_for_blocking(Duration::from_secs(30), |r| r.spans().len() > 50)
        .unwrap_or_else(|e| panic!("export before the fault: {e}"));
    std::thread::sleep(Duration::from_secs(1));

    prober.set_phase(Phase::Down);
    rotel.kill(); // SIGKILL: what rotel held is lost, the demo's exports now fail
    let failed_before = u64_at(&stats(&demo), &["spans", "failed"]);
    std::thread::sleep(Duration::from_secs(4));
    let during = stats(&demo);
    assert!(
        u64_at(&during, &["spans", "failed"]) > failed_before,
        "span export failures not counted while the collector is down: {during:#}"
    );

    rotel.restart().unwrap_or_else(|e| panic!("{e}"));
    prober.set_phase(Phase::Restarted);
    let arrived = receiver.spans().len();
    receiver
        .wait_for_blocking(Duration::from_secs(30), |r| r.spans().len() > arrived + 50)
        .unwrap_or_else(|e| panic!("export did not resume after the restart: {e}"));
    std::thread::sleep(Duration::from_secs(1));

    let samples = prober.finish();
    demo.proc.sigterm();
    let status = demo.proc.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "{status}");
    let summary = demo.summary();

    // Users saw no error and no slowdown.
    assert!(samples.len() > 40, "{} probes", samples.len());
    assert!(samples.iter().all(|s| s.status == 200), "{samples:?}");
    let (up, down) = (
        median(latencies(&samples, Phase::Up)),
        median(latencies(&samples, Phase::Down)),
    );
    let worst = samples.iter().map(|s| s.latency).max().unwrap_or_default();
    assert!(
        down <= up * 3 + Duration::from_millis(25),
        "median latency {up:?} with the collector up, {down:?} while it was down"
    );
    assert!(worst < Duration::from_secs(2), "slowest probe {worst:?}");
    assert!(
        summary["load"]["transport_errors"] == 0,
        "load generator saw failures: {summary:#}"
    );

    // Accounting: everything emitted is exported, failed or dropped; failures were counted.
    let t = &summary["telemetry"];
    for signal in ["spans", "logs"] {
        let emitted = u64_at(t, &[signal, "emitted"]);
        let done = u64_at(t, &[signal, "exported"])
            + u64_at(t, &[signal, "failed"])
            + u64_at(t, &[signal, "dropped"]);
        assert_eq!(done, emitted, "{signal}: {t:#}");
    }
    assert!(u64_at(t, &["spans", "failed"]) > 0, "{t:#}");
    assert!(u64_at(t, &["metric_points", "failed"]) > 0, "{t:#}");

    // The service's log told the outage and its end, for spans at least (the signal that
    // exports most often).
    let out = demo.proc.stdout.all();
    let told = |text: &str| {
        out.iter()
            .filter(|l| l.contains(text) && l.contains("\"signal\":\"traces\""))
            .count()
    };
    assert!(
        told("telemetry export failing") >= 1 && told("telemetry export recovered") == 1,
        "{}",
        demo.proc.output()
    );

    // Memory stayed bounded.
    let max_rss = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let before = samples
        .iter()
        .filter(|s| s.phase == Phase::Up)
        .map(|s| s.rss_kib)
        .max()
        .unwrap_or(0);
    assert!(
        max_rss > 0 && max_rss < MAX_RSS_KIB,
        "max RSS {max_rss} KiB"
    );
    assert!(
        max_rss < before + MAX_GROWTH_KIB,
        "RSS grew from {before} to {max_rss} KiB"
    );
    eprintln!(
        "median latency up {up:?} / down {down:?}; worst {worst:?}; RSS before {before} KiB, max {max_rss} KiB; telemetry {t}"
    );
}

fn stats(demo: &Demo) -> serde_json::Value {
    let (status, body, _) = demo.get("/demo/stats");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("stats JSON")
}

#[test]
fn no_collector_at_all_no_user_errors_bounded_memory_rate_limited_warning() {
    let mut env = fast_export_env();
    let dead_endpoint = closed_port_url();
    env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", dead_endpoint.clone()));
    let mut demo = Demo::start(&["--rate", "40", "--duration", "12s"], &env);
    let prober = Prober::start(&demo.url, demo.proc.pid());
    // Probe while it serves (it stops listening at 12 s), then let it finish.
    std::thread::sleep(Duration::from_secs(10));
    let samples = prober.finish();
    let status = demo.proc.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "{status}");
    let summary = demo.summary();

    assert!(samples.len() > 40, "{} probes", samples.len());
    assert!(samples.iter().all(|s| s.status == 200), "{samples:?}");
    assert_eq!(summary["load"]["transport_errors"], 0, "{summary:#}");
    assert_eq!(summary["load"]["client_errors"], 0, "{summary:#}");
    let t = &summary["telemetry"];
    assert_eq!(u64_at(t, &["spans", "exported"]), 0);
    assert!(u64_at(t, &["spans", "failed"]) > 0, "{t:#}");
    assert_eq!(
        u64_at(t, &["spans", "failed"]) + u64_at(t, &["spans", "dropped"]),
        u64_at(t, &["spans", "emitted"])
    );
    assert_eq!(
        summary["instruments"]["missing"].as_array().map(Vec::len),
        Some(0)
    );

    let max_rss = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    assert!(
        max_rss > 0 && max_rss < MAX_RSS_KIB,
        "max RSS {max_rss} KiB"
    );

    // The SDK tells the outage in the service's own log, rate-limited: per signal one warning
    // at the first failure and at most one more per 10 s, naming the endpoint; a 12 s run
    // against a dead endpoint prints a handful of lines, not one per failed export.
    let out = demo.proc.stdout.all();
    let failing: Vec<serde_json::Value> = out
        .iter()
        .filter(|l| l.contains("telemetry export failing"))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    for signal in ["traces", "metrics", "logs"] {
        let n = failing.iter().filter(|w| w["signal"] == signal).count();
        assert!(
            (1..=2).contains(&n),
            "{signal}: {n} warnings in 12 s\n{}",
            demo.proc.output()
        );
    }
    assert!(
        failing.iter().all(|w| w["level"] == "WARN"
            && w["target"] == "ferrotel::export"
            && w["destination"]
                .as_str()
                .is_some_and(|d| d.starts_with(&dead_endpoint))),
        "{failing:#?}"
    );
    let export_lines = out
        .iter()
        .filter(|l| l.contains("\"target\":\"ferrotel::export\""))
        .count();
    assert!(export_lines <= 12, "{export_lines} export-health lines");
    let sdk_lines = out
        .iter()
        .filter(|l| l.contains("\"target\":\"opentelemetry"))
        .count()
        + demo.proc.stderr.all().len();
    let failed_exports = u64_at(t, &["spans", "failed"]) + u64_at(t, &["metric_points", "failed"]);
    assert!(
        sdk_lines <= 20,
        "{sdk_lines} SDK diagnostic lines for {failed_exports} failed records"
    );
    assert!(
        summary["shutdown"]["seconds"].as_f64().unwrap_or(99.0) < 10.0,
        "{summary:#}"
    );
}
