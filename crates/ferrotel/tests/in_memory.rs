//! The in-memory mode captures spans, events, metrics and log records exactly, through the same
//! pipeline as `ferrotel::init()`.

use ferrotel_testing::capture::attribute;
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{SpanKind, Status};

#[test]
fn span_tree_with_attributes_and_events_is_captured_exactly() {
    let capture = ferrotel_testing::capture::start("svc-under-test");
    {
        let root = tracing::info_span!("checkpoint_save", checkpoint_id = "cp-1", top_k = 5_i64);
        let _e = root.enter();
        tracing::info_span!("embed", otel.kind = "client", provider = "openai").in_scope(|| {
            tracing::info!(tokens = 42_i64, "embedded");
        });
        tracing::error!(reason = "disk full", "save failed");
    }
    let c = &capture;
    let root = c.span("checkpoint_save");
    let child = c.span("embed");
    assert_eq!(child.parent_span_id, root.span_context.span_id());
    assert_eq!(child.span_context.trace_id(), root.span_context.trace_id());
    assert_eq!(child.span_kind, SpanKind::Client);
    assert_eq!(
        attribute(&root, "checkpoint_id").map(|v| v.as_str().into_owned()),
        Some("cp-1".into())
    );
    assert_eq!(
        attribute(&root, "top_k"),
        Some(&opentelemetry::Value::I64(5))
    );
    assert_eq!(
        attribute(&child, "provider").map(|v| v.to_string()),
        Some("openai".into())
    );
    let event = child
        .events
        .iter()
        .next()
        .expect("the info event is a span event");
    assert_eq!(event.name, "embedded");
    assert!(
        event
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "tokens" && kv.value == opentelemetry::Value::I64(42))
    );
    // An error event marks the span as failed.
    assert!(
        matches!(root.status, Status::Error { .. }),
        "{:?}",
        root.status
    );
    assert!(root.parent_span_id == opentelemetry::trace::SpanId::INVALID);
}

#[test]
fn log_records_carry_the_current_trace_and_span_ids() {
    let capture = ferrotel_testing::capture::start("svc-under-test");
    tracing::info!(user = "x", "outside any span");
    tracing::info_span!("request").in_scope(|| {
        tracing::warn!(attempt = 2_i64, "retrying");
    });
    let c = &capture;
    let logs = c.logs();
    assert_eq!(logs.len(), 2, "{logs:?}");
    assert_eq!(logs[0].body, "outside any span");
    assert_eq!(logs[0].trace_id, None);
    assert!(logs[0].attributes.contains(&("user".into(), "x".into())));
    let span = c.span("request");
    assert_eq!(logs[1].body, "retrying");
    assert_eq!(logs[1].severity_text, "WARN");
    assert_eq!(logs[1].trace_id, Some(span.span_context.trace_id()));
    assert_eq!(logs[1].span_id, Some(span.span_context.span_id()));
    assert!(logs[1].attributes.contains(&("attempt".into(), "2".into())));
}

#[test]
fn counter_and_histogram_values_are_exact_and_read_by_the_subset_rule() {
    let capture = ferrotel_testing::capture::start("svc-under-test");
    let meter = capture.guard().meter("test");
    let counter = meter.u64_counter("requests").build();
    let hist = meter.f64_histogram("latency").with_unit("s").build();
    for _ in 0..7 {
        counter.add(1, &[KeyValue::new("status", "success")]);
    }
    counter.add(3, &[KeyValue::new("status", "error")]);
    for v in [0.1, 0.2, 0.3] {
        hist.record(v, &[KeyValue::new("status", "success")]);
    }
    let c = &capture;
    let ok = [("status", "success".into())];
    let err = [("status", "error".into())];
    assert_eq!(c.counter_sum("requests", &ok), Some(7.0));
    assert_eq!(c.counter_sum("requests", &err), Some(3.0));
    // The fake receiver's rule: `&[]` matches every series, and the totals add up.
    assert_eq!(c.counter_sum("requests", &[]), Some(10.0));
    assert_eq!(
        c.counter_sum("requests", &[("status", "other".into())]),
        None
    );
    assert_eq!(c.histogram_count("latency", &ok), Some(3));
    assert_eq!(c.histogram_count("latency", &err), None);
    assert!((c.histogram_sum("latency", &[]).unwrap() - 0.6).abs() < 1e-9);
}

#[test]
fn self_observability_counts_exported_spans() {
    let capture = ferrotel_testing::capture::start("svc-under-test");
    for i in 0..10 {
        tracing::info_span!("unit", i).in_scope(|| {});
    }
    let c = &capture;
    assert_eq!(c.spans_named("unit").len(), 10);
    let stats = capture.guard().stats();
    assert_eq!(stats.spans.exported, 10);
    assert_eq!(stats.spans.dropped, 0);
    // And as metrics, through the same meter provider.
    assert_eq!(
        c.counter_sum("otel.sdk.exporter.span.exported", &[]),
        Some(10.0)
    );
    let _ = capture.guard().meter_provider().unwrap().meter("x");
}

#[test]
fn huge_attribute_values_are_truncated_at_a_char_boundary() {
    let capture = ferrotel_testing::capture::start_with(ferrotel::builder().env_lookup(|name| {
        (name == "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT").then(|| "10".to_string())
    }));
    let _scope = tracing::dispatcher::set_default(capture.guard().dispatch());
    let big = "é".repeat(1_000_000);
    tracing::info_span!("big", payload = big.as_str()).in_scope(|| {});
    let span = capture.span("big");
    let v = attribute(&span, "payload").unwrap().as_str().into_owned();
    assert_eq!(v, "ééééé");
}

/// Filters: plain `target=level` directives are checked inside the span layer and log bridge;
/// a span-scoped directive (`[span]=level`) needs `EnvFilter`'s per-span state and falls back
/// to per-layer filters. Both must select the same things.
#[test]
fn plain_and_span_scoped_filters_select_spans_and_logs() {
    for (filter, debug_inside_kept) in [
        ("info,noisy=off", false),
        ("info,noisy=off,[checkout]=debug", true),
    ] {
        let capture = ferrotel_testing::capture::start_with(
            ferrotel::builder()
                .service_name("filters")
                .log_filter(filter)
                .env_lookup(|_| None),
        );
        tracing::dispatcher::with_default(capture.guard().dispatch(), || {
            tracing::info_span!("checkout").in_scope(|| tracing::debug!("inside checkout"));
            tracing::info_span!("order").in_scope(|| {
                tracing::info_span!(target: "noisy", "muted").in_scope(|| {
                    tracing::info_span!("payment").in_scope(|| tracing::info!("paid"));
                });
            });
            tracing::debug!("outside any span");
            // The middleware's target is always exported, whatever the filter says.
            tracing::info_span!(target: "ferrotel::http", "GET /x").in_scope(|| {});
        });
        let c = &capture;
        let names: Vec<String> = c.spans().iter().map(|s| s.name.to_string()).collect();
        assert!(!names.iter().any(|n| n == "muted"), "{filter}: {names:?}");
        assert!(names.iter().any(|n| n == "GET /x"), "{filter}: {names:?}");
        let order = c.span("order");
        assert_eq!(
            c.span("payment").parent_span_id,
            order.span_context.span_id(),
            "{filter}: a filtered-out span is skipped in the parent chain"
        );
        let bodies: Vec<String> = c.logs().into_iter().map(|l| l.body).collect();
        assert!(bodies.contains(&"paid".to_string()), "{filter}: {bodies:?}");
        assert!(
            !bodies.contains(&"outside any span".to_string()),
            "{filter}: {bodies:?}"
        );
        assert_eq!(
            bodies.contains(&"inside checkout".to_string()),
            debug_inside_kept,
            "{filter}: {bodies:?}"
        );
    }
}

/// The compatibility layer: code written against `tracing_opentelemetry::OpenTelemetrySpanExt`
/// keeps working when `init` installs `tracing-opentelemetry`'s layer; under the default layer
/// the same calls are no-ops and `ferrotel::SpanExt` / `with_parent_context` are the API.
#[cfg(feature = "tracing-opentelemetry")]
#[test]
fn tracing_opentelemetry_layer_on_request_keeps_its_span_ext_working() {
    use ferrotel::SpanExt as _;
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    };
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let remote = || {
        opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(0xfeed_u128),
            SpanId::from(0xbeef_u64),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ))
    };
    for layer in [
        ferrotel::SpanLayer::TracingOpentelemetry,
        ferrotel::SpanLayer::Lean,
    ] {
        let capture = ferrotel_testing::capture::start_with(
            ferrotel::builder()
                .service_name("compat")
                .span_layer(layer)
                .log_filter("info")
                .env_lookup(|_| None),
        );
        let (stock_cx, lean_cx) =
            tracing::dispatcher::with_default(capture.guard().dispatch(), || {
                let span = tracing::info_span!("consumer");
                let _ = span.set_parent(remote());
                let stock_cx = span.context().span().span_context().clone();
                let lean_cx = span.otel_context();
                span.in_scope(|| tracing::info_span!("handler").in_scope(|| {}));
                (stock_cx, lean_cx)
            });
        let c = &capture;
        let consumer = c.span("consumer");
        assert_eq!(
            c.span("handler").parent_span_id,
            consumer.span_context.span_id()
        );
        match layer {
            ferrotel::SpanLayer::TracingOpentelemetry => {
                assert_eq!(consumer.span_context.trace_id(), TraceId::from(0xfeed_u128));
                assert_eq!(consumer.parent_span_id, SpanId::from(0xbeef_u64));
                assert_eq!(stock_cx, consumer.span_context);
                assert!(lean_cx.is_none());
            }
            _ => {
                // set_parent came too late for a span started at creation.
                assert_ne!(consumer.span_context.trace_id(), TraceId::from(0xfeed_u128));
                assert!(!stock_cx.is_valid());
                assert_eq!(
                    lean_cx.map(|cx| cx.span().span_context().clone()),
                    Some(consumer.span_context.clone())
                );
            }
        }
    }
}

/// The README's test-kit example, as written there.
#[test]
fn readme_example_matches() {
    let capture = ferrotel_testing::capture::start("my-service");
    let requests = capture
        .guard()
        .meter("my-service")
        .u64_counter("requests")
        .build();
    tracing::info_span!("checkpoint_save").in_scope(|| {
        tracing::info!("saved");
        requests.add(3, &[KeyValue::new("status", "ok")]);
    });
    let captured = &capture;
    assert_eq!(captured.span("checkpoint_save").events.len(), 1);
    assert_eq!(
        captured.counter_sum("requests", &[("status", "ok".into())]),
        Some(3.0)
    );
}

/// The guard (and so a capture) can be shared by reference between threads.
#[test]
fn the_guard_is_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<ferrotel::Guard>();
}
