//! `ferrotel-meters` recording costs, side by side in one run:
//!
//! - `meters/enum_counter/{1,2}_threads`: a counter whose labels are all enums
//!   (`contextd_mcp_tool_calls_total{tool_name,status}`, pre-bound) next to
//!   `AtomicU64::fetch_add`, the raw SDK `Counter::add` with the same two attributes, and the
//!   SDK bound counter. With 2 threads both hammer the same series. Target: <= 2x fetch_add.
//! - `meters/free_form`: counter and histogram with a free-form label (`model`) next to the
//!   raw SDK call building the same attributes. Target: <= 1.1x the SDK call.
//! - `meters/bound_histogram`: an enum-labelled histogram next to the SDK bound histogram.
//!   Target: <= 1.1x.
//! - `meters/exemplars`: the same histogram record outside any span, with the exemplar filter
//!   off (the path without exemplars), inside an unsampled span, and inside a sampled span
//!   (where the value is also kept as its bucket's exemplar), next to the SDK bound record; and
//!   the free-form histogram inside a sampled span (its reservoir found by attribute set). The
//!   SDK has no exemplars at all, so nothing else records the same thing.
//!
//! `cargo bench -p ferrotel-benches --bench meters`

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use ferrotel_catalog::contextd::{self, ContextdMeters, Provider, Status, Tool};
use ferrotel_meters::{DURATION_BUCKETS, cardinality_views};
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};

fn setup() -> (SdkMeterProvider, Meter) {
    let provider = SdkMeterProvider::builder()
        .with_reader(ManualReader::builder().build())
        .with_view(cardinality_views(contextd::DESCRIPTORS))
        .build();
    let meter = provider.meter("bench");
    (provider, meter)
}

/// A benchmarked operation, shareable across threads.
type Op = Arc<dyn Fn() + Send + Sync>;

/// Runs `op` `iters` times on each of `threads` threads at once; returns the wall time, i.e.
/// the time per operation as seen by each thread.
fn parallel(threads: usize, iters: u64, op: Op) -> Duration {
    let barrier = Arc::new(std::sync::Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let op = Arc::clone(&op);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                for _ in 0..iters {
                    op();
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join().expect("bench thread");
    }
    start.elapsed()
}

fn enum_counter(c: &mut Criterion) {
    let (_provider, meter) = setup();
    let meters = Arc::new(ContextdMeters::new(&meter));
    let raw = meter.u64_counter("raw_calls_total").build();
    let attrs = [
        KeyValue::new("tool_name", "checkpoint_save"),
        KeyValue::new("status", "success"),
    ];
    let bound = Arc::new(raw.bind(&attrs));
    let atomic = Arc::new(AtomicU64::new(0));
    let raw = Arc::new(raw);

    for threads in [1usize, 2] {
        let mut g = c.benchmark_group(format!("meters/enum_counter/{threads}_threads"));
        g.measurement_time(Duration::from_secs(2))
            .warm_up_time(Duration::from_millis(500))
            .sample_size(30);
        let cases: Vec<(&str, Op)> = vec![
            ("atomic_fetch_add", {
                let a = Arc::clone(&atomic);
                Arc::new(move || {
                    black_box(&a).fetch_add(1, Ordering::Relaxed);
                })
            }),
            ("sdk_add_2_attrs", {
                let r = Arc::clone(&raw);
                let attrs = attrs.clone();
                Arc::new(move || black_box(&r).add(1, black_box(&attrs)))
            }),
            ("sdk_bound_add", {
                let b = Arc::clone(&bound);
                Arc::new(move || black_box(&b).add(1))
            }),
            ("meters_typed_add", {
                let m = Arc::clone(&meters);
                Arc::new(move || {
                    black_box(&m.mcp_tool_calls)
                        .add(1, black_box((Tool::CheckpointSave, Status::Success)))
                })
            }),
        ];
        for (name, op) in cases {
            if threads == 1 {
                g.bench_function(name, |b| b.iter(|| op()));
            } else {
                g.bench_function(name, |b| {
                    b.iter_custom(|iters| parallel(threads, iters, Arc::clone(&op)))
                });
            }
        }
        g.finish();
    }
}

fn free_form(c: &mut Criterion) {
    let (_provider, meter) = setup();
    let meters = ContextdMeters::new(&meter);
    let raw_counter = meter.u64_counter("raw_embedding_operations_total").build();
    let raw_hist = meter
        .f64_histogram("raw_embedding_duration_seconds")
        .with_boundaries(DURATION_BUCKETS.to_vec())
        .build();
    // The model name arrives at run time, as in the service.
    let model: String = black_box("text-embedding-3-small".to_owned());

    let mut g = c.benchmark_group("meters/free_form");
    g.measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(30);
    g.bench_function("sdk_counter_add", |b| {
        b.iter(|| {
            raw_counter.add(
                1,
                &[
                    KeyValue::new("provider", "openai"),
                    KeyValue::new("model", black_box(model.as_str()).to_owned()),
                ],
            )
        })
    });
    g.bench_function("meters_counter_add", |b| {
        b.iter(|| {
            meters
                .embedding_operations
                .add(1, (Provider::OpenAi, black_box(model.as_str())))
        })
    });
    g.bench_function("sdk_histogram_record", |b| {
        b.iter(|| {
            raw_hist.record(
                black_box(0.042),
                &[
                    KeyValue::new("provider", "openai"),
                    KeyValue::new("model", black_box(model.as_str()).to_owned()),
                ],
            )
        })
    });
    g.bench_function("meters_histogram_record", |b| {
        b.iter(|| {
            meters.embedding_duration.record(
                black_box(0.042),
                (Provider::OpenAi, black_box(model.as_str())),
            )
        })
    });
    g.finish();
}

fn bound_histogram(c: &mut Criterion) {
    let (_provider, meter) = setup();
    let meters = ContextdMeters::new(&meter);
    let raw = meter
        .f64_histogram("raw_tool_duration_seconds")
        .with_boundaries(DURATION_BUCKETS.to_vec())
        .build();
    let bound = raw.bind(&[KeyValue::new("tool_name", "checkpoint_save")]);

    let mut g = c.benchmark_group("meters/bound_histogram");
    g.measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(30);
    g.bench_function("sdk_bound_record", |b| {
        b.iter(|| bound.record(black_box(0.042)))
    });
    g.bench_function("meters_typed_record", |b| {
        b.iter(|| {
            meters
                .mcp_tool_duration
                .record(black_box(0.042), black_box(Tool::CheckpointSave))
        })
    });
    g.finish();
}

fn exemplars(c: &mut Criterion) {
    use ferrotel_meters::{ExemplarFilter, set_exemplar_filter};
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    };
    let (_provider, meter) = setup();
    let meters = ContextdMeters::new(&meter);
    let bound = meter
        .f64_histogram("raw_exemplar_duration_seconds")
        .with_boundaries(DURATION_BUCKETS.to_vec())
        .build()
        .bind(&[KeyValue::new("tool_name", "checkpoint_save")]);
    let span = |flags| {
        opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
            SpanId::from(0x00f0_67aa_0ba9_02b7),
            flags,
            true,
            TraceState::default(),
        ))
    };
    let typed = || {
        meters
            .mcp_tool_duration
            .record(black_box(0.042), black_box(Tool::CheckpointSave))
    };
    let model = "text-embedding-3-small".to_owned();

    let mut g = c.benchmark_group("meters/exemplars");
    g.measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(30);
    g.bench_function("sdk_bound_record", |b| {
        b.iter(|| bound.record(black_box(0.042)))
    });
    set_exemplar_filter(ExemplarFilter::AlwaysOff);
    g.bench_function("meters_typed_record/filter_off", |b| b.iter(typed));
    set_exemplar_filter(ExemplarFilter::TraceBased);
    g.bench_function("meters_typed_record/no_span", |b| b.iter(typed));
    {
        let _current = span(TraceFlags::default()).attach();
        g.bench_function("meters_typed_record/unsampled_span", |b| b.iter(typed));
    }
    {
        let _current = span(TraceFlags::SAMPLED).attach();
        g.bench_function("meters_typed_record/sampled_span", |b| b.iter(typed));
        g.bench_function("meters_free_form_record/sampled_span", |b| {
            b.iter(|| {
                meters.embedding_duration.record(
                    black_box(0.042),
                    (Provider::OpenAi, black_box(model.as_str())),
                )
            })
        });
    }
    g.bench_function("meters_free_form_record/no_span", |b| {
        b.iter(|| {
            meters.embedding_duration.record(
                black_box(0.042),
                (Provider::OpenAi, black_box(model.as_str())),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, enum_counter, free_form, bound_histogram, exemplars);
criterion_main!(benches);
