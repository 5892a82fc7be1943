//! The log bridge against the SDK's in-memory log exporter: what each `tracing` event becomes.

use ferrotel_tracing::{LogBridge, OtelSpanLayer};
use opentelemetry::logs::{AnyValue, LoggerProvider as _, Severity};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::logs::{
    InMemoryLogExporter, SdkLogRecord, SdkLoggerProvider, SimpleLogProcessor,
};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SimpleSpanProcessor};
use tracing_subscriber::layer::SubscriberExt as _;

struct Harness {
    logs: InMemoryLogExporter,
    spans: InMemorySpanExporter,
    dispatch: tracing::Dispatch,
    _providers: (SdkLoggerProvider, SdkTracerProvider),
}

impl Harness {
    fn new(targets: Option<&str>) -> Self {
        let logs = InMemoryLogExporter::default();
        let spans = InMemorySpanExporter::default();
        let logger_provider = SdkLoggerProvider::builder()
            .with_log_processor(SimpleLogProcessor::new(logs.clone()))
            .build();
        let tracer_provider = SdkTracerProvider::builder()
            .with_span_processor(SimpleSpanProcessor::new(spans.clone()))
            .build();
        let mut bridge = LogBridge::new(logger_provider.logger("test"));
        if let Some(t) = targets {
            bridge = bridge.with_targets(t.parse().expect("valid directives"));
        }
        let subscriber = tracing_subscriber::registry()
            .with(OtelSpanLayer::new(tracer_provider.tracer("test")).with_span_events(false))
            .with(bridge);
        Self {
            logs,
            spans,
            dispatch: tracing::Dispatch::new(subscriber),
            _providers: (logger_provider, tracer_provider),
        }
    }

    fn run(&self, f: impl FnOnce()) {
        tracing::dispatcher::with_default(&self.dispatch, f);
    }

    fn records(&self) -> Vec<SdkLogRecord> {
        self.logs
            .get_emitted_logs()
            .expect("in-memory logs")
            .into_iter()
            .map(|l| l.record)
            .collect()
    }
}

fn attribute<'a>(record: &'a SdkLogRecord, key: &str) -> Option<&'a AnyValue> {
    record
        .attributes_iter()
        .find(|(k, _)| k.as_str() == key)
        .map(|(_, v)| v)
}

#[derive(Debug)]
struct Failure;
impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("disk full")
    }
}
impl std::error::Error for Failure {}

#[test]
fn fields_severity_and_target_are_mapped_with_their_types() {
    let h = Harness::new(None);
    h.run(|| {
        let error: &(dyn std::error::Error + 'static) = &Failure;
        tracing::warn!(
            target: "checkout",
            user = "ada",
            attempt = 2_i64,
            items = 3_u64,
            huge = u64::MAX,
            ratio = 0.5,
            retry = true,
            shape = ?(1, 2),
            error,
            "payment {} declined",
            "card"
        );
    });
    let records = h.records();
    assert_eq!(records.len(), 1, "{records:?}");
    let r = &records[0];
    assert_eq!(r.body(), Some(&AnyValue::from("payment card declined")));
    assert_eq!(r.severity_number(), Some(Severity::Warn));
    assert_eq!(r.severity_text(), Some("WARN"));
    assert_eq!(r.target().map(|t| t.as_ref()), Some("checkout"));
    assert!(r.event_name().is_some_and(|n| n.starts_with("event ")));
    assert!(r.timestamp().is_some());
    assert_eq!(attribute(r, "user"), Some(&AnyValue::from("ada")));
    assert_eq!(attribute(r, "attempt"), Some(&AnyValue::Int(2)));
    assert_eq!(attribute(r, "items"), Some(&AnyValue::Int(3)));
    assert_eq!(
        attribute(r, "huge"),
        Some(&AnyValue::from(u64::MAX.to_string()))
    );
    assert_eq!(attribute(r, "ratio"), Some(&AnyValue::Double(0.5)));
    assert_eq!(attribute(r, "retry"), Some(&AnyValue::Boolean(true)));
    assert_eq!(attribute(r, "shape"), Some(&AnyValue::from("(1, 2)")));
    assert_eq!(attribute(r, "error"), Some(&AnyValue::from("disk full")));
    assert_eq!(
        r.attributes_iter().count(),
        8,
        "the message is the body, not an attribute"
    );
}

#[test]
fn records_carry_the_trace_and_span_ids_of_the_entered_span() {
    let h = Harness::new(None);
    h.run(|| {
        tracing::info!("outside");
        tracing::info_span!("request").in_scope(|| tracing::info!("inside"));
    });
    let records = h.records();
    assert_eq!(records.len(), 2, "{records:?}");
    assert!(records[0].trace_context().is_none(), "no span was current");
    let spans = h.spans.get_finished_spans().expect("in-memory spans");
    let request = spans
        .iter()
        .find(|s| s.name == "request")
        .expect("span exported");
    let cx = records[1].trace_context().expect("trace context set");
    assert_eq!(cx.trace_id, request.span_context.trace_id());
    assert_eq!(cx.span_id, request.span_context.span_id());
}

#[test]
fn values_are_mapped_whole_without_redaction_or_truncation() {
    let h = Harness::new(None);
    let long = "x".repeat(100_000);
    let token = format!("Bearer {}", "a1B2c3D4e5F6g7H8".repeat(3));
    h.run(|| {
        tracing::info!(
            payload = long.as_str(),
            authorization = token.as_str(),
            "{long}"
        );
    });
    let records = h.records();
    let r = &records[0];
    assert_eq!(attribute(r, "payload"), Some(&AnyValue::from(long.clone())));
    assert_eq!(attribute(r, "authorization"), Some(&AnyValue::from(token)));
    assert_eq!(r.body(), Some(&AnyValue::from(long)));
}

/// Panics whenever it is formatted.
struct Bad;
impl std::fmt::Debug for Bad {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        panic!("Debug of Bad")
    }
}
impl std::fmt::Display for Bad {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        panic!("Display of Bad")
    }
}
impl std::error::Error for Bad {}

#[test]
fn panicking_values_become_the_marker_and_the_caller_goes_on() {
    let h = Harness::new(None);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        h.run(|| {
            tracing::info!(debugged = ?Bad, displayed = %Bad, "fields");
            tracing::info!(error = &Bad as &(dyn std::error::Error + 'static), "error");
            tracing::info!("message {}", Bad);
            tracing::info!(n = 1, "after");
        })
    }));
    assert!(outcome.is_ok(), "a panic reached the caller");
    let marker = AnyValue::from(ferrotel_tracing::FORMAT_PANIC_MARKER);
    let records = h.records();
    assert_eq!(records.len(), 4);
    assert_eq!(attribute(&records[0], "debugged"), Some(&marker));
    assert_eq!(attribute(&records[0], "displayed"), Some(&marker));
    assert_eq!(attribute(&records[1], "error"), Some(&marker));
    assert_eq!(records[2].body(), Some(&marker));
    assert_eq!(attribute(&records[3], "n"), Some(&AnyValue::Int(1)));
}

#[test]
fn the_target_filter_selects_events() {
    let h = Harness::new(Some("info,noisy=off"));
    h.run(|| {
        tracing::info!("kept");
        tracing::debug!("below the level");
        tracing::error!(target: "noisy", "turned off");
        tracing::warn!(target: "noisy::child", "turned off too");
        tracing::warn!(target: "other", "kept too");
    });
    let bodies: Vec<String> = h
        .records()
        .iter()
        .filter_map(|r| r.body().map(|b| format!("{b:?}")))
        .collect();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(
        bodies[0].contains("kept") && bodies[1].contains("kept too"),
        "{bodies:?}"
    );
}
