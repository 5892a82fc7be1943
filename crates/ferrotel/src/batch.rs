//! The batch processors of the exporting pipelines: a queue that grows with use up to its bound,
//! and one worker thread per pipeline that exports it in batches.
//!
//! The SDK's batch processors reserve their whole queue when they are built (a bounded channel
//! of `max_queue_size` slots of a few hundred bytes each), so a large configured bound costs its
//! full memory at start-up even when the service never queues more than one batch. Here the
//! queue is a `VecDeque` that grows only while an outage fills it and shrinks back when it
//! drains; admission (`admission`) keeps it within the configured bound and counts what it turns
//! away.
//!
//! The worker exports when a batch is full, when the schedule delay has passed since the last
//! export, on a flush, and at shutdown (everything left, batch by batch). A shutdown that runs
//! out of time abandons what is still queued; accounting then reports it as lost.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter, LogProcessor, SdkLogRecord};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

/// When to export and how much at a time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchPolicy {
    /// Longest time a record waits in the queue before an export starts.
    pub schedule_delay: Duration,
    /// Most records per export call.
    pub max_batch: usize,
    /// Longest a `force_flush` waits for the queue to drain.
    pub flush_wait: Duration,
}

/// One exporting pipeline's way of sending a batch.
pub(crate) trait BatchExport: Send + Sync + 'static {
    type Item: Send + 'static;
    fn export_batch(&self, batch: Vec<Self::Item>) -> OTelSdkResult;
    fn flush_exporter(&self) -> OTelSdkResult;
    fn shutdown_exporter(&self, timeout: Duration) -> OTelSdkResult;
}

struct State<T> {
    queue: VecDeque<T>,
    /// Records pushed so far and records whose export finished (successfully or not): a flush
    /// waits until `done` reaches the `pushed` it saw.
    pushed: u64,
    done: u64,
    /// The highest `pushed` a flush waits for; the worker exports without waiting for the
    /// schedule delay until `done` reaches it.
    flush_to: u64,
    shutdown: bool,
    /// Shutdown ran out of time: the worker stops exporting and drops the rest.
    abandoned: bool,
    worker_exited: bool,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Wakes the worker: batch full, flush, shutdown.
    wake: Condvar,
    /// Wakes flush and shutdown callers when records finish or the worker exits.
    progress: Condvar,
    /// `max_batch` records are queued; the worker has been told. Spares a notify per record.
    batch_signalled: AtomicBool,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Exports run outside the lock; a poisoned lock only means a panic elsewhere, and the
        // queue itself is always consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A growable queue and its worker thread around one [`BatchExport`].
pub(crate) struct Batcher<E: BatchExport> {
    shared: Arc<Shared<E::Item>>,
    export: Arc<E>,
    policy: BatchPolicy,
    name: &'static str,
    started: Once,
}

impl<E: BatchExport> std::fmt::Debug for Batcher<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field("name", &self.name)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<E: BatchExport> Batcher<E> {
    pub(crate) fn new(export: E, policy: BatchPolicy, name: &'static str) -> Self {
        let policy = BatchPolicy {
            max_batch: policy.max_batch.max(1),
            ..policy
        };
        Batcher {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    pushed: 0,
                    done: 0,
                    flush_to: 0,
                    shutdown: false,
                    abandoned: false,
                    worker_exited: false,
                }),
                wake: Condvar::new(),
                progress: Condvar::new(),
                batch_signalled: AtomicBool::new(false),
            }),
            export: Arc::new(export),
            policy,
            name,
            started: Once::new(),
        }
    }

    /// The exporter, for changes before the worker starts (the provider sets the resource while
    /// it is built, before any record).
    fn export_mut(&mut self) -> Option<&mut E> {
        Arc::get_mut(&mut self.export)
    }

    /// Starts the worker on first use, so that the exporter can still be configured while the
    /// provider is built.
    fn ensure_started(&self) {
        self.started.call_once(|| {
            let shared = Arc::clone(&self.shared);
            let export = Arc::clone(&self.export);
            let policy = self.policy;
            let spawned = std::thread::Builder::new()
                .name(format!("ferrotel-{}", self.name))
                .spawn(move || worker(&shared, &*export, policy));
            if spawned.is_err() {
                // No thread, no export: records are counted as they are refused.
                let mut st = self.shared.lock();
                st.shutdown = true;
                st.abandoned = true;
                st.worker_exited = true;
            }
        });
    }

    /// Queues one record; `false` once shut down.
    pub(crate) fn push(&self, item: E::Item) -> bool {
        self.ensure_started();
        let mut st = self.shared.lock();
        if st.shutdown {
            return false;
        }
        st.queue.push_back(item);
        st.pushed += 1;
        let full = st.queue.len() >= self.policy.max_batch;
        drop(st);
        if full && !self.shared.batch_signalled.swap(true, Ordering::Relaxed) {
            self.shared.wake.notify_one();
        }
        true
    }

    /// Exports everything queued now, waiting at most the flush wait.
    pub(crate) fn flush(&self) -> OTelSdkResult {
        self.ensure_started();
        let deadline = Instant::now() + self.policy.flush_wait;
        let mut st = self.shared.lock();
        let target = st.pushed;
        st.flush_to = st.flush_to.max(target);
        self.shared.wake.notify_one();
        while st.done < target && !st.worker_exited {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(OTelSdkError::Timeout(self.policy.flush_wait));
            }
            st = self
                .shared
                .progress
                .wait_timeout(st, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let exited = st.worker_exited;
        drop(st);
        if exited {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        self.export.flush_exporter()
    }

    /// Exports what is queued and stops the worker, waiting at most `timeout`; past it, the
    /// rest is abandoned.
    pub(crate) fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        self.ensure_started();
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        if st.shutdown && st.worker_exited {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        st.shutdown = true;
        self.shared.wake.notify_one();
        while !st.worker_exited {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                st.abandoned = true;
                self.shared.wake.notify_one();
                return Err(OTelSdkError::Timeout(timeout));
            }
            st = self
                .shared
                .progress
                .wait_timeout(st, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(st);
        let left = deadline.saturating_duration_since(Instant::now());
        self.export
            .shutdown_exporter(left.max(Duration::from_millis(1)))
    }
}

fn worker<E: BatchExport>(shared: &Shared<E::Item>, export: &E, policy: BatchPolicy) {
    // What the exporter does (HTTP clients, gRPC) must not produce telemetry that comes back
    // into this pipeline.
    let _suppressed = Context::enter_telemetry_suppressed_scope();
    let mut last_export = Instant::now();
    let mut st = shared.lock();
    loop {
        let deadline = last_export + policy.schedule_delay;
        loop {
            let urgent = st.shutdown || st.flush_to > st.done;
            if st.abandoned || urgent || st.queue.len() >= policy.max_batch {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            st = shared
                .wake
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        if st.abandoned {
            st.queue = VecDeque::new();
            break;
        }
        if st.queue.is_empty() {
            last_export = Instant::now();
            if st.shutdown {
                break;
            }
            if st.flush_to > st.done {
                // Nothing left to export for that flush.
                st.done = st.pushed;
                shared.progress.notify_all();
            }
            continue;
        }
        let n = st.queue.len().min(policy.max_batch);
        let batch: Vec<E::Item> = st.queue.drain(..n).collect();
        if st.queue.len() < policy.max_batch {
            shared.batch_signalled.store(false, Ordering::Relaxed);
        }
        // After an outage the queue may have grown to its bound: give the memory back once it
        // is nearly empty again.
        if st.queue.capacity() > 4 * policy.max_batch && st.queue.len() < policy.max_batch {
            st.queue.shrink_to(2 * policy.max_batch);
        }
        drop(st);
        // The result is accounted for by the counting exporter inside.
        let _ = export.export_batch(batch);
        last_export = Instant::now();
        st = shared.lock();
        st.done += n as u64;
        shared.progress.notify_all();
    }
    st.worker_exited = true;
    shared.progress.notify_all();
}

/// Drives an exporter's future on the worker thread. The exporters are either synchronous
/// underneath (reqwest's blocking client) or hand their I/O to a runtime of their own
/// (`transport::OnRuntime`), so a plain executor is enough.
fn block_on<F: Future>(future: F) -> F::Output {
    futures_executor::block_on(future)
}

/// Spans, through a [`SpanExporter`].
#[derive(Debug)]
pub(crate) struct SpanBatchExport<E> {
    pub exporter: E,
    /// Redaction and value limits, applied to each span of a batch before it is exported.
    pub prepare: crate::admission::SpanPreparation,
}

impl<E: SpanExporter + 'static> BatchExport for SpanBatchExport<E> {
    type Item = SpanData;
    fn export_batch(&self, mut batch: Vec<SpanData>) -> OTelSdkResult {
        for span in &mut batch {
            self.prepare.apply(span);
        }
        block_on(self.exporter.export(batch))
    }
    fn flush_exporter(&self) -> OTelSdkResult {
        self.exporter.force_flush()
    }
    fn shutdown_exporter(&self, timeout: Duration) -> OTelSdkResult {
        self.exporter.shutdown_with_timeout(timeout)
    }
}

/// Log records with their scopes, through a [`LogExporter`].
#[derive(Debug)]
pub(crate) struct LogBatchExport<E>(pub E);

impl<E: LogExporter + 'static> BatchExport for LogBatchExport<E> {
    type Item = (SdkLogRecord, InstrumentationScope);
    fn export_batch(&self, batch: Vec<Self::Item>) -> OTelSdkResult {
        let refs: Vec<(&SdkLogRecord, &InstrumentationScope)> =
            batch.iter().map(|(r, s)| (r, s)).collect();
        // `LogBatch::new` is the SDK's public constructor for exporters driven outside its own
        // processors.
        block_on(self.0.export(LogBatch::new(&refs)))
    }
    fn flush_exporter(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_exporter(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
}

/// The batch span processor of the exporting pipelines.
pub(crate) type BatchSpanProcessor<E> = Batcher<SpanBatchExport<E>>;

/// The batch log processor of the exporting pipelines.
pub(crate) type BatchLogProcessor<E> = Batcher<LogBatchExport<E>>;

impl<E: SpanExporter + 'static> SpanProcessor for Batcher<SpanBatchExport<E>> {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        // Admission in front has already counted it; a refusal here only happens after
        // shutdown, which accounting reports as lost.
        let _ = self.push(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.shutdown(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(e) = self.export_mut() {
            e.exporter.set_resource(resource);
        }
    }
}

impl<E: LogExporter + 'static> LogProcessor for Batcher<LogBatchExport<E>> {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        let _ = self.push((record.clone(), scope.clone()));
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.shutdown(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(e) = self.export_mut() {
            e.0.set_resource(resource);
        }
    }

    fn event_enabled(
        &self,
        level: opentelemetry::logs::Severity,
        target: &str,
        name: Option<&str>,
    ) -> bool {
        self.export.0.event_enabled(level, target, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Records batch sizes; optionally blocks every export until released.
    #[derive(Default)]
    struct Recording {
        batches: Mutex<Vec<usize>>,
        hang: AtomicBool,
        exports: AtomicUsize,
    }

    impl BatchExport for Arc<Recording> {
        type Item = u32;
        fn export_batch(&self, batch: Vec<u32>) -> OTelSdkResult {
            self.exports.fetch_add(1, Ordering::SeqCst);
            let until = Instant::now() + Duration::from_secs(5);
            while self.hang.load(Ordering::SeqCst) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            self.batches.lock().unwrap().push(batch.len());
            Ok(())
        }
        fn flush_exporter(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_exporter(&self, _timeout: Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    fn policy(delay_ms: u64, max_batch: usize) -> BatchPolicy {
        BatchPolicy {
            schedule_delay: Duration::from_millis(delay_ms),
            max_batch,
            flush_wait: Duration::from_secs(5),
        }
    }

    #[test]
    fn flush_exports_everything_in_batches_of_at_most_max() {
        let rec = Arc::new(Recording::default());
        let b = Batcher::new(Arc::clone(&rec), policy(60_000, 4), "test");
        for i in 0..10 {
            assert!(b.push(i));
        }
        b.flush().unwrap();
        let batches = rec.batches.lock().unwrap().clone();
        assert_eq!(batches.iter().sum::<usize>(), 10, "{batches:?}");
        assert!(batches.iter().all(|&n| n <= 4), "{batches:?}");
    }

    #[test]
    fn the_schedule_delay_exports_a_partial_batch() {
        let rec = Arc::new(Recording::default());
        let b = Batcher::new(Arc::clone(&rec), policy(20, 100), "test");
        b.push(1);
        let until = Instant::now() + Duration::from_secs(5);
        while rec.batches.lock().unwrap().is_empty() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(*rec.batches.lock().unwrap(), vec![1]);
        b.shutdown(Duration::from_secs(5)).unwrap();
    }

    #[test]
    fn the_queue_starts_empty_and_gives_memory_back_after_draining() {
        let rec = Arc::new(Recording::default());
        let b = Batcher::new(Arc::clone(&rec), policy(60_000, 8), "test");
        assert_eq!(b.shared.lock().queue.capacity(), 0);
        rec.hang.store(true, Ordering::SeqCst);
        for i in 0..1000 {
            b.push(i);
        }
        assert!(b.shared.lock().queue.capacity() >= 900);
        rec.hang.store(false, Ordering::SeqCst);
        b.flush().unwrap();
        assert!(b.shared.lock().queue.capacity() <= 32);
    }

    #[test]
    fn shutdown_exports_what_is_queued_then_refuses_more() {
        let rec = Arc::new(Recording::default());
        let b = Batcher::new(Arc::clone(&rec), policy(60_000, 3), "test");
        for i in 0..7 {
            b.push(i);
        }
        b.shutdown(Duration::from_secs(5)).unwrap();
        assert_eq!(rec.batches.lock().unwrap().iter().sum::<usize>(), 7);
        assert!(!b.push(8));
        assert!(b.shutdown(Duration::from_secs(1)).is_err());
    }

    #[test]
    fn shutdown_on_a_hung_exporter_returns_at_its_timeout_and_abandons_the_rest() {
        let rec = Arc::new(Recording::default());
        rec.hang.store(true, Ordering::SeqCst);
        let b = Batcher::new(Arc::clone(&rec), policy(60_000, 2), "test");
        for i in 0..10 {
            b.push(i);
        }
        let start = Instant::now();
        let r = b.shutdown(Duration::from_millis(100));
        assert!(matches!(r, Err(OTelSdkError::Timeout(_))), "{r:?}");
        assert!(start.elapsed() < Duration::from_secs(4));
        rec.hang.store(false, Ordering::SeqCst);
        let until = Instant::now() + Duration::from_secs(5);
        while !b.shared.lock().worker_exited && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        // The export in progress finished; nothing after it was attempted.
        assert_eq!(rec.exports.load(Ordering::SeqCst), 1);
    }
}
