//! Adversarial inputs and unusual-but-legal `tracing` usage: panics inside field formatting and
//! in other layers, re-entrant dispatch, recursive and concurrent entry, nested dispatchers,
//! suppression, a shut down provider, deep nesting, huge values, and per-layer filters against
//! `with_targets`.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Barrier;

use ferrotel_tracing::{OtelSpanLayer, SpanExt as _, with_parent_context};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use opentelemetry::{Context, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracer, SdkTracerProvider, SpanData};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::{EnvFilter, Layer as _, Registry};

type SpanLayer = OtelSpanLayer<Registry, SdkTracer>;

struct Harness {
    provider: SdkTracerProvider,
    exporter: InMemorySpanExporter,
    dispatch: tracing::Dispatch,
}

impl Harness {
    /// The layer on a bare registry: every span is enabled.
    fn new() -> Self {
        Self::build(|layer| tracing::Dispatch::new(tracing_subscriber::registry().with(layer)))
    }

    /// The layer behind a per-layer `EnvFilter`.
    fn per_layer_filter(directives: &str) -> Self {
        let filter = EnvFilter::new(directives);
        Self::build(|layer| {
            tracing::Dispatch::new(tracing_subscriber::registry().with(layer.with_filter(filter)))
        })
    }

    /// The layer with its own `Targets` check.
    fn in_layer_targets(directives: &str) -> Self {
        let targets: Targets = directives.parse().expect("targets");
        Self::build(|layer| {
            tracing::Dispatch::new(tracing_subscriber::registry().with(layer.with_targets(targets)))
        })
    }

    fn build(make: impl FnOnce(SpanLayer) -> tracing::Dispatch) -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let dispatch = make(OtelSpanLayer::new(provider.tracer("edge")));
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
        let mut found = spans.iter().filter(|s| s.name == name);
        let span = found
            .next()
            .unwrap_or_else(|| panic!("no span {name} in {:?}", names(&spans)))
            .clone();
        assert!(found.next().is_none(), "span {name} exported twice");
        span
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

fn current_span_context() -> SpanContext {
    Context::current().span().span_context().clone()
}

fn assert_no_current_span() {
    let current = current_span_context();
    assert!(
        !current.is_valid(),
        "a span is still current after every span was exited: {current:?}"
    );
}

/// A `Debug` value that panics when formatted.
struct PanicsWhenFormatted;
impl fmt::Debug for PanicsWhenFormatted {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("formatting a field failed")
    }
}

/// Silences the default panic message of the panics these tests provoke on purpose.
fn quietly<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    catch_unwind(AssertUnwindSafe(f))
}

#[test]
fn a_panicking_field_becomes_the_marker_and_later_spans_still_parent_correctly() {
    let h = Harness::new();
    let outer_cx = h.run(|| {
        let outer = tracing::info_span!("outer");
        let outer_cx = outer
            .otel_context()
            .expect("outer")
            .span()
            .span_context()
            .clone();
        let _outer = outer.enter();
        // At creation, in `record` of an entered span, and in an event: the layer formats each
        // value panic-safely, so nothing reaches the caller.
        let caught = quietly(|| {
            tracing::info_span!("bad", field = ?PanicsWhenFormatted).in_scope(|| {});
        });
        assert!(
            caught.is_ok(),
            "a panic in a field's Debug reached the caller"
        );
        assert_eq!(current_span_context(), outer_cx);
        let recorded = tracing::info_span!("recorded", late = tracing::field::Empty);
        let caught = quietly(|| {
            recorded.in_scope(|| {
                recorded.record("late", tracing::field::debug(&PanicsWhenFormatted));
            })
        });
        assert!(caught.is_ok());
        let caught =
            quietly(|| recorded.in_scope(|| tracing::info!(value = ?PanicsWhenFormatted, "event")));
        assert!(caught.is_ok());
        assert_eq!(current_span_context(), outer_cx);
        drop(recorded);
        tracing::info_span!("after").in_scope(|| {});
        outer_cx
    });
    let marker = Some(Value::from(ferrotel_tracing::FORMAT_PANIC_MARKER));
    assert_eq!(attr(&h.span("bad"), "field"), marker);
    let recorded = h.span("recorded");
    assert_eq!(attr(&recorded, "late"), marker);
    assert_eq!(recorded.events.len(), 1);
    let event_value = recorded.events[0]
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "value")
        .map(|kv| kv.value.clone());
    assert_eq!(event_value, marker);
    assert_eq!(h.span("after").parent_span_id, outer_cx.span_id());
    assert_eq!(recorded.parent_span_id, outer_cx.span_id());
    h.run(assert_no_current_span);
}

/// A layer, stacked after ours, that panics while the span named `bad` is created: another
/// layer's failure, which unwinds after our layer took the next parent.
struct PanicsOnBadSpans;
impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for PanicsOnBadSpans {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if attrs.metadata().name() == "bad" {
            panic!("another layer failed")
        }
    }
}

#[test]
fn a_panic_inside_with_parent_context_does_not_leak_the_parent_to_later_spans() {
    let h = Harness::build(|layer| {
        tracing::Dispatch::new(
            tracing_subscriber::registry()
                .with(layer)
                .with(PanicsOnBadSpans),
        )
    });
    h.run(|| {
        // The host panics before any span takes the parent (a handler failing early); a server
        // catches the panic and the thread goes on serving.
        let caught = quietly(|| {
            with_parent_context(remote(0xbad, 0x1), || {
                panic!("handler failed before creating its span")
            })
        });
        assert!(caught.is_err());
        tracing::info_span!(parent: None, "next request").in_scope(|| {});

        // Same with the panic raised while the span is created, after our layer took the
        // parent (the unwinding skips the restore of an outer parent).
        let caught = quietly(|| {
            with_parent_context(remote(0xbad2, 0x2), || {
                with_parent_context(remote(0xbad3, 0x3), || tracing::info_span!("bad"))
            })
        });
        assert!(caught.is_err());
        tracing::info_span!(parent: None, "third request").in_scope(|| {});
    });
    for name in ["next request", "third request"] {
        let span = h.span(name);
        assert_eq!(
            span.parent_span_id,
            SpanId::INVALID,
            "{name} got the parent of a failed with_parent_context call"
        );
        assert!(!span.parent_span_is_remote, "{name}");
    }
}

/// A `Debug` value that emits an event and creates, enters and closes a span when formatted.
struct Chatty;
impl fmt::Debug for Chatty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        tracing::info!("formatting chatty");
        tracing::info_span!("made while formatting").in_scope(|| tracing::info!("inside"));
        f.write_str("chatty")
    }
}

#[test]
fn fields_that_dispatch_while_being_visited_do_not_deadlock_or_corrupt_state() {
    let h = Harness::new();
    h.run(|| {
        let outer =
            tracing::info_span!("outer", at_creation = ?Chatty, later = tracing::field::Empty);
        outer.in_scope(|| {
            outer.record("later", tracing::field::debug(&Chatty));
            tracing::info!(value = ?Chatty, "event with chatty field");
            tracing::info_span!("child").in_scope(|| {});
        });
        assert_no_current_span();
    });
    let outer = h.span("outer");
    assert_eq!(attr(&outer, "at_creation"), Some(Value::from("chatty")));
    assert_eq!(attr(&outer, "later"), Some(Value::from("chatty")));
    assert_eq!(h.span("child").parent_span_id, outer.span_context.span_id());
    // With a scoped dispatcher tracing drops re-entrant dispatch; the global-dispatcher case is
    // in tests/global_reentrancy.rs. Either way nothing else may appear.
    for span in h.spans() {
        assert!(
            ["outer", "child", "made while formatting"].contains(&span.name.as_ref()),
            "{}",
            span.name
        );
    }
}

#[test]
fn thirty_two_fields_and_huge_values_are_kept() {
    let h = Harness::new();
    let huge = "x".repeat(4 * 1024 * 1024);
    h.run(|| {
        let span = tracing::info_span!(
            "wide",
            f00 = 0,
            f01 = 1,
            f02 = 2,
            f03 = 3,
            f04 = 4,
            f05 = 5,
            f06 = 6,
            f07 = 7,
            f08 = 8,
            f09 = 9,
            f10 = 10,
            f11 = 11,
            f12 = 12,
            f13 = 13,
            f14 = 14,
            f15 = 15,
            f16 = 16,
            f17 = 17,
            f18 = 18,
            f19 = 19,
            f20 = 20,
            f21 = 21,
            f22 = 22,
            f23 = 23,
            f24 = 24,
            f25 = 25,
            f26 = 26,
            f27 = 27,
            f28 = 28,
            f29 = 29,
            f30 = 30,
            big = huge.as_str(),
        );
        span.in_scope(|| tracing::info!(big = huge.as_str(), "huge event"));
    });
    let wide = h.span("wide");
    for i in 0..31_i64 {
        assert_eq!(attr(&wide, &format!("f{i:02}")), Some(Value::I64(i)));
    }
    assert_eq!(attr(&wide, "big"), Some(Value::from(huge.clone())));
    assert_eq!(wide.events.len(), 1);
}

#[test]
fn a_span_entered_recursively_restores_each_level() {
    let h = Harness::new();
    h.run(|| {
        let a = tracing::info_span!("a");
        let b = tracing::info_span!("b");
        let a_cx = a.otel_context().expect("a").span().span_context().clone();
        let b_cx = b.otel_context().expect("b").span().span_context().clone();
        let g1 = a.enter();
        let g2 = b.enter();
        let g3 = a.enter();
        assert_eq!(current_span_context(), a_cx);
        tracing::info_span!("in a again").in_scope(|| {});
        // Dropping the outermost guard first: tracing exits the innermost entry of `a`.
        drop(g1);
        assert_eq!(current_span_context(), b_cx);
        tracing::info_span!("in b").in_scope(|| {});
        drop(g2);
        assert_eq!(current_span_context(), a_cx);
        drop(g3);
        assert_no_current_span();
    });
    let a = h.span("a");
    let b = h.span("b");
    assert_eq!(
        h.span("in a again").parent_span_id,
        a.span_context.span_id()
    );
    assert_eq!(h.span("in b").parent_span_id, b.span_context.span_id());
}

#[test]
fn out_of_order_exits_restore_the_remaining_innermost_span() {
    let h = Harness::new();
    h.run(|| {
        let a = tracing::info_span!("a");
        let b = tracing::info_span!("b");
        let c = tracing::info_span!("c");
        let ga = a.clone().entered();
        let gb = b.clone().entered();
        let gc = c.clone().entered();
        drop(gb);
        assert_eq!(
            current_span_context(),
            c.otel_context().expect("c").span().span_context().clone()
        );
        drop(gc);
        assert_eq!(
            current_span_context(),
            a.otel_context().expect("a").span().span_context().clone()
        );
        tracing::info_span!("after").in_scope(|| {});
        drop(ga);
        assert_no_current_span();
    });
    assert_eq!(
        h.span("after").parent_span_id,
        h.span("a").span_context.span_id()
    );
}

#[test]
fn a_span_entered_on_two_threads_at_once_is_current_on_both() {
    let h = Harness::new();
    h.run(|| {
        let shared = tracing::info_span!("shared");
        let barrier = Barrier::new(2);
        std::thread::scope(|scope| {
            for t in 0..2 {
                let (shared, barrier, dispatch) = (&shared, &barrier, &h.dispatch);
                scope.spawn(move || {
                    tracing::dispatcher::with_default(dispatch, || {
                        let entered = shared.enter();
                        barrier.wait();
                        tracing::info_span!("child", t).in_scope(|| {});
                        barrier.wait();
                        drop(entered);
                        assert_no_current_span();
                    })
                });
            }
        });
    });
    let shared = h.span("shared");
    let children: Vec<_> = h
        .spans()
        .into_iter()
        .filter(|s| s.name == "child")
        .collect();
    assert_eq!(children.len(), 2);
    for child in children {
        assert_eq!(child.parent_span_id, shared.span_context.span_id());
    }
}

#[test]
fn span_none_and_suppressed_spans_leave_no_trace() {
    let h = Harness::new();
    h.run(|| {
        let none = tracing::Span::none();
        assert!(none.otel_context().is_none());
        none.in_scope(|| {
            assert_no_current_span();
            tracing::info_span!("under none").in_scope(|| {});
        });
        {
            let _suppressed = Context::enter_telemetry_suppressed_scope();
            let quiet = tracing::info_span!("suppressed");
            assert!(quiet.otel_context().is_none());
            quiet.in_scope(|| tracing::info_span!("suppressed child").in_scope(|| {}));
            // Suppression also wins over a parent given with `with_parent_context`.
            with_parent_context(
                remote(0x5, 0x6),
                || tracing::info_span!(parent: None, "suppressed remote child"),
            )
            .in_scope(|| {});
        }
        // The parent given inside the suppressed scope was consumed, not kept for later.
        tracing::info_span!(parent: None, "after").in_scope(|| {});
    });
    let spans = h.spans();
    assert_eq!(names(&spans), ["under none", "after"]);
    assert_eq!(h.span("under none").parent_span_id, SpanId::INVALID);
    assert_eq!(h.span("after").parent_span_id, SpanId::INVALID);
}

#[test]
fn a_shut_down_provider_yields_no_spans_and_no_errors() {
    let h = Harness::new();
    let (before, after) = h.run(|| {
        let before = tracing::info_span!("started before shutdown");
        h.provider.shutdown().expect("shutdown");
        let span = tracing::info_span!("late", n = 1);
        let cx = span.otel_context().expect("a context is still stored");
        assert!(!cx.span().span_context().is_valid());
        span.in_scope(|| {
            span.record("n", 2);
            tracing::info!("event");
            tracing::error!("error event");
            tracing::info_span!("late child").in_scope(|| {});
            before.follows_from(&span);
        });
        before.in_scope(|| tracing::info_span!("child of the started span").in_scope(|| {}));
        assert_no_current_span();
        (before.otel_context(), span.otel_context())
    });
    assert!(before.is_some() && after.is_some());
    assert!(h.exporter.is_shutdown_called());
    assert!(h.exporter.get_finished_spans().expect("spans").is_empty());
}

#[test]
fn ten_thousand_nested_spans_neither_overflow_nor_leak() {
    const DEPTH: usize = 10_000;
    let h = Harness::new();
    h.run(|| {
        let mut entered = Vec::with_capacity(DEPTH);
        for depth in 0..DEPTH {
            entered.push(tracing::info_span!("nested", depth).entered());
        }
        // Exit and close innermost first, so no close cascades through the parents.
        while let Some(span) = entered.pop() {
            drop(span.exit());
        }
        assert_no_current_span();
    });
    let spans = h.spans();
    assert_eq!(spans.len(), DEPTH);
    let by_depth = |depth: i64| {
        spans
            .iter()
            .find(|s| attr(s, "depth") == Some(Value::I64(depth)))
            .expect("depth")
    };
    let (top, deepest) = (by_depth(0), by_depth(DEPTH as i64 - 1));
    assert_eq!(top.parent_span_id, SpanId::INVALID);
    assert_eq!(deepest.span_context.trace_id(), top.span_context.trace_id());
    assert_eq!(
        deepest.parent_span_id,
        by_depth(DEPTH as i64 - 2).span_context.span_id()
    );
}

/// Two subscribers on one thread (a scoped one inside a global or another scoped one, as in
/// tests and in libraries) give out the same span ids. Exiting a span the inner layer did not
/// start must not detach the outer layer's span that has the same id.
#[test]
fn nested_dispatchers_with_colliding_span_ids_keep_their_own_contexts() {
    let outer = Harness::new();
    let inner = Harness::in_layer_targets("info,skipped=off");
    outer.run(|| {
        let a = tracing::info_span!("outer a");
        let a_cx = a.otel_context().expect("a").span().span_context().clone();
        let _a = a.enter();
        inner.run(|| {
            // The inner registry's first span gets the same id as `a`, and the layer skips it.
            let skipped = tracing::info_span!(target: "skipped", "skipped");
            assert_eq!(skipped.id(), a.id(), "ids collide across registries");
            skipped.in_scope(|| {});
            assert_eq!(current_span_context(), a_cx, "outer span still current");
        });
        tracing::info_span!("outer child").in_scope(|| {});
    });
    assert_eq!(
        outer.span("outer child").parent_span_id,
        outer.span("outer a").span_context.span_id()
    );
}

/// The same program through a per-layer `EnvFilter` and through `with_targets` exports the same
/// spans with the same parent structure and events.
#[test]
fn per_layer_filters_and_in_layer_targets_agree() {
    fn program() {
        tracing::info_span!("top").in_scope(|| {
            tracing::debug!("dropped by level");
            tracing::info!("kept");
            tracing::debug_span!("debug level").in_scope(|| {
                tracing::info_span!("under debug").in_scope(|| tracing::info!("kept too"));
            });
            tracing::info_span!(target: "noisy", "muted").in_scope(|| {
                tracing::info!(target: "noisy", "muted event");
                tracing::warn_span!(target: "noisy::loud", "loud").in_scope(|| {});
            });
        });
    }
    fn shape(h: &Harness) -> Vec<(String, Option<String>, usize)> {
        let spans = h.spans();
        let mut shape: Vec<_> = spans
            .iter()
            .map(|s| {
                let parent = spans
                    .iter()
                    .find(|p| p.span_context.span_id() == s.parent_span_id)
                    .map(|p| p.name.to_string());
                (s.name.to_string(), parent, s.events.len())
            })
            .collect();
        shape.sort();
        shape
    }
    let directives = "info,noisy=off,noisy::loud=warn";
    let filtered = Harness::per_layer_filter(directives);
    let targets = Harness::in_layer_targets(directives);
    filtered.run(program);
    targets.run(program);
    let expected = vec![
        ("loud".to_owned(), Some("top".to_owned()), 0),
        ("top".to_owned(), None, 1),
        ("under debug".to_owned(), Some("top".to_owned()), 1),
    ];
    assert_eq!(shape(&filtered), expected);
    assert_eq!(shape(&targets), expected);
}

/// A thread that ends while a span is still entered on it (a leaked guard) must not abort the
/// process when its thread-locals are destroyed.
#[test]
fn a_thread_exiting_with_a_span_still_entered_does_not_abort() {
    let h = Harness::new();
    let span = h.run(|| tracing::info_span!("leaked entry"));
    let leaked = span
        .otel_context()
        .expect("cx")
        .span()
        .span_context()
        .clone();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            tracing::dispatcher::with_default(&h.dispatch, || {
                // The thread-local stacks still hold the entry when the thread exits.
                std::mem::forget(span.enter());
                tracing::info_span!("inside").in_scope(|| {});
            })
        });
    });
    drop(span);
    assert_eq!(h.span("inside").parent_span_id, leaked.span_id());
}

/// Two OpenTelemetry layers in one subscriber (say, two providers with different exporters):
/// span extensions hold one value per type, and inserting a second one panics, so each layer
/// must keep its own context without crashing the host, and end its own span exactly once.
#[test]
fn two_layers_in_one_subscriber_each_export_their_spans() {
    let first = Harness::new();
    let second = Harness::new();
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(OtelSpanLayer::new(first.provider.tracer("first")))
            .with(OtelSpanLayer::new(second.provider.tracer("second"))),
    );
    let (outer_cx, parent_span) = tracing::dispatcher::with_default(&dispatch, || {
        let parent = tracing::info_span!("parent");
        // `SpanExt` answers for the outermost layer.
        let cx = parent
            .otel_context()
            .expect("cx")
            .span()
            .span_context()
            .clone();
        parent.in_scope(|| tracing::info_span!("child").in_scope(|| {}));
        tracing::info_span!(parent: &parent, "explicit child").in_scope(|| {});
        (cx, parent)
    });
    drop(parent_span);
    for h in [&first, &second] {
        let parent = h.span("parent");
        // Explicit parents are looked up per layer.
        assert_eq!(
            h.span("explicit child").parent_span_id,
            parent.span_context.span_id()
        );
        h.span("child");
    }
    assert_eq!(second.span("parent").span_context, outer_cx);
    // Contextual parents come from `Context::current()`, which the outermost layer set last:
    // right for `second`. (`first`'s contextual children get `second`'s span as parent: one
    // OpenTelemetry context per thread cannot hold two current spans.)
    assert_eq!(
        second.span("child").parent_span_id,
        second.span("parent").span_context.span_id()
    );
}
