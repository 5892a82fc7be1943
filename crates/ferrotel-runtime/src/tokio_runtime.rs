//! Tokio sources: the stable `RuntimeMetrics` API per runtime, the stall probe, and (under
//! `--cfg tokio_unstable`) tokio's own poll-time / schedule-latency histograms.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;
use tokio::runtime::Handle;

use crate::names;

/// Upper bounds (seconds) of the stall histogram: from the ~1 ms timer granularity to 10 s.
pub(crate) const STALL_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A runtime being observed and its `tokio.runtime.id` attribute.
#[derive(Debug)]
pub(crate) struct ObservedRuntime {
    handle: Handle,
    pub(crate) attributes: Arc<[KeyValue]>,
    #[cfg(tokio_unstable)]
    pub(crate) histograms: unstable::HistogramLayout,
}

impl ObservedRuntime {
    pub(crate) fn new(handle: Handle) -> Self {
        let id: Arc<str> = handle.id().to_string().into();
        let attributes: Arc<[KeyValue]> = Arc::new([KeyValue::new(names::TOKIO_RUNTIME_ID, id)]);
        Self {
            #[cfg(tokio_unstable)]
            histograms: unstable::HistogramLayout::new(&handle.metrics(), &attributes),
            handle,
            attributes,
        }
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Reads the runtime's counters (relaxed atomic loads inside tokio; no locking).
    pub(crate) fn read(&self) -> RuntimeSample {
        let metrics = self.handle.metrics();
        let workers = metrics.num_workers();
        #[cfg(target_has_atomic = "64")]
        let (busy_seconds, parks) = (0..workers).fold((0.0, 0u64), |(busy, parks), worker| {
            (
                busy + metrics.worker_total_busy_duration(worker).as_secs_f64(),
                parks.saturating_add(metrics.worker_park_count(worker)),
            )
        });
        RuntimeSample {
            attributes: Arc::clone(&self.attributes),
            workers: workers as u64,
            alive_tasks: metrics.num_alive_tasks() as u64,
            global_queue_depth: metrics.global_queue_depth() as u64,
            #[cfg(target_has_atomic = "64")]
            busy_seconds: Some(busy_seconds),
            #[cfg(target_has_atomic = "64")]
            parks: Some(parks),
            #[cfg(not(target_has_atomic = "64"))]
            busy_seconds: None,
            #[cfg(not(target_has_atomic = "64"))]
            parks: None,
            #[cfg(tokio_unstable)]
            unstable: unstable::UnstableSample::read(&metrics, &self.histograms),
        }
    }
}

/// One reading of a runtime.
#[derive(Clone, Debug)]
pub(crate) struct RuntimeSample {
    pub(crate) attributes: Arc<[KeyValue]>,
    pub(crate) workers: u64,
    pub(crate) alive_tasks: u64,
    pub(crate) global_queue_depth: u64,
    /// Worker busy time summed over workers (needs 64-bit atomics).
    pub(crate) busy_seconds: Option<f64>,
    /// Worker park count summed over workers (needs 64-bit atomics).
    pub(crate) parks: Option<u64>,
    #[cfg(tokio_unstable)]
    pub(crate) unstable: unstable::UnstableSample,
}

/// The stall probe: sleeps until a fixed deadline and records how late it woke up.
///
/// Each tick is one timer registration and one task wake-up (about a microsecond of CPU), so
/// the default 50 ms interval costs ~20 wake-ups a second per runtime. A stall of length `D`
/// that starts while the probe sleeps is recorded as a value in `[D - interval, D]`; the
/// timer's 1 ms granularity adds up to ~1 ms to every sample. On a multi-thread runtime the
/// probe sees a blocked worker only when it is queued behind it: it measures the runtime's
/// ability to run a ready task, not the health of each worker.
pub(crate) async fn stall_probe(
    histogram: Histogram<f64>,
    attributes: Arc<[KeyValue]>,
    interval: Duration,
) {
    let mut due = tokio::time::Instant::now() + interval;
    loop {
        tokio::time::sleep_until(due).await;
        let woke = tokio::time::Instant::now();
        histogram.record(
            woke.saturating_duration_since(due).as_secs_f64(),
            &attributes,
        );
        due = woke + interval;
    }
}

#[cfg(tokio_unstable)]
pub(crate) mod unstable {
    //! tokio's own histograms, enabled on the runtime builder
    //! (`enable_metrics_poll_time_histogram()`, `enable_metrics_schedule_latency_histogram()`).
    //! OpenTelemetry has no asynchronous histogram, and replaying every poll into a synchronous
    //! one would cost O(polls) per collection, so each histogram is exported as cumulative
    //! bucket counters with an `le` attribute (seconds, `+Inf` last), which PromQL's
    //! `histogram_quantile` reads directly.

    use std::sync::Arc;

    use opentelemetry::KeyValue;
    use tokio::runtime::RuntimeMetrics;

    use crate::names;

    /// Bucket attributes of the histograms the runtime has enabled.
    #[derive(Debug, Default)]
    pub(crate) struct HistogramLayout {
        pub(crate) poll_time: Option<Arc<[Vec<KeyValue>]>>,
        /// Needs tokio's `schedule-latency` cargo feature (our `tokio-schedule-latency`).
        pub(crate) schedule_latency: Option<Arc<[Vec<KeyValue>]>>,
    }

    fn bucket_attributes(
        ranges: impl Iterator<Item = std::ops::Range<std::time::Duration>>,
        runtime: &[KeyValue],
    ) -> Arc<[Vec<KeyValue>]> {
        let ranges: Vec<_> = ranges.collect();
        let last = ranges.len().saturating_sub(1);
        ranges
            .iter()
            .enumerate()
            .map(|(i, range)| {
                let le = if i == last {
                    "+Inf".to_owned()
                } else {
                    range.end.as_secs_f64().to_string()
                };
                let mut attributes = runtime.to_vec();
                attributes.push(KeyValue::new(names::LE, le));
                attributes
            })
            .collect()
    }

    impl HistogramLayout {
        pub(crate) fn new(metrics: &RuntimeMetrics, runtime: &[KeyValue]) -> Self {
            Self {
                poll_time: metrics.poll_time_histogram_enabled().then(|| {
                    bucket_attributes(
                        (0..metrics.poll_time_histogram_num_buckets())
                            .map(|b| metrics.poll_time_histogram_bucket_range(b)),
                        runtime,
                    )
                }),
                #[cfg(feature = "tokio-schedule-latency")]
                schedule_latency: metrics.schedule_latency_histogram_enabled().then(|| {
                    bucket_attributes(
                        (0..metrics.schedule_latency_histogram_num_buckets())
                            .map(|b| metrics.schedule_latency_histogram_bucket_range(b)),
                        runtime,
                    )
                }),
                #[cfg(not(feature = "tokio-schedule-latency"))]
                schedule_latency: None,
            }
        }
    }

    /// Each bucket's attributes (runtime id + `le`) and its cumulative count.
    pub(crate) type CumulativeBuckets = (Arc<[Vec<KeyValue>]>, Vec<u64>);

    /// Unstable readings of one runtime.
    #[derive(Clone, Debug, Default)]
    pub(crate) struct UnstableSample {
        pub(crate) polls: u64,
        pub(crate) spawned_tasks: u64,
        pub(crate) blocking_threads: u64,
        /// Cumulative counts per bucket with the bucket's attributes.
        pub(crate) poll_time: Option<CumulativeBuckets>,
        pub(crate) schedule_latency: Option<CumulativeBuckets>,
    }

    fn cumulative(buckets: usize, workers: usize, count: impl Fn(usize, usize) -> u64) -> Vec<u64> {
        let mut running = 0u64;
        (0..buckets)
            .map(|bucket| {
                running = (0..workers).fold(running, |sum, w| sum.saturating_add(count(w, bucket)));
                running
            })
            .collect()
    }

    impl UnstableSample {
        pub(crate) fn read(metrics: &RuntimeMetrics, layout: &HistogramLayout) -> Self {
            let workers = metrics.num_workers();
            Self {
                polls: (0..workers).map(|w| metrics.worker_poll_count(w)).sum(),
                spawned_tasks: metrics.spawned_tasks_count(),
                blocking_threads: metrics.num_blocking_threads() as u64,
                poll_time: layout.poll_time.as_ref().map(|attributes| {
                    let counts = cumulative(attributes.len(), workers, |w, b| {
                        metrics.poll_time_histogram_bucket_count(w, b)
                    });
                    (Arc::clone(attributes), counts)
                }),
                #[cfg(feature = "tokio-schedule-latency")]
                schedule_latency: layout.schedule_latency.as_ref().map(|attributes| {
                    let counts = cumulative(attributes.len(), workers, |w, b| {
                        metrics.schedule_latency_histogram_bucket_count(w, b)
                    });
                    (Arc::clone(attributes), counts)
                }),
                #[cfg(not(feature = "tokio-schedule-latency"))]
                schedule_latency: None,
            }
        }
    }
}
