//! What `init` turns on by default: redaction of spans, logs and console lines; runtime metrics;
//! the `metrics` facade.
#![cfg(feature = "testing")]

use std::sync::{Arc, Mutex};

#[cfg(feature = "redaction")]
#[test]
fn secrets_are_redacted_from_spans_events_logs_and_console_by_default() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let guard = telemetry::builder()
        .in_memory()
        .env_lookup(|_| None)
        .console_format(telemetry::ConsoleFormat::Json)
        .log_filter("info,telemetry=warn")
        .console_writer(move |l| sink.lock().unwrap().push(l.to_string()))
        .init()
        .unwrap();
    // Built at run time so no real-looking secret is committed.
    let key = format!("sk-proj-{}", "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z".repeat(2));
    let url = format!("postgres://admin:{}@db.internal:5432/app", "s3cr3t-pass");
    let path = "/home/alice/projects/contextd/src/main.rs";
    tracing::dispatcher::with_default(guard.dispatch(), || {
        tracing::info_span!(
            "embed",
            api_key = key.as_str(),
            db.url = url.as_str(),
            code.file.path = path
        )
        .in_scope(|| {
            tracing::warn!(
                authorization = format!("Bearer {key}").as_str(),
                "calling {url} from {path}"
            );
        });
    });
    let captured = guard.captured();
    let span = captured.span("embed");
    let span_text = format!("{:?}", span.attributes) + &format!("{:?}", span.events);
    let logs = format!("{:?}", captured.logs());
    let console = lines.lock().unwrap().join("");
    for (what, text) in [("span", &span_text), ("logs", &logs), ("console", &console)] {
        assert!(!text.contains(&key), "{what} leaks the API key: {text}");
        assert!(
            !text.contains("s3cr3t-pass"),
            "{what} leaks the URL password: {text}"
        );
        assert!(
            !text.contains("/home/alice/"),
            "{what} leaks the home directory: {text}"
        );
        assert!(text.contains("REDACTED"), "{what}: {text}");
    }
}

#[cfg(feature = "runtime-metrics")]
#[test]
fn runtime_and_process_metrics_are_registered_by_default() {
    let (guard, _scope) = telemetry::testing::start("rt");
    let names = guard.captured().metric_names();
    for expected in [
        "process.cpu.time",
        "process.memory.usage",
        "process.thread.count",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
}

#[cfg(feature = "runtime-metrics")]
#[tokio::test(flavor = "current_thread")]
async fn tokio_runtime_metrics_are_registered_when_a_runtime_is_current() {
    let (guard, _scope) = telemetry::testing::start("rt");
    let names = guard.captured().metric_names();
    assert!(
        names.iter().any(|n| n == "tokio.runtime.alive_tasks"),
        "{names:?}"
    );
}

#[cfg(feature = "metrics-facade")]
#[test]
fn metrics_facade_calls_arrive_through_the_pipeline() {
    let (guard, _scope) = telemetry::testing::start("facade");
    let recorder = telemetry_meters::OtelRecorder::new(guard.meter("metrics"));
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("cache.hits", "cache" => "selector").increment(3);
        metrics::counter!("cache.hits", "cache" => "selector").increment(2);
    });
    let c = guard.captured();
    assert_eq!(
        c.sum(
            "cache.hits",
            &[opentelemetry::KeyValue::new("cache", "selector")]
        ),
        Some(5.0)
    );
}
