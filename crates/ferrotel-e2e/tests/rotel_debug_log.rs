//! Rotel's `--debug-log` output: what a human (or a test) sees when rotel prints the OTLP it
//! receives instead of forwarding it.

use std::time::Duration;

use ferrotel_e2e::otlp::{Target, emit_all};
use ferrotel_e2e::{DebugSignal, Rotel};

#[test]
fn debug_log_prints_spans_metrics_and_logs() {
    let rotel = Rotel::builder()
        .debug_log(DebugSignal::Traces)
        .debug_log(DebugSignal::Metrics)
        .debug_log(DebugSignal::Logs)
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let emitted = emit_all(
        &Target::HttpProtobuf(rotel.http_endpoint()),
        "debug-log-svc",
    );
    let expected = [
        // Traces, collector "debug exporter"-like detailed format.
        "ResourceSpans #0".to_owned(),
        "-> service.name: Str(debug-log-svc)".to_owned(),
        format!("Trace ID       : {}", emitted.trace_id),
        format!("ID             : {}", emitted.child_span_id),
        format!("Parent ID      : {}", emitted.root_span_id),
        "Name           : charge-card".to_owned(),
        "-> payment.amount: Int(42)".to_owned(),
        // Metrics.
        "-> Name: orders".to_owned(),
        "-> Name: order.duration".to_owned(),
        // Logs.
        "Body: Str(payment accepted)".to_owned(),
        format!("Span ID        : {}", emitted.child_span_id),
    ];
    let output = rotel
        .wait_for_output(Duration::from_secs(30), |out| {
            expected.iter().all(|e| out.contains(e))
        })
        .unwrap_or_else(|e| {
            let missing: Vec<_> = expected
                .iter()
                .filter(|e| !rotel.output().contains(*e))
                .collect();
            panic!("missing {missing:?}: {e}")
        });
    assert!(
        !output.contains("\u{1b}["),
        "ANSI colour codes in rotel output"
    );
}
