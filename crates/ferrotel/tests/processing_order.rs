//! Every signal is processed in one order: admission, then redaction, then value limits. A secret
//! that straddles the attribute value-length limit must be matched whole and replaced before the
//! value is cut: with the opposite order, the part of the secret below the limit would be left
//! unmatched (too short for its rule) and exported.

use std::sync::{Arc, Mutex};

use ferrotel::opentelemetry::logs::AnyValue;
use ferrotel::opentelemetry_sdk::logs::InMemoryLogExporter;
use ferrotel::opentelemetry_sdk::trace::InMemorySpanExporter;

/// A GitHub token shape the default redactor recognises (`ghp_` and 36 alphanumerics).
const SECRET: &str = "ghp_Zq3Xk9Lm2Np4Rs6Tv8Wx0Yz1Ab3Cd5Ef7Gh9";
/// The value-length limit; the secret starts 20 bytes before it, so it is cut in the middle.
const LIMIT: usize = 40;

fn straddling_value() -> String {
    format!("{} {SECRET} trailing text", "x".repeat(LIMIT - 21))
}

/// Any 8-byte piece of the secret after its prefix: none may reach an exporter.
fn leaks(text: &str) -> Option<&'static str> {
    (4..SECRET.len() - 8)
        .map(|i| &SECRET[i..i + 8])
        .find(|piece| text.contains(piece))
}

fn env(name: &str) -> Option<String> {
    match name {
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT" => Some(LIMIT.to_string()),
        "OTEL_BSP_SCHEDULE_DELAY" | "OTEL_BLRP_SCHEDULE_DELAY" => Some("10".into()),
        _ => None,
    }
}

fn builder() -> ferrotel::Builder {
    ferrotel::builder()
        .service_name("processing-order")
        .env_lookup(env)
        .exporters(&[])
        .console_format(ferrotel::ConsoleFormat::Off)
        .log_filter("info")
        .global(false)
}

fn any_to_text(v: &AnyValue) -> String {
    match v {
        AnyValue::String(s) => s.to_string(),
        other => format!("{other:?}"),
    }
}

fn check_logs(builder: ferrotel::Builder) {
    let logs = InMemoryLogExporter::default();
    let guard = builder
        .with_log_exporter(logs.clone())
        .init()
        .expect("init");
    tracing::dispatcher::with_default(guard.dispatch(), || {
        tracing::info!(note = straddling_value().as_str(), "a log record");
    });
    let _ = guard.force_flush();
    let records = logs.get_emitted_logs().expect("captured logs");
    assert_eq!(records.len(), 1, "one record exported");
    let attributes: Vec<(String, String)> = records[0]
        .record
        .attributes_iter()
        .map(|(k, v)| (k.to_string(), any_to_text(v)))
        .collect();
    let note = &attributes
        .iter()
        .find(|(k, _)| k == "note")
        .expect("the note attribute is exported")
        .1;
    assert!(note.len() <= LIMIT, "the limit applies: {note:?}");
    assert_eq!(leaks(note), None, "part of the secret leaked: {note:?}");
    assert!(
        note.contains("[REDACTED"),
        "the secret was replaced: {note:?}"
    );
    drop(guard);
}

#[test]
fn a_secret_across_the_limit_in_a_log_attribute_is_redacted_before_the_cut() {
    check_logs(builder());
}

#[test]
fn the_order_holds_when_the_application_adds_its_own_value_redactor() {
    let calls = Arc::new(Mutex::new(0usize));
    let seen = Arc::clone(&calls);
    check_logs(builder().value_redactor(Arc::new(move |_value: &str| {
        *seen.lock().unwrap() += 1;
        None
    })));
    assert!(*calls.lock().unwrap() > 0, "the application's redactor ran");
}

#[test]
fn a_secret_across_the_limit_in_a_span_attribute_is_redacted_before_the_cut() {
    let spans = InMemorySpanExporter::default();
    let guard = builder()
        .with_span_exporter(spans.clone())
        .init()
        .expect("init");
    tracing::dispatcher::with_default(guard.dispatch(), || {
        tracing::info_span!("work", note = straddling_value().as_str()).in_scope(|| {});
    });
    let _ = guard.force_flush();
    let finished = spans.get_finished_spans().expect("captured spans");
    let span = finished
        .iter()
        .find(|s| s.name == "work")
        .expect("the span");
    let note = span
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "note")
        .expect("the note attribute is exported")
        .value
        .as_str()
        .into_owned();
    assert!(note.len() <= LIMIT, "the limit applies: {note:?}");
    assert_eq!(leaks(&note), None, "part of the secret leaked: {note:?}");
    assert!(
        note.contains("[REDACTED"),
        "the secret was replaced: {note:?}"
    );
    drop(guard);
}
