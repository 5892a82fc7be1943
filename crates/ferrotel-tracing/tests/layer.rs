//! The layer against the SDK's in-memory exporter: what each `tracing` construct becomes.

use ferrotel_tracing::{OtelSpanLayer, SpanExt as _, with_parent_context};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    TracerProvider as _,
};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, Sampler, SdkTracerProvider, SpanData};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

struct Harness {
    provider: SdkTracerProvider,
    exporter: InMemorySpanExporter,
    dispatch: tracing::Dispatch,
}

impl Harness {
    fn new() -> Self {
        Self::with(Sampler::AlwaysOn, |l| l, None)
    }

    fn with(
        sampler: Sampler,
        configure: impl FnOnce(
            OtelSpanLayer<tracing_subscriber::Registry, opentelemetry_sdk::trace::SdkTracer>,
        ) -> OtelSpanLayer<
            tracing_subscriber::Registry,
            opentelemetry_sdk::trace::SdkTracer,
        >,
        filter: Option<&str>,
    ) -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_sampler(sampler)
            .with_simple_exporter(exporter.clone())
            .build();
        let layer = configure(OtelSpanLayer::new(provider.tracer("test")));
        let filter = EnvFilter::new(filter.unwrap_or("trace"));
        let dispatch =
            tracing::Dispatch::new(tracing_subscriber::registry().with(layer.with_filter(filter)));
        Self {
            provider,
            exporter,
            dispatch,
        }
    }

    fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        tracing::dispatcher::with_default(&self.dispatch, f)
    }

    fn spans(&self) -> Vec<SpanData> {
        self.provider.force_flush().expect("flush");
        self.exporter.get_finished_spans().expect("spans")
    }

    fn span(&self, name: &str) -> SpanData {
        let spans = self.spans();
        spans
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("no span {name} in {:?}", names(&spans)))
    }
}

fn names(spans: &[SpanData]) -> Vec<String> {
    spans.iter().map(|s| s.name.to_string()).collect()
}

fn attr(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

fn remote(trace: u128, span: u64) -> Context {
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(trace),
        SpanId::from(span),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ))
}

#[test]
fn nested_spans_keep_parents_attributes_and_otel_fields() {
    let h = Harness::new();
    h.run(|| {
        let outer = tracing::info_span!(
            "outer",
            otel.name = "GET /items/{id}",
            otel.kind = "server",
            count = 3_u64,
            huge = u64::MAX,
            ratio = 0.5,
            ok = true,
            who = "alice",
            shape = ?(1, 2),
        );
        outer.in_scope(|| {
            tracing::info_span!(
                "inner",
                otel.status_code = "error",
                otel.status_description = "boom"
            )
            .in_scope(|| {});
        });
    });
    let outer = h.span("GET /items/{id}");
    let inner = h.span("inner");
    assert_eq!(outer.span_kind, SpanKind::Server);
    assert_eq!(inner.span_kind, SpanKind::Internal);
    assert_eq!(inner.parent_span_id, outer.span_context.span_id());
    assert_eq!(inner.span_context.trace_id(), outer.span_context.trace_id());
    assert_eq!(outer.parent_span_id, SpanId::INVALID);
    assert_eq!(attr(&outer, "count"), Some(Value::I64(3)));
    assert_eq!(
        attr(&outer, "huge"),
        Some(Value::from(u64::MAX.to_string()))
    );
    assert_eq!(attr(&outer, "ratio"), Some(Value::F64(0.5)));
    assert_eq!(attr(&outer, "ok"), Some(Value::Bool(true)));
    assert_eq!(attr(&outer, "who"), Some(Value::from("alice")));
    assert_eq!(attr(&outer, "shape"), Some(Value::from("(1, 2)")));
    assert_eq!(
        attr(&outer, "otel.kind"),
        None,
        "control fields are not attributes"
    );
    assert_eq!(inner.status, Status::error("boom"));
}

#[test]
fn the_entered_span_is_the_current_opentelemetry_context() {
    let h = Harness::new();
    let (inside, after) = h.run(|| {
        let span = tracing::info_span!("work");
        let inside = span.in_scope(|| {
            let cx = Context::current();
            // OpenTelemetry API calls reach the span.
            cx.span().set_attribute(KeyValue::new("via.api", 1));
            cx.span().span_context().clone()
        });
        let after = Context::current().span().span_context().clone();
        (inside, after)
    });
    let work = h.span("work");
    assert_eq!(inside, work.span_context);
    assert!(!after.is_valid(), "exit restores the previous context");
    assert_eq!(attr(&work, "via.api"), Some(Value::I64(1)));
}

#[test]
fn a_parent_context_given_before_creation_continues_a_remote_trace() {
    let h = Harness::new();
    h.run(|| {
        let unrelated = tracing::info_span!("unrelated");
        let _g = unrelated.enter();
        let server = with_parent_context(
            remote(0xabc, 0x11),
            || tracing::info_span!(parent: None, "server"),
        );
        server.in_scope(|| tracing::info_span!("child").in_scope(|| {}));
        // The slot is consumed: the next root span starts a new trace.
        tracing::info_span!(parent: None, "next root").in_scope(|| {});
    });
    let server = h.span("server");
    assert_eq!(server.span_context.trace_id(), TraceId::from(0xabc_u128));
    assert_eq!(server.parent_span_id, SpanId::from(0x11_u64));
    assert!(server.parent_span_is_remote);
    let child = h.span("child");
    assert_eq!(child.parent_span_id, server.span_context.span_id());
    let next = h.span("next root");
    assert_ne!(next.span_context.trace_id(), TraceId::from(0xabc_u128));
    assert_eq!(next.parent_span_id, SpanId::INVALID);
}

#[test]
fn an_unconsumed_parent_does_not_leak_to_a_later_span() {
    let h = Harness::with(Sampler::AlwaysOn, |l| l, Some("info"));
    h.run(|| {
        // A debug span is filtered out of the layer, so nothing takes the parent.
        let _disabled = with_parent_context(
            remote(0xdead, 0x1),
            || tracing::debug_span!(parent: None, "x"),
        );
        tracing::info_span!(parent: None, "later").in_scope(|| {});
    });
    assert_ne!(
        h.span("later").span_context.trace_id(),
        TraceId::from(0xdead_u128)
    );
}

#[test]
fn explicit_parents_win_over_the_current_span() {
    let h = Harness::new();
    h.run(|| {
        let a = tracing::info_span!("a");
        let b = tracing::info_span!("b");
        b.in_scope(|| tracing::info_span!(parent: &a, "child of a").in_scope(|| {}));
    });
    assert_eq!(
        h.span("child of a").parent_span_id,
        h.span("a").span_context.span_id()
    );
}

#[test]
fn filtered_out_spans_are_skipped_in_the_parent_chain() {
    let h = Harness::with(Sampler::AlwaysOn, |l| l, Some("info"));
    h.run(|| {
        tracing::info_span!("top").in_scope(|| {
            tracing::debug_span!("hidden").in_scope(|| {
                tracing::info_span!("leaf").in_scope(|| {});
            })
        })
    });
    assert_eq!(names(&h.spans()).len(), 2);
    assert_eq!(
        h.span("leaf").parent_span_id,
        h.span("top").span_context.span_id()
    );
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
fn events_become_span_events_and_errors_mark_the_span() {
    let h = Harness::new();
    h.run(|| {
        tracing::info!("outside any span");
        tracing::info_span!("op").in_scope(|| {
            tracing::info!(n = 1_u64, "step one");
            let err = Failure;
            tracing::error!(error = &err as &(dyn std::error::Error + 'static), "failed");
        });
    });
    let op = h.span("op");
    let events: Vec<_> = op.events.iter().collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].name, "step one");
    let attrs = &events[0].attributes;
    assert!(attrs.contains(&KeyValue::new("level", "INFO")));
    assert!(attrs.contains(&KeyValue::new("n", 1_i64)));
    assert!(attrs.iter().any(|kv| kv.key.as_str() == "target"));
    assert_eq!(events[1].name, "exception");
    assert!(
        events[1]
            .attributes
            .contains(&KeyValue::new("exception.message", "disk full"))
    );
    assert!(matches!(op.status, Status::Error { .. }));
}

#[test]
fn span_events_can_be_turned_off() {
    let h = Harness::with(Sampler::AlwaysOn, |l| l.with_span_events(false), None);
    h.run(|| tracing::info_span!("op").in_scope(|| tracing::info!("ignored")));
    assert!(h.span("op").events.is_empty());
}

#[test]
fn recorded_fields_update_the_started_span() {
    let h = Harness::new();
    h.run(|| {
        let span = tracing::info_span!(
            "HTTP request",
            http.response.status_code = tracing::field::Empty,
            otel.name = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        span.record("http.response.status_code", 503_i64);
        span.record("otel.name", "GET /late");
        span.record("otel.status_code", "error");
    });
    let span = h.span("GET /late");
    assert_eq!(
        attr(&span, "http.response.status_code"),
        Some(Value::I64(503))
    );
    assert!(matches!(span.status, Status::Error { .. }));
}

#[test]
fn follows_from_becomes_a_link() {
    let h = Harness::new();
    h.run(|| {
        let cause = tracing::info_span!("cause");
        let effect = tracing::info_span!(parent: None, "effect");
        effect.follows_from(&cause);
    });
    let cause = h.span("cause");
    let effect = h.span("effect");
    assert_eq!(effect.links.links.len(), 1);
    assert_eq!(effect.links.links[0].span_context, cause.span_context);
}

#[test]
fn span_ext_returns_the_exported_span_context() {
    let h = Harness::new();
    let seen = h.run(|| {
        let span = tracing::info_span!("looked up");
        span.otel_context()
            .map(|cx| cx.span().span_context().clone())
    });
    assert_eq!(seen, Some(h.span("looked up").span_context));
    // No layer in the current subscriber: nothing to look up.
    let none = tracing::subscriber::with_default(tracing_subscriber::registry(), || {
        tracing::info_span!("plain").otel_context()
    });
    assert!(none.is_none());
}

#[test]
fn suppressed_contexts_create_no_spans() {
    let h = Harness::new();
    h.run(|| {
        let _suppressed = Context::enter_telemetry_suppressed_scope();
        tracing::info_span!("from an exporter").in_scope(|| {});
    });
    assert!(h.spans().is_empty());
}

#[test]
fn sampled_out_spans_still_carry_a_context_for_propagation() {
    let h = Harness::with(Sampler::AlwaysOff, |l| l, None);
    let (outer, inner) = h.run(|| {
        tracing::info_span!("outer").in_scope(|| {
            let outer = Context::current().span().span_context().clone();
            let inner = tracing::info_span!("inner")
                .in_scope(|| Context::current().span().span_context().clone());
            (outer, inner)
        })
    });
    assert!(h.spans().is_empty());
    assert!(outer.is_valid() && !outer.is_sampled());
    assert_eq!(inner.trace_id(), outer.trace_id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instrumented_futures_parent_their_children_on_any_thread() {
    use tracing::Instrument as _;
    let h = Harness::new();
    let dispatch = h.dispatch.clone();
    let task = async {
        let request = tracing::info_span!("request");
        async {
            for i in 0..4 {
                tokio::task::yield_now().await;
                tracing::info_span!("step", i).in_scope(|| {});
            }
        }
        .instrument(request)
        .await;
    };
    tokio::spawn(tracing::dispatcher::with_default(&dispatch, || {
        tracing::instrument::WithSubscriber::with_subscriber(task, dispatch.clone())
    }))
    .await
    .expect("task");
    let request = h.span("request");
    let steps: Vec<_> = h.spans().into_iter().filter(|s| s.name == "step").collect();
    assert_eq!(steps.len(), 4);
    for step in steps {
        assert_eq!(step.parent_span_id, request.span_context.span_id());
    }
}

#[test]
fn in_layer_targets_skip_spans_and_events_without_registry_filters() {
    let targets: tracing_subscriber::filter::Targets = "info,noisy=off".parse().expect("targets");
    let h = Harness::with(
        Sampler::AlwaysOn,
        |l| l.with_targets(targets),
        Some("trace"),
    );
    h.run(|| {
        tracing::info_span!("top").in_scope(|| {
            tracing::debug!("below the level");
            tracing::info_span!(target: "noisy", "muted").in_scope(|| {
                tracing::info_span!("leaf").in_scope(|| tracing::info!("kept"));
            });
        });
    });
    let spans = h.spans();
    assert_eq!(names(&spans).len(), 2, "{:?}", names(&spans));
    let top = h.span("top");
    assert!(
        top.events.is_empty(),
        "debug event filtered: {:?}",
        top.events
    );
    let leaf = h.span("leaf");
    assert_eq!(leaf.parent_span_id, top.span_context.span_id());
    assert_eq!(leaf.events.len(), 1);
}

#[test]
fn an_explicit_parent_filtered_out_hands_over_to_its_nearest_started_ancestor() {
    let targets: tracing_subscriber::filter::Targets = "info".parse().expect("targets");
    let h = Harness::with(
        Sampler::AlwaysOn,
        |l| l.with_targets(targets),
        Some("trace"),
    );
    h.run(|| {
        let request = tracing::info_span!("request");
        let batch = request.in_scope(|| tracing::debug_span!("batch"));
        // Created outside `request`, with the filtered-out `batch` as its explicit parent.
        tracing::info_span!(parent: &batch, "item").in_scope(|| {});
    });
    assert_eq!(
        h.span("item").parent_span_id,
        h.span("request").span_context.span_id()
    );
}
