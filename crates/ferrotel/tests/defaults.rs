//! What `init` turns on by default: redaction of spans, logs and console lines; runtime metrics;
//! the `metrics` facade.

use std::sync::{Arc, Mutex};

#[cfg(feature = "redaction")]
#[test]
fn secrets_are_redacted_from_spans_events_logs_and_console_by_default() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let capture = ferrotel_testing::capture::start_with(
        ferrotel::builder()
            .env_lookup(|_| None)
            .console_format(ferrotel::ConsoleFormat::Json)
            .log_filter("info,ferrotel=warn")
            .console_writer(move |l| sink.lock().unwrap().push(l.to_string())),
    );
    // Built at run time so no real-looking secret is committed.
    let key = format!("sk-proj-{}", "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z".repeat(2));
    let url = format!("postgres://admin:{}@db.internal:5432/app", "s3cr3t-pass");
    let path = "/home/alice/projects/contextd/src/main.rs";
    tracing::dispatcher::with_default(capture.guard().dispatch(), || {
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
    let captured = capture;
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
    let capture = ferrotel_testing::capture::start("rt");
    let names = capture.metric_names();
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
    let capture = ferrotel_testing::capture::start("rt");
    let names = capture.metric_names();
    assert!(
        names.iter().any(|n| n == "tokio.runtime.alive_tasks"),
        "{names:?}"
    );
}

#[cfg(feature = "metrics-facade")]
#[test]
fn metrics_facade_calls_arrive_through_the_pipeline() {
    let capture = ferrotel_testing::capture::start("facade");
    let recorder = ferrotel_meters::OtelRecorder::new(capture.guard().meter("metrics"));
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("cache.hits", "cache" => "selector").increment(3);
        metrics::counter!("cache.hits", "cache" => "selector").increment(2);
    });
    let c = capture;
    assert_eq!(
        c.counter_sum("cache.hits", &[("cache", "selector".into())]),
        Some(5.0)
    );
}

/// Redaction runs inside every exporting pipeline, after admission and before value limits: a
/// secret is matched whole before truncation could cut it (a cut secret may no longer look like
/// one), and a processor wrapper from `wrap_span_processors` does not bypass it.
#[cfg(feature = "redaction")]
#[test]
fn spans_are_redacted_before_truncation_and_behind_span_wrappers() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug)]
    struct Counting(ferrotel::BoxedSpanProcessor, Arc<AtomicUsize>);
    impl opentelemetry_sdk::trace::SpanProcessor for Counting {
        fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &opentelemetry::Context) {
            self.0.on_start(span, cx);
        }
        fn on_end(&self, span: opentelemetry_sdk::trace::SpanData) {
            self.1.fetch_add(1, Ordering::Relaxed);
            self.0.on_end(span);
        }
        fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
            self.0.force_flush()
        }
        fn shutdown_with_timeout(
            &self,
            timeout: std::time::Duration,
        ) -> opentelemetry_sdk::error::OTelSdkResult {
            self.0.shutdown_with_timeout(timeout)
        }
    }

    let wrapped = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&wrapped);
    let capture = ferrotel_testing::capture::start_with(
        ferrotel::builder()
            .env_lookup(|name| (name == "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT").then(|| "40".into()))
            .console_format(ferrotel::ConsoleFormat::Off)
            .wrap_span_processors(move |inner| {
                ferrotel::BoxedSpanProcessor::new(Counting(inner, Arc::clone(&seen)))
            }),
    );
    // The password sits across the 40-character limit: truncating first would leave
    // "postgres://admin:hunter2-hunter2-hunte", which no longer looks like a URL credential.
    let url = format!(
        "postgres://admin:{}@db.internal:5432/app",
        "hunter2-".repeat(4)
    );
    tracing::dispatcher::with_default(capture.guard().dispatch(), || {
        tracing::info_span!("connect", db.url = url.as_str()).in_scope(|| {});
    });
    let span = capture.span("connect");
    let value = ferrotel_testing::capture::attribute(&span, "db.url")
        .expect("db.url is exported")
        .as_str()
        .into_owned();
    assert!(!value.contains("hunter2"), "secret leaked: {value}");
    assert!(value.starts_with("postgres://"), "{value}");
    assert!(value.chars().count() <= 40, "{value}");
    assert_eq!(
        wrapped.load(Ordering::Relaxed),
        1,
        "the wrapper saw the span"
    );
}

/// Every report of the configuration shows the resource as it is sent: redacted.
#[cfg(feature = "redaction")]
#[test]
fn configuration_reports_mask_resource_secrets() {
    let password = format!("{}-{}", "s3cr3t", "pass");
    let key = format!("sk-proj-{}", "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z".repeat(2));
    let attributes = format!("db.url=postgres://admin:{password}@db:5432/app,note={key}");
    let capture = ferrotel_testing::capture::start_with(
        ferrotel::builder()
            .console_format(ferrotel::ConsoleFormat::Off)
            .env_lookup(move |name| {
                (name == "OTEL_RESOURCE_ATTRIBUTES").then(|| attributes.clone())
            }),
    );
    let shown = capture.guard().config().to_string();
    assert!(shown.contains("db.url"), "{shown}");
    assert!(!shown.contains(&password), "{shown}");
    assert!(!shown.contains(&key), "{shown}");
    let debug = format!("{:?}", capture.guard().config());
    assert!(
        !debug.contains(&password) && !debug.contains(&key),
        "{debug}"
    );
}

/// Without a redactor, URL credentials in resource values are still masked in `Display`.
#[test]
fn configuration_display_masks_url_credentials_without_redaction() {
    let password = format!("{}-{}", "hunter", "two");
    let attributes = format!("db.url=postgres://admin:{password}@db:5432/app");
    let builder = ferrotel::builder()
        .console_format(ferrotel::ConsoleFormat::Off)
        .env_lookup(move |name| (name == "OTEL_RESOURCE_ATTRIBUTES").then(|| attributes.clone()));
    #[cfg(feature = "redaction")]
    let builder = builder.without_redaction();
    let capture = ferrotel_testing::capture::start_with(builder);
    let shown = capture.guard().config().to_string();
    assert!(shown.contains("postgres://***@db:5432/app"), "{shown}");
    assert!(!shown.contains(&password), "{shown}");
}

/// The settings that used to panic (capacity overflow) or reserve gigabytes start in bounded
/// time and memory, clamped.
#[test]
fn init_survives_huge_queue_sizes() {
    let max = u64::MAX.to_string();
    let capture = ferrotel_testing::capture::start_with(
        ferrotel::builder()
            .console_format(ferrotel::ConsoleFormat::Off)
            .env_lookup(move |name| match name {
                "OTEL_BSP_MAX_QUEUE_SIZE" | "OTEL_BLRP_MAX_QUEUE_SIZE" => Some(max.clone()),
                "OTEL_EXPORTER_OTLP_TIMEOUT" => Some(max.clone()),
                _ => None,
            }),
    );
    let config = capture.guard().config();
    assert_eq!(config.span_batch.max_queue_size, 65_536);
    assert_eq!(config.log_batch.max_queue_size, 65_536);
    tracing::info_span!("still_works").in_scope(|| {});
    assert_eq!(capture.spans_named("still_works").len(), 1);
}
