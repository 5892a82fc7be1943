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
use crate::descriptors;
use crate::names;
use crate::process::ProcessSource;
use crate::tokio_runtime::{ObservedRuntime, stall_probe};
use ferrotel_meters::{InstrumentDescriptor, InstrumentKind, ValueType};

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

/// Owns the stall probe tasks and the sources. Dropping it aborts the probes, releases the
/// tokio handles and makes the registered callbacks observe nothing (OpenTelemetry cannot
/// unregister a callback).
pub struct RuntimeMetricsHandle {
    collector: Arc<Collector>,
    probes: Vec<JoinHandle<()>>,
    instruments: Vec<&'static InstrumentDescriptor>,
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
    /// The instruments registered, i.e. the sources available in this process (a subset of
    /// [`descriptors::ALL`]).
    pub fn instruments(&self) -> &[&'static InstrumentDescriptor] {
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
            let d = &descriptors::STALL_DURATION;
            let histogram = meter
                .f64_histogram(d.name)
                .with_unit(d.unit)
                .with_description(d.description)
                .with_boundaries(d.buckets.unwrap_or_default().to_vec())
                .build();
            instruments.push(d);
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
    instruments: Vec<&'static InstrumentDescriptor>,
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

    fn u64_gauge(&mut self, d: &'static InstrumentDescriptor, observe: Observe<u64>) {
        debug_assert_eq!(
            (d.kind, d.value_type),
            (InstrumentKind::ObservableGauge, ValueType::U64)
        );
        self.meter
            .u64_observable_gauge(d.name)
            .with_unit(d.unit)
            .with_description(d.description)
            .with_callback(self.callback(observe))
            .build();
        self.instruments.push(d);
    }

    fn f64_gauge(&mut self, d: &'static InstrumentDescriptor, observe: Observe<f64>) {
        debug_assert_eq!(
            (d.kind, d.value_type),
            (InstrumentKind::ObservableGauge, ValueType::F64)
        );
        self.meter
            .f64_observable_gauge(d.name)
            .with_unit(d.unit)
            .with_description(d.description)
            .with_callback(self.callback(observe))
            .build();
        self.instruments.push(d);
    }

    fn u64_counter(&mut self, d: &'static InstrumentDescriptor, observe: Observe<u64>) {
        debug_assert_eq!(
            (d.kind, d.value_type),
            (InstrumentKind::ObservableCounter, ValueType::U64)
        );
        self.meter
            .u64_observable_counter(d.name)
            .with_unit(d.unit)
            .with_description(d.description)
            .with_callback(self.callback(observe))
            .build();
        self.instruments.push(d);
    }

    fn f64_counter(&mut self, d: &'static InstrumentDescriptor, observe: Observe<f64>) {
        debug_assert_eq!(
            (d.kind, d.value_type),
            (InstrumentKind::ObservableCounter, ValueType::F64)
        );
        self.meter
            .f64_observable_counter(d.name)
            .with_unit(d.unit)
            .with_description(d.description)
            .with_callback(self.callback(observe))
            .build();
        self.instruments.push(d);
    }

    fn i64_up_down(&mut self, d: &'static InstrumentDescriptor, observe: Observe<i64>) {
        debug_assert_eq!(
            (d.kind, d.value_type),
            (InstrumentKind::ObservableUpDownCounter, ValueType::I64)
        );
        self.meter
            .i64_observable_up_down_counter(d.name)
            .with_unit(d.unit)
            .with_description(d.description)
            .with_callback(self.callback(observe))
            .build();
        self.instruments.push(d);
    }

    fn heap(&mut self, first: &Snapshot) {
        if first.heap.is_empty() {
            return;
        }
        self.u64_gauge(&descriptors::HEAP_LIVE, |s, o| {
            for h in &s.heap {
                o.observe(
                    h.live,
                    &[KeyValue::new(names::RUST_ALLOCATOR, h.source.as_str())],
                );
            }
        });
        if first.heap.iter().any(|h| h.mapped.is_some()) {
            self.u64_gauge(&descriptors::HEAP_MAPPED, |s, o| {
                for h in &s.heap {
                    if let Some(mapped) = h.mapped {
                        o.observe(
                            mapped,
                            &[KeyValue::new(names::RUST_ALLOCATOR, h.source.as_str())],
                        );
                    }
                }
            });
        }
    }

    fn process(&mut self, first: &Snapshot) {
        let p = &first.process;
        if p.cpu.is_some() {
            self.f64_counter(&descriptors::PROCESS_CPU_TIME, |s, o| {
                if let Some(cpu) = s.process.cpu {
                    o.observe(cpu.user, &[KeyValue::new(names::CPU_MODE, "user")]);
                    o.observe(cpu.system, &[KeyValue::new(names::CPU_MODE, "system")]);
                }
            });
            self.f64_gauge(&descriptors::PROCESS_CPU_UTILIZATION, |s, o| {
                if let Some(u) = s.process.utilization {
                    o.observe(u.user, &[KeyValue::new(names::CPU_MODE, "user")]);
                    o.observe(u.system, &[KeyValue::new(names::CPU_MODE, "system")]);
                }
            });
        }
        if p.memory_usage.is_some() {
            self.i64_up_down(&descriptors::PROCESS_MEMORY_USAGE, |s, o| {
                if let Some(v) = s.process.memory_usage {
                    o.observe(saturating_i64(v), &[]);
                }
            });
        }
        if p.memory_virtual.is_some() {
            self.i64_up_down(&descriptors::PROCESS_MEMORY_VIRTUAL, |s, o| {
                if let Some(v) = s.process.memory_virtual {
                    o.observe(saturating_i64(v), &[]);
                }
            });
        }
        if p.threads.is_some() {
            self.i64_up_down(&descriptors::PROCESS_THREAD_COUNT, |s, o| {
                if let Some(v) = s.process.threads {
                    o.observe(saturating_i64(v), &[]);
                }
            });
        }
        if p.fds.is_some() {
            self.i64_up_down(&descriptors::PROCESS_FD_COUNT, |s, o| {
                if let Some(v) = s.process.fds {
                    o.observe(saturating_i64(v), &[]);
                }
            });
        }
        if p.context_switches.is_some() {
            self.u64_counter(&descriptors::PROCESS_CONTEXT_SWITCHES, |s, o| {
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
            });
        }
        if p.page_faults.is_some() {
            self.u64_counter(&descriptors::PROCESS_PAGING_FAULTS, |s, o| {
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
            });
        }
        if p.uptime.is_some() {
            self.f64_gauge(&descriptors::PROCESS_UPTIME, |s, o| {
                if let Some(v) = s.process.uptime {
                    o.observe(v, &[]);
                }
            });
        }
    }

    fn tokio(&mut self, first: &Snapshot) {
        if first.runtimes.is_empty() {
            return;
        }
        self.u64_gauge(&descriptors::ALIVE_TASKS, |s, o| {
            for r in &s.runtimes {
                o.observe(r.alive_tasks, &r.attributes);
            }
        });
        self.u64_gauge(&descriptors::WORKERS, |s, o| {
            for r in &s.runtimes {
                o.observe(r.workers, &r.attributes);
            }
        });
        self.u64_gauge(&descriptors::GLOBAL_QUEUE_DEPTH, |s, o| {
            for r in &s.runtimes {
                o.observe(r.global_queue_depth, &r.attributes);
            }
        });
        if first.runtimes.iter().any(|r| r.busy_seconds.is_some()) {
            self.f64_counter(&descriptors::WORKER_BUSY_TIME, |s, o| {
                for r in &s.runtimes {
                    if let Some(v) = r.busy_seconds {
                        o.observe(v, &r.attributes);
                    }
                }
            });
        }
        if first.runtimes.iter().any(|r| r.parks.is_some()) {
            self.u64_counter(&descriptors::WORKER_PARKS, |s, o| {
                for r in &s.runtimes {
                    if let Some(v) = r.parks {
                        o.observe(v, &r.attributes);
                    }
                }
            });
        }
    }

    #[cfg(tokio_unstable)]
    fn tokio_unstable(&mut self, first: &Snapshot) {
        if first.runtimes.is_empty() {
            return;
        }
        self.u64_counter(&descriptors::TASK_POLLS, |s, o| {
            for r in &s.runtimes {
                o.observe(r.unstable.polls, &r.attributes);
            }
        });
        self.u64_counter(&descriptors::SPAWNED_TASKS, |s, o| {
            for r in &s.runtimes {
                o.observe(r.unstable.spawned_tasks, &r.attributes);
            }
        });
        self.u64_gauge(&descriptors::BLOCKING_THREADS, |s, o| {
            for r in &s.runtimes {
                o.observe(r.unstable.blocking_threads, &r.attributes);
            }
        });
        if first
            .runtimes
            .iter()
            .any(|r| r.unstable.poll_time.is_some())
        {
            self.u64_counter(&descriptors::POLL_TIME_BUCKETS, |s, o| {
                for r in &s.runtimes {
                    if let Some((attributes, counts)) = &r.unstable.poll_time {
                        for (attributes, count) in attributes.iter().zip(counts) {
                            o.observe(*count, attributes);
                        }
                    }
                }
            });
        }
        if first
            .runtimes
            .iter()
            .any(|r| r.unstable.schedule_latency.is_some())
        {
            self.u64_counter(&descriptors::SCHEDULE_LATENCY_BUCKETS, |s, o| {
                for r in &s.runtimes {
                    if let Some((attributes, counts)) = &r.unstable.schedule_latency {
                        for (attributes, count) in attributes.iter().zip(counts) {
                            o.observe(*count, attributes);
                        }
                    }
                }
            });
        }
    }

    fn build_info(&mut self, info: BuildInfo) {
        let attributes = info.attributes();
        let collector = Arc::clone(self.collector);
        let d = &descriptors::BUILD_INFO;
        self.meter
            .u64_observable_gauge(d.name)
            .with_unit(d.unit)
            .with_description(d.description)
            .with_callback(move |o| {
                // Stops with the handle, like every other instrument.
                if collector.is_running() {
                    o.observe(1, &attributes);
                }
            })
            .build();
        self.instruments.push(d);
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
