//! The configuration file's `otlp_file/development` exporter, read by a collector no one here
//! wrote: every line ferrotel writes is posted, as it is, to rotel's OTLP/HTTP JSON receiver,
//! and rotel's debug output shows the spans, metrics and logs. Needs `rotel-agent`
//! (`pip install rotel`): a missing binary fails the test.

use std::time::Duration;

use ferrotel_e2e::{DebugSignal, Rotel};
use opentelemetry::KeyValue;

#[test]
fn rotel_reads_the_otlp_file_exporters_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("telemetry.jsonl");
    let stream = format!("file://{}", out.display());
    let yaml = format!(
        "file_format: \"1.1\"\n\
         resource:\n  attributes:\n    - name: service.name\n      value: otlp-file-svc\n\
         tracer_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_file/development:\n            output_stream: {stream}\n\
         meter_provider:\n  readers:\n    - periodic:\n        exporter:\n          otlp_file/development:\n            output_stream: {stream}\n\
         logger_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_file/development:\n            output_stream: {stream}\n\
         distribution:\n  ferrotel:\n    console:\n      format: off\n"
    );
    let guard = ferrotel::builder()
        .global(false)
        .env_lookup(|_| None)
        .config_yaml(yaml)
        .init()
        .expect("init");
    tracing::dispatcher::with_default(guard.dispatch(), || {
        tracing::info_span!("archive_upload", bytes = 2048_i64).in_scope(|| {
            tracing::info!(bucket = "cold", "upload archived");
        });
    });
    guard
        .meter("otlp-file-e2e")
        .u64_counter("archives.written")
        .build()
        .add(4, &[KeyValue::new("tier", "cold")]);
    assert!(guard.shutdown().is_ok());

    let rotel = Rotel::builder()
        .debug_log(DebugSignal::Traces)
        .debug_log(DebugSignal::Metrics)
        .debug_log(DebugSignal::Logs)
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let text = std::fs::read_to_string(&out).expect("output file");
    let mut posted = 0;
    for line in text.lines() {
        let signal = if line.starts_with("{\"resourceSpans\"") {
            "traces"
        } else if line.starts_with("{\"resourceMetrics\"") {
            "metrics"
        } else if line.starts_with("{\"resourceLogs\"") {
            "logs"
        } else {
            panic!("not an OTLP request line: {line}")
        };
        let response = client
            .post(rotel.http_signal_url(signal))
            .header("content-type", "application/json")
            .body(line.to_owned())
            .send()
            .expect("post to rotel");
        assert!(
            response.status().is_success(),
            "rotel refused a {signal} line: {}",
            response.status()
        );
        posted += 1;
    }
    assert!(posted >= 3, "{posted} lines:\n{text}");
    let expected = [
        "-> service.name: Str(otlp-file-svc)",
        "Name           : archive_upload",
        "-> bytes: Int(2048)",
        "-> Name: archives.written",
        "Body: Str(upload archived)",
    ];
    rotel
        .wait_for_output(Duration::from_secs(30), |output| {
            expected.iter().all(|e| output.contains(e))
        })
        .unwrap_or_else(|e| {
            let output = rotel.output();
            let missing: Vec<_> = expected.iter().filter(|e| !output.contains(*e)).collect();
            panic!("missing {missing:?}: {e}\n{output}")
        });
}
