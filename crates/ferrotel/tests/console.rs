//! Console output: JSON lines with top-level trace ids, redaction of every line, filters.

use std::sync::{Arc, Mutex};

use ferrotel::ConsoleFormat;

fn capture(
    format: ConsoleFormat,
    filter: &str,
) -> (ferrotel_testing::capture::Capture, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let capture = ferrotel_testing::capture::start_with(
        ferrotel::builder()
            .service_name("console-test")
            .env_lookup(|_| None)
            .console_format(format)
            .log_filter(filter)
            .console_writer(move |line| sink.lock().unwrap().push(line.to_string()))
            .value_redactor(Arc::new(|v: &str| {
                v.contains("hunter2")
                    .then(|| v.replace("hunter2", "[REDACTED]"))
            })),
    );
    (capture, lines)
}

#[test]
fn json_lines_carry_trace_and_span_ids_at_top_level() {
    let (capture, lines) = capture(ConsoleFormat::Json, "info,ferrotel=warn");
    tracing::dispatcher::with_default(capture.guard().dispatch(), || {
        tracing::info!("no span here");
        tracing::info_span!("request", request_id = "r-42").in_scope(|| {
            tracing::info!(status = 200_u64, "handled");
        });
    });
    let span = capture.span("request");
    let lines = lines.lock().unwrap().clone();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let outside: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert!(outside.get("trace_id").is_none());
    let inside: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(inside["message"], "handled");
    assert_eq!(inside["level"], "INFO");
    assert_eq!(inside["status"], 200);
    assert_eq!(
        inside["request_id"], "r-42",
        "span fields are flattened: {inside}"
    );
    assert_eq!(inside["span"], "request");
    assert_eq!(inside["service"], "console-test");
    assert_eq!(inside["trace_id"], span.span_context.trace_id().to_string());
    assert_eq!(inside["span_id"], span.span_context.span_id().to_string());
    assert!(inside["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn every_console_format_is_redacted() {
    for format in [
        ConsoleFormat::Json,
        ConsoleFormat::Pretty,
        ConsoleFormat::Compact,
    ] {
        let (capture, lines) = capture(format, "info");
        tracing::dispatcher::with_default(capture.guard().dispatch(), || {
            tracing::info!(password = "hunter2", "login with hunter2");
        });
        let text = lines.lock().unwrap().join("");
        assert!(text.contains("login with"), "{format:?}: {text}");
        assert!(!text.contains("hunter2"), "{format:?}: {text}");
        // The exported log record is redacted as well.
        let logs = capture.logs();
        let log = logs.iter().find(|l| l.body.contains("login")).unwrap();
        assert_eq!(log.body, "login with [REDACTED]");
        assert!(
            log.attributes
                .contains(&("password".into(), "[REDACTED]".into()))
        );
    }
}

#[test]
fn http_request_spans_survive_a_restrictive_filter() {
    let (capture, lines) = capture(ConsoleFormat::Json, "warn");
    tracing::dispatcher::with_default(capture.guard().dispatch(), || {
        tracing::info_span!(target: ferrotel::HTTP_SPAN_TARGET, "GET /items/{id}").in_scope(|| {
            tracing::info_span!("dropped_by_filter").in_scope(|| {});
            tracing::info!("info event filtered from the console");
        });
    });
    let names: Vec<String> = capture.spans().iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names, vec!["GET /items/{id}".to_string()]);
    assert!(lines.lock().unwrap().is_empty());
}
