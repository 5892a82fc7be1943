//! Stack B's log shipping (`deploy/stack-b/alloy/config.alloy`) against the lines the SDK
//! really prints: `agenttrace-style` runs under each console schema (`TELEMETRY_LOG_SCHEMA`),
//! and the Alloy pipeline's JSON extraction is applied to its stdout. Every schema yields
//! seed 004's fields (`level` lowercase, `ts`, `msg`, `request_id`, `trace_id`); the seed's own
//! layout (`zap`) writes exactly those keys. No Alloy binary installs here, so the
//! JMESPath expressions are evaluated by the small subset below, and the test fails if the
//! config uses anything beyond that subset.
//!
//! The labels (`job`, `level`) and structured metadata (`trace_id`, `request_id`) are read
//! from the config, and the container that would print records twice (the collector's debug
//! exporter) is checked to be excluded.

mod demo_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use demo_support::{Proc, example_binary, wait_until};
use ferrotel_deploy_gen::deploy_dir;
use serde_json::Value;

fn alloy_config() -> String {
    std::fs::read_to_string(deploy_dir().join("stack-b/alloy/config.alloy")).expect("config.alloy")
}

/// The text of the first `<head> { ... }` block (braces balanced).
fn block<'a>(text: &'a str, head: &str) -> &'a str {
    let start = text
        .find(head)
        .unwrap_or_else(|| panic!("no `{head}` in config.alloy"));
    let open = start + text[start..].find('{').expect("opening brace");
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open + 1..open + i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced `{head}`");
}

/// `key = "value"` assignments of a block, `\"` unescaped.
fn assignments(block: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    // Assignments are separated by newlines or commas; no value here contains either.
    for line in block.split(['\n', ',']) {
        let line = line.trim();
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(v) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            out.insert(key.to_owned(), v.replace("\\\"", "\""));
        }
    }
    out
}

/// Evaluates the JMESPath subset the config may use: top-level identifiers, quoted
/// identifiers (`"log.level"`) and `||` (first non-null).
fn jmespath(expr: &str, doc: &Value) -> Option<String> {
    for alt in expr.split("||") {
        let alt = alt.trim();
        let key = match alt.strip_prefix('"').and_then(|a| a.strip_suffix('"')) {
            Some(quoted) => quoted,
            None => {
                assert!(
                    alt.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "`{expr}` uses JMESPath beyond what this test evaluates"
                );
                alt
            }
        };
        match doc.get(key) {
            Some(Value::String(s)) => return Some(s.clone()),
            Some(Value::Null) | None => {}
            Some(other) => return Some(other.to_string()),
        }
    }
    None
}

fn lines_of(schema: &str) -> Vec<Value> {
    let bin = example_binary("agenttrace-style", "agenttrace-style");
    let env = vec![
        ("OTEL_TRACES_EXPORTER", "none".to_owned()),
        ("OTEL_METRICS_EXPORTER", "none".to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
        ("TELEMETRY_LOG_FORMAT", "json".to_owned()),
        ("TELEMETRY_LOG_SCHEMA", schema.to_owned()),
        ("RUST_LOG", "info".to_owned()),
    ];
    let mut proc = Proc::spawn(&bin, &["--listen", "127.0.0.1:0", "--rate", "50"], &env);
    proc.wait_for_line("listening on", Duration::from_secs(60));
    // Lines from a request span (request_id, trace_id) and an error: wait, bounded.
    wait_until(
        Duration::from_secs(30),
        "a worker line with request_id",
        || {
            let text = proc.stdout.text();
            if text.contains("request_id") && (text.contains("\"error\"") || text.contains("ERROR"))
            {
                Ok(())
            } else {
                Err(format!("{} lines so far", proc.stdout.all().len()))
            }
        },
    );
    proc.sigterm();
    proc.wait_exit(Duration::from_secs(20));
    proc.stdout
        .all()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect()
}

#[test]
fn every_console_schema_yields_the_seed_fields_through_the_alloy_pipeline() {
    let config = alloy_config();
    let expressions = assignments(block(
        block(block(&config, "loki.process \"json_logs\""), "stage.json"),
        "expressions",
    ));
    for field in ["level", "ts", "msg", "caller", "request_id", "trace_id"] {
        assert!(
            expressions.contains_key(field),
            "stage.json extracts no `{field}`"
        );
    }
    let labels = assignments(block(block(&config, "stage.labels"), "values"));
    assert_eq!(
        labels.keys().collect::<Vec<_>>(),
        ["level"],
        "only low-cardinality labels from the line"
    );
    let metadata = assignments(block(block(&config, "stage.structured_metadata"), "values"));
    assert_eq!(
        metadata.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        BTreeSet::from(["request_id", "trace_id"])
    );
    assert!(
        block(&config, "stage.template").contains("ToLower"),
        "level is lowercased"
    );
    let relabel = block(&config, "discovery.relabel \"containers\"");
    assert!(relabel.contains("target_label  = \"job\""), "no job label");
    assert!(
        relabel.contains("__meta_docker_container_label_ferrotel_logs")
            && relabel.contains("action        = \"drop\""),
        "containers exporting OTLP logs are not excluded"
    );

    for schema in ["default", "zap", "ecs", "gcp"] {
        let lines = lines_of(schema);
        assert!(lines.len() > 5, "{schema}: {} JSON lines", lines.len());
        let mut levels = BTreeSet::new();
        let mut with_request = 0;
        for line in &lines {
            let get = |field: &str| jmespath(&expressions[field], line);
            let level = get("level")
                .unwrap_or_else(|| panic!("{schema}: no level in {line}"))
                .to_lowercase();
            assert!(
                matches!(
                    level.as_str(),
                    "trace" | "debug" | "info" | "warn" | "warning" | "error"
                ),
                "{schema}: level {level}"
            );
            levels.insert(level);
            let ts = get("ts").unwrap_or_else(|| panic!("{schema}: no ts in {line}"));
            assert!(
                ts.len() >= 20 && ts.as_bytes()[10] == b'T' && ts.ends_with('Z'),
                "{schema}: ts {ts} is not RFC 3339 UTC (stage.timestamp RFC3339Nano)"
            );
            assert!(
                get("msg").is_some_and(|m| !m.is_empty()),
                "{schema}: no msg in {line}"
            );
            if let Some(trace) = get("trace_id") {
                let hex = trace.rsplit('/').next().unwrap_or_default();
                assert!(
                    hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()),
                    "{schema}: trace_id {trace}"
                );
                if get("request_id").is_some() {
                    with_request += 1;
                }
            }
        }
        assert!(
            levels.contains("info") && levels.contains("error"),
            "{schema}: {levels:?}"
        );
        assert!(
            with_request > 0,
            "{schema}: no line with both request_id and trace_id"
        );
        if schema == "zap" {
            // Seed 004's documented keys, verbatim.
            let line = lines
                .iter()
                .find(|l| l.get("request_id").is_some() && l.get("trace_id").is_some())
                .expect("a request line");
            for key in ["ts", "msg", "level", "caller", "request_id", "trace_id"] {
                assert!(line.get(key).is_some(), "zap line lacks `{key}`: {line}");
            }
            let caller = line["caller"].as_str().expect("caller");
            assert!(caller.contains(".rs:"), "caller {caller}");
        }
    }
}
