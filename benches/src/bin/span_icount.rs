//! Fixed-count span loops for instruction counting (`benches/span-icount.sh`): the `init` bench's
//! span variants, run N times with no timing, so valgrind can count instructions per span
//! independently of the noise of a shared VM.
//!
//! `span_icount raw|stock|telemetry|telemetry-without-redaction N`

use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use telemetry_benches::{DiscardLogs, DiscardSpans};
use tracing_subscriber::layer::SubscriberExt;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn telemetry_guard(redaction: bool) -> Result<telemetry::Guard, BoxError> {
    let builder = if redaction {
        telemetry::builder()
    } else {
        telemetry::builder().without_redaction()
    };
    Ok(builder
        .service_name("icount")
        .global(false)
        .env_lookup(|_| None)
        .exporters(&[])
        .with_span_exporter(DiscardSpans)
        .with_log_exporter(DiscardLogs)
        .console_format(telemetry::ConsoleFormat::Off)
        // Runtime metrics read procfs through rustix, whose auxv probe crashes under valgrind;
        // they cost nothing per span.
        .without_runtime_metrics()
        .log_filter("info")
        .init()?)
}

fn spans(n: u64) {
    for _ in 0..n {
        tracing::info_span!("op").in_scope(|| {});
    }
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [variant, n] = args.as_slice() else {
        return Err("usage: span_icount raw|stock|telemetry|telemetry-without-redaction N".into());
    };
    let n: u64 = n.parse()?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(DiscardSpans)
        .build();
    match variant.as_str() {
        "raw" => {
            let tracer = provider.tracer("icount");
            for _ in 0..n {
                let mut span = tracer.start("op");
                span.end();
            }
        }
        "stock" => {
            let subscriber = tracing_subscriber::registry()
                .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("icount")));
            tracing::subscriber::with_default(subscriber, || spans(n));
        }
        "telemetry" | "telemetry-without-redaction" => {
            let guard = telemetry_guard(variant == "telemetry")?;
            tracing::dispatcher::with_default(guard.dispatch(), || spans(n));
            drop(guard.shutdown());
        }
        _ => return Err(format!("unknown variant {variant}").into()),
    }
    provider.shutdown()?;
    Ok(())
}
