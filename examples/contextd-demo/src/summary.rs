//! What the demo emitted, counted locally, and the end-of-run summary.
//!
//! Spans and log records are counted by processors added to the SDK pipelines (the span
//! counter runs after the exporting processors and sees every ended span; the log counter
//! sees every record entering the exporting pipeline). Compare them with `guard.stats()`
//! (exported, failed, dropped) or with what a collector received.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ferrotel::{SignalStats, Stats};
use ferrotel_catalog::contextd::CATALOG;
use opentelemetry::Context;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use serde_json::{Value, json};

/// Spans and log records emitted by this process.
#[derive(Debug, Default)]
pub struct Emitted {
    spans: AtomicU64,
    logs: AtomicU64,
}

impl Emitted {
    /// Spans ended so far.
    pub fn spans(&self) -> u64 {
        self.spans.load(Ordering::Relaxed)
    }

    /// Log records emitted so far.
    pub fn logs(&self) -> u64 {
        self.logs.load(Ordering::Relaxed)
    }
}

/// Counts ended spans.
#[derive(Debug)]
pub struct SpanCounter(pub Arc<Emitted>);

impl SpanProcessor for SpanCounter {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}
    fn on_end(&self, _span: SpanData) {
        self.0.spans.fetch_add(1, Ordering::Relaxed);
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// Counts emitted log records.
#[derive(Debug)]
pub struct LogCounter(pub Arc<Emitted>);

impl LogProcessor for LogCounter {
    fn emit(&self, _record: &mut SdkLogRecord, _scope: &InstrumentationScope) {
        self.0.logs.fetch_add(1, Ordering::Relaxed);
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
}

/// Catalog instruments (OTel names) present in a Prometheus text exposition, and those absent.
pub fn catalog_coverage(exposition: &str) -> (Vec<&'static str>, Vec<&'static str>) {
    let families: std::collections::HashSet<&str> = exposition
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut present = Vec::new();
    let mut missing = Vec::new();
    for entry in &CATALOG {
        let d = entry.descriptor;
        // A family that exists but has no sample is not "emitted": require a sample line.
        let prom = d.prometheus_name();
        let has_sample = families.contains(prom.as_str())
            && exposition
                .lines()
                .any(|l| !l.starts_with('#') && l.starts_with(prom.as_str()));
        if has_sample {
            present.push(d.name);
        } else {
            missing.push(d.name);
        }
    }
    (present, missing)
}

fn signal_json(emitted: Option<u64>, s: &SignalStats) -> Value {
    json!({
        "emitted": emitted,
        "exported": s.exported,
        "failed": s.failed,
        "dropped": s.dropped,
        "in_flight": s.in_flight,
    })
}

/// The summary as JSON.
pub fn stats_json(emitted: &Emitted, stats: &Stats) -> Value {
    json!({
        "spans": signal_json(Some(emitted.spans()), &stats.spans),
        "metric_points": signal_json(None, &stats.metric_points),
        "logs": signal_json(Some(emitted.logs()), &stats.logs),
    })
}

fn line(name: &str, emitted: Option<u64>, s: &SignalStats) -> String {
    let emitted = emitted.map_or_else(|| "-".to_owned(), |n| n.to_string());
    format!(
        "  {name:<14} {emitted:>9} {:>9} {:>9} {:>9}",
        s.exported, s.failed, s.dropped
    )
}

/// Prints the human-readable summary on stdout.
pub fn print(summary: &Value, emitted: &Emitted, stats: &Stats) {
    let mut out = String::new();
    out.push_str("\n=== contextd-demo summary ===\n");
    out.push_str(&format!(
        "ran {:.1}s, stopped by {}; load generator: {} requests sent, {} ok, {} 4xx, {} 5xx (simulated database errors), {} failed\n",
        summary["run"]["seconds"].as_f64().unwrap_or(0.0),
        summary["run"]["stopped_by"].as_str().unwrap_or("?"),
        summary["load"]["sent"], summary["load"]["ok"], summary["load"]["client_errors"],
        summary["load"]["server_errors"], summary["load"]["transport_errors"],
    ));
    out.push_str("telemetry            emitted  exported    failed   dropped\n");
    out.push_str(&line("spans", Some(emitted.spans()), &stats.spans));
    out.push('\n');
    out.push_str(&line("metric points", None, &stats.metric_points));
    out.push('\n');
    out.push_str(&line("log records", Some(emitted.logs()), &stats.logs));
    out.push('\n');
    if let Some(endpoints) = summary["export"]["endpoints"].as_object() {
        out.push_str("sent to (OTLP):\n");
        for (signal, target) in endpoints {
            out.push_str(&format!(
                "  {signal:<8} {}\n",
                target.as_str().unwrap_or("")
            ));
        }
    }
    out.push_str(&format!(
        "also served: Prometheus exposition at {}/metrics\n",
        summary["run"]["url"].as_str().unwrap_or("")
    ));
    let present = summary["instruments"]["emitted"].as_array();
    let missing = summary["instruments"]["missing"].as_array();
    out.push_str(&format!(
        "catalog instruments with data: {}/{}\n",
        present.map_or(0, Vec::len),
        CATALOG.len()
    ));
    if let Some(names) = present {
        for chunk in names.chunks(3) {
            let names: Vec<&str> = chunk.iter().filter_map(Value::as_str).collect();
            out.push_str(&format!("  {}\n", names.join(", ")));
        }
    }
    if let Some(names) = missing.filter(|m| !m.is_empty()) {
        out.push_str(&format!("  MISSING: {names:?}\n"));
    }
    if stats.spans.failed + stats.logs.failed + stats.metric_points.failed > 0 {
        out.push_str(
            "export failures: is a collector listening? (docker compose -f deploy/stack-a/docker-compose.yml up)\n",
        );
    }
    println!("{out}");
}

/// Writes the JSON summary to `path`.
pub fn write_json(path: &Path, summary: &Value) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(summary).map_err(std::io::Error::other)?;
    std::fs::write(path, text)
}
