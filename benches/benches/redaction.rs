//! Redaction engine and span-processor overhead, side by side in one run.
//!
//! - `redaction/clean_*`: text without secrets through `Redactor::redact`
//!   (keyword prefilter) versus the naive baseline (every built-in rule's regex
//!   run on the value).
//! - `redaction/short_attribute`: one short clean value, and the same through
//!   `redact_value` with its key (the per-attribute cost in a span).
//! - `redaction/secret_dense`: every line carries a secret; engine vs naive.
//! - `redaction/span_pipeline`: create + end + export (SimpleSpanProcessor,
//!   exporter that drops) a typical HTTP server span, with and without the
//!   `RedactingSpanProcessor` wrapper.
//!
//! `cargo bench -p telemetry-benches --bench redaction`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry::trace::{Span as _, SpanKind, Tracer as _, TracerProvider as _};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SimpleSpanProcessor, SpanData, SpanExporter};
use std::hint::black_box;
use std::time::Duration;
use telemetry_redaction::{Redactor, builtin_patterns};

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

/// Exports by dropping: the pipeline cost without I/O, so the ratio is an
/// upper bound on the redaction overhead.
#[derive(Debug)]
struct DropExporter;

impl SpanExporter for DropExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        black_box(batch);
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

fn span_pipeline(c: &mut Criterion) {
    let plain = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(DropExporter))
        .build();
    let redacted = SdkTracerProvider::builder()
        .with_span_processor(
            Redactor::default().span_processor(SimpleSpanProcessor::new(DropExporter)),
        )
        .build();
    let plain_tracer = plain.tracer("bench");
    let redacted_tracer = redacted.tracer("bench");
    let mut g = c.benchmark_group("redaction/span_pipeline");
    g.measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(30);
    let mut i = 0u64;
    g.bench_function("sdk_without_redaction", |b| {
        b.iter(|| {
            i += 1;
            http_span(&plain_tracer, i)
        })
    });
    g.bench_function("sdk_with_redacting_processor", |b| {
        b.iter(|| {
            i += 1;
            http_span(&redacted_tracer, i)
        })
    });
    g.finish();
}

criterion_group!(benches, engine, span_pipeline);
criterion_main!(benches);
