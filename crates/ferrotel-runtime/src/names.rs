//! Instrument and attribute names, as data the init crate, docs and dashboards can share.
//!
//! The four catalog instruments (#22-#25) use a `rust.*` / `tokio.*` namespace: semantic
//! conventions define no Rust runtime metrics and reserve `process.runtime.*` for resources.
//! Process instruments use the semconv `process.*` names.

/// #22: live heap bytes from the allocator in use (observable gauge, `By`, attribute
/// [`RUST_ALLOCATOR`]).
pub const HEAP_LIVE: &str = "rust.memory.heap.live";
/// #23: heap bytes the allocator has mapped from the OS (observable gauge, `By`, attribute
/// [`RUST_ALLOCATOR`]).
pub const HEAP_MAPPED: &str = "rust.memory.heap.mapped";
/// #24: how late the stall probe woke up (histogram, `s`, attribute [`TOKIO_RUNTIME_ID`]).
pub const STALL_DURATION: &str = "tokio.runtime.stall.duration";
/// #25: live tasks of a tokio runtime (observable gauge, `{task}`, attribute [`TOKIO_RUNTIME_ID`]).
pub const ALIVE_TASKS: &str = "tokio.runtime.alive_tasks";

/// Worker threads of a tokio runtime (observable gauge, `{thread}`).
pub const WORKERS: &str = "tokio.runtime.workers";
/// Tasks waiting in the runtime's global (injection) queue (observable gauge, `{task}`).
pub const GLOBAL_QUEUE_DEPTH: &str = "tokio.runtime.global_queue.depth";
/// Time the workers spent busy, summed over workers (observable counter, `s`).
pub const WORKER_BUSY_TIME: &str = "tokio.runtime.worker.busy_time";
/// Times the workers parked, summed over workers (observable counter, `{park}`).
pub const WORKER_PARKS: &str = "tokio.runtime.worker.parks";
/// Task polls, summed over workers (observable counter, `{poll}`; `tokio_unstable` only).
pub const TASK_POLLS: &str = "tokio.runtime.task.polls";
/// Tasks spawned since the runtime started (observable counter, `{task}`; `tokio_unstable` only).
pub const SPAWNED_TASKS: &str = "tokio.runtime.spawned_tasks";
/// Threads of the blocking pool (observable gauge, `{thread}`; `tokio_unstable` only).
pub const BLOCKING_THREADS: &str = "tokio.runtime.blocking_threads";
/// Cumulative task polls no longer than the `le` attribute in seconds (observable counter,
/// `{poll}`; `tokio_unstable` and `enable_metrics_poll_time_histogram()` only). The `le`
/// attribute makes the series usable with PromQL `histogram_quantile`.
pub const POLL_TIME_BUCKETS: &str = "tokio.runtime.task.poll_time.buckets";
/// Cumulative task schedules whose latency is no longer than `le` seconds (observable counter,
/// `{task}`; `tokio_unstable` and `enable_metrics_schedule_latency_histogram()` only).
pub const SCHEDULE_LATENCY_BUCKETS: &str = "tokio.runtime.task.schedule_latency.buckets";

/// Semconv `process.cpu.time` (observable counter, `s`, attribute [`CPU_MODE`]).
pub const PROCESS_CPU_TIME: &str = "process.cpu.time";
/// Semconv `process.cpu.utilization` (observable gauge, `1`, attribute [`CPU_MODE`]).
pub const PROCESS_CPU_UTILIZATION: &str = "process.cpu.utilization";
/// Semconv `process.memory.usage`: resident set size (observable up-down counter, `By`).
pub const PROCESS_MEMORY_USAGE: &str = "process.memory.usage";
/// Semconv `process.memory.virtual` (observable up-down counter, `By`).
pub const PROCESS_MEMORY_VIRTUAL: &str = "process.memory.virtual";
/// Semconv `process.thread.count` (observable up-down counter, `{thread}`).
pub const PROCESS_THREAD_COUNT: &str = "process.thread.count";
/// Semconv `process.unix.file_descriptor.count` (observable up-down counter, `{file_descriptor}`).
pub const PROCESS_FD_COUNT: &str = "process.unix.file_descriptor.count";
/// Semconv `process.context_switches` (observable counter, `{context_switch}`, attribute
/// [`PROCESS_CONTEXT_SWITCH_TYPE`]).
pub const PROCESS_CONTEXT_SWITCHES: &str = "process.context_switches";
/// Semconv `process.paging.faults` (observable counter, `{fault}`, attribute
/// [`SYSTEM_PAGING_FAULT_TYPE`]).
pub const PROCESS_PAGING_FAULTS: &str = "process.paging.faults";
/// Semconv `process.uptime` (observable gauge, `s`).
pub const PROCESS_UPTIME: &str = "process.uptime";

/// Build information: value 1 with version, commit, build time and rustc version attributes
/// (observable gauge, no unit, so the Prometheus name is `build_info`).
pub const BUILD_INFO: &str = "build.info";

/// Attribute naming the allocator a heap number comes from: `jemalloc`, `glibc` or `counting`.
pub const RUST_ALLOCATOR: &str = "rust.allocator";
/// Attribute identifying a tokio runtime (`tokio::runtime::Handle::id`).
pub const TOKIO_RUNTIME_ID: &str = "tokio.runtime.id";
/// Semconv attribute on the CPU metrics: `user` or `system`.
pub const CPU_MODE: &str = "cpu.mode";
/// Semconv attribute on `process.context_switches`: `voluntary` or `involuntary`.
pub const PROCESS_CONTEXT_SWITCH_TYPE: &str = "process.context_switch.type";
/// Semconv attribute on `process.paging.faults`: `major` or `minor`.
pub const SYSTEM_PAGING_FAULT_TYPE: &str = "system.paging.fault.type";
/// Bucket upper bound in seconds on the `tokio_unstable` bucket counters (`+Inf` for the last).
pub const LE: &str = "le";

/// `build.info` attribute: the service's version (`CARGO_PKG_VERSION`).
pub const BUILD_VERSION: &str = "version";
/// `build.info` attribute: the git commit the service was built from.
pub const BUILD_GIT_COMMIT: &str = "git.commit";
/// `build.info` attribute: when the build script ran, RFC 3339 UTC.
pub const BUILD_TIME: &str = "build.time";
/// `build.info` attribute: the rustc version that compiled the service.
pub const BUILD_RUSTC_VERSION: &str = "rustc.version";
