//! Self-observability: exact counts of what was exported, failed and dropped, per signal.
//!
//! Admission (`admission`) counts what it accepts and turns away; the exporter is wrapped to
//! count successes and failures per record. At any time `accepted = exported + failed + in
//! flight`. At the end of shutdown (`Counters::close`) what is still in flight, because the
//! collector hung past the shutdown timeout, is counted as failed, so that `accepted = exported
//! + failed` holds exactly, and later completions are ignored. The counts are also exported as
//! the `otel.sdk.*` self-metrics.
//!
//! Export trouble is also told in the service's own log ([`ExportHealth`]): a warning per signal
//! naming the destination, the error and what failed since the previous warning, at most one
//! per [`EXPORT_WARNING_INTERVAL`], and one line when exports succeed again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;

use crate::config::Signal;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Shortest time between two export-failure warnings of one signal.
pub(crate) const EXPORT_WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// Counters of one export pipeline.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    accepted: AtomicU64,
    dropped: AtomicU64,
    exported: AtomicU64,
    failed: AtomicU64,
    /// Set at the end of shutdown: nothing more is admitted or counted.
    closed: AtomicBool,
    /// Serialises finishing exports with closing (one lock per export, never per record), and
    /// holds what the log is told.
    health: Mutex<ExportHealth>,
}

/// What an export pipeline has told (or must tell) the service's log about its exports.
#[derive(Debug, Default)]
pub(crate) struct ExportHealth {
    /// Where the exports go, for the messages (URL credentials masked).
    destination: String,
    /// Failed exports and their records since the last message, and the latest error.
    unreported_exports: u64,
    unreported_records: u64,
    /// Failed exports and records since the last success (the outage so far).
    outage_exports: u64,
    outage_records: u64,
    outage_since: Option<Instant>,
    last_error: Option<String>,
    last_warning: Option<Instant>,
    /// Records turned away (queue full) already told, and when that was last told.
    reported_dropped: u64,
    last_drop_warning: Option<Instant>,
}

/// A line for the service's log.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HealthMessage {
    /// Exports are failing.
    Failing {
        error: String,
        exports: u64,
        records: u64,
    },
    /// Records were turned away because the export queue was full.
    Dropping {
        /// Records turned away since the last such message.
        records: u64,
    },
    /// Exports succeed again after an outage.
    Recovered {
        exports: u64,
        records: u64,
        after: Duration,
    },
}

impl HealthMessage {
    /// The message as one plain line (for stderr).
    fn line(&self, signal: &str, destination: &str) -> String {
        match self {
            HealthMessage::Failing {
                error,
                exports,
                records,
            } => format!(
                "telemetry export failing: {signal} to {destination}: {error} ({exports} failed \
                 exports, {records} records, since the last message)"
            ),
            HealthMessage::Dropping { records } => format!(
                "telemetry dropped: {signal} to {destination}: {records} records turned away \
                 since the last message because the export queue was full (the exporter cannot \
                 keep up)"
            ),
            HealthMessage::Recovered {
                exports,
                records,
                after,
            } => format!(
                "telemetry export recovered: {signal} to {destination} after {:.1} s ({exports} \
                 failed exports, {records} records lost)",
                after.as_secs_f64()
            ),
        }
    }
}

impl ExportHealth {
    /// Records one export's outcome; returns the message to log, if one is due at `now`.
    fn record(
        &mut self,
        records: u64,
        error: Option<String>,
        now: Instant,
    ) -> Option<HealthMessage> {
        match error {
            Some(error) => {
                self.unreported_exports += 1;
                self.unreported_records += records;
                self.outage_exports += 1;
                self.outage_records += records;
                self.outage_since.get_or_insert(now);
                self.last_error = Some(error);
                let due = self
                    .last_warning
                    .is_none_or(|t| now.duration_since(t) >= EXPORT_WARNING_INTERVAL);
                if !due {
                    return None;
                }
                self.last_warning = Some(now);
                let message = HealthMessage::Failing {
                    error: self.last_error.clone().unwrap_or_default(),
                    exports: self.unreported_exports,
                    records: self.unreported_records,
                };
                self.unreported_exports = 0;
                self.unreported_records = 0;
                Some(message)
            }
            None => {
                let since = self.outage_since.take()?;
                let message = HealthMessage::Recovered {
                    exports: self.outage_exports,
                    records: self.outage_records,
                    after: now.duration_since(since),
                };
                self.outage_exports = 0;
                self.outage_records = 0;
                self.unreported_exports = 0;
                self.unreported_records = 0;
                self.last_error = None;
                self.last_warning = None;
                Some(message)
            }
        }
    }

    /// Takes note of the pipeline's drop count; returns a message when records were dropped
    /// since the last one and one is due at `now`.
    fn record_drops(&mut self, dropped: u64, now: Instant) -> Option<HealthMessage> {
        let due = self
            .last_drop_warning
            .is_none_or(|t| now.duration_since(t) >= EXPORT_WARNING_INTERVAL);
        if dropped <= self.reported_dropped || !due {
            return None;
        }
        let records = dropped - self.reported_dropped;
        self.reported_dropped = dropped;
        self.last_drop_warning = Some(now);
        Some(HealthMessage::Dropping { records })
    }

    /// The failure still unresolved at shutdown: records that failed since the last success.
    fn outstanding_failure(&self) -> Option<(u64, String)> {
        self.outage_since?;
        Some((
            self.outage_records,
            self.last_error.clone().unwrap_or_default(),
        ))
    }
}

/// What was unresolved for one signal when shutdown ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Closing {
    /// Records still queued or being exported, now counted as failed.
    pub lost: u64,
    /// Records that failed since the last successful export, and the latest error.
    pub failure: Option<(u64, String)>,
}

impl Counters {
    fn in_flight(&self) -> u64 {
        let done = self.exported.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed);
        self.accepted.load(Ordering::Relaxed).saturating_sub(done)
    }

    fn health(&self) -> std::sync::MutexGuard<'_, ExportHealth> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Names where this pipeline exports, for its log messages.
    pub(crate) fn set_destination(&self, destination: String) {
        self.health().destination = destination;
    }

    /// Admits one record unless `capacity` records are already queued or being exported, or
    /// the pipeline has shut down.
    pub(crate) fn admit(&self, capacity: usize) -> bool {
        if self.closed.load(Ordering::Relaxed) || self.in_flight() >= capacity as u64 {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            false
        } else {
            self.accepted.fetch_add(1, Ordering::Relaxed);
            true
        }
    }

    /// Counts one finished export of `n` records; returns the destination and the messages due
    /// (about this export's outcome, and about records dropped meanwhile).
    fn finished(&self, n: u64, result: &OTelSdkResult) -> Option<(String, Vec<HealthMessage>)> {
        let mut health = self.health();
        if self.closed.load(Ordering::Relaxed) {
            // Already counted as failed when shutdown gave up on it.
            return None;
        }
        let c = if result.is_ok() {
            &self.exported
        } else {
            &self.failed
        };
        c.fetch_add(n, Ordering::Relaxed);
        let error = result.as_ref().err().map(|e| e.to_string());
        let now = Instant::now();
        let messages: Vec<HealthMessage> = [
            health.record(n, error, now),
            health.record_drops(self.dropped.load(Ordering::Relaxed), now),
        ]
        .into_iter()
        .flatten()
        .collect();
        if messages.is_empty() {
            return None;
        }
        Some((health.destination.clone(), messages))
    }

    /// Ends accounting at shutdown: what is still in flight is counted as failed.
    pub(crate) fn close(&self) -> Closing {
        let health = self.health();
        if self.closed.swap(true, Ordering::Relaxed) {
            return Closing::default();
        }
        let lost = self.in_flight();
        self.failed.fetch_add(lost, Ordering::Relaxed);
        Closing {
            lost,
            failure: health.outstanding_failure(),
        }
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
    /// The service's subscriber, where export trouble is told (set once it is built; exports
    /// run on threads that have no default subscriber of their own).
    /// Weak: the subscriber owns the pipelines that own these counters.
    pub log: OnceLock<tracing::dispatcher::WeakDispatch>,
    /// The console is off: the messages go to stderr instead, like configuration warnings.
    pub log_to_stderr: AtomicBool,
}

impl Accounting {
    /// The counters of `signal`.
    pub(crate) fn of(&self, signal: Signal) -> &Counters {
        match signal {
            Signal::Traces => &self.spans,
            Signal::Metrics => &self.metric_points,
            Signal::Logs => &self.logs,
        }
    }

    /// Counts an export of `signal` and tells the log when a message is due.
    fn finished(&self, signal: &'static str, counters: &Counters, n: u64, result: &OTelSdkResult) {
        let Some((destination, messages)) = counters.finished(n, result) else {
            return;
        };
        for message in &messages {
            self.tell(signal, &destination, message);
        }
    }

    /// Writes one export-health message to the service's log (or stderr without a console).
    fn tell(&self, signal: &'static str, destination: &str, message: &HealthMessage) {
        let line = message.line(signal, destination);
        if self.log_to_stderr.load(Ordering::Relaxed) {
            crate::console::stderr_line(&line);
            return;
        }
        let emit = || match message {
            HealthMessage::Failing {
                error,
                exports,
                records,
            } => tracing::warn!(
                target: "ferrotel::export",
                signal,
                destination = %destination,
                error = %error,
                failed_exports = exports,
                failed_records = records,
                "{line}"
            ),
            HealthMessage::Dropping { records } => tracing::warn!(
                target: "ferrotel::export",
                signal,
                destination = %destination,
                dropped_records = records,
                "{line}"
            ),
            HealthMessage::Recovered {
                exports, records, ..
            } => tracing::info!(
                target: "ferrotel::export",
                signal,
                destination = %destination,
                failed_exports = exports,
                failed_records = records,
                "{line}"
            ),
        };
        match self.log.get().and_then(|d| d.upgrade()) {
            Some(d) => tracing::dispatcher::with_default(&d, emit),
            None => emit(),
        }
    }

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
            acc.finished("traces", &acc.spans, n, &result);
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
            acc.finished("logs", &acc.logs, n, &result);
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
            if !acc.metric_points.closed.load(Ordering::Relaxed) {
                acc.metric_points.accepted.fetch_add(n, Ordering::Relaxed);
            }
            acc.finished("metrics", &acc.metric_points, n, &result);
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
        let failure = Err(opentelemetry_sdk::error::OTelSdkError::InternalFailure(
            "x".into(),
        ));
        assert!(c.admit(2));
        assert!(c.admit(2));
        assert!(!c.admit(2));
        c.finished(1, &Ok(()));
        assert!(c.admit(2));
        c.finished(2, &failure);
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

    #[test]
    fn close_counts_what_is_in_flight_as_failed_and_ignores_late_results() {
        let c = Counters::default();
        for _ in 0..5 {
            assert!(c.admit(10));
        }
        c.finished(2, &Ok(()));
        let closing = c.close();
        assert_eq!(closing.lost, 3);
        assert_eq!(closing.failure, None);
        // The export that shutdown gave up on finishes later: not counted twice.
        c.finished(3, &Ok(()));
        assert!(!c.admit(10), "nothing is admitted after shutdown");
        let s = c.snapshot();
        assert_eq!((s.exported, s.failed, s.dropped, s.in_flight), (2, 3, 1, 0));
        assert_eq!(
            c.close(),
            Closing::default(),
            "closing twice changes nothing"
        );
    }

    #[test]
    fn close_reports_a_failure_not_followed_by_a_success() {
        let c = Counters::default();
        let failure = Err(opentelemetry_sdk::error::OTelSdkError::InternalFailure(
            "connection refused".into(),
        ));
        for _ in 0..4 {
            c.admit(10);
        }
        c.finished(1, &Ok(()));
        c.finished(3, &failure);
        let closing = c.close();
        assert_eq!(closing.lost, 0);
        let (records, error) = closing.failure.expect("the last export failed");
        assert_eq!(records, 3);
        assert!(error.contains("connection refused"), "{error}");
    }

    #[test]
    fn failure_messages_are_rate_limited_and_count_what_they_summarise() {
        let mut h = ExportHealth::default();
        let t0 = Instant::now();
        let err = || Some("refused".to_string());
        assert_eq!(
            h.record(10, err(), t0),
            Some(HealthMessage::Failing {
                error: "refused".into(),
                exports: 1,
                records: 10
            })
        );
        for i in 1..=5 {
            assert_eq!(h.record(10, err(), t0 + Duration::from_secs(i)), None);
        }
        assert_eq!(
            h.record(10, err(), t0 + EXPORT_WARNING_INTERVAL),
            Some(HealthMessage::Failing {
                error: "refused".into(),
                exports: 6,
                records: 60
            })
        );
        assert_eq!(
            h.record(7, None, t0 + Duration::from_secs(12)),
            Some(HealthMessage::Recovered {
                exports: 7,
                records: 70,
                after: Duration::from_secs(12)
            })
        );
        assert_eq!(h.record(7, None, t0 + Duration::from_secs(13)), None);
        // A new outage warns at once.
        assert!(matches!(
            h.record(1, err(), t0 + Duration::from_secs(14)),
            Some(HealthMessage::Failing { exports: 1, .. })
        ));
    }

    #[test]
    fn drop_messages_are_rate_limited_and_count_what_they_summarise() {
        let mut h = ExportHealth::default();
        let t0 = Instant::now();
        assert_eq!(h.record_drops(0, t0), None, "nothing dropped");
        assert_eq!(
            h.record_drops(5, t0),
            Some(HealthMessage::Dropping { records: 5 })
        );
        assert_eq!(h.record_drops(9, t0 + Duration::from_secs(3)), None);
        assert_eq!(
            h.record_drops(12, t0 + EXPORT_WARNING_INTERVAL),
            Some(HealthMessage::Dropping { records: 7 })
        );
        assert_eq!(
            h.record_drops(12, t0 + 3 * EXPORT_WARNING_INTERVAL),
            None,
            "no new drops, no message"
        );
    }
}
