//! The shared, throttled snapshot every observable callback reads.
//!
//! OpenTelemetry runs one callback per observable instrument. So that a collection still reads
//! each source once (one `/proc` read, one allocator epoch, one pass over the tokio counters),
//! the first callback of a collection refreshes a shared [`Snapshot`] and the others reuse it:
//! a snapshot younger than the minimum interval is reused as is. The interval is never below
//! [`MIN_INTERVAL_FLOOR`], which is far longer than the callbacks of one collection take, so
//! one collection never reads twice; collections closer together than the interval (several
//! readers, frequent scrapes) share one reading.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::allocator::{HeapSample, HeapSources};
use crate::process::{ProcessSample, ProcessSource};
use crate::tokio_runtime::{ObservedRuntime, RuntimeSample};

/// Smallest minimum interval between two source reads.
pub(crate) const MIN_INTERVAL_FLOOR: Duration = Duration::from_millis(10);

/// Everything read in one collection.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub(crate) heap: Vec<HeapSample>,
    pub(crate) process: ProcessSample,
    pub(crate) runtimes: Vec<RuntimeSample>,
}

/// The sources, owned by the collector until the handle is dropped.
#[derive(Debug)]
pub(crate) struct Sources {
    pub(crate) heap: HeapSources,
    pub(crate) process: Option<ProcessSource>,
    pub(crate) runtimes: Vec<ObservedRuntime>,
}

impl Sources {
    fn read(&mut self) -> Snapshot {
        let mut heap = Vec::with_capacity(3);
        self.heap.read(&mut heap);
        Snapshot {
            heap,
            process: self
                .process
                .as_mut()
                .map(ProcessSource::read)
                .unwrap_or_default(),
            runtimes: self.runtimes.iter().map(ObservedRuntime::read).collect(),
        }
    }
}

#[derive(Debug)]
struct State {
    /// `None` once the handle is dropped: callbacks then observe nothing and the tokio
    /// handles are released.
    sources: Option<Sources>,
    snapshot: Arc<Snapshot>,
    taken: Option<Instant>,
}

/// Shared between the handle and every callback.
#[derive(Debug)]
pub(crate) struct Collector {
    state: Mutex<State>,
    min_interval: Duration,
}

impl Collector {
    pub(crate) fn new(sources: Sources, min_interval: Duration) -> Self {
        Self {
            state: Mutex::new(State {
                sources: Some(sources),
                snapshot: Arc::default(),
                taken: None,
            }),
            min_interval: min_interval.max(MIN_INTERVAL_FLOOR),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The snapshot for the current collection, read now if the last one is too old; `None`
    /// once stopped.
    pub(crate) fn current(&self) -> Option<Arc<Snapshot>> {
        let mut state = self.lock();
        let fresh = state.taken.is_some_and(|t| t.elapsed() < self.min_interval);
        if !fresh {
            refresh(&mut state)?;
        }
        state.sources.as_ref()?;
        Some(Arc::clone(&state.snapshot))
    }

    /// The reading taken at registration to find the available sources. It is not offered to
    /// the first collection, which reads afresh (so rates such as CPU utilisation already have
    /// a previous reading to compare with).
    pub(crate) fn initial_reading(&self) -> Arc<Snapshot> {
        let mut state = self.lock();
        let _ = refresh(&mut state);
        state.taken = None;
        Arc::clone(&state.snapshot)
    }

    /// Reads every source now, whatever the age of the last snapshot.
    pub(crate) fn refresh(&self) {
        let _ = refresh(&mut self.lock());
    }

    /// Whether the handle is still alive.
    pub(crate) fn is_running(&self) -> bool {
        self.lock().sources.is_some()
    }

    /// The observed runtimes' handles and attributes (to spawn the stall probes).
    pub(crate) fn runtime_handles(
        &self,
    ) -> Vec<(tokio::runtime::Handle, Arc<[opentelemetry::KeyValue]>)> {
        self.lock()
            .sources
            .as_ref()
            .map_or_else(Vec::new, |sources| {
                sources
                    .runtimes
                    .iter()
                    .map(|r| (r.handle().clone(), Arc::clone(&r.attributes)))
                    .collect()
            })
    }

    /// Stops observing: drops the sources (and the tokio handles they hold).
    pub(crate) fn stop(&self) {
        let mut state = self.lock();
        state.sources = None;
        state.snapshot = Arc::default();
    }
}

fn refresh(state: &mut State) -> Option<()> {
    let snapshot = state.sources.as_mut()?.read();
    state.snapshot = Arc::new(snapshot);
    state.taken = Some(Instant::now());
    Some(())
}
