//! Self-observability: exact counts of what was exported, failed and dropped, per signal.
//!
//! Admission (`admission`) counts what it accepts and turns away; the exporter is wrapped to
//! count successes and failures per record. At any time `accepted = exported + failed + in
//! flight`, and after a clean shutdown nothing is in flight, so the counts are exact. The counts
//! are also exported as the `otel.sdk.*` self-metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Counters of one export pipeline.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    accepted: AtomicU64,
    dropped: AtomicU64,
    exported: AtomicU64,
    failed: AtomicU64,
}

impl Counters {
    fn in_flight(&self) -> u64 {
        let done = self.exported.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed);
        self.accepted.load(Ordering::Relaxed).saturating_sub(done)
    }

    /// Admits one record unless `capacity` records are already queued or being exported.
    pub(crate) fn admit(&self, capacity: usize) -> bool {
        if self.in_flight() >= capacity as u64 {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            false
        } else {
            self.accepted.fetch_add(1, Ordering::Relaxed);
            true
        }
    }

    fn finished(&self, n: u64, ok: bool) {
        let c = if ok { &self.exported } else { &self.failed };
        c.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> SignalStats {
        SignalStats {
            exported: self.exported.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            in_flight: self.in_flight(),
        }
    }
}

/// What happened to one signal's records so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignalStats {
    /// Records the backend accepted.
    pub exported: u64,
    /// Records whose export failed (backend down, timeout, rejected).
    pub failed: u64,
    /// Records turned away because the export queue was full.
    pub dropped: u64,
    /// Records queued or being exported right now.
    pub in_flight: u64,
}

/// Export counts of all three signals (spans, metric data points, log records), for the primary
/// exporter of each signal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Spans.
    pub spans: SignalStats,
    /// Metric data points.
    pub metric_points: SignalStats,
    /// Log records.
    pub logs: SignalStats,
}

/// The counters of the three signals, shared by the pipelines and the guard.
#[derive(Debug, Default)]
pub(crate) struct Accounting {
    pub spans: Counters,
    pub metric_points: Counters,
    pub logs: Counters,
}

impl Accounting {
    pub(crate) fn stats(&self) -> Stats {
        Stats {
            spans: self.spans.snapshot(),
            metric_points: self.metric_points.snapshot(),
            logs: self.logs.snapshot(),
        }
    }

    /// Registers the counts as the semconv SDK self-observability metrics.
    pub(crate) fn register(self: &Arc<Self>, meter: &opentelemetry::metrics::Meter) {
        type Pick = fn(&Accounting) -> &Counters;
        let exported: [(&'static str, &'static str, Pick); 3] = [
            ("otel.sdk.exporter.span.exported", "{span}", |a| &a.spans),
            ("otel.sdk.exporter.log.exported", "{log_record}", |a| {
                &a.logs
            }),
            (
                "otel.sdk.exporter.metric_data_point.exported",
                "{data_point}",
                |a| &a.metric_points,
            ),
        ];
        for (name, unit, pick) in exported {
            let acc = Arc::clone(self);
            meter
                .u64_observable_counter(name)
                .with_unit(unit)
                .with_description("Records whose export finished; failures carry error.type.")
                .with_callback(move |obs| {
                    let c = pick(&acc);
                    obs.observe(c.exported.load(Ordering::Relaxed), &[]);
                    obs.observe(
                        c.failed.load(Ordering::Relaxed),
                        &[KeyValue::new("error.type", "export_failed")],
                    );
                })
                .build();
        }
        let dropped: [(&'static str, &'static str, Pick); 2] = [
            ("otel.sdk.processor.span.processed", "{span}", |a| &a.spans),
            ("otel.sdk.processor.log.processed", "{log_record}", |a| {
                &a.logs
            }),
        ];
        for (name, unit, pick) in dropped {
            let acc = Arc::clone(self);
            meter
                .u64_observable_counter(name)
                .with_unit(unit)
                .with_description(
                    "Records turned away by the export queue (error.type=queue_full).",
                )
                .with_callback(move |obs| {
                    let c = pick(&acc);
                    obs.observe(
                        c.dropped.load(Ordering::Relaxed),
                        &[
                            KeyValue::new("error.type", "queue_full"),
                            KeyValue::new("otel.component.type", "telemetry_admission"),
                        ],
                    );
                })
                .build();
        }
    }
}

/// Counts what an exporter delivered or failed to deliver.
#[derive(Debug)]
pub(crate) struct CountingExporter<E> {
    pub inner: E,
    pub counters: Option<Arc<Accounting>>,
}

impl<E: SpanExporter> SpanExporter for CountingExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let n = batch.len() as u64;
        let result = self.inner.export(batch).await;
        if let Some(acc) = &self.counters {
            acc.spans.finished(n, result.is_ok());
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: LogExporter> LogExporter for CountingExporter<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let n = batch.iter().count() as u64;
        let result = self.inner.export(batch).await;
        if let Some(acc) = &self.counters {
            acc.logs.finished(n, result.is_ok());
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }

    fn event_enabled(
        &self,
        level: opentelemetry::logs::Severity,
        target: &str,
        name: Option<&str>,
    ) -> bool {
        self.inner.event_enabled(level, target, name)
    }
}

impl<E: PushMetricExporter> PushMetricExporter for CountingExporter<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let n = count_points(metrics);
        let result = self.inner.export(metrics).await;
        if let Some(acc) = &self.counters {
            // Metric exports are not queued: count them as accepted when they finish.
            acc.metric_points.accepted.fetch_add(n, Ordering::Relaxed);
            acc.metric_points.finished(n, result.is_ok());
        }
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

/// Number of data points in a collection.
pub(crate) fn count_points(metrics: &ResourceMetrics) -> u64 {
    fn points<T>(data: &MetricData<T>) -> usize {
        match data {
            MetricData::Gauge(g) => g.data_points().count(),
            MetricData::Sum(s) => s.data_points().count(),
            MetricData::Histogram(h) => h.data_points().count(),
            MetricData::ExponentialHistogram(e) => e.data_points().count(),
        }
    }
    metrics
        .scope_metrics()
        .flat_map(|s| s.metrics())
        .map(|m| match m.data() {
            AggregatedMetrics::F64(d) => points(d),
            AggregatedMetrics::U64(d) => points(d),
            AggregatedMetrics::I64(d) => points(d),
        } as u64)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_turns_away_beyond_capacity_and_counts() {
        let c = Counters::default();
        assert!(c.admit(2));
        assert!(c.admit(2));
        assert!(!c.admit(2));
        c.finished(1, true);
        assert!(c.admit(2));
        c.finished(2, false);
        let s = c.snapshot();
        assert_eq!(
            s,
            SignalStats {
                exported: 1,
                failed: 2,
                dropped: 1,
                in_flight: 0
            }
        );
    }
}
