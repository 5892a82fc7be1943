//! Fixed-count span loops for instruction counting (`benches/span-icount.sh`): the `init` bench's
//! span variants, run N times with no timing, so valgrind can count instructions per span
//! independently of the noise of a shared VM.
//!
//! `span_icount raw|raw-in-span|stock|span-layer-alone|telemetry|telemetry-without-redaction N`
//! (`raw-in-span`: the raw span made current with `Tracer::in_span`) also prints the loop's
//! thread CPU time per span on stderr (`benches/span-cputime.sh` takes the minimum of several
//! interleaved runs: the VM's noise only ever adds time).

use ferrotel_benches::{DiscardLogs, DiscardSpans, thread_cpu_ns};
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The span queue size of every variant: more than the spans of a valgrind run.
const QUEUE: usize = 1 << 16;

fn telemetry_guard(redaction: bool) -> Result<ferrotel::Guard, BoxError> {
    let builder = if redaction {
        ferrotel::builder()
    } else {
        ferrotel::builder().without_redaction()
    };
    Ok(builder
        .service_name("icount")
        .global(false)
        .env_lookup(|name| {
            matches!(name, "OTEL_BSP_MAX_QUEUE_SIZE" | "OTEL_BLRP_MAX_QUEUE_SIZE")
                .then(|| QUEUE.to_string())
        })
        .exporters(&[])
        .with_span_exporter(DiscardSpans)
        .with_log_exporter(DiscardLogs)
        .console_format(ferrotel::ConsoleFormat::Off)
        // Runtime metrics read procfs through rustix, whose auxv probe crashes under valgrind;
        // they cost nothing per span.
        .without_runtime_metrics()
        .log_filter("info")
        .init()?)
}

fn spans(n: u64) {
    match std::env::var("SPAN_ICOUNT_MODE").as_deref() {
        // Events inside one span (the `event_in_span` group).
        Ok("event") => tracing::info_span!("op").in_scope(|| {
            for _ in 0..n {
                tracing::info!(n = 1, "event");
            }
        }),
        // Events outside any span: log records (the `log_record` group).
        Ok("log") => {
            for _ in 0..n {
                tracing::info!(n = 1, "event");
            }
        }
        _ => {
            for _ in 0..n {
                tracing::info_span!("op").in_scope(|| {});
            }
        }
    }
}

/// Runs `f` and prints its thread CPU time per iteration on stderr.
fn timed(n: u64, f: impl FnOnce()) {
    let start = thread_cpu_ns();
    f();
    let spent = thread_cpu_ns() - start;
    if n > 0 {
        eprintln!("{:.1} ns/span", spent as f64 / n as f64);
    }
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [variant, n] = args.as_slice() else {
        return Err(
            "usage: span_icount raw|raw-in-span|stock|span-layer-alone|telemetry|telemetry-without-redaction N"
                .into(),
        );
    };
    let n: u64 = n.parse()?;
    // Under valgrind the exporter thread barely runs, so with the default queue (2,048) most
    // spans would take the queue-full path (dropped on the application's thread). A queue
    // larger than any N keeps every variant on the full path: each span is queued for export.
    let batch = BatchSpanProcessor::builder(DiscardSpans)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(QUEUE)
                .build(),
        )
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(batch)
        .build();
    match variant.as_str() {
        "raw" => {
            let tracer = provider.tracer("icount");
            timed(n, || {
                for _ in 0..n {
                    let mut span = tracer.start("op");
                    span.end();
                }
            });
        }
        "raw-in-span" => {
            let tracer = provider.tracer("icount");
            timed(n, || {
                for _ in 0..n {
                    tracer.in_span("op", |_cx| {});
                }
            });
        }
        "stock" => {
            // As in the criterion bench: tracing-opentelemetry plus the log appender.
            let batch = opentelemetry_sdk::logs::BatchLogProcessor::builder(DiscardLogs)
                .with_batch_config(
                    opentelemetry_sdk::logs::BatchConfigBuilder::default()
                        .with_max_queue_size(QUEUE)
                        .build(),
                )
                .build();
            let logs = opentelemetry_sdk::logs::SdkLoggerProvider::builder()
                .with_log_processor(batch)
                .build();
            let subscriber = tracing_subscriber::registry()
                .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("icount")))
                .with(
                    opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(&logs),
                );
            tracing::subscriber::with_default(subscriber, || timed(n, || spans(n)));
            logs.shutdown()?;
        }
        "span-layer-alone" => {
            let subscriber = tracing_subscriber::registry().with(
                ferrotel_tracing::OtelSpanLayer::new(provider.tracer("icount")),
            );
            tracing::subscriber::with_default(subscriber, || timed(n, || spans(n)));
        }
        "telemetry" | "telemetry-without-redaction" => {
            let guard = telemetry_guard(variant == "telemetry")?;
            tracing::dispatcher::with_default(guard.dispatch(), || timed(n, || spans(n)));
            drop(guard.shutdown());
        }
        _ => return Err(format!("unknown variant {variant}").into()),
    }
    provider.shutdown()?;
    Ok(())
}
