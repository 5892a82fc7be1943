//! Every instrument this crate can register, as [`InstrumentDescriptor`] data: registration
//! creates the instruments from these values, and catalogs, docs and dashboards read the same
//! values instead of restating names, units and labels.
//!
//! Which of them a process actually reports depends on the sources available there
//! ([`RuntimeMetricsHandle::instruments`](crate::RuntimeMetricsHandle::instruments)).

use ferrotel_meters::{
    InstrumentDescriptor, InstrumentKind, LabelDescriptor, LabelValues, ValueType,
};

use crate::allocator::AllocatorSource;
use crate::names;
use crate::tokio_runtime::STALL_BUCKETS;

const ALLOCATORS: [&str; 3] = [
    AllocatorSource::ALL[0].as_str(),
    AllocatorSource::ALL[1].as_str(),
    AllocatorSource::ALL[2].as_str(),
];
const ALLOCATOR: &[LabelDescriptor] = &[LabelDescriptor {
    key: names::RUST_ALLOCATOR,
    values: LabelValues::Closed(&ALLOCATORS),
}];
const RUNTIME_ID: &[LabelDescriptor] = &[LabelDescriptor {
    key: names::TOKIO_RUNTIME_ID,
    values: LabelValues::FreeForm,
}];
const RUNTIME_ID_AND_LE: &[LabelDescriptor] = &[
    LabelDescriptor {
        key: names::TOKIO_RUNTIME_ID,
        values: LabelValues::FreeForm,
    },
    LabelDescriptor {
        key: names::LE,
        values: LabelValues::FreeForm,
    },
];
const CPU_MODE: &[LabelDescriptor] = &[LabelDescriptor {
    key: names::CPU_MODE,
    values: LabelValues::Closed(&["user", "system"]),
}];
const CONTEXT_SWITCH_TYPE: &[LabelDescriptor] = &[LabelDescriptor {
    key: names::PROCESS_CONTEXT_SWITCH_TYPE,
    values: LabelValues::Closed(&["voluntary", "involuntary"]),
}];
const PAGING_FAULT_TYPE: &[LabelDescriptor] = &[LabelDescriptor {
    key: names::SYSTEM_PAGING_FAULT_TYPE,
    values: LabelValues::Closed(&["minor", "major"]),
}];
const BUILD_ATTRIBUTES: &[LabelDescriptor] = &[
    LabelDescriptor {
        key: names::BUILD_VERSION,
        values: LabelValues::FreeForm,
    },
    LabelDescriptor {
        key: names::BUILD_GIT_COMMIT,
        values: LabelValues::FreeForm,
    },
    LabelDescriptor {
        key: names::BUILD_TIME,
        values: LabelValues::FreeForm,
    },
    LabelDescriptor {
        key: names::BUILD_RUSTC_VERSION,
        values: LabelValues::FreeForm,
    },
];

/// Bucket counters carry one series per (runtime, bucket); tokio allows far more buckets than
/// the free-form default limit of 200 would keep, so the SDK default is declared instead.
const BUCKET_COUNTER_LIMIT: Option<usize> = Some(2000);

const fn descriptor(
    name: &'static str,
    kind: InstrumentKind,
    value_type: ValueType,
    unit: &'static str,
    description: &'static str,
    labels: &'static [LabelDescriptor],
) -> InstrumentDescriptor {
    InstrumentDescriptor {
        name,
        kind,
        value_type,
        unit,
        description,
        labels,
        buckets: None,
        cardinality_limit: None,
    }
}

use InstrumentKind::{Histogram, ObservableCounter, ObservableGauge, ObservableUpDownCounter};
use ValueType::{F64, I64, U64};

/// #22 `rust.memory.heap.live{rust.allocator}`.
pub const HEAP_LIVE: InstrumentDescriptor = descriptor(
    names::HEAP_LIVE,
    ObservableGauge,
    U64,
    "By",
    "Live heap bytes according to the allocator in use (not RSS).",
    ALLOCATOR,
);
/// #23 `rust.memory.heap.mapped{rust.allocator}`.
pub const HEAP_MAPPED: InstrumentDescriptor = descriptor(
    names::HEAP_MAPPED,
    ObservableGauge,
    U64,
    "By",
    "Heap bytes the allocator has mapped from the operating system.",
    ALLOCATOR,
);
/// #24 `tokio.runtime.stall.duration{tokio.runtime.id}`.
pub const STALL_DURATION: InstrumentDescriptor = InstrumentDescriptor {
    buckets: Some(&STALL_BUCKETS),
    ..descriptor(
        names::STALL_DURATION,
        Histogram,
        F64,
        "s",
        "How late the runtime's stall probe woke up after its deadline (time the runtime could not run a ready task).",
        RUNTIME_ID,
    )
};
/// #25 `tokio.runtime.alive_tasks{tokio.runtime.id}`.
pub const ALIVE_TASKS: InstrumentDescriptor = descriptor(
    names::ALIVE_TASKS,
    ObservableGauge,
    U64,
    "{task}",
    "Tasks alive in the tokio runtime (spawned, not yet completed).",
    RUNTIME_ID,
);
/// `tokio.runtime.workers{tokio.runtime.id}`.
pub const WORKERS: InstrumentDescriptor = descriptor(
    names::WORKERS,
    ObservableGauge,
    U64,
    "{thread}",
    "Worker threads of the tokio runtime.",
    RUNTIME_ID,
);
/// `tokio.runtime.global_queue.depth{tokio.runtime.id}`.
pub const GLOBAL_QUEUE_DEPTH: InstrumentDescriptor = descriptor(
    names::GLOBAL_QUEUE_DEPTH,
    ObservableGauge,
    U64,
    "{task}",
    "Tasks waiting in the tokio runtime's global queue.",
    RUNTIME_ID,
);
/// `tokio.runtime.worker.busy_time{tokio.runtime.id}`.
pub const WORKER_BUSY_TIME: InstrumentDescriptor = descriptor(
    names::WORKER_BUSY_TIME,
    ObservableCounter,
    F64,
    "s",
    "Time the tokio runtime's workers spent busy, summed over workers.",
    RUNTIME_ID,
);
/// `tokio.runtime.worker.parks{tokio.runtime.id}`.
pub const WORKER_PARKS: InstrumentDescriptor = descriptor(
    names::WORKER_PARKS,
    ObservableCounter,
    U64,
    "{park}",
    "Times the tokio runtime's workers parked, summed over workers.",
    RUNTIME_ID,
);
/// `tokio.runtime.task.polls{tokio.runtime.id}` (`tokio_unstable` only).
pub const TASK_POLLS: InstrumentDescriptor = descriptor(
    names::TASK_POLLS,
    ObservableCounter,
    U64,
    "{poll}",
    "Task polls, summed over workers (tokio_unstable).",
    RUNTIME_ID,
);
/// `tokio.runtime.spawned_tasks{tokio.runtime.id}` (`tokio_unstable` only).
pub const SPAWNED_TASKS: InstrumentDescriptor = descriptor(
    names::SPAWNED_TASKS,
    ObservableCounter,
    U64,
    "{task}",
    "Tasks spawned since the runtime started (tokio_unstable).",
    RUNTIME_ID,
);
/// `tokio.runtime.blocking_threads{tokio.runtime.id}` (`tokio_unstable` only).
pub const BLOCKING_THREADS: InstrumentDescriptor = descriptor(
    names::BLOCKING_THREADS,
    ObservableGauge,
    U64,
    "{thread}",
    "Threads of the runtime's blocking pool (tokio_unstable).",
    RUNTIME_ID,
);
/// `tokio.runtime.task.poll_time.buckets{tokio.runtime.id, le}` (`tokio_unstable` only).
pub const POLL_TIME_BUCKETS: InstrumentDescriptor = InstrumentDescriptor {
    cardinality_limit: BUCKET_COUNTER_LIMIT,
    ..descriptor(
        names::POLL_TIME_BUCKETS,
        ObservableCounter,
        U64,
        "{poll}",
        "Task polls that took at most `le` seconds, cumulative (tokio poll-time histogram).",
        RUNTIME_ID_AND_LE,
    )
};
/// `tokio.runtime.task.schedule_latency.buckets{tokio.runtime.id, le}` (`tokio_unstable` only).
pub const SCHEDULE_LATENCY_BUCKETS: InstrumentDescriptor = InstrumentDescriptor {
    cardinality_limit: BUCKET_COUNTER_LIMIT,
    ..descriptor(
        names::SCHEDULE_LATENCY_BUCKETS,
        ObservableCounter,
        U64,
        "{task}",
        "Task schedules that waited at most `le` seconds to be polled, cumulative (tokio schedule-latency histogram).",
        RUNTIME_ID_AND_LE,
    )
};
/// Semconv `process.cpu.time{cpu.mode}`.
pub const PROCESS_CPU_TIME: InstrumentDescriptor = descriptor(
    names::PROCESS_CPU_TIME,
    ObservableCounter,
    F64,
    "s",
    "Total CPU seconds broken down by different CPU modes.",
    CPU_MODE,
);
/// Semconv `process.cpu.utilization{cpu.mode}`.
pub const PROCESS_CPU_UTILIZATION: InstrumentDescriptor = descriptor(
    names::PROCESS_CPU_UTILIZATION,
    ObservableGauge,
    F64,
    "1",
    "CPU time since the previous reading divided by the elapsed time and the number of CPUs available to the process.",
    CPU_MODE,
);
/// Semconv `process.memory.usage`.
pub const PROCESS_MEMORY_USAGE: InstrumentDescriptor = descriptor(
    names::PROCESS_MEMORY_USAGE,
    ObservableUpDownCounter,
    I64,
    "By",
    "The amount of physical memory in use (resident set size).",
    &[],
);
/// Semconv `process.memory.virtual`.
pub const PROCESS_MEMORY_VIRTUAL: InstrumentDescriptor = descriptor(
    names::PROCESS_MEMORY_VIRTUAL,
    ObservableUpDownCounter,
    I64,
    "By",
    "The amount of committed virtual memory.",
    &[],
);
/// Semconv `process.thread.count`.
pub const PROCESS_THREAD_COUNT: InstrumentDescriptor = descriptor(
    names::PROCESS_THREAD_COUNT,
    ObservableUpDownCounter,
    I64,
    "{thread}",
    "Process threads count.",
    &[],
);
/// Semconv `process.unix.file_descriptor.count`.
pub const PROCESS_FD_COUNT: InstrumentDescriptor = descriptor(
    names::PROCESS_FD_COUNT,
    ObservableUpDownCounter,
    I64,
    "{file_descriptor}",
    "Number of unix file descriptors in use by the process.",
    &[],
);
/// Semconv `process.context_switches{process.context_switch.type}`.
pub const PROCESS_CONTEXT_SWITCHES: InstrumentDescriptor = descriptor(
    names::PROCESS_CONTEXT_SWITCHES,
    ObservableCounter,
    U64,
    "{context_switch}",
    "Number of times the process has been context switched.",
    CONTEXT_SWITCH_TYPE,
);
/// Semconv `process.paging.faults{system.paging.fault.type}`.
pub const PROCESS_PAGING_FAULTS: InstrumentDescriptor = descriptor(
    names::PROCESS_PAGING_FAULTS,
    ObservableCounter,
    U64,
    "{fault}",
    "Number of page faults the process has made.",
    PAGING_FAULT_TYPE,
);
/// Semconv `process.uptime`.
pub const PROCESS_UPTIME: InstrumentDescriptor = descriptor(
    names::PROCESS_UPTIME,
    ObservableGauge,
    F64,
    "s",
    "The time the process has been running.",
    &[],
);
/// `build.info{version, git.commit, build.time, rustc.version}`, always 1.
pub const BUILD_INFO: InstrumentDescriptor = descriptor(
    names::BUILD_INFO,
    ObservableGauge,
    U64,
    "",
    "Build information of the service: always 1, with version, git commit, build time and rustc version attributes.",
    BUILD_ATTRIBUTES,
);

/// Every instrument of this crate, in registration order.
pub const ALL: &[InstrumentDescriptor] = &[
    HEAP_LIVE,
    HEAP_MAPPED,
    PROCESS_CPU_TIME,
    PROCESS_CPU_UTILIZATION,
    PROCESS_MEMORY_USAGE,
    PROCESS_MEMORY_VIRTUAL,
    PROCESS_THREAD_COUNT,
    PROCESS_FD_COUNT,
    PROCESS_CONTEXT_SWITCHES,
    PROCESS_PAGING_FAULTS,
    PROCESS_UPTIME,
    ALIVE_TASKS,
    WORKERS,
    GLOBAL_QUEUE_DEPTH,
    WORKER_BUSY_TIME,
    WORKER_PARKS,
    TASK_POLLS,
    SPAWNED_TASKS,
    BLOCKING_THREADS,
    POLL_TIME_BUCKETS,
    SCHEDULE_LATENCY_BUCKETS,
    BUILD_INFO,
    STALL_DURATION,
];
