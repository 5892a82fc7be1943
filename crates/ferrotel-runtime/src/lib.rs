//! Runtime metrics for Rust services: the Rust counterparts of the Go runtime metrics, semconv
//! process metrics, tokio runtime metrics and a build-info gauge, on any OpenTelemetry
//! [`Meter`](opentelemetry::metrics::Meter).
//!
//! ```
//! use opentelemetry::metrics::MeterProvider as _;
//! use opentelemetry_sdk::metrics::SdkMeterProvider;
//! use ferrotel_runtime::RuntimeMetrics;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let provider = SdkMeterProvider::builder().build();
//! let meter = provider.meter("runtime");
//! let handle = RuntimeMetrics::builder()
//!     .with_tokio_runtime(tokio::runtime::Handle::current())
//!     .with_build_info(ferrotel_runtime::build_info!())
//!     .build()
//!     .register(&meter)?;
//! // Keep `handle` alive as long as the metrics should be reported: dropping it stops the
//! // stall probe and turns the callbacks into no-ops.
//! # drop(handle);
//! # Ok(()) }
//! ```
//!
//! # Go runtime metrics and their Rust counterparts
//!
//! Rust has no GC and no goroutines. Each Go original maps to the closest honest measure; names
//! use the `rust.*` / `tokio.*` namespaces because semantic conventions define no Rust runtime
//! metrics and reserve `process.runtime.*` for resource attributes.
//!
//! | # | Go original | here | kind, unit |
//! |---|---|---|---|
//! | 22 | `process.runtime.go.mem.heap_alloc` | `rust.memory.heap.live{rust.allocator}`: live bytes from the allocator in use (not RSS) | gauge, `By` |
//! | 23 | `process.runtime.go.mem.heap_sys` | `rust.memory.heap.mapped{rust.allocator}`: bytes the allocator mapped from the OS | gauge, `By` |
//! | 24 | `process.runtime.go.gc.pause_ns` | `tokio.runtime.stall.duration{tokio.runtime.id}`: how late a probe task woke up | histogram, `s` |
//! | 25 | `process.runtime.go.goroutines` | `tokio.runtime.alive_tasks{tokio.runtime.id}` (and `process.thread.count`) | gauge, `{task}` |
//!
//! # No fake series
//!
//! An instrument is registered only when its source works in this process, checked once at
//! [`RuntimeMetrics::register`]; [`RuntimeMetricsHandle::instruments`] lists what was
//! registered, as [`descriptors`] values. Absent, by design:
//! - heap instruments when no allocator source is available: feature `jemalloc` off, not
//!   linux-gnu or glibc < 2.33 for `glibc`, [`CountingAlloc`] not installed for `counting`;
//! - `rust.memory.heap.mapped{rust.allocator="counting"}`: a wrapper does not see OS mappings;
//! - tokio instruments when no runtime was given (e.g. registration outside a runtime);
//! - `tokio.runtime.worker.busy_time` / `.parks` on targets without 64-bit atomics;
//! - on macOS and other Unix: memory, thread, fd and uptime instruments (only `getrusage` data);
//!   on non-Unix targets: every process instrument;
//! - `process.cpu.utilization` until a second reading exists (it is a rate);
//! - `build.info` unless [`RuntimeMetricsBuilder::with_build_info`] was called.
//!
//! # Cost
//!
//! All sources are read in one pass per collection (see [`RuntimeMetricsBuilder::with_min_collect_interval`]),
//! on the thread running the metric reader, never on the application's hot path. The `runtime`
//! benchmark in `benches/` measures a full collection cycle.
//!
//! # Dependencies and why
//!
//! - `opentelemetry` (metrics API): the instruments.
//! - `ferrotel-meters`: [`InstrumentDescriptor`](ferrotel_meters::InstrumentDescriptor), the
//!   data form of every instrument ([`descriptors`]), so catalogs, docs and dashboards read names,
//!   kinds, units and labels from here instead of restating them.
//! - `tokio` (`rt`, `time`): the stable `RuntimeMetrics` API and the stall probe's timer.
//! - `procfs` (Linux): parses `/proc/self/stat`, `/proc/uptime` and counts `/proc/self/fd`
//!   through a kept, tested parser instead of hand-written string splitting; it keeps
//!   `/proc/self` open and uses the O(1) fd count of Linux >= 6.2.
//! - `libc` (Unix): `getrusage` (CPU time per mode with microsecond resolution, page faults and
//!   context switches of *all* threads, in one call), `dlsym` for glibc's `mallinfo2`, and a
//!   `pthread` key to hand back [`CountingAlloc`] slots at thread exit. `sysinfo` was
//!   considered: it has no context-switch or file-descriptor counts and no user/system CPU
//!   split, and goes through its own `System` refresh; on Linux `procfs` + `getrusage` give
//!   every semconv number directly. (A `sysinfo` backend for memory and uptime on macOS and
//!   Windows is not implemented yet.)
//! - `crossbeam-utils`: `CachePadded` for the counting allocator's per-thread slots.
//! - `tikv-jemalloc-ctl` / `tikv-jemallocator` (feature `jemalloc`): jemalloc statistics, and
//!   the matching allocator to install.
//! - `thiserror`: [`RegisterError`].
//!
//! # Features
//!
//! - `glibc` (default): `mallinfo2` heap source on linux-gnu.
//! - `counting` (default): [`CountingAlloc`]; reports only once the application installs it.
//! - `jemalloc`: jemalloc statistics; re-exports [`Jemalloc`] to install.
//! - `tokio-schedule-latency`: with `--cfg tokio_unstable`, also tokio's schedule-latency
//!   histogram (enables tokio's `schedule-latency` feature).
//!
//! Build with `RUSTFLAGS="--cfg tokio_unstable"` for tokio's own poll-time and
//! schedule-latency histograms (see [`names::POLL_TIME_BUCKETS`]).
//!
//! ---
//!
//! The guide below is `docs/runtime-metrics.md` of the repository.
#![doc = include_str!("../docs/runtime-metrics.md")]

mod allocator;
mod build_info;
mod collector;
pub mod descriptors;
pub mod names;
mod process;
mod registration;
mod tokio_runtime;

pub use allocator::AllocatorSource;
#[cfg(feature = "counting")]
pub use allocator::{CountingAlloc, SLOT_COUNT, counting_live_bytes};
pub use build_info::{BuildInfo, UNKNOWN, build_script};
pub use registration::{
    RegisterError, RuntimeMetrics, RuntimeMetricsBuilder, RuntimeMetricsHandle,
};
#[cfg(feature = "jemalloc")]
pub use tikv_jemallocator::Jemalloc;
