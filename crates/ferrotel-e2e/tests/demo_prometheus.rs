//! The contextd demo's `/metrics` scraped by a real Prometheus (Debian's `prometheus`, 2.42)
//! with the bundled rules (`deploy/rules`) loaded: every catalog instrument is present with
//! its labels (closed label sets only hold allowed values), every rule loads and evaluates, an
//! alert on the demo's simulated database errors goes pending, and every dashboard query of
//! the generated dashboards that concerns instruments the demo exercises returns data (the
//! issue-7 final proof, `ferrotel_deploy_gen::harness::check_dashboards`).
//!
//! Needs `prometheus` on PATH (`apt-get install prometheus`); missing, the test fails.

mod demo_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use demo_support::{Demo, closed_port_url, fast_export_env, http, wait_until};
use ferrotel_catalog::contextd::CATALOG;
use ferrotel_deploy_gen::harness::{
    Outcome, Prometheus, PrometheusOptions, ScrapeTarget, check_dashboards,
};
use ferrotel_deploy_gen::query::Variables;
use ferrotel_deploy_gen::{Catalog, dashboards, deploy_dir, rules};
use ferrotel_meters::{InstrumentKind, LabelValues};
use serde_json::Value;

/// Prometheus label name of an OTel attribute key (dots and other characters become `_`).
fn label_name(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Labels that only appear on some outcomes (failures), so a short run may not show them.
const CONDITIONAL_LABELS: &[&str] = &["error.type"];

fn series_selector(name: &str, kind: InstrumentKind) -> String {
    match kind {
        InstrumentKind::Histogram => format!("{name}_bucket"),
        _ => name.to_owned(),
    }
}

fn assert_catalog_present(prom: &Prometheus) {
    // Every catalog instrument has series (observable gauges appear at the first scrape).
    let series: BTreeMap<&str, Vec<Value>> = wait_until(
        Duration::from_secs(30),
        "all 31 instruments scraped",
        || {
            let mut out = BTreeMap::new();
            let mut missing = Vec::new();
            for e in &CATALOG {
                let sel = series_selector(&e.descriptor.prometheus_name(), e.descriptor.kind);
                let found = prom.query(&sel).map_err(|e| e.to_string())?;
                if found.is_empty() {
                    missing.push(sel);
                }
                out.insert(e.descriptor.name, found);
            }
            if missing.is_empty() {
                Ok(out)
            } else {
                Err(format!("missing {missing:?}"))
            }
        },
    );
    for e in &CATALOG {
        let d = e.descriptor;
        let found = &series[d.name];
        for label in d.labels {
            let lname = label_name(label.key);
            let values: BTreeSet<&str> = found
                .iter()
                .filter_map(|s| s["metric"][lname.as_str()].as_str())
                .collect();
            if values.is_empty() && CONDITIONAL_LABELS.contains(&label.key) {
                continue;
            }
            assert!(
                !values.is_empty(),
                "{}: no series has label {lname}",
                d.name
            );
            if let LabelValues::Closed(allowed) = label.values {
                for v in &values {
                    assert!(
                        allowed.contains(v),
                        "{}: label {lname}={v:?} is not one of {allowed:?}",
                        d.name
                    );
                }
            }
        }
        // Never a raw path as a route: only templates.
        if d.name.starts_with("http.server") {
            for s in found {
                if let Some(route) = s["metric"]["http_route"].as_str() {
                    assert!(
                        !route.contains("checkpoint_"),
                        "raw path as http_route: {route}"
                    );
                }
            }
        }
    }
}

fn assert_rules_evaluate(prom: &Prometheus) {
    let url = format!("{}/api/v1/rules", prom.url());
    let groups: Vec<Value> = wait_until(Duration::from_secs(30), "every rule evaluated", || {
        let (status, body, _) = http("GET", &url, None);
        if status != 200 {
            return Err(format!("{status}: {body}"));
        }
        let v: Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
        let groups = v["data"]["groups"].as_array().cloned().unwrap_or_default();
        let mut pending = Vec::new();
        for g in &groups {
            for r in g["rules"].as_array().into_iter().flatten() {
                if r["health"] != "ok" {
                    return Err(format!(
                        "rule {} health {}: {}",
                        r["name"], r["health"], r["lastError"]
                    ));
                }
                if r["lastEvaluation"]
                    .as_str()
                    .is_none_or(|t| t.starts_with("0001"))
                {
                    pending.push(r["name"].to_string());
                }
            }
        }
        if groups.is_empty() {
            Err("no rule groups loaded".into())
        } else if pending.is_empty() {
            Ok(groups)
        } else {
            Err(format!("not evaluated yet: {pending:?}"))
        }
    });
    let rules: usize = groups
        .iter()
        .map(|g| g["rules"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(rules >= 20, "only {rules} rules loaded");
    // The demo's simulated vector-database errors make DatabaseErrors pending (it has `for: 5m`).
    wait_until(Duration::from_secs(30), "DatabaseErrors pending", || {
        let alerts = prom
            .query("ALERTS{alertname=\"DatabaseErrors\"}")
            .map_err(|e| e.to_string())?;
        let states: Vec<&str> = alerts
            .iter()
            .filter_map(|a| a["metric"]["alertstate"].as_str())
            .collect();
        if states.iter().any(|s| *s == "pending" || *s == "firing") {
            Ok(())
        } else {
            Err(format!("{states:?}"))
        }
    });
}

/// The SDK's failed exports and queue drops reach Prometheus with their `error_type`, and
/// TelemetryExportFailing goes pending on them (it has `for: 5m`).
fn assert_sdk_failures_visible(prom: &Prometheus) {
    for series in [
        "otel_sdk_exporter_span_exported_total{error_type=\"export_failed\"}",
        "otel_sdk_exporter_log_exported_total{error_type=\"export_failed\"}",
        "otel_sdk_processor_span_processed_total{error_type=\"queue_full\",otel_component_type=\"telemetry_admission\"}",
        "otel_sdk_processor_log_processed_total{error_type=\"queue_full\"}",
    ] {
        wait_until(Duration::from_secs(30), series, || {
            let r = prom
                .query(&format!("{series} > 0"))
                .map_err(|e| e.to_string())?;
            if r.is_empty() {
                Err(format!("{:?}", prom.query(series)))
            } else {
                Ok(())
            }
        });
    }
    // Success series stay apart from failures (no error_type) and stay at 0 here.
    let ok = prom
        .query("otel_sdk_exporter_span_exported_total{error_type=\"\"}")
        .expect("query");
    assert_eq!(ok.len(), 1, "{ok:?}");
    assert_eq!(ok[0]["value"][1], "0", "{ok:?}");
    wait_until(
        Duration::from_secs(30),
        "TelemetryExportFailing pending for spans and logs",
        || {
            let alerts = prom
                .query("ALERTS{alertname=\"TelemetryExportFailing\"}")
                .map_err(|e| e.to_string())?;
            let signals: BTreeSet<&str> = alerts
                .iter()
                .filter_map(|a| a["metric"]["signal"].as_str())
                .collect();
            if signals.contains("spans") && signals.contains("logs") {
                Ok(())
            } else {
                Err(format!("{alerts:?}"))
            }
        },
    );
}

#[test]
fn prometheus_scrapes_the_demo_rules_evaluate_and_dashboards_have_data() {
    // Metrics are pulled (/metrics from the same instruments). Spans and logs go over OTLP
    // to a port nothing listens on, with small queues: the SDK's own export-failure and
    // queue-full series appear with their error.type, as the runtime dashboard and the
    // TelemetryExportFailing alert read them.
    let mut env = fast_export_env();
    env.extend([
        ("OTEL_METRICS_EXPORTER", "none".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", closed_port_url()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "16".to_owned()),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "8".to_owned()),
        ("OTEL_BLRP_MAX_QUEUE_SIZE", "16".to_owned()),
        ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "8".to_owned()),
    ]);
    let mut demo = Demo::start(&["--rate", "40"], &env);
    let address = demo.url.trim_start_matches("http://").to_owned();
    let rules_dir = deploy_dir().join("rules");
    let prom = Prometheus::start(&PrometheusOptions {
        targets: vec![ScrapeTarget::new(&address, "/metrics")],
        rules_dir: Some(rules_dir.clone()),
        ..PrometheusOptions::default()
    })
    .unwrap_or_else(|e| panic!("starting prometheus (apt-get install prometheus): {e}"));
    prom.wait_for_targets_up(Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}\n{}", prom.log_tail()));

    assert_catalog_present(&prom);
    assert_rules_evaluate(&prom);
    assert_sdk_failures_visible(&prom);

    let all = dashboards::all(&Catalog::load()).expect("dashboards generate");
    let recording = rules::recording_rules(&rules_dir).expect("recording rules");
    let checks = check_dashboards(
        &prom,
        &all,
        &recording,
        &Variables::harness(),
        Duration::from_secs(30),
    )
    .expect("dashboard queries run");
    let failed: Vec<_> = checks.iter().filter(|c| c.failed()).collect();
    assert!(
        failed.is_empty(),
        "exercised queries without data: {failed:#?}\n{}",
        prom.log_tail()
    );
    // The demo exercises all 31 instruments: every panel of the contextd, HTTP and runtime
    // dashboards has data; the SLO dashboard too, through the recording rules.
    let mut report = String::new();
    for uid in [
        "contextd-overview",
        "contextd-testing",
        "contextd-agents-skills",
        "http-red",
        "runtime",
        "slo",
    ] {
        let of: Vec<_> = checks.iter().filter(|c| c.dashboard == uid).collect();
        assert!(!of.is_empty(), "dashboard {uid} has no queries");
        let data = of
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Data(_)))
            .count();
        report.push_str(&format!("{uid}: {data}/{} queries with data\n", of.len()));
        for c in &of {
            if !matches!(c.outcome, Outcome::Data(_)) {
                report.push_str(&format!("  {} -> {:?}\n", c.expr, c.outcome));
            }
        }
    }
    eprintln!("{report}");
    let not_exercised: Vec<_> = checks
        .iter()
        .filter(|c| {
            c.dashboard.starts_with("contextd-")
                || c.dashboard == "http-red"
                || c.dashboard == "runtime"
        })
        .filter(|c| matches!(c.outcome, Outcome::NotExercised(_)))
        .collect();
    assert!(not_exercised.is_empty(), "{report}");

    demo.proc.sigterm();
    let status = demo.proc.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "{status}");
}
