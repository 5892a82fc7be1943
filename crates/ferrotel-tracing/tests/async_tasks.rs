//! Instrumented futures on a multi-thread tokio runtime: the OpenTelemetry context follows the
//! `tracing` span of each task across polls, yields and worker threads, and no context is left
//! attached on a worker between polls.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ferrotel_tracing::{OtelSpanLayer, SpanExt as _};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TracerProvider as _};
use opentelemetry::{Context, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing::Instrument as _;
use tracing::instrument::WithSubscriber as _;
use tracing_subscriber::layer::SubscriberExt as _;

const TASKS: usize = 64;
const YIELDS: usize = 20;

struct Harness {
    provider: SdkTracerProvider,
    exporter: InMemorySpanExporter,
    dispatch: tracing::Dispatch,
    /// Worker parks that found a span still current (a context leaked past a poll).
    leaked_on_park: Arc<AtomicUsize>,
    runtime: tokio::runtime::Runtime,
}

impl Harness {
    fn new() -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let dispatch = tracing::Dispatch::new(
            tracing_subscriber::registry().with(OtelSpanLayer::new(provider.tracer("async"))),
        );
        let leaked_on_park = Arc::new(AtomicUsize::new(0));
        let leaked = leaked_on_park.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .on_thread_park(move || {
                if Context::current().span().span_context().is_valid() {
                    leaked.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build()
            .expect("runtime");
        Self {
            provider,
            exporter,
            dispatch,
            leaked_on_park,
            runtime,
        }
    }

    fn spans(&self) -> Vec<SpanData> {
        self.provider.force_flush().expect("flush");
        self.exporter.get_finished_spans().expect("spans")
    }

    fn finish(mut self) -> Vec<SpanData> {
        let runtime = std::mem::replace(
            &mut self.runtime,
            tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime"),
        );
        runtime.shutdown_timeout(Duration::from_secs(10));
        assert_eq!(
            self.leaked_on_park.load(Ordering::Relaxed),
            0,
            "a worker parked with a span still current"
        );
        self.spans()
    }
}

fn span_cx(span: &tracing::Span) -> SpanContext {
    span.otel_context()
        .expect("started")
        .span()
        .span_context()
        .clone()
}

fn current() -> SpanContext {
    Context::current().span().span_context().clone()
}

fn attr(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

#[test]
fn many_tasks_keep_their_own_context_across_yields_and_threads() {
    let h = Harness::new();
    let handles: Vec<_> = (0..TASKS)
        .map(|task| {
            let fut = async move {
                let span = tracing::info_span!("task", task);
                let expected = span_cx(&span);
                async move {
                    for step in 0..YIELDS {
                        assert_eq!(current(), expected, "task {task} step {step}");
                        tracing::info_span!("step", step).in_scope(|| {
                            assert_ne!(current(), expected);
                        });
                        tokio::task::yield_now().await;
                    }
                    expected
                }
                .instrument(span)
                .await
            };
            h.runtime.spawn(fut.with_subscriber(h.dispatch.clone()))
        })
        .collect();
    let expected: Vec<SpanContext> = h.runtime.block_on(async {
        let mut out = Vec::new();
        for handle in handles {
            out.push(handle.await.expect("task"));
        }
        out
    });
    let spans = h.finish();
    assert_eq!(spans.len(), TASKS * (YIELDS + 1));
    for task in spans.iter().filter(|s| s.name == "task") {
        let Some(Value::I64(i)) = attr(task, "task") else {
            panic!("task attr")
        };
        assert_eq!(task.span_context, expected[i as usize]);
        assert_eq!(task.parent_span_id, SpanId::INVALID);
        let steps = spans
            .iter()
            .filter(|s| s.name == "step" && s.parent_span_id == task.span_context.span_id())
            .count();
        assert_eq!(steps, YIELDS, "steps of task {i}");
    }
}

#[test]
fn spawning_inside_an_entered_span_does_not_carry_the_context_unless_instrumented() {
    let h = Harness::new();
    let dispatch = h.dispatch.clone();
    let (parent_cx, plain_cx, instrumented_parent) = h.runtime.block_on(
        async move {
            let parent = tracing::info_span!("parent");
            let parent_cx = span_cx(&parent);
            let (plain, instrumented) = {
                let _entered = parent.enter();
                assert_eq!(current(), parent_cx);
                // Not instrumented: a task is not a scope of the spawner.
                let plain = tokio::spawn(
                    async {
                        tokio::task::yield_now().await;
                        let seen = current();
                        tracing::info_span!("plain child").in_scope(|| {});
                        seen
                    }
                    .with_current_subscriber(),
                );
                // `in_current_span` carries the parent along.
                let instrumented = tokio::spawn(
                    async {
                        tokio::task::yield_now().await;
                        let seen = current();
                        tracing::info_span!("instrumented child").in_scope(|| {});
                        seen
                    }
                    .in_current_span()
                    .with_current_subscriber(),
                );
                (plain, instrumented)
            };
            let plain_cx = plain.await.expect("plain");
            let instrumented_parent = instrumented.await.expect("instrumented");
            (parent_cx, plain_cx, instrumented_parent)
        }
        .with_subscriber(dispatch),
    );
    assert!(!plain_cx.is_valid(), "no context leaked into a plain task");
    assert_eq!(instrumented_parent, parent_cx);
    let spans = h.finish();
    let named = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    assert_eq!(named("plain child").parent_span_id, SpanId::INVALID);
    assert_eq!(
        named("instrumented child").parent_span_id,
        parent_cx.span_id()
    );
    assert_eq!(spans.len(), 3);
}

#[test]
fn aborted_and_dropped_instrumented_tasks_leak_no_context() {
    let h = Harness::new();
    let started = Arc::new(tokio::sync::Semaphore::new(0));
    let handles: Vec<_> = (0..TASKS)
        .map(|task| {
            let started = started.clone();
            let fut = async move {
                started.add_permits(1);
                // Parked until aborted; woken by nothing else.
                std::future::pending::<()>().await;
            }
            .instrument(tracing::dispatcher::with_default(&h.dispatch, || {
                tracing::info_span!("aborted", task)
            }));
            h.runtime.spawn(fut.with_subscriber(h.dispatch.clone()))
        })
        .collect();
    h.runtime.block_on(async {
        // Every task was polled once (its span entered and exited) before being aborted.
        let all = started.acquire_many(TASKS as u32).await.expect("permits");
        all.forget();
        for handle in &handles {
            handle.abort();
        }
        for handle in handles {
            assert!(handle.await.expect_err("aborted").is_cancelled());
        }
    });
    let spans = h.finish();
    assert_eq!(spans.len(), TASKS);
    assert!(spans.iter().all(|s| s.name == "aborted"));
}
