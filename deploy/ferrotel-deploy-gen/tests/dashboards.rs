//! Every dashboard query parses (promql-parser, and Debian's promtool 2.42 through a rules
//! file built from the queries) and names only catalog instruments with their labels, the
//! stack's recording rules, or series the stack produces itself (`up`, `ALERTS`...).

mod common;

use std::collections::BTreeSet;

use ferrotel_deploy_gen::catalog::STACK_SERIES;
use ferrotel_deploy_gen::query::{Variables, instantiate};
use ferrotel_deploy_gen::{Catalog, dashboards, promql, rules};

fn all_queries() -> Vec<(String, String, String)> {
    let catalog = Catalog::load();
    let mut out = Vec::new();
    for d in dashboards::all(&catalog).expect("dashboards") {
        for p in d.panels() {
            assert!(
                !p.targets.is_empty(),
                "{} / {} has no query",
                d.uid,
                p.title
            );
            for t in &p.targets {
                out.push((d.uid.clone(), p.title.clone(), t.expr.clone()));
            }
        }
    }
    out
}

#[test]
fn every_query_names_only_catalog_instruments_and_their_labels() {
    let catalog = Catalog::load();
    let recording = rules::recording_rules(&common::deploy().join("rules")).expect("rules");
    let vars = Variables::default();
    let queries = all_queries();
    assert!(queries.len() > 80, "{} queries", queries.len());
    for (uid, panel, expr) in queries {
        let plain = instantiate(&expr, &vars);
        assert!(
            !plain.contains('$'),
            "{uid} / {panel}: unknown Grafana variable in {expr}"
        );
        let selected =
            promql::selected_series(&plain).unwrap_or_else(|e| panic!("{uid} / {panel}: {e}"));
        assert!(!selected.is_empty(), "{uid} / {panel}: selects nothing");
        for s in selected {
            if let Some(inst) = catalog.instrument_of_series(&s.name) {
                for l in &s.labels {
                    assert!(
                        inst.has_label(l),
                        "{uid} / {panel}: {} has no label `{l}`",
                        s.name
                    );
                }
            } else if recording.contains_key(&s.name) {
                for l in &s.labels {
                    assert_eq!(l, "job", "{uid} / {panel}: recording rules keep only `job`");
                }
            } else {
                assert!(
                    STACK_SERIES.contains(&s.name.as_str()),
                    "{uid} / {panel}: `{}` is neither a catalog instrument, a recording rule nor a stack series",
                    s.name
                );
            }
        }
    }
}

#[test]
fn every_query_parses_with_promtool() {
    // Each query becomes a recording rule; `promtool check rules` parses it with Prometheus'
    // own parser (2.42 here).
    let mut yaml = String::from("groups:\n  - name: dashboard-queries\n    rules:\n");
    let queries = all_queries();
    for (i, (_, _, expr)) in queries.iter().enumerate() {
        let plain = instantiate(expr, &Variables::default());
        yaml.push_str(&format!(
            "      - record: dashboard:query_{i}\n        expr: {}\n",
            serde_json::to_string(&plain).expect("json string is a YAML string")
        ));
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("queries.rules.yml"), yaml).expect("write");
    let out = common::run_ok(
        "promtool",
        &["check", "rules", "queries.rules.yml"],
        tmp.path(),
    );
    assert!(
        out.contains(&format!("SUCCESS: {} rules found", queries.len())),
        "{out}"
    );
}

#[test]
fn every_contextd_catalog_instrument_has_a_panel() {
    let catalog = Catalog::load();
    let vars = Variables::default();
    let mut seen = BTreeSet::new();
    for (_, _, expr) in all_queries() {
        for s in promql::selected_series(&instantiate(&expr, &vars)).expect("parses") {
            if let Some(i) = catalog.instrument_of_series(&s.name) {
                seen.insert(i.prometheus_name.clone());
            }
        }
    }
    let missing: Vec<String> = catalog
        .instruments()
        .filter(|i| i.source == "contextd catalog")
        .map(|i| i.prometheus_name.clone())
        .filter(|n| !seen.contains(n))
        .collect();
    assert_eq!(
        catalog
            .instruments()
            .filter(|i| i.source == "contextd catalog")
            .count(),
        31
    );
    assert!(
        missing.is_empty(),
        "catalog instruments without a panel: {missing:?}"
    );
}

#[test]
fn dashboards_use_the_provisioned_datasource_and_unique_uids() {
    let catalog = Catalog::load();
    let all = dashboards::all(&catalog).expect("dashboards");
    let uids: BTreeSet<&str> = all.iter().map(|d| d.uid.as_str()).collect();
    assert_eq!(uids.len(), all.len());
    for stack in ["stack-a", "stack-b"] {
        let ds = std::fs::read_to_string(
            common::deploy()
                .join(stack)
                .join("grafana/datasources.yaml"),
        )
        .expect("datasources.yaml");
        let doc: serde_yaml::Value = serde_yaml::from_str(&ds).expect("yaml");
        let metrics = doc["datasources"]
            .as_sequence()
            .expect("datasources")
            .iter()
            .find(|d| {
                d["uid"].as_str() == Some(ferrotel_deploy_gen::grafana::METRICS_DATASOURCE_UID)
            })
            .unwrap_or_else(|| panic!("{stack} provisions no `metrics` datasource"));
        assert_eq!(metrics["type"].as_str(), Some("prometheus"));
        assert_eq!(metrics["isDefault"].as_bool(), Some(true));
        // Grafana expands $VAR in provisioning files: literal `$` must be `$$`.
        for line in ds
            .lines()
            .filter(|l| l.contains('$') && !l.trim_start().starts_with('#'))
        {
            let bare = line.replace("$$", "");
            assert!(
                !bare.contains('$'),
                "{stack} datasources.yaml: unescaped `$` in {line}"
            );
        }
    }
    for d in &all {
        let json = d.to_json();
        for p in json["panels"].as_array().expect("panels") {
            if p["type"] != "row" {
                assert_eq!(
                    p["datasource"]["uid"], "metrics",
                    "{} / {}",
                    d.uid, p["title"]
                );
            }
        }
    }
}

#[test]
fn builders_reject_unknown_instruments_labels_and_kinds() {
    use ferrotel_deploy_gen::query::Metric;
    let catalog = Catalog::load();
    assert!(catalog.get("contextd_not_an_instrument_total").is_err());
    let calls = Metric::new(
        catalog
            .get("contextd_mcp_tool_calls_total")
            .expect("catalog"),
    );
    assert!(calls.rate(&[], &["tool_name"]).is_ok());
    assert!(calls.rate(&[], &["user_id"]).is_err());
    assert!(calls.rate(&[("le", "=", "1")], &[]).is_err());
    assert!(calls.quantile(0.95, &[], &[]).is_err());
    let gauge = Metric::new(catalog.get("contextd_checkpoints_total").expect("catalog"));
    assert!(
        gauge.rate(&[], &[]).is_err(),
        "a gauge named *_total is not a counter"
    );
}

#[test]
fn latency_panels_draw_exemplars_and_seed_003_has_its_trace_links_row() {
    let all = dashboards::all(&Catalog::load()).expect("dashboards");
    let mut latency_targets = 0;
    for d in &all {
        let json = d.to_json();
        for panel in json["panels"].as_array().into_iter().flatten() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                let expr = target["expr"].as_str().unwrap_or_default();
                let bucket_series = panel["type"] == "timeseries" && expr.contains("_bucket");
                assert_eq!(
                    target["exemplar"] == true,
                    bucket_series,
                    "{} / {}: {expr}",
                    d.uid,
                    panel["title"]
                );
                latency_targets += usize::from(bucket_series);
            }
        }
    }
    assert!(
        latency_targets >= 10,
        "only {latency_targets} latency queries"
    );
    let execution = all
        .iter()
        .find(|d| d.uid == "automation-execution")
        .expect("seed 003 execution dashboard")
        .to_json();
    let panels = execution["panels"].as_array().expect("panels");
    let row = panels
        .iter()
        .position(|p| p["type"] == "row" && p["title"] == "Debugging")
        .expect("a Debugging row");
    let links = &panels[row + 1];
    assert_eq!(links["title"], "Trace ID links");
    assert_eq!(links["targets"][0]["exemplar"], true);
}
