//! Every shipped example reports its real build: each one's `build.rs` fills `build.info`, so
//! `/version` and the `build_info` series carry the checkout's git commit and a build time, not
//! `unknown`; the worker without a server sends the same attributes over OTLP.
//!
//! Needs `git` and a git checkout (CI runs on a clone).

mod demo_support;

use std::process::Command;
use std::time::Duration;

use demo_support::{Proc, example_binary, fast_export_env, http, wait_until};
use ferrotel_testing::{AttrValue, FakeReceiver};

fn head_commit() -> String {
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("git runs");
    assert!(out.status.success(), "not a git checkout");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// Starts `package` with `args`/`env` (telemetry export off) and returns it with its base URL,
/// read from its "listening on http://…" line.
fn start(package: &str, args: &[&str], env: &[(&str, &str)]) -> (Proc, String) {
    let bin = example_binary(package, package);
    let mut env: Vec<(&str, String)> = env.iter().map(|(k, v)| (*k, v.to_string())).collect();
    for signal in [
        "OTEL_TRACES_EXPORTER",
        "OTEL_METRICS_EXPORTER",
        "OTEL_LOGS_EXPORTER",
    ] {
        env.push((signal, "none".to_owned()));
    }
    let mut proc = Proc::spawn(&bin, args, &env);
    let line = proc.wait_for_line("listening on", Duration::from_secs(120));
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("URL in the listening line")
        .trim_end_matches([',', ')'])
        .to_owned();
    (proc, url)
}

/// An example package, its arguments and its environment.
type Server = (
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

#[test]
fn server_examples_report_the_checkout_commit_on_version_and_metrics() {
    let commit = head_commit();
    let servers: [Server; 5] = [
        ("axum-service", &[], &[("LISTEN_ADDR", "127.0.0.1:0")]),
        ("actix-web-service", &[], &[("LISTEN_ADDR", "127.0.0.1:0")]),
        ("contextd-demo", &["--port", "0", "--rate", "1"], &[]),
        (
            "agenttrace-style",
            &["--listen", "127.0.0.1:0", "--rate", "1"],
            &[],
        ),
        (
            "opsconductor-style",
            &["--listen", "127.0.0.1:0", "--rate", "1"],
            &[],
        ),
    ];
    for (package, args, env) in servers {
        let (_proc, url) = start(package, args, env);
        let (status, body, _) = http("GET", &format!("{url}/version"), None);
        assert_eq!(status, 200, "{package}: {body}");
        let version: serde_json::Value = serde_json::from_str(&body).expect("version JSON");
        assert_eq!(
            version["git_commit"],
            commit.as_str(),
            "{package}: {version:#}"
        );
        let built = version["build_time"].as_str().unwrap_or("unknown");
        assert!(
            built.len() >= 20 && built.ends_with('Z'),
            "{package}: build_time {built:?} is not RFC 3339 UTC"
        );
        let metrics = wait_until(Duration::from_secs(20), "build_info on /metrics", || {
            let (_, text, _) = http("GET", &format!("{url}/metrics"), None);
            text.lines()
                .find(|l| l.starts_with("build_info{") && l.contains(&commit))
                .map(str::to_owned)
                .ok_or_else(|| format!("no build_info series with {commit}"))
        });
        assert!(metrics.ends_with(" 1"), "{package}: {metrics}");
    }
}

#[test]
fn the_worker_sends_its_build_info_over_otlp() {
    let commit = head_commit();
    let receiver = FakeReceiver::start().expect("receiver");
    let bin = example_binary("hippius-worker", "hippius-worker");
    let mut env = fast_export_env();
    env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.grpc_endpoint()));
    let mut proc = Proc::spawn(&bin, &["--jobs", "3"], &env);
    receiver
        .wait_for_blocking(Duration::from_secs(60), |r| {
            !r.data_points("build.info").is_empty()
        })
        .unwrap_or_else(|e| panic!("no build.info arrived: {e}\n{}", proc.output()));
    let point = receiver.data_points("build.info").remove(0);
    assert_eq!(
        point.attributes.get("git.commit"),
        Some(&AttrValue::String(commit)),
        "{point:?}"
    );
    let _ = proc.wait_exit(Duration::from_secs(60));
}
