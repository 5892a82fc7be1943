//! Self-test of the dashboard harness (`ferrotel_deploy_gen::harness`) with a real Prometheus.
//!
//! The scrape target here is a stand-in: a loopback HTTP server exposing a few catalog
//! instruments (HTTP server metrics, tokio/allocator gauges, the SDK's `otel_sdk_*`) whose counters grow at each
//! scrape. It proves that the harness starts Prometheus with the stack's rules, scrapes, and
//! classifies dashboard queries; it is NOT the issue's final proof, which points the same
//! harness at the contextd demo's `/metrics` (see the harness module docs and
//! docs/deploy.md).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use ferrotel_deploy_gen::grafana::{Dashboard, Panel, PanelKind, Row};
use ferrotel_deploy_gen::harness::{
    Outcome, Prometheus, PrometheusOptions, ScrapeTarget, check_dashboards,
};
use ferrotel_deploy_gen::query::Variables;
use ferrotel_deploy_gen::{Catalog, dashboards, rules};

/// Serves a Prometheus text exposition on 127.0.0.1; stops on drop.
struct StandIn {
    addr: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn exposition(n: u64) -> String {
    let base = r#"http_request_method="GET",http_route="/checkpoints/{id}",url_scheme="http",network_protocol_version="1.1""#;
    let mut s = String::new();
    s.push_str("# TYPE http_server_requests_total counter\n");
    s.push_str(&format!(
        "http_server_requests_total{{{base},http_response_status_code=\"200\"}} {}\n",
        9 * n
    ));
    s.push_str(&format!(
        "http_server_requests_total{{{base},http_response_status_code=\"500\",error_type=\"500\"}} {n}\n"
    ));
    s.push_str("# TYPE http_server_request_duration_seconds histogram\n");
    for (le, share) in [
        ("0.005", 0),
        ("0.05", 3),
        ("0.1", 6),
        ("0.5", 9),
        ("1", 10),
        ("+Inf", 10),
    ] {
        s.push_str(&format!(
            "http_server_request_duration_seconds_bucket{{{base},http_response_status_code=\"200\",le=\"{le}\"}} {}\n",
            share * n
        ));
    }
    s.push_str(&format!(
        "http_server_request_duration_seconds_sum{{{base},http_response_status_code=\"200\"}} {}\n",
        n
    ));
    s.push_str(&format!("http_server_request_duration_seconds_count{{{base},http_response_status_code=\"200\"}} {}\n", 10 * n));
    s.push_str("# TYPE tokio_runtime_stall_duration_seconds histogram\n");
    for (le, share) in [("0.005", 8), ("0.01", 9), ("0.1", 10), ("+Inf", 10)] {
        s.push_str(&format!("tokio_runtime_stall_duration_seconds_bucket{{tokio_runtime_id=\"1\",le=\"{le}\"}} {}\n", share * n));
    }
    s.push_str(&format!(
        "tokio_runtime_stall_duration_seconds_sum{{tokio_runtime_id=\"1\"}} {}\n",
        n as f64 * 0.02
    ));
    s.push_str(&format!(
        "tokio_runtime_stall_duration_seconds_count{{tokio_runtime_id=\"1\"}} {}\n",
        10 * n
    ));
    s.push_str("# TYPE tokio_runtime_alive_tasks gauge\ntokio_runtime_alive_tasks{tokio_runtime_id=\"1\"} 42\n");
    s.push_str("# TYPE rust_memory_heap_live_bytes gauge\nrust_memory_heap_live_bytes{rust_allocator=\"jemalloc\"} 1.5e+07\n");
    s.push_str("# TYPE rust_memory_heap_mapped_bytes gauge\nrust_memory_heap_mapped_bytes{rust_allocator=\"jemalloc\"} 3e+07\n");
    // The SDK's self-metrics as ferrotel exposes them: success and failure series of every
    // exporter (the failed one at 0 while nothing fails) and the queue-full drops.
    for (signal, failed) in [("span", n), ("log", 0), ("metric_data_point", 0)] {
        let name = format!("otel_sdk_exporter_{signal}_exported_total");
        s.push_str(&format!(
            "# TYPE {name} counter\n{name} {}\n{name}{{error_type=\"export_failed\"}} {failed}\n",
            20 * n
        ));
    }
    for signal in ["span", "log"] {
        s.push_str(&format!(
            "# TYPE otel_sdk_processor_{signal}_processed_total counter\notel_sdk_processor_{signal}_processed_total{{error_type=\"queue_full\",otel_component_type=\"telemetry_admission\"}} {n}\n"
        ));
    }
    s
}

fn serve(mut stream: TcpStream, scrapes: &AtomicU64) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    // Read the request head (bounded: 100 lines).
    for _ in 0..100 {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
        }
    }
    let n = scrapes.fetch_add(1, Ordering::SeqCst) + 1;
    let body = exposition(n);
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

impl StandIn {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("addr").to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let scrapes = AtomicU64::new(0);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(s) = stream {
                    serve(s, &scrapes);
                }
            }
        });
        StandIn {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr); // unblock accept()
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn harness_runs_every_dashboard_query_against_prometheus() {
    let target = StandIn::start();
    let rules_dir = common::deploy().join("rules");
    let prom = Prometheus::start(&PrometheusOptions {
        targets: vec![ScrapeTarget::new(&target.addr, "/metrics")],
        rules_dir: Some(rules_dir.clone()),
        ..PrometheusOptions::default()
    })
    .expect("prometheus starts (apt-get install -y prometheus)");
    prom.wait_for_targets_up(Duration::from_secs(30))
        .expect("target up");
    // Several scrapes so that rates have samples to work with.
    std::thread::sleep(Duration::from_secs(4));

    let catalog = Catalog::load();
    let all = dashboards::all(&catalog).expect("dashboards");
    let recording = rules::recording_rules(&rules_dir).expect("recording rules");
    let checks = check_dashboards(
        &prom,
        &all,
        &recording,
        &Variables::harness(),
        Duration::from_secs(30),
    )
    .expect("queries run");

    let failed: Vec<_> = checks.iter().filter(|c| c.failed()).collect();
    assert!(
        failed.is_empty(),
        "exercised queries without data: {failed:#?}\n{}",
        prom.log_tail()
    );

    // Everything the stand-in exposes is exercised and returned data: the HTTP RED and runtime
    // dashboards completely, the SLO dashboard through the recording rules.
    for uid in ["http-red", "runtime"] {
        for c in checks.iter().filter(|c| c.dashboard == uid) {
            assert!(
                matches!(c.outcome, Outcome::Data(_)),
                "{uid} / {}: {:?} ({})",
                c.panel,
                c.outcome,
                c.expr
            );
        }
    }
    let slo_data = checks
        .iter()
        .filter(|c| c.dashboard == "slo" && matches!(c.outcome, Outcome::Data(_)))
        .count();
    assert!(slo_data >= 10, "SLO panels with data: {slo_data}");
    // The firing-alerts table concerns no instrument the stand-in exercises (nothing fires).
    assert!(
        checks
            .iter()
            .any(|c| c.expr.contains("ALERTS") && matches!(c.outcome, Outcome::NotExercised(_)))
    );
    // contextd business instruments are not exposed by the stand-in: reported, not failed.
    assert!(
        checks
            .iter()
            .any(|c| c.expr.contains("contextd_mcp_tool_calls_total")
                && matches!(c.outcome, Outcome::NotExercised(_)))
    );

    // The harness catches a query whose instruments exist but which returns nothing.
    let broken = Dashboard {
        uid: "broken".to_owned(),
        title: "broken".to_owned(),
        description: String::new(),
        tags: Vec::new(),
        rows: vec![Row::new(
            "r",
            vec![Panel::new(
                PanelKind::Stat,
                "never true",
                "short",
                "sum(rate(http_server_requests_total{job=~\"$job\"}[$__rate_interval])) > 1e18"
                    .to_owned(),
                "x",
            )],
        )],
    };
    let checks = check_dashboards(
        &prom,
        &[broken],
        &recording,
        &Variables::harness(),
        Duration::from_secs(2),
    )
    .expect("query runs");
    assert_eq!(checks[0].outcome, Outcome::Empty);
    assert!(checks[0].failed());
}
