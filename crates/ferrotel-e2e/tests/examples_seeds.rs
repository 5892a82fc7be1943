//! The seed examples, each run as a process with one command:
//! - `opsconductor-style` (seed 003) and `agenttrace-style` (seed 004) scraped by a real
//!   Prometheus with the bundled rules: their dashboards (`automation-execution`,
//!   `automation-selector`, `agenttrace-overview`, `-api`, `-workers`, `-database`,
//!   `-clickhouse`) have data for every query (but the ClickHouse server's merges), the seed 004
//!   service rules evaluate, and `agenttrace-style` answers its health endpoints;
//! - `hippius-worker` (seed 002) exporting over OTLP/gRPC through rotel to a receiver: spans,
//!   its worker metrics and logs with trace ids arrive.
//!
//! Needs `prometheus` (apt) and `rotel-agent` (pip); missing, the tests fail.

mod demo_support;

use std::time::Duration;

use demo_support::{Proc, example_binary, fast_export_env, http};
use ferrotel_deploy_gen::catalog::CLICKHOUSE_SERVER_SOURCE;
use ferrotel_deploy_gen::harness::{
    Outcome, Prometheus, PrometheusOptions, ScrapeTarget, check_dashboards,
};
use ferrotel_deploy_gen::query::Variables;
use ferrotel_deploy_gen::{Catalog, dashboards, deploy_dir, rules};
use ferrotel_e2e::{ExportProtocol, Rotel};
use ferrotel_testing::FakeReceiver;

fn start_service(package: &str, marker: &str) -> (Proc, String) {
    let bin = example_binary(package, package);
    let env = vec![
        ("OTEL_TRACES_EXPORTER", "none".to_owned()),
        ("OTEL_METRICS_EXPORTER", "none".to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
    ];
    let mut proc = Proc::spawn(&bin, &["--listen", "127.0.0.1:0", "--rate", "30"], &env);
    let line = proc.wait_for_line(marker, Duration::from_secs(60));
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("URL in the listening line")
        .to_owned();
    (proc, url)
}

#[test]
fn seed_003_and_004_examples_fill_their_dashboards_in_prometheus() {
    let (_ops, ops_url) = start_service("opsconductor-style", "opsconductor-style listening on");
    let (_at, at_url) = start_service("agenttrace-style", "agenttrace-style listening on");

    // Seed 004 health document: dependency checks with latency_ms.
    let (status, body, _) = http("GET", &format!("{at_url}/health"), None);
    assert_eq!(status, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).expect("health JSON");
    assert_eq!(health["status"], "healthy");
    for dep in ["postgres", "clickhouse", "redis"] {
        assert!(
            health["checks"][dep]["latency_ms"].is_number(),
            "{health:#}"
        );
    }
    for path in ["/livez", "/readyz", "/version"] {
        assert_eq!(
            http("GET", &format!("{at_url}{path}"), None).0,
            200,
            "{path}"
        );
    }

    let rules_dir = deploy_dir().join("rules");
    let prom = Prometheus::start(&PrometheusOptions {
        targets: vec![
            ScrapeTarget::new(ops_url.trim_start_matches("http://"), "/metrics"),
            ScrapeTarget::new(at_url.trim_start_matches("http://"), "/metrics"),
        ],
        rules_dir: Some(rules_dir.clone()),
        ..PrometheusOptions::default()
    })
    .unwrap_or_else(|e| panic!("starting prometheus (apt-get install prometheus): {e}"));
    prom.wait_for_targets_up(Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}\n{}", prom.log_tail()));
    // A few scrapes so rates have two samples.
    std::thread::sleep(Duration::from_secs(4));

    let all = dashboards::all(&Catalog::load()).expect("dashboards");
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
    assert!(failed.is_empty(), "{failed:#?}");
    let catalog = Catalog::load();
    for uid in [
        "automation-execution",
        "automation-selector",
        "agenttrace-overview",
        "agenttrace-api",
        "agenttrace-workers",
        "agenttrace-database",
        "agenttrace-clickhouse",
    ] {
        let of: Vec<_> = checks.iter().filter(|c| c.dashboard == uid).collect();
        assert!(!of.is_empty(), "no dashboard {uid}");
        for c in of {
            // Only the ClickHouse server's own series (its :9363 endpoint, which no example
            // runs) may go unexercised; every query on the examples' instruments has data.
            let server_only = match &c.outcome {
                Outcome::NotExercised(selectors) => selectors.iter().all(|sel| {
                    let name = sel.split('{').next().unwrap_or(sel);
                    catalog
                        .get(name)
                        .is_ok_and(|i| i.source == CLICKHOUSE_SERVER_SOURCE)
                }),
                _ => false,
            };
            assert!(
                matches!(c.outcome, Outcome::Data(_)) || server_only,
                "{uid} / {}: {:?} ({})",
                c.panel,
                c.outcome,
                c.expr
            );
        }
    }
    let clickhouse_with_data = checks
        .iter()
        .filter(|c| c.dashboard == "agenttrace-clickhouse" && matches!(c.outcome, Outcome::Data(_)))
        .count();
    assert!(
        clickhouse_with_data >= 5,
        "{clickhouse_with_data} ClickHouse panels with data"
    );
    // The seed 004 rules read the example's pool and queue gauges (and do not fire).
    for expr in [
        "sum by (job, instance, db) (db_connections_active) / sum by (job, instance, db) (db_connections_max)",
        "max by (job, queue) (worker_queue_depth)",
        "automation_build_info",
    ] {
        let r = prom.query(expr).expect("query");
        assert!(!r.is_empty(), "{expr}: no data");
    }
    let firing = prom
        .query("ALERTS{alertname=~\"DatabaseConnectionExhausted|WorkerQueueBacklog|ServiceDown\"}")
        .expect("query");
    assert!(firing.is_empty(), "{firing:?}");
}

#[test]
fn hippius_worker_pushes_over_grpc_through_rotel() {
    let receiver = FakeReceiver::start().unwrap();
    let rotel = Rotel::builder()
        .export_to(receiver.grpc_endpoint(), ExportProtocol::Grpc)
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let bin = example_binary("hippius-worker", "hippius-worker");
    let mut env = fast_export_env();
    // No protocol set: the example's default is gRPC.
    env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", rotel.grpc_endpoint()));
    let mut proc = Proc::spawn(&bin, &["--jobs", "20"], &env);
    let status = proc.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "{status}\n{}", proc.output());
    let report = proc
        .stdout
        .all()
        .into_iter()
        .find(|l| l.starts_with("hippius-worker: spans exported"))
        .expect("report line");
    assert!(report.contains("failed 0;"), "{report}");

    receiver
        .wait_for_blocking(Duration::from_secs(30), |r| {
            // The final (shutdown) export carries the full count; an earlier periodic one may
            // arrive first through rotel's batching.
            r.spans_named("worker.process_upload").len() == 20
                && r.counter_sum(
                    "hippius_worker_jobs_total",
                    &[("worker", "uploader".into())],
                ) == Some(20.0)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let job = receiver
        .span_named("worker.process_upload")
        .expect("job span");
    let kids: Vec<String> = receiver
        .children_of(&job)
        .iter()
        .map(|s| s.name().to_owned())
        .collect();
    assert!(kids.contains(&"ipfs.pin".to_owned()), "{kids:?}");
    assert_eq!(
        job.resource_attribute("service.name")
            .and_then(|v| v.as_str()),
        Some("hippius-worker")
    );
    assert_eq!(
        receiver.counter_sum(
            "hippius_worker_jobs_total",
            &[("worker", "uploader".into())]
        ),
        Some(20.0)
    );
    let logs = receiver.log_records_containing("object stored");
    assert!(!logs.is_empty(), "{}", receiver.summary());
    assert!(
        logs.iter().all(|l| l.trace_id().is_some()),
        "log records carry trace ids"
    );
    drop(rotel);
}
