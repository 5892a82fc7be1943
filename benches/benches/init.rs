//! The cost of a span, an event and a log record on the application's thread, side by side:
//! the raw opentelemetry_sdk call, a stock `tracing-opentelemetry` (+ appender) setup, and
//! `ferrotel::builder()`. Every setup exports through a batch processor to an exporter that
//! discards, so only the in-thread cost is measured.
//!
//! `cargo bench -p ferrotel-benches --bench init`

use std::time::Duration;

use criterion::measurement::Measurement;
use criterion::{Criterion, criterion_group, criterion_main};
use ferrotel_benches::{DiscardLogs, DiscardSpans, ThreadCpuTime};
use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;

fn sdk_providers() -> (SdkTracerProvider, SdkLoggerProvider) {
    let tp = SdkTracerProvider::builder()
        .with_batch_exporter(DiscardSpans)
        .build();
    let lp = SdkLoggerProvider::builder()
        .with_batch_exporter(DiscardLogs)
        .build();
    (tp, lp)
}

/// tracing-opentelemetry and opentelemetry-appender-tracing with their default settings.
fn stock_dispatch(tp: &SdkTracerProvider, lp: &SdkLoggerProvider) -> tracing::Dispatch {
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(tp.tracer("bench")))
        .with(opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(lp));
    tracing::Dispatch::new(subscriber)
}

fn ours(redaction: bool) -> ferrotel::Guard {
    let b = if redaction {
        ferrotel::builder()
    } else {
        ferrotel::builder().without_redaction()
    };
    b.service_name("bench")
        .global(false)
        .env_lookup(|_| None)
        .exporters(&[])
        .with_span_exporter(DiscardSpans)
        .with_log_exporter(DiscardLogs)
        .console_format(ferrotel::ConsoleFormat::Off)
        .log_filter("info")
        .init()
        .expect("init")
}

/// The setups every group compares, built once.
struct Setups {
    tp: SdkTracerProvider,
    lp: SdkLoggerProvider,
    stock: tracing::Dispatch,
    layer_alone: tracing::Dispatch,
    guard: ferrotel::Guard,
    plain: ferrotel::Guard,
}

impl Setups {
    fn new() -> Self {
        let (tp, lp) = sdk_providers();
        let stock = stock_dispatch(&tp, &lp);
        let layer_alone = tracing::Dispatch::new(
            tracing_subscriber::registry()
                .with(ferrotel_tracing::OtelSpanLayer::new(tp.tracer("bench"))),
        );
        Self {
            tp,
            lp,
            stock,
            layer_alone,
            guard: ours(true),
            plain: ours(false),
        }
    }
}

/// One span created, entered, exited and ended, in every setup, under measurement `M`.
fn span_group<M: Measurement>(c: &mut Criterion<M>, name: &str, s: &Setups) {
    let tracer = s.tp.tracer("bench");
    let mut g = c.benchmark_group(name);
    g.bench_function("raw_sdk", |b| {
        b.iter(|| {
            let mut span = tracer.start("op");
            span.end();
        })
    });
    // The raw SDK span made current while it runs, as `in_scope` does: the OpenTelemetry API's
    // own equivalent of the `tracing` call measured below. Context only; the ratios are to
    // `raw_sdk`.
    g.bench_function("raw_sdk_in_span", |b| {
        b.iter(|| tracer.in_span("op", |_cx| {}))
    });
    g.bench_function("stock_tracing_opentelemetry", |b| {
        tracing::dispatcher::with_default(&s.stock, || {
            b.iter(|| tracing::info_span!("op").in_scope(|| {}))
        })
    });
    g.bench_function("telemetry", |b| {
        tracing::dispatcher::with_default(s.guard.dispatch(), || {
            b.iter(|| tracing::info_span!("op").in_scope(|| {}))
        })
    });
    g.bench_function("telemetry_without_redaction", |b| {
        tracing::dispatcher::with_default(s.plain.dispatch(), || {
            b.iter(|| tracing::info_span!("op").in_scope(|| {}))
        })
    });
    // The span layer alone on a bare registry, over the same provider as the stock setup: the
    // like-for-like replacement of `tracing-opentelemetry`'s layer.
    g.bench_function("ferrotel_tracing_alone", |b| {
        tracing::dispatcher::with_default(&s.layer_alone, || {
            b.iter(|| tracing::info_span!("op").in_scope(|| {}))
        })
    });
    g.finish();
}

/// The span group in thread CPU time: steadier than wall time on a shared VM.
fn bench_cpu(c: &mut Criterion<ThreadCpuTime>) {
    span_group(c, "span_cpu", &Setups::new());
}

fn bench(c: &mut Criterion) {
    let setups = Setups::new();
    span_group(c, "span", &setups);
    let Setups {
        tp,
        lp,
        stock,
        guard,
        plain,
        ..
    } = &setups;
    let tracer = tp.tracer("bench");

    let mut g = c.benchmark_group("event_in_span");
    g.bench_function("raw_sdk", |b| {
        let mut span = tracer.start("op");
        b.iter(|| span.add_event("event", vec![opentelemetry::KeyValue::new("n", 1)]));
        span.end();
    });
    g.bench_function("stock_tracing_opentelemetry", |b| {
        tracing::dispatcher::with_default(stock, || {
            tracing::info_span!("op").in_scope(|| b.iter(|| tracing::info!(n = 1, "event")))
        })
    });
    g.bench_function("telemetry", |b| {
        tracing::dispatcher::with_default(guard.dispatch(), || {
            tracing::info_span!("op").in_scope(|| b.iter(|| tracing::info!(n = 1, "event")))
        })
    });
    g.bench_function("telemetry_without_redaction", |b| {
        tracing::dispatcher::with_default(plain.dispatch(), || {
            tracing::info_span!("op").in_scope(|| b.iter(|| tracing::info!(n = 1, "event")))
        })
    });
    g.finish();

    let logger = lp.logger("bench");
    let mut g = c.benchmark_group("log_record");
    g.bench_function("raw_sdk", |b| {
        b.iter(|| {
            let mut r = logger.create_log_record();
            r.set_severity_number(Severity::Info);
            r.set_body("event".into());
            r.add_attribute("n", 1);
            logger.emit(r);
        })
    });
    g.bench_function("stock_appender_tracing", |b| {
        tracing::dispatcher::with_default(stock, || b.iter(|| tracing::info!(n = 1, "event")))
    });
    g.bench_function("telemetry", |b| {
        tracing::dispatcher::with_default(guard.dispatch(), || {
            b.iter(|| tracing::info!(n = 1, "event"))
        })
    });
    g.bench_function("telemetry_without_redaction", |b| {
        tracing::dispatcher::with_default(plain.dispatch(), || {
            b.iter(|| tracing::info!(n = 1, "event"))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_group! {
    name = cpu_benches;
    config = Criterion::default()
        .with_measurement(ThreadCpuTime)
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench_cpu
}
criterion_main!(benches, cpu_benches);
