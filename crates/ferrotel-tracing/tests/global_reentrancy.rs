//! Re-entrant dispatch through the *global* dispatcher.
//!
//! With a scoped dispatcher (`with_default`) tracing hands re-entrant calls the no-op
//! dispatcher, so they never reach the layer. With only a global default (as `ferrotel::init`
//! installs) they do: a field's `Debug` impl or a span processor that logs runs the layer again
//! while it is in the middle of handling another span. This file must therefore never install a
//! scoped dispatcher, and holds a single test.

use std::cell::Cell;
use std::fmt;
use std::time::Duration;

use ferrotel_tracing::{OtelSpanLayer, SpanExt as _, with_parent_context};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    InMemorySpanExporter, SdkTracerProvider, Span, SpanData, SpanProcessor,
};
use tracing_subscriber::layer::SubscriberExt as _;

thread_local! {
    static IN_PROCESSOR: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` unless this thread is already inside it (the spans `f` makes end too).
fn once_per_thread(f: impl FnOnce()) {
    if !IN_PROCESSOR.with(|busy| busy.replace(true)) {
        f();
        IN_PROCESSOR.with(|busy| busy.set(false));
    }
}

/// A processor that logs through `tracing` on start and end, without suppressing telemetry, as
/// a hand-written processor might.
#[derive(Debug)]
struct Chatty;

impl SpanProcessor for Chatty {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {
        once_per_thread(|| {
            tracing::info!("processor saw a start");
            tracing::info_span!("made in on_start").in_scope(|| {});
        });
    }

    // Only an event here: a span created *and closed* inside another span's close is never
    // removed from tracing-subscriber's registry (its close guard only clears the outermost
    // span), which keeps that span's parents open forever. That is tracing-subscriber's
    // behaviour with any layer whose `on_close` runs such code; see the crate docs.
    fn on_end(&self, _span: SpanData) {
        once_per_thread(|| {
            tracing::info!("processor saw an end");
        });
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// A field that emits an event and makes a span when formatted.
struct ChattyField;
impl fmt::Debug for ChattyField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        tracing::info!("formatting a field");
        tracing::info_span!("made while formatting").in_scope(|| tracing::info!("inside"));
        f.write_str("chatty")
    }
}

fn attr(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

#[test]
fn reentrant_dispatch_from_fields_and_processors() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(Chatty)
        .with_simple_exporter(exporter.clone())
        .build();
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(OtelSpanLayer::new(provider.tracer("global"))),
    )
    .expect("first global default");

    let remote = SpanContext::new(
        TraceId::from(0x77_u128),
        SpanId::from(0x88_u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let root = tracing::info_span!("root");
    let root_cx = root
        .otel_context()
        .expect("root")
        .span()
        .span_context()
        .clone();
    root.in_scope(|| {
        // The field is formatted after the layer took the remote parent: the spans made while
        // formatting must not steal it, and the remote parent must reach `server`.
        let server = with_parent_context(
            Context::new().with_remote_span_context(remote.clone()),
            || tracing::info_span!("server", field = ?ChattyField, late = tracing::field::Empty),
        );
        server.in_scope(|| {
            server.record("late", tracing::field::debug(&ChattyField));
            tracing::info!(value = ?ChattyField, "event with a chatty field");
            tracing::info_span!("child").in_scope(|| {});
        });
        assert_eq!(
            Context::current().span().span_context(),
            &root_cx,
            "root is current again"
        );
        Context::current()
            .span()
            .set_attribute(KeyValue::new("still.root", true));
    });
    drop(root);
    assert!(!Context::current().span().span_context().is_valid());

    provider.force_flush().expect("flush");
    let spans = exporter.get_finished_spans().expect("spans");
    let named =
        |name: &str| -> Vec<&SpanData> { spans.iter().filter(|s| s.name == name).collect() };
    let one = |name: &str| -> &SpanData {
        let found = named(name);
        assert_eq!(
            found.len(),
            1,
            "{name}: {:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        found[0]
    };
    let root = one("root");
    assert_eq!(attr(root, "still.root"), Some(Value::Bool(true)));
    let server = one("server");
    assert_eq!(server.parent_span_id, remote.span_id());
    assert_eq!(server.span_context.trace_id(), remote.trace_id());
    assert_eq!(attr(server, "field"), Some(Value::from("chatty")));
    assert_eq!(attr(server, "late"), Some(Value::from("chatty")));
    assert_eq!(one("child").parent_span_id, server.span_context.span_id());

    // Re-entrant spans really reached the layer, each with the context current at the time.
    let formatted = named("made while formatting");
    assert_eq!(
        formatted.len(),
        3,
        "creation, record and event each formatted the field"
    );
    let parents: Vec<SpanId> = formatted.iter().map(|s| s.parent_span_id).collect();
    // At creation `server` is not started yet: `root` is current. Record and event run inside
    // `server`.
    assert!(parents.contains(&root_cx.span_id()), "{parents:?}");
    assert_eq!(
        parents
            .iter()
            .filter(|p| **p == server.span_context.span_id())
            .count(),
        2
    );
    for span in &formatted {
        assert_eq!(span.events.len(), 1, "the `inside` event");
    }
    assert!(!named("made in on_start").is_empty());
    // The processor's end events reached the span current when each span ended.
    let root_events: Vec<_> = root.events.iter().map(|e| e.name.to_string()).collect();
    assert!(
        root_events.iter().any(|e| e == "processor saw an end"),
        "{root_events:?}"
    );
}
