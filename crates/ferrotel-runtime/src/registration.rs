//! The builder, the registration of instruments on a [`Meter`], and the handle.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{AsyncInstrument, Meter};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::allocator::{AllocatorSource, HeapSources};
use crate::build_info::BuildInfo;
use crate::collector::{Collector, Snapshot, Sources};
use crate::names;
use crate::process::ProcessSource;
use crate::tokio_runtime::{ObservedRuntime, STALL_BUCKETS, stall_probe};

/// Default stall probe interval.
pub const DEFAULT_STALL_PROBE_INTERVAL: Duration = Duration::from_millis(50);
/// Default minimum interval between two reads of the sources.
pub const DEFAULT_MIN_COLLECT_INTERVAL: Duration = Duration::from_secs(1);
const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// Why [`RuntimeMetrics::register`] refused a configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// An interval outside the accepted range.
    #[error("{setting} must be between {min:?} and {max:?}, got {got:?}")]
    InvalidInterval {
        /// The builder setting at fault.
        setting: &'static str,
        /// The value given.
        got: Duration,
        /// Smallest accepted value.
        min: Duration,
        /// Largest accepted value.
        max: Duration,
    },
}

/// Runtime metrics configuration; [`register`](Self::register) it on a [`Meter`].
#[derive(Debug, Clone)]
pub struct RuntimeMetrics {
    runtimes: Vec<Handle>,
    stall_probe_interval: Option<Duration>,
    min_collect_interval: Duration,
    allocator_sources: Vec<AllocatorSource>,
    process: bool,
    build_info: Option<BuildInfo>,
}

impl Default for RuntimeMetrics {
    /// Process and allocator metrics, no tokio runtime, no build info.
    fn default() -> Self {
        RuntimeMetricsBuilder::default().build()
    }
}

/// Builds [`RuntimeMetrics`].
#[derive(Debug, Clone)]
pub struct RuntimeMetricsBuilder {
    config: RuntimeMetrics,
}

impl Default for RuntimeMetricsBuilder {
    fn default() -> Self {
        Self {
            config: RuntimeMetrics {
                runtimes: Vec::new(),
                stall_probe_interval: Some(DEFAULT_STALL_PROBE_INTERVAL),
                min_collect_interval: DEFAULT_MIN_COLLECT_INTERVAL,
                allocator_sources: AllocatorSource::ALL.to_vec(),
                process: true,
                build_info: None,
            },
        }
    }
}

impl RuntimeMetricsBuilder {
    /// Observes this tokio runtime (call once per runtime; repeated handles of the same runtime
    /// are observed once): `tokio.runtime.*` instruments with a `tokio.runtime.id` attribute
    /// and a stall probe task spawned on it.
    pub fn with_tokio_runtime(mut self, handle: Handle) -> Self {
        if !self.config.runtimes.iter().any(|h| h.id() == handle.id()) {
            self.config.runtimes.push(handle);
        }
        self
    }

    /// Observes the runtime this is called from, if any; without one, only process and
    /// allocator metrics are registered. What `ferrotel::init()` uses.
    pub fn with_current_tokio_runtime(self) -> Self {
        match Handle::try_current() {
            Ok(handle) => self.with_tokio_runtime(handle),
            Err(_) => self,
        }
    }

    /// How often the stall probe wakes up (default 50 ms, accepted 1 ms ..= 1 h). Shorter
    /// resolves shorter stalls at one timer wake-up per interval per runtime.
    pub fn with_stall_probe_interval(mut self, interval: Duration) -> Self {
        self.config.stall_probe_interval = Some(interval);
        self
    }

    /// No stall probe task (and no `tokio.runtime.stall.duration`).
    pub fn without_stall_probe(mut self) -> Self {
        self.config.stall_probe_interval = None;
        self
    }

    /// Readings younger than this are reused by the next collection (default 1 s, at least
    /// 10 ms, at most 1 h): bounds the cost when several readers or frequent scrapes collect.
    pub fn with_min_collect_interval(mut self, interval: Duration) -> Self {
        self.config.min_collect_interval = interval;
        self
    }

    /// Restricts the heap sources to these (default: every compiled-in source that works).
    pub fn with_allocator_sources(
        mut self,
        sources: impl IntoIterator<Item = AllocatorSource>,
    ) -> Self {
        self.config.allocator_sources = sources.into_iter().collect();
        self
    }

    /// No `process.*` instruments (e.g. when another component already reports them).
    pub fn without_process_metrics(mut self) -> Self {
        self.config.process = false;
        self
    }

    /// Reports `build.info` with these attributes (see [`build_info!`](crate::build_info!)).
    pub fn with_build_info(mut self, info: BuildInfo) -> Self {
        self.config.build_info = Some(info);
        self
    }

    /// The configuration.
    pub fn build(self) -> RuntimeMetrics {
        self.config
    }
}

/// Kind of a registered instrument, as the SDK will export it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InstrumentKind {
    /// Observable, monotonic sum.
    Counter,
    /// Observable, non-monotonic sum.
    UpDownCounter,
    /// Observable gauge.
    Gauge,
    /// Synchronous histogram.
    Histogram,
}

/// A registered instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InstrumentInfo {
    /// OpenTelemetry name.
    pub name: &'static str,
    /// Kind.
    pub kind: InstrumentKind,
    /// UCUM unit.
    pub unit: &'static str,
}

/// Owns the stall probe tasks and the sources. Dropping it aborts the probes, releases the
/// tokio handles and makes the registered callbacks observe nothing (OpenTelemetry cannot
/// unregister a callback).
pub struct RuntimeMetricsHandle {
    collector: Arc<Collector>,
    probes: Vec<JoinHandle<()>>,
    instruments: Vec<InstrumentInfo>,
}

impl fmt::Debug for RuntimeMetricsHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeMetricsHandle")
            .field("probes", &self.probes.len())
            .field("instruments", &self.instruments)
            .finish()
    }
}

impl RuntimeMetricsHandle {
    /// The instruments registered, i.e. the sources available in this process.
    pub fn instruments(&self) -> &[InstrumentInfo] {
        &self.instruments
    }

    /// Reads every source now, as a collection does, whatever the minimum interval. The next
    /// collection within that interval reports this reading.
    pub fn refresh(&self) {
        self.collector.refresh();
    }
}

impl Drop for RuntimeMetricsHandle {
    fn drop(&mut self) {
        for probe in &self.probes {
            probe.abort();
        }
        self.collector.stop();
    }
}

impl RuntimeMetrics {
    /// Starts a configuration.
    pub fn builder() -> RuntimeMetricsBuilder {
        RuntimeMetricsBuilder::default()
    }

    /// Registers the available instruments on `meter` and spawns one stall probe per runtime.
    ///
    /// Reads every source once to find out which are available. Errors only on an invalid
    /// interval; an unavailable source just leaves its instruments out.
    pub fn register(self, meter: &Meter) -> Result<RuntimeMetricsHandle, RegisterError> {
        if let Some(interval) = self.stall_probe_interval {
            check_interval("stall probe interval", interval, Duration::from_millis(1))?;
        }
        check_interval(
            "min collect interval",
            self.min_collect_interval,
            Duration::ZERO,
        )?;

        let sources = Sources {
            heap: HeapSources::resolve(&self.allocator_sources),
            process: self.process.then(ProcessSource::open),
            runtimes: self
                .runtimes
                .into_iter()
                .map(ObservedRuntime::new)
                .collect(),
        };
        let collector = Arc::new(Collector::new(sources, self.min_collect_interval));
        let first = collector.initial_reading();

        let mut registrar = Registrar {
            meter,
            collector: &collector,
            instruments: Vec::new(),
        };
        registrar.heap(&first);
        registrar.process(&first);
        registrar.tokio(&first);
        #[cfg(tokio_unstable)]
        registrar.tokio_unstable(&first);
        if let Some(info) = self.build_info {
            registrar.build_info(info);
        }
        let mut instruments = registrar.instruments;

        let mut probes = Vec::new();
        if let Some(interval) = self.stall_probe_interval
            && !first.runtimes.is_empty()
        {
            let histogram = meter
                .f64_histogram(names::STALL_DURATION)
                .with_unit("s")
                .with_description(
                    "How late the runtime's stall probe woke up after its deadline \
                     (time the runtime could not run a ready task).",
                )
                .with_boundaries(STALL_BUCKETS.to_vec())
                .build();
            instruments.push(InstrumentInfo {
                name: names::STALL_DURATION,
                kind: InstrumentKind::Histogram,
                unit: "s",
            });
            // Spawned on the runtime it measures: the probe must wait in that runtime's queue.
            let handles = collector.runtime_handles();
            for (handle, attributes) in handles {
                probes.push(handle.spawn(stall_probe(histogram.clone(), attributes, interval)));
            }
        }
        Ok(RuntimeMetricsHandle {
            collector,
            probes,
            instruments,
        })
    }
}

fn check_interval(
    setting: &'static str,
    got: Duration,
    min: Duration,
) -> Result<(), RegisterError> {
    if got < min || got > MAX_INTERVAL {
        return Err(RegisterError::InvalidInterval {
            setting,
            got,
            min,
            max: MAX_INTERVAL,
        });
    }
    Ok(())
}

/// Registers instruments whose source produced a value in the first reading.
struct Registrar<'a> {
    meter: &'a Meter,
    collector: &'a Arc<Collector>,
    instruments: Vec<InstrumentInfo>,
}

type Observe<T> = fn(&Snapshot, &dyn AsyncInstrument<T>);

impl Registrar<'_> {
    fn callback<T: 'static>(
        &self,
        observe: Observe<T>,
    ) -> impl Fn(&dyn AsyncInstrument<T>) + Send + Sync + 'static {
        let collector = Arc::clone(self.collector);
        move |instrument| {
            if let Some(snapshot) = collector.current() {
                observe(&snapshot, instrument);
            }
        }
    }

    fn note(&mut self, name: &'static str, kind: InstrumentKind, unit: &'static str) {
        self.instruments.push(InstrumentInfo { name, kind, unit });
    }

    fn u64_gauge(
        &mut self,
        name: &'static str,
        unit: &'static str,
        description: &'static str,
        observe: Observe<u64>,
    ) {
        self.meter
            .u64_observable_gauge(name)
            .with_unit(unit)
            .with_description(description)
            .with_callback(self.callback(observe))
            .build();
        self.note(name, InstrumentKind::Gauge, unit);
    }

    fn f64_gauge(
        &mut self,
        name: &'static str,
        unit: &'static str,
        description: &'static str,
        observe: Observe<f64>,
    ) {
        self.meter
            .f64_observable_gauge(name)
            .with_unit(unit)
            .with_description(description)
            .with_callback(self.callback(observe))
            .build();
        self.note(name, InstrumentKind::Gauge, unit);
    }

    fn u64_counter(
        &mut self,
        name: &'static str,
        unit: &'static str,
        description: &'static str,
        observe: Observe<u64>,
    ) {
        self.meter
            .u64_observable_counter(name)
            .with_unit(unit)
            .with_description(description)
            .with_callback(self.callback(observe))
            .build();
        self.note(name, InstrumentKind::Counter, unit);
    }

    fn f64_counter(
        &mut self,
        name: &'static str,
        unit: &'static str,
        description: &'static str,
        observe: Observe<f64>,
    ) {
        self.meter
            .f64_observable_counter(name)
            .with_unit(unit)
            .with_description(description)
            .with_callback(self.callback(observe))
            .build();
        self.note(name, InstrumentKind::Counter, unit);
    }

    fn i64_up_down(
        &mut self,
        name: &'static str,
        unit: &'static str,
        description: &'static str,
        observe: Observe<i64>,
    ) {
        self.meter
            .i64_observable_up_down_counter(name)
            .with_unit(unit)
            .with_description(description)
            .with_callback(self.callback(observe))
            .build();
        self.note(name, InstrumentKind::UpDownCounter, unit);
    }

    fn heap(&mut self, first: &Snapshot) {
        if first.heap.is_empty() {
            return;
        }
        self.u64_gauge(
            names::HEAP_LIVE,
            "By",
            "Live heap bytes according to the allocator in use (not RSS).",
            |s, o| {
                for h in &s.heap {
                    o.observe(
                        h.live,
                        &[KeyValue::new(names::RUST_ALLOCATOR, h.source.as_str())],
                    );
                }
            },
        );
        if first.heap.iter().any(|h| h.mapped.is_some()) {
            self.u64_gauge(
                names::HEAP_MAPPED,
                "By",
                "Heap bytes the allocator has mapped from the operating system.",
                |s, o| {
                    for h in &s.heap {
                        if let Some(mapped) = h.mapped {
                            o.observe(
                                mapped,
                                &[KeyValue::new(names::RUST_ALLOCATOR, h.source.as_str())],
                            );
                        }
                    }
                },
            );
        }
    }

    fn process(&mut self, first: &Snapshot) {
        let p = &first.process;
        if p.cpu.is_some() {
            self.f64_counter(
                names::PROCESS_CPU_TIME,
                "s",
                "Total CPU seconds broken down by different CPU modes.",
                |s, o| {
                    if let Some(cpu) = s.process.cpu {
                        o.observe(cpu.user, &[KeyValue::new(names::CPU_MODE, "user")]);
                        o.observe(cpu.system, &[KeyValue::new(names::CPU_MODE, "system")]);
                    }
                },
            );
            self.f64_gauge(
                names::PROCESS_CPU_UTILIZATION,
                "1",
                "CPU time since the previous reading divided by the elapsed time and the number of CPUs available to the process.",
                |s, o| {
                    if let Some(u) = s.process.utilization {
                        o.observe(u.user, &[KeyValue::new(names::CPU_MODE, "user")]);
                        o.observe(u.system, &[KeyValue::new(names::CPU_MODE, "system")]);
                    }
                },
            );
        }
        if p.memory_usage.is_some() {
            self.i64_up_down(
                names::PROCESS_MEMORY_USAGE,
                "By",
                "The amount of physical memory in use (resident set size).",
                |s, o| {
                    if let Some(v) = s.process.memory_usage {
                        o.observe(saturating_i64(v), &[]);
                    }
                },
            );
        }
        if p.memory_virtual.is_some() {
            self.i64_up_down(
                names::PROCESS_MEMORY_VIRTUAL,
                "By",
                "The amount of committed virtual memory.",
                |s, o| {
                    if let Some(v) = s.process.memory_virtual {
                        o.observe(saturating_i64(v), &[]);
                    }
                },
            );
        }
        if p.threads.is_some() {
            self.i64_up_down(
                names::PROCESS_THREAD_COUNT,
                "{thread}",
                "Process threads count.",
                |s, o| {
                    if let Some(v) = s.process.threads {
                        o.observe(saturating_i64(v), &[]);
                    }
                },
            );
        }
        if p.fds.is_some() {
            self.i64_up_down(
                names::PROCESS_FD_COUNT,
                "{file_descriptor}",
                "Number of unix file descriptors in use by the process.",
                |s, o| {
                    if let Some(v) = s.process.fds {
                        o.observe(saturating_i64(v), &[]);
                    }
                },
            );
        }
        if p.context_switches.is_some() {
            self.u64_counter(
                names::PROCESS_CONTEXT_SWITCHES,
                "{context_switch}",
                "Number of times the process has been context switched.",
                |s, o| {
                    if let Some((voluntary, involuntary)) = s.process.context_switches {
                        o.observe(
                            voluntary,
                            &[KeyValue::new(
                                names::PROCESS_CONTEXT_SWITCH_TYPE,
                                "voluntary",
                            )],
                        );
                        o.observe(
                            involuntary,
                            &[KeyValue::new(
                                names::PROCESS_CONTEXT_SWITCH_TYPE,
                                "involuntary",
                            )],
                        );
                    }
                },
            );
        }
        if p.page_faults.is_some() {
            self.u64_counter(
                names::PROCESS_PAGING_FAULTS,
                "{fault}",
                "Number of page faults the process has made.",
                |s, o| {
                    if let Some((minor, major)) = s.process.page_faults {
                        o.observe(
                            minor,
                            &[KeyValue::new(names::SYSTEM_PAGING_FAULT_TYPE, "minor")],
                        );
                        o.observe(
                            major,
                            &[KeyValue::new(names::SYSTEM_PAGING_FAULT_TYPE, "major")],
                        );
                    }
                },
            );
        }
        if p.uptime.is_some() {
            self.f64_gauge(
                names::PROCESS_UPTIME,
                "s",
                "The time the process has been running.",
                |s, o| {
                    if let Some(v) = s.process.uptime {
                        o.observe(v, &[]);
                    }
                },
            );
        }
    }

    fn tokio(&mut self, first: &Snapshot) {
        if first.runtimes.is_empty() {
            return;
        }
        self.u64_gauge(
            names::ALIVE_TASKS,
            "{task}",
            "Tasks alive in the tokio runtime (spawned, not yet completed).",
            |s, o| {
                for r in &s.runtimes {
                    o.observe(r.alive_tasks, &r.attributes);
                }
            },
        );
        self.u64_gauge(
            names::WORKERS,
            "{thread}",
            "Worker threads of the tokio runtime.",
            |s, o| {
                for r in &s.runtimes {
                    o.observe(r.workers, &r.attributes);
                }
            },
        );
        self.u64_gauge(
            names::GLOBAL_QUEUE_DEPTH,
            "{task}",
            "Tasks waiting in the tokio runtime's global queue.",
            |s, o| {
                for r in &s.runtimes {
                    o.observe(r.global_queue_depth, &r.attributes);
                }
            },
        );
        if first.runtimes.iter().any(|r| r.busy_seconds.is_some()) {
            self.f64_counter(
                names::WORKER_BUSY_TIME,
                "s",
                "Time the tokio runtime's workers spent busy, summed over workers.",
                |s, o| {
                    for r in &s.runtimes {
                        if let Some(v) = r.busy_seconds {
                            o.observe(v, &r.attributes);
                        }
                    }
                },
            );
        }
        if first.runtimes.iter().any(|r| r.parks.is_some()) {
            self.u64_counter(
                names::WORKER_PARKS,
                "{park}",
                "Times the tokio runtime's workers parked, summed over workers.",
                |s, o| {
                    for r in &s.runtimes {
                        if let Some(v) = r.parks {
                            o.observe(v, &r.attributes);
                        }
                    }
                },
            );
        }
    }

    #[cfg(tokio_unstable)]
    fn tokio_unstable(&mut self, first: &Snapshot) {
        if first.runtimes.is_empty() {
            return;
        }
        self.u64_counter(
            names::TASK_POLLS,
            "{poll}",
            "Task polls, summed over workers (tokio_unstable).",
            |s, o| {
                for r in &s.runtimes {
                    o.observe(r.unstable.polls, &r.attributes);
                }
            },
        );
        self.u64_counter(
            names::SPAWNED_TASKS,
            "{task}",
            "Tasks spawned since the runtime started (tokio_unstable).",
            |s, o| {
                for r in &s.runtimes {
                    o.observe(r.unstable.spawned_tasks, &r.attributes);
                }
            },
        );
        self.u64_gauge(
            names::BLOCKING_THREADS,
            "{thread}",
            "Threads of the runtime's blocking pool (tokio_unstable).",
            |s, o| {
                for r in &s.runtimes {
                    o.observe(r.unstable.blocking_threads, &r.attributes);
                }
            },
        );
        if first
            .runtimes
            .iter()
            .any(|r| r.unstable.poll_time.is_some())
        {
            self.u64_counter(
                names::POLL_TIME_BUCKETS,
                "{poll}",
                "Task polls that took at most `le` seconds, cumulative (tokio poll-time histogram).",
                |s, o| {
                    for r in &s.runtimes {
                        if let Some((attributes, counts)) = &r.unstable.poll_time {
                            for (attributes, count) in attributes.iter().zip(counts) {
                                o.observe(*count, attributes);
                            }
                        }
                    }
                },
            );
        }
        if first
            .runtimes
            .iter()
            .any(|r| r.unstable.schedule_latency.is_some())
        {
            self.u64_counter(
                names::SCHEDULE_LATENCY_BUCKETS,
                "{task}",
                "Task schedules that waited at most `le` seconds to be polled, cumulative (tokio schedule-latency histogram).",
                |s, o| {
                    for r in &s.runtimes {
                        if let Some((attributes, counts)) = &r.unstable.schedule_latency {
                            for (attributes, count) in attributes.iter().zip(counts) {
                                o.observe(*count, attributes);
                            }
                        }
                    }
                },
            );
        }
    }

    fn build_info(&mut self, info: BuildInfo) {
        let attributes = info.attributes();
        let collector = Arc::clone(self.collector);
        self.meter
            .u64_observable_gauge(names::BUILD_INFO)
            .with_description("Build information of the service: always 1, with version, git commit, build time and rustc version attributes.")
            .with_callback(move |o| {
                // Stops with the handle, like every other instrument.
                if collector.is_running() {
                    o.observe(1, &attributes);
                }
            })
            .build();
        self.note(names::BUILD_INFO, InstrumentKind::Gauge, "");
    }
}

fn saturating_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_and_config_can_move_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RuntimeMetricsHandle>();
        assert_send_sync::<RuntimeMetrics>();
    }
}
