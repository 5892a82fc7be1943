//! Stack B's pull path, as docs/deploy.md documents it: a fresh stack scrapes no application
//! target (so nothing that is not running reads as down), and the contextd demo started with
//! `--listen` plus the shipped example targets file is scraped by stack B's own `app` job, with
//! the `service` label the file sets.
//!
//! The job definition is read from `deploy/stack-b/prometheus/prometheus.yml`; the target
//! address is the demo's loopback one instead of `host.docker.internal:9464` (no Docker bridge
//! here). Needs `prometheus` (apt); missing, the test fails.

mod demo_support;

use std::path::Path;
use std::time::Duration;

use demo_support::{Proc, example_binary, wait_until};
use ferrotel_deploy_gen::deploy_dir;
use ferrotel_deploy_gen::harness::{Prometheus, PrometheusOptions};
use serde_yaml::Value;

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_fresh_stack_scrapes_nothing_and_the_documented_demo_is_scraped_by_the_app_job() {
    let stack = deploy_dir().join("stack-b/prometheus");
    // Fresh stack: every committed targets file lists no target.
    let mut files = 0;
    for entry in std::fs::read_dir(stack.join("targets")).expect("targets dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yml") {
            files += 1;
            let groups = yaml(&path);
            let groups = groups.as_sequence().expect("a list of target groups");
            assert!(
                groups.is_empty(),
                "{} scrapes on a fresh stack",
                path.display()
            );
        }
    }
    assert!(files >= 1, "no targets file");

    // The documented run: the demo on a chosen address, the example file copied in.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let address = format!("127.0.0.1:{port}");
    let demo = example_binary("contextd-demo", "contextd-demo");
    let env = vec![
        ("OTEL_TRACES_EXPORTER", "none".to_owned()),
        ("OTEL_METRICS_EXPORTER", "none".to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
    ];
    let mut proc = Proc::spawn(&demo, &["--listen", &address, "--rate", "5"], &env);
    let line = proc.wait_for_line("listening on", Duration::from_secs(60));
    assert!(line.contains(&address), "{line}");

    let targets = tempfile::tempdir().expect("temp dir");
    let example = std::fs::read_to_string(stack.join("targets/contextd-demo.yml.example"))
        .expect("example targets file");
    assert!(example.contains("host.docker.internal:9464"), "{example}");
    std::fs::write(
        targets.path().join("contextd-demo.yml"),
        example.replace("host.docker.internal:9464", &address),
    )
    .expect("write targets");

    let config = yaml(&stack.join("prometheus.yml"));
    let mut app = config["scrape_configs"]
        .as_sequence()
        .expect("scrape_configs")
        .iter()
        .find(|job| job["job_name"] == "app")
        .expect("stack B has the app job")
        .clone();
    let glob = targets.path().join("*.yml").to_string_lossy().into_owned();
    app["file_sd_configs"][0]["files"] = Value::Sequence(vec![Value::String(glob)]);
    app["file_sd_configs"][0]["refresh_interval"] = Value::String("1s".into());
    app["scrape_interval"] = Value::String("1s".into());
    let prometheus = Prometheus::start(&PrometheusOptions {
        extra_scrape_configs: vec![app],
        ..PrometheusOptions::default()
    })
    .expect("prometheus starts");

    let found = wait_until(
        Duration::from_secs(30),
        "the app job scrapes the demo",
        || {
            let up = prometheus
                .query(r#"up{job="app", service="contextd-demo"} == 1"#)
                .map_err(|e| e.to_string())?;
            let calls = prometheus
                .query(r#"contextd_mcp_tool_calls_total{job="app"}"#)
                .map_err(|e| e.to_string())?;
            if up.is_empty() || calls.is_empty() {
                return Err(format!("up {up:?}, tool calls {calls:?}"));
            }
            Ok(up)
        },
    );
    assert_eq!(
        found[0]["metric"]["instance"],
        address.as_str(),
        "{found:?}"
    );
}
