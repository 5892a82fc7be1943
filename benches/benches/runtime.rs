//! Runtime metrics costs, side by side in one run:
//!
//! - `runtime_collection`: one full collection cycle of `ferrotel-runtime` (read every
//!   source once, run every callback, aggregate) next to the raw opentelemetry_sdk collecting
//!   the same number of observable instruments with constant callbacks, and the source read
//!   alone. Target: full cycle < 100 us.
//! - `counting_alloc/{1,2}_threads`: an allocation-heavy loop through the plain system
//!   allocator, through `CountingAlloc<System>` (per-thread slots), and through a wrapper with
//!   one global atomic (what the counting allocator avoids). Target: counting <= +5%.
//!
//! `cargo bench -p ferrotel-benches --bench runtime`

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use ferrotel_runtime::{BuildInfo, CountingAlloc, RuntimeMetrics};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};

fn collection(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    // Ours: every instrument available on this machine, one runtime, build info.
    let reader = SharedReader::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(reader.clone())
        .build();
    let handle = RuntimeMetrics::builder()
        .with_tokio_runtime(runtime.handle().clone())
        .with_build_info(BuildInfo::new("1.0.0"))
        .build()
        .register(&provider.meter("runtime"))
        .expect("register");
    let instruments = handle.instruments().len();

    // Raw SDK: the same number of observable gauges, constant callbacks (two points each).
    let raw_reader = SharedReader::default();
    let raw_provider = SdkMeterProvider::builder()
        .with_reader(raw_reader.clone())
        .build();
    let raw_meter = raw_provider.meter("raw");
    for i in 0..instruments {
        raw_meter
            .u64_observable_gauge(format!("raw.gauge.{i}"))
            .with_callback(|o| {
                o.observe(1, &[opentelemetry::KeyValue::new("mode", "user")]);
                o.observe(2, &[opentelemetry::KeyValue::new("mode", "system")]);
            })
            .build();
    }

    let mut group = c.benchmark_group("runtime_collection");
    group
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(30);
    group.bench_function(format!("raw_sdk_{instruments}_constant_gauges"), |b| {
        let mut rm = ResourceMetrics::default();
        b.iter(|| raw_reader.0.collect(black_box(&mut rm)).expect("collect"))
    });
    group.bench_function("ours_source_read_only", |b| b.iter(|| handle.refresh()));
    group.bench_function("ours_full_cycle", |b| {
        let mut rm = ResourceMetrics::default();
        b.iter(|| {
            // Force a fresh read: a collection within the min interval would reuse the last.
            handle.refresh();
            reader.0.collect(black_box(&mut rm)).expect("collect")
        })
    });
    group.finish();
    drop(handle);
    let _ = provider.shutdown();
    let _ = raw_provider.shutdown();
}

/// A `ManualReader` both registered with a provider and kept for `collect`.
#[derive(Clone, Debug, Default)]
struct SharedReader(std::sync::Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: std::sync::Weak<opentelemetry_sdk::metrics::Pipeline>) {
        self.0.register_pipeline(pipeline)
    }
    fn collect(&self, rm: &mut ResourceMetrics) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.collect(rm)
    }
    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn temporality(
        &self,
        kind: opentelemetry_sdk::metrics::InstrumentKind,
    ) -> opentelemetry_sdk::metrics::Temporality {
        self.0.temporality(kind)
    }
}

/// The naive alternative: one global atomic updated on every allocation.
struct GlobalAtomicAlloc<A> {
    inner: A,
    live: AtomicIsize,
}

// SAFETY: forwards every call unchanged to the wrapped allocator.
unsafe impl<A: GlobalAlloc> GlobalAlloc for GlobalAtomicAlloc<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.live
            .fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { self.inner.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.live
            .fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { self.inner.dealloc(ptr, layout) }
    }
}

static COUNTING: CountingAlloc<System> = CountingAlloc::new(System);
static GLOBAL_ATOMIC: GlobalAtomicAlloc<System> = GlobalAtomicAlloc {
    inner: System,
    live: AtomicIsize::new(0),
};

const SIZES: [usize; 8] = [16, 32, 64, 128, 256, 512, 1024, 48];
const BLOCKS: usize = 32;

/// One iteration: allocate 32 blocks of mixed small sizes, then free them all.
fn churn<A: GlobalAlloc>(allocator: &A) {
    let mut blocks = [(std::ptr::null_mut::<u8>(), 0usize); BLOCKS];
    for (i, block) in blocks.iter_mut().enumerate() {
        let size = SIZES[i % SIZES.len()];
        let layout = Layout::from_size_align(size, 8).expect("layout");
        // SAFETY: non-zero size; freed below with the same layout.
        let ptr = unsafe { allocator.alloc(layout) };
        assert!(!ptr.is_null());
        // SAFETY: `ptr` points to at least `size` >= 16 writable bytes.
        unsafe { ptr.write_volatile(i as u8) };
        *block = (ptr, size);
    }
    for (ptr, size) in blocks {
        // SAFETY: allocated above with this layout.
        unsafe {
            allocator.dealloc(
                black_box(ptr),
                Layout::from_size_align(size, 8).expect("layout"),
            )
        };
    }
}

/// Mean per-thread CPU time for `iters` iterations on each of `threads` threads running at
/// once. CPU time (not wall time) so that other processes on the shared 2-core machine do not
/// blur the comparison; cache-line contention between the threads still shows in it.
fn run_threads<A: GlobalAlloc + Sync>(
    allocator: &'static A,
    threads: usize,
    iters: u64,
) -> Duration {
    let barrier = std::sync::Barrier::new(threads);
    let total: Duration = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    churn(allocator); // claim the thread's counter slot before timing
                    barrier.wait();
                    let start = thread_cpu_time();
                    for _ in 0..iters {
                        churn(allocator);
                    }
                    thread_cpu_time().saturating_sub(start)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("bench thread"))
            .sum()
    });
    total / threads as u32
}

/// CPU time consumed by the calling thread.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid clock id and out-pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn counting_alloc(c: &mut Criterion) {
    for threads in [1usize, 2] {
        let mut group = c.benchmark_group(format!("counting_alloc/{threads}_threads"));
        // A few percent is the signal: more samples than the collection group.
        group
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_millis(500))
            .sample_size(50);
        group.bench_function("system", |b| {
            b.iter_custom(|iters| run_threads(&System, threads, iters))
        });
        group.bench_function("counting_per_thread_slots", |b| {
            b.iter_custom(|iters| run_threads(&COUNTING, threads, iters))
        });
        group.bench_function("one_global_atomic", |b| {
            b.iter_custom(|iters| run_threads(&GLOBAL_ATOMIC, threads, iters))
        });
        group.finish();
    }
}

/// Interleaved A/B of the same loops: on a shared 2-core machine, load bursts hit one
/// criterion benchmark and not the next; alternating the variants round by round and taking
/// medians gives a steadier ratio. Printed after the criterion groups (skipped in
/// `cargo test --benches` mode, where cargo passes no `--bench` flag).
fn interleaved_ratios() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let per_iter = |d: Duration, iters: u64| d.as_nanos() as f64 / iters as f64;
    const ROUNDS: usize = 61;
    const ITERS: u64 = 20_000;
    for threads in [1usize, 2] {
        let (mut system, mut counting, mut atomic) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            system.push(per_iter(run_threads(&System, threads, ITERS), ITERS));
            counting.push(per_iter(run_threads(&COUNTING, threads, ITERS), ITERS));
            atomic.push(per_iter(run_threads(&GLOBAL_ATOMIC, threads, ITERS), ITERS));
        }
        let (s, c, a) = (median(system), median(counting), median(atomic));
        println!(
            "counting_alloc/{threads}_threads interleaved medians ({ROUNDS} rounds): system {s:.1} ns, \
             counting {c:.1} ns ({:+.1}%), one global atomic {a:.1} ns ({:+.1}%)",
            (c / s - 1.0) * 100.0,
            (a / s - 1.0) * 100.0
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = collection, counting_alloc
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    interleaved_ratios();
}
