//! Exemplars on both delivery models, from the contextd demo: a real Prometheus (Debian's 2.42,
//! `--enable-feature=exemplar-storage`) scrapes the demo's OpenMetrics `/metrics` and
//! `/api/v1/query_exemplars` returns exemplars for `http_server_request_duration_seconds_bucket`
//! and for contextd's own duration histograms; every trace id returned is a trace the demo
//! exported over OTLP in the same run (checked at the fake receiver), and the OTLP histogram
//! points carry exemplars naming exported spans too.
//!
//! Needs `prometheus` on PATH (`apt-get install prometheus`); missing, the test fails.

mod demo_support;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use demo_support::{Demo, fast_export_env, http, wait_until};
use ferrotel_deploy_gen::harness::{Prometheus, PrometheusOptions, ScrapeTarget};
use ferrotel_testing::FakeReceiver;
use serde_json::Value;

const HTTP_BUCKETS: &str = "http_server_request_duration_seconds_bucket";
const CONTEXTD_BUCKETS: &str = r#"{__name__=~"contextd_.*_duration_seconds_bucket"}"#;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `/api/v1/query_exemplars` for `query` over the last ten minutes: (metric name, trace id).
fn exemplars(prom: &Prometheus, query: &str) -> Result<Vec<(String, String)>, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let url = reqwest::Url::parse_with_params(
        &format!("{}/api/v1/query_exemplars", prom.url()),
        &[
            ("query", query.to_owned()),
            ("start", (now - 600).to_string()),
            ("end", (now + 60).to_string()),
        ],
    )
    .map_err(|e| e.to_string())?;
    let (status, body, _) = http("GET", url.as_str(), None);
    if status != 200 {
        return Err(format!("{status}: {body}"));
    }
    let v: Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for series in v["data"].as_array().into_iter().flatten() {
        let name = series["seriesLabels"]["__name__"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        for e in series["exemplars"].as_array().into_iter().flatten() {
            let trace = e["labels"]["trace_id"].as_str().unwrap_or_default();
            out.push((name.clone(), trace.to_owned()));
        }
    }
    Ok(out)
}

#[test]
fn prometheus_and_otlp_exemplars_link_latency_buckets_to_exported_traces() {
    let receiver = FakeReceiver::start().expect("receiver");
    let mut env = fast_export_env();
    env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint()));
    env.push(("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()));
    let demo = Demo::start(&["--rate", "40"], &env);
    let address = demo.url.trim_start_matches("http://").to_owned();
    let prom = Prometheus::start(&PrometheusOptions {
        targets: vec![ScrapeTarget::new(&address, "/metrics")],
        extra_args: vec!["--enable-feature=exemplar-storage".to_owned()],
        ..PrometheusOptions::default()
    })
    .unwrap_or_else(|e| panic!("starting prometheus (apt-get install prometheus): {e}"));
    prom.wait_for_targets_up(Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}\n{}", prom.log_tail()));

    // Pull: both kinds of histogram have exemplars in Prometheus.
    let mut pulled = Vec::new();
    for query in [HTTP_BUCKETS, CONTEXTD_BUCKETS] {
        let found = wait_until(Duration::from_secs(40), query, || {
            match exemplars(&prom, query) {
                Ok(found) if !found.is_empty() => Ok(found),
                Ok(_) => Err(format!("no exemplars yet\n{}", prom.log_tail())),
                Err(e) => Err(e),
            }
        });
        assert!(
            found.iter().all(|(_, trace)| trace.len() == 32),
            "every exemplar names a trace: {found:?}"
        );
        pulled.extend(found);
    }
    let names: BTreeSet<&str> = pulled.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(HTTP_BUCKETS), "{names:?}");
    assert!(
        names.iter().any(|n| n.starts_with("contextd_")),
        "{names:?}"
    );

    // Every trace Prometheus links to was exported over OTLP in this run.
    let traces: BTreeSet<String> = pulled.into_iter().map(|(_, t)| t).collect();
    receiver
        .wait_for_blocking(Duration::from_secs(30), |r| {
            let exported: BTreeSet<String> = r.spans().iter().map(|s| s.trace_id()).collect();
            traces.iter().all(|t| exported.contains(t))
        })
        .unwrap_or_else(|e| {
            let exported: BTreeSet<String> =
                receiver.spans().iter().map(|s| s.trace_id()).collect();
            let missing: Vec<&String> = traces.iter().filter(|t| !exported.contains(*t)).collect();
            panic!("exemplar traces never exported: {missing:?} ({e})")
        });

    // Push: the OTLP histogram points carry exemplars naming exported spans.
    receiver
        .wait_for_blocking(Duration::from_secs(30), |r| {
            !r.data_points("http.server.request.duration")
                .iter()
                .all(|p| p.exemplars.is_empty())
        })
        .unwrap_or_else(|e| panic!("no OTLP exemplars: {e}"));
    let spans: BTreeSet<(String, String)> = receiver
        .spans()
        .iter()
        .map(|s| (s.trace_id(), s.span_id()))
        .collect();
    let pushed: Vec<(String, String)> = [
        "http.server.request.duration",
        "contextd_embedding_duration_seconds",
    ]
    .iter()
    .flat_map(|name| receiver.data_points(name))
    .flat_map(|p| p.exemplars)
    .map(|e| (hex(&e.trace_id), hex(&e.span_id)))
    .collect();
    assert!(!pushed.is_empty());
    receiver
        .wait_for_blocking(Duration::from_secs(30), |r| {
            let exported: BTreeSet<(String, String)> = r
                .spans()
                .iter()
                .map(|s| (s.trace_id(), s.span_id()))
                .collect();
            pushed.iter().all(|e| exported.contains(e))
        })
        .unwrap_or_else(|e| {
            let missing: Vec<_> = pushed.iter().filter(|e| !spans.contains(e)).collect();
            panic!("OTLP exemplars naming spans never exported: {missing:?} ({e})")
        });
    drop(demo);
}
