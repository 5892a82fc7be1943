//! Console output: JSON lines with top-level trace ids in each schema, redaction of every line,
//! filters.

use std::sync::{Arc, Mutex};

use ferrotel::{ConsoleFormat, ConsoleSchema};

fn capture(
    format: ConsoleFormat,
    filter: &str,
) -> (ferrotel_testing::capture::Capture, Arc<Mutex<Vec<String>>>) {
    capture_with(format, ConsoleSchema::Default, filter)
}

fn capture_with(
    format: ConsoleFormat,
    schema: ConsoleSchema,
    filter: &str,
) -> (ferrotel_testing::capture::Capture, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let capture = ferrotel_testing::capture::start_with(
        ferrotel::builder()
            .service_name("console-test")
            .env_lookup(|_| None)
            .console_format(format)
            .console_schema(schema)
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

#[test]
fn each_console_schema_names_the_keys_of_json_lines() {
    // (schema, time, level key and value, message, target, service, trace id, span id)
    let schemas = [
        (
            ConsoleSchema::Default,
            [
                "timestamp",
                "level",
                "WARN",
                "message",
                "target",
                "service",
                "trace_id",
                "span_id",
            ],
        ),
        (
            ConsoleSchema::Zap,
            [
                "ts", "level", "warn", "msg", "logger", "service", "trace_id", "span_id",
            ],
        ),
        (
            ConsoleSchema::Ecs,
            [
                "@timestamp",
                "log.level",
                "warn",
                "message",
                "log.logger",
                "service.name",
                "trace.id",
                "span.id",
            ],
        ),
        (
            ConsoleSchema::GoogleCloud,
            [
                "time",
                "severity",
                "WARNING",
                "message",
                "target",
                "service",
                "logging.googleapis.com/trace",
                "logging.googleapis.com/spanId",
            ],
        ),
    ];
    for (
        schema,
        [
            time,
            level_key,
            level,
            message,
            target,
            service,
            trace_id,
            span_id,
        ],
    ) in schemas
    {
        let (capture, lines) = capture_with(ConsoleFormat::Json, schema, "info,ferrotel=warn");
        // The line of the `warn!` below, whose location the schemas with a caller show.
        let line_no = line!() + 3;
        tracing::dispatcher::with_default(capture.guard().dispatch(), || {
            tracing::info_span!("request", request_id = "req-123").in_scope(|| {
                tracing::warn!(status = 503_u64, "upstream slow");
            });
        });
        let span = capture.span("request");
        let lines = lines.lock().unwrap().clone();
        assert_eq!(lines.len(), 1, "{schema:?}: {lines:?}");
        let json: serde_json::Value = serde_json::from_str(&lines[0])
            .unwrap_or_else(|e| panic!("{schema:?}: {e}: {}", lines[0]));
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert!(
            json[time].as_str().unwrap().ends_with('Z'),
            "{schema:?}: {json}"
        );
        assert_eq!(json[level_key], level, "{schema:?}: {json}");
        assert_eq!(json[message], "upstream slow", "{schema:?}: {json}");
        assert_eq!(json[target], "console", "{schema:?}: {json}");
        assert_eq!(json[service], "console-test", "{schema:?}: {json}");
        assert_eq!(
            json[trace_id],
            span.span_context.trace_id().to_string(),
            "{schema:?}"
        );
        assert_eq!(
            json[span_id],
            span.span_context.span_id().to_string(),
            "{schema:?}"
        );
        // A span field of the application is a top-level key under every schema.
        assert_eq!(json["request_id"], "req-123", "{schema:?}: {json}");
        assert_eq!(json["status"], 503, "{schema:?}: {json}");
        let file = file!();
        match schema {
            ConsoleSchema::Default => {
                assert_eq!(json["span"], "request");
                let origin = [
                    "caller",
                    "log.origin.file.name",
                    "logging.googleapis.com/sourceLocation",
                ];
                assert!(!keys.iter().any(|k| origin.contains(k)), "{json}");
            }
            ConsoleSchema::Zap => {
                assert_eq!(json["caller"], format!("{file}:{line_no}"), "{json}");
            }
            ConsoleSchema::Ecs => {
                assert_eq!(json["log.origin.file.name"], file, "{json}");
                assert_eq!(json["log.origin.file.line"], line_no, "{json}");
                assert!(
                    json["ecs.version"].as_str().unwrap().starts_with("8."),
                    "{json}"
                );
                assert!(json.get("span").is_none(), "{json}");
            }
            ConsoleSchema::GoogleCloud => {
                let location = &json["logging.googleapis.com/sourceLocation"];
                assert_eq!(location["file"], file, "{json}");
                assert_eq!(location["line"], line_no.to_string(), "{json}");
                assert_eq!(json["logging.googleapis.com/trace_sampled"], true, "{json}");
            }
            _ => unreachable!("{schema:?}"),
        }
        let default_keys = ["timestamp", "level", "trace_id", "span_id"];
        if schema != ConsoleSchema::Default {
            for key in default_keys
                .iter()
                .filter(|k| ![time, level_key, trace_id, span_id].contains(k))
            {
                assert!(json.get(key).is_none(), "{schema:?} writes {key}: {json}");
            }
        }
    }
}
