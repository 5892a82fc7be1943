//! Redaction engine and span-processor overhead, side by side in one run.
//!
//! - `redaction/clean_*`: text without secrets through `Redactor::redact`
//!   (keyword prefilter) versus the naive baseline (every built-in rule's regex
//!   run on the value).
//! - `redaction/short_attribute`: one short clean value, and the same through
//!   `redact_value` with its key (the per-attribute cost in a span).
//! - `redaction/secret_dense`: every line carries a secret; engine vs naive.
//! - `redaction/span_pipeline`: create + end + export a typical HTTP server
//!   span (9 attributes), with and without the `RedactingSpanProcessor`
//!   wrapper, through three pipelines: `drop_exporter` (SimpleSpanProcessor,
//!   exporter that drops: the cheapest pipeline, an upper bound on the
//!   overhead ratio), `otlp_batch` (BatchSpanProcessor + the OTLP protobuf
//!   encoding, flushed every 256 spans so encoding is included: the realistic
//!   pipeline) and `otlp_simple` (SimpleSpanProcessor + OTLP encoding, all on
//!   the calling thread); plus `redact_span_only`, the redaction by itself.
//! - `redaction/span_pipeline/paired_overhead` (printed after criterion's
//!   output): the same three pipelines with and without redaction in
//!   alternating rounds, median ratio: robust to the load changes of a shared
//!   machine, which skew criterion's back-to-back comparisons.
//!
//! `cargo bench -p ferrotel-benches --bench redaction`

use criterion::{Criterion, Throughput, criterion_group};
use ferrotel_redaction::{Redactor, builtin_patterns};
use opentelemetry::trace::{Span as _, SpanKind, Tracer as _, TracerProvider as _};
use opentelemetry::{KeyValue, Value};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, SdkTracerProvider, SimpleSpanProcessor, SpanData, SpanExporter,
    SpanProcessor,
};
use prost::Message as _;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every built-in rule's regex, run on every value: what a scanner without a
/// prefilter does.
struct Naive(Vec<regex::bytes::Regex>);

impl Naive {
    fn new() -> Self {
        Self(
            builtin_patterns()
                .into_iter()
                .map(|(_, p)| regex::bytes::Regex::new(p).expect("built-in pattern"))
                .collect(),
        )
    }
    fn count(&self, text: &str) -> usize {
        self.0
            .iter()
            .map(|r| r.find_iter(text.as_bytes()).count())
            .sum()
    }
}

/// Deterministic filler (splitmix64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn alnum(&mut self, n: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..n)
            .map(|_| A[(self.next() % 62) as usize] as char)
            .collect()
    }
}

const SIZE: usize = 64 * 1024;

fn fill(mut line: impl FnMut(usize) -> String) -> String {
    let mut s = String::with_capacity(SIZE + 256);
    let mut i = 0;
    while s.len() < SIZE {
        s.push_str(&line(i));
        s.push('\n');
        i += 1;
    }
    s
}

fn clean_prose() -> String {
    fill(|i| {
        format!(
            "2024-05-01T12:00:{:02}.123Z INFO worker: processed batch {i} of orders for region eu-west, 42 items in 12 ms, queue depth 7, cache hit ratio 0.93",
            i % 60
        )
    })
}

fn clean_logs() -> String {
    fill(|i| {
        format!(
            "{{\"ts\":\"2024-05-01T12:00:00Z\",\"msg\":\"GET https://api.example.com/api/v1/users/{i}/orders?page=2 200\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e{:04x}\",\"user_agent\":\"Mozilla/5.0\"}}",
            i % 65536
        )
    })
}

fn secret_dense() -> String {
    let mut r = Rng(7);
    fill(|i| match i % 6 {
        0 => format!("push with ghp_{} failed", r.alnum(36)),
        1 => format!("connect postgres://app:{}@db:5432/shop", r.alnum(16)),
        2 => format!("Authorization: Bearer {}", r.alnum(40)),
        3 => format!("{{\"password\":\"{}\",\"user\":\"bob\"}}", r.alnum(14)),
        4 => format!("at /home/user{}/src/main.rs:10", i % 100),
        _ => format!(
            "key AKIA{} used",
            r.alnum(16)
                .to_uppercase()
                .replace(['0', '1', '8', '9'], "Q")
        ),
    })
}

fn engine(c: &mut Criterion) {
    let redactor = Redactor::default();
    let naive = Naive::new();
    let mut g = c.benchmark_group("redaction");
    g.measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(20);

    for (name, text) in [
        ("clean_prose_64KiB", clean_prose()),
        ("clean_logs_64KiB", clean_logs()),
        ("secret_dense_64KiB", secret_dense()),
    ] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(format!("{name}/redactor"), |b| {
            b.iter(|| black_box(redactor.redact(black_box(&text)).len()))
        });
        g.bench_function(format!("{name}/naive_all_regexes"), |b| {
            b.iter(|| black_box(naive.count(black_box(&text))))
        });
    }

    let short = "GET /api/v1/users/{id}/orders";
    g.throughput(Throughput::Elements(1));
    g.bench_function("short_attribute/redact", |b| {
        b.iter(|| black_box(redactor.redact(black_box(short)).len()))
    });
    let value = Value::from(short);
    g.bench_function("short_attribute/redact_value_with_key", |b| {
        b.iter(|| black_box(redactor.redact_value(black_box("http.route"), black_box(&value))))
    });
    g.bench_function("short_attribute/naive_all_regexes", |b| {
        b.iter(|| black_box(naive.count(black_box(short))))
    });
    g.finish();
}

/// Exports by dropping: the cheapest possible pipeline (no encoding, no I/O),
/// so the ratio against it is an upper bound on the redaction overhead.
#[derive(Debug)]
struct DropExporter;

impl SpanExporter for DropExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        black_box(batch);
        std::future::ready(Ok(()))
    }
}

/// Exports the way the OTLP exporter does before its transport: the
/// `opentelemetry-proto` transform into an `ExportTraceServiceRequest`, then
/// the protobuf encoding into a fresh `Vec` (the bytes are dropped, no I/O).
#[derive(Debug)]
struct OtlpEncodeExporter {
    resource: ResourceAttributesWithSchema,
}

impl OtlpEncodeExporter {
    fn new() -> Self {
        Self {
            resource: (&Resource::builder_empty().build()).into(),
        }
    }
}

impl SpanExporter for OtlpEncodeExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let resource_spans = group_spans_by_resource_and_scope(batch, &self.resource);
        let bytes = ExportTraceServiceRequest { resource_spans }.encode_to_vec();
        black_box(bytes);
        std::future::ready(Ok(()))
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

/// Keeps exported spans (to benchmark `redact_span` on a real `SpanData`).
#[derive(Debug, Clone, Default)]
struct Keep(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Keep {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        if let Ok(mut spans) = self.0.lock() {
            spans.extend(batch);
        }
        std::future::ready(Ok(()))
    }
}

fn http_span(tracer: &opentelemetry_sdk::trace::SdkTracer, i: u64) {
    let mut span = tracer
        .span_builder("GET /api/v1/users/{id}")
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.route", "/api/v1/users/{id}"),
            KeyValue::new("url.path", "/api/v1/users/42"),
            KeyValue::new("url.query", "page=2&limit=50"),
            KeyValue::new("url.scheme", "https"),
            KeyValue::new("server.address", "api.example.com"),
            KeyValue::new("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)"),
            KeyValue::new("network.protocol.version", "1.1"),
            KeyValue::new("client.address", "10.0.0.7"),
        ])
        .start(tracer);
    span.set_attribute(KeyValue::new(
        "http.response.status_code",
        200 + (i % 2) as i64,
    ));
    span.end();
}

/// Spans between two `force_flush` calls of the batch pipeline: below the
/// default queue size (2048), so no span is ever dropped and every measured
/// span is really encoded.
const FLUSH_EVERY: u64 = 256;

fn span_pipeline(c: &mut Criterion) {
    let redactor = Redactor::default();
    let mut g = c.benchmark_group("redaction/span_pipeline");
    g.measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(30);

    // 1. SimpleSpanProcessor + exporter that drops: the cheapest pipeline.
    let plain = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(DropExporter))
        .build();
    let redacted = SdkTracerProvider::builder()
        .with_span_processor(redactor.span_processor(SimpleSpanProcessor::new(DropExporter)))
        .build();
    for (name, provider) in [
        ("drop_exporter/without_redaction", &plain),
        ("drop_exporter/with_redaction", &redacted),
    ] {
        let tracer = provider.tracer("bench");
        let mut i = 0u64;
        g.bench_function(name, |b| {
            b.iter(|| {
                i += 1;
                http_span(&tracer, i)
            })
        });
    }

    // 2. The realistic pipeline: BatchSpanProcessor + OTLP protobuf encoding.
    // Spans are flushed every FLUSH_EVERY, so the time per span includes the
    // background thread's transform + encoding, not only the channel send.
    let batch = |redact: bool| {
        let processor = BatchSpanProcessor::builder(OtlpEncodeExporter::new()).build();
        let builder = SdkTracerProvider::builder();
        if redact {
            builder.with_span_processor(redactor.span_processor(processor))
        } else {
            builder.with_span_processor(processor)
        }
        .build()
    };
    for (name, provider) in [
        ("otlp_batch/without_redaction", batch(false)),
        ("otlp_batch/with_redaction", batch(true)),
    ] {
        let tracer = provider.tracer("bench");
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for i in 0..iters {
                    http_span(&tracer, i);
                    if (i + 1) % FLUSH_EVERY == 0 {
                        let _ = provider.force_flush();
                    }
                }
                let _ = provider.force_flush();
                start.elapsed()
            })
        });
        let _ = provider.shutdown();
    }

    // 3. SimpleSpanProcessor + OTLP protobuf encoding: everything on the
    // calling thread (what one span costs in CPU, end to end).
    let simple = |redact: bool| {
        let processor = SimpleSpanProcessor::new(OtlpEncodeExporter::new());
        let builder = SdkTracerProvider::builder();
        if redact {
            builder.with_span_processor(redactor.span_processor(processor))
        } else {
            builder.with_span_processor(processor)
        }
        .build()
    };
    for (name, provider) in [
        ("otlp_simple/without_redaction", simple(false)),
        ("otlp_simple/with_redaction", simple(true)),
    ] {
        let tracer = provider.tracer("bench");
        let mut i = 0u64;
        g.bench_function(name, |b| {
            b.iter(|| {
                i += 1;
                http_span(&tracer, i)
            })
        });
    }

    // 4. The redaction alone: `redact_span` on the exported HTTP span (clean,
    // so redacting it leaves it unchanged and it can be reused).
    let keep = Keep::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(keep.clone()))
        .build();
    http_span(&provider.tracer("bench"), 0);
    let span = keep.0.lock().map(|s| s.first().cloned()).ok().flatten();
    if let Some(mut span) = span {
        g.bench_function("redact_span_only", |b| {
            b.iter(|| redactor.redact_span(black_box(&mut span)))
        });
    }
    g.finish();
}

/// Which pipeline a paired round runs.
#[derive(Clone, Copy)]
enum Pipeline {
    DropExporter,
    OtlpBatch,
    OtlpSimple,
}

fn provider(pipeline: Pipeline, redactor: Option<&Redactor>) -> SdkTracerProvider {
    fn wrap<P: SpanProcessor + 'static>(
        processor: P,
        redactor: Option<&Redactor>,
    ) -> SdkTracerProvider {
        let builder = SdkTracerProvider::builder();
        match redactor {
            Some(r) => builder.with_span_processor(r.span_processor(processor)),
            None => builder.with_span_processor(processor),
        }
        .build()
    }
    match pipeline {
        Pipeline::DropExporter => wrap(SimpleSpanProcessor::new(DropExporter), redactor),
        Pipeline::OtlpBatch => wrap(
            BatchSpanProcessor::builder(OtlpEncodeExporter::new()).build(),
            redactor,
        ),
        Pipeline::OtlpSimple => wrap(
            SimpleSpanProcessor::new(OtlpEncodeExporter::new()),
            redactor,
        ),
    }
}

/// Time per span of `spans` HTTP spans (batch pipelines flushed as in
/// `span_pipeline`).
fn per_span_ns(provider: &SdkTracerProvider, pipeline: Pipeline, spans: u64) -> f64 {
    let tracer = provider.tracer("bench");
    let start = Instant::now();
    for i in 0..spans {
        http_span(&tracer, i);
        if matches!(pipeline, Pipeline::OtlpBatch) && (i + 1) % FLUSH_EVERY == 0 {
            let _ = provider.force_flush();
        }
    }
    let _ = provider.force_flush();
    start.elapsed().as_nanos() as f64 / spans as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The overhead ratios, measured robustly on a loaded machine: criterion runs
/// "with" and "without" seconds apart, under different load. Here both run in
/// alternating rounds (order swapped every round, fresh providers every round)
/// and the medians of the per-round time without redaction, of the per-round
/// difference and of the per-round ratio are reported.
fn paired_overhead() {
    const NAME: &str = "redaction/span_pipeline/paired_overhead";
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Criterion's filter is a regex over benchmark names; honour it.
    if let Some(filter) = args.iter().find(|a| !a.starts_with('-'))
        && !regex::Regex::new(filter).is_ok_and(|r| r.is_match(NAME))
    {
        return;
    }
    // `cargo test --benches` (no `--bench`): one tiny round, to prove it runs.
    let (rounds, spans) = if args.iter().any(|a| a == "--bench") {
        (31, 2048)
    } else {
        (1, 16)
    };
    let redactor = Redactor::default();
    println!("{NAME}: {rounds} alternating rounds of {spans} spans, medians");
    println!(
        "  {:<14} {:>12} {:>10} {:>9}",
        "pipeline", "without", "added", "overhead"
    );
    for (name, pipeline) in [
        ("drop_exporter", Pipeline::DropExporter),
        ("otlp_batch", Pipeline::OtlpBatch),
        ("otlp_simple", Pipeline::OtlpSimple),
    ] {
        let (mut added, mut ratios, mut plain) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            // Fresh providers every round: a batch processor's background
            // thread can be scheduled well or badly for a whole run.
            let without = provider(pipeline, None);
            let with = provider(pipeline, Some(&redactor));
            per_span_ns(&without, pipeline, FLUSH_EVERY);
            per_span_ns(&with, pipeline, FLUSH_EVERY);
            let (a, b) = if round % 2 == 0 {
                let a = per_span_ns(&without, pipeline, spans);
                (a, per_span_ns(&with, pipeline, spans))
            } else {
                let b = per_span_ns(&with, pipeline, spans);
                (per_span_ns(&without, pipeline, spans), b)
            };
            plain.push(a);
            added.push(b - a);
            ratios.push(b / a - 1.0);
            let _ = without.shutdown();
            let _ = with.shutdown();
        }
        println!(
            "  {name:<14} {:>9.0} ns {:>7.0} ns {:>8.1}%",
            median(plain),
            median(added),
            100.0 * median(ratios)
        );
    }
}

criterion_group!(benches, engine, span_pipeline);

fn main() {
    benches();
    paired_overhead();
    Criterion::default().configure_from_args().final_summary();
}
