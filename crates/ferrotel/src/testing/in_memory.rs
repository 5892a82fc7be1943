//! In-memory capture through the real pipeline.

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLogRecord};
use opentelemetry_sdk::metrics::InMemoryMetricExporter;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};

use crate::Guard;

/// The in-memory exporters a `builder().in_memory()` pipeline writes to.
#[derive(Debug, Clone, Default)]
pub struct InMemoryExporters {
    pub(crate) spans: InMemorySpanExporter,
    pub(crate) metrics: InMemoryMetricExporter,
    pub(crate) logs: InMemoryLogExporter,
}

/// Starts an in-memory pipeline for a test: nothing global is installed; the returned guard's
/// subscriber is the thread's default until the returned [`tracing::dispatcher::DefaultGuard`]
/// drops.
///
/// ```
/// let (guard, _scope) = ferrotel::testing::start("my-service");
/// tracing::info_span!("work").in_scope(|| tracing::info!(n = 1, "did work"));
/// let captured = guard.captured();
/// assert_eq!(captured.span("work").name, "work");
/// assert_eq!(captured.logs()[0].body, "did work");
/// ```
pub fn start(service_name: &str) -> (Guard, tracing::dispatcher::DefaultGuard) {
    let guard = crate::builder()
        .service_name(service_name)
        .log_filter("trace,ferrotel=warn")
        .in_memory()
        .env_lookup(|_| None)
        .init()
        .expect("an in-memory pipeline needs no I/O and cannot fail to build");
    let scope = tracing::dispatcher::set_default(guard.dispatch());
    (guard, scope)
}

/// A captured log record, simplified for assertions.
#[derive(Debug, Clone, PartialEq)]
pub struct CapturedLog {
    /// The body as text.
    pub body: String,
    /// `INFO`, `WARN`, ...
    pub severity_text: String,
    /// The `tracing` target.
    pub target: String,
    /// Attributes as text.
    pub attributes: Vec<(String, String)>,
    /// Trace id of the span current when the record was emitted.
    pub trace_id: Option<opentelemetry::trace::TraceId>,
    /// Span id of the span current when the record was emitted.
    pub span_id: Option<opentelemetry::trace::SpanId>,
}

/// Read access to what an in-memory pipeline captured. Every read flushes first.
#[derive(Debug)]
pub struct Captured<'a> {
    pub(crate) guard: &'a Guard,
}

fn any_to_string(v: &opentelemetry::logs::AnyValue) -> String {
    use opentelemetry::logs::AnyValue;
    match v {
        AnyValue::String(s) => s.to_string(),
        AnyValue::Int(i) => i.to_string(),
        AnyValue::Double(d) => d.to_string(),
        AnyValue::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

fn log_of(r: &SdkLogRecord) -> CapturedLog {
    CapturedLog {
        body: r.body().map(any_to_string).unwrap_or_default(),
        severity_text: r.severity_text().unwrap_or_default().to_string(),
        target: r.target().map(|t| t.to_string()).unwrap_or_default(),
        attributes: r
            .attributes_iter()
            .map(|(k, v)| (k.to_string(), any_to_string(v)))
            .collect(),
        trace_id: r.trace_context().map(|t| t.trace_id),
        span_id: r.trace_context().map(|t| t.span_id),
    }
}

impl Captured<'_> {
    fn exporters(&self) -> &InMemoryExporters {
        self.guard
            .in_memory
            .as_ref()
            .expect("Guard::captured needs a pipeline built with builder().in_memory()")
    }

    fn flush(&self) {
        let _ = self.guard.force_flush();
    }

    /// All finished spans, in the order they ended.
    pub fn spans(&self) -> Vec<SpanData> {
        self.flush();
        self.exporters()
            .spans
            .get_finished_spans()
            .unwrap_or_default()
    }

    /// The finished span named `name`; panics with the names seen if there is none.
    pub fn span(&self, name: &str) -> SpanData {
        let spans = self.spans();
        let names: Vec<String> = spans.iter().map(|s| s.name.to_string()).collect();
        spans
            .into_iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no span named {name:?}; spans: {names:?}"))
    }

    /// All finished spans named `name`.
    pub fn spans_named(&self, name: &str) -> Vec<SpanData> {
        self.spans()
            .into_iter()
            .filter(|s| s.name == name)
            .collect()
    }

    /// All log records.
    pub fn logs(&self) -> Vec<CapturedLog> {
        self.flush();
        self.exporters()
            .logs
            .get_emitted_logs()
            .unwrap_or_default()
            .iter()
            .map(|l| log_of(&l.record))
            .collect()
    }

    /// All metric exports so far (cumulative temporality: the last one holds the totals).
    pub fn metric_exports(&self) -> Vec<ResourceMetrics> {
        self.flush();
        self.exporters()
            .metrics
            .get_finished_metrics()
            .unwrap_or_default()
    }

    /// Names of all metrics in the latest export.
    pub fn metric_names(&self) -> Vec<String> {
        let exports = self.metric_exports();
        let Some(last) = exports.last() else {
            return Vec::new();
        };
        last.scope_metrics()
            .flat_map(|s| s.metrics())
            .map(|m| m.name().to_string())
            .collect()
    }

    /// The value of a counter (or gauge / up-down counter) for exactly `attributes` (any order),
    /// from the latest export; `None` when there is no such series.
    pub fn sum(&self, name: &str, attributes: &[KeyValue]) -> Option<f64> {
        self.point(name, attributes, |data| match data {
            MetricData::Sum(s) => s
                .data_points()
                .map(|p| (p.attributes().cloned().collect::<Vec<_>>(), p.value()))
                .collect(),
            MetricData::Gauge(g) => g
                .data_points()
                .map(|p| (p.attributes().cloned().collect::<Vec<_>>(), p.value()))
                .collect(),
            _ => Vec::new(),
        })
    }

    /// The sample count of a histogram for exactly `attributes`, from the latest export.
    pub fn histogram_count(&self, name: &str, attributes: &[KeyValue]) -> Option<u64> {
        let exports = self.metric_exports();
        let last = exports.last()?;
        let metric = last
            .scope_metrics()
            .flat_map(|s| s.metrics())
            .find(|m| m.name() == name)?;
        fn count<T>(data: &MetricData<T>, want: &[KeyValue]) -> Option<u64> {
            match data {
                MetricData::Histogram(h) => h
                    .data_points()
                    .find(|p| same_attributes(p.attributes(), want))
                    .map(|p| p.count()),
                _ => None,
            }
        }
        match metric.data() {
            AggregatedMetrics::F64(d) => count(d, attributes),
            AggregatedMetrics::U64(d) => count(d, attributes),
            AggregatedMetrics::I64(d) => count(d, attributes),
        }
    }

    fn point(
        &self,
        name: &str,
        attributes: &[KeyValue],
        points: fn(&MetricData<f64>) -> Vec<Series>,
    ) -> Option<f64> {
        let exports = self.metric_exports();
        let last = exports.last()?;
        let metric = last
            .scope_metrics()
            .flat_map(|s| s.metrics())
            .find(|m| m.name() == name)?;
        let all: Vec<Series> = match metric.data() {
            AggregatedMetrics::F64(d) => points(d),
            AggregatedMetrics::U64(d) => as_f64(d),
            AggregatedMetrics::I64(d) => as_f64(d),
        };
        all.into_iter()
            .find(|(attrs, _)| same_attributes(attrs.iter(), attributes))
            .map(|(_, v)| v)
    }
}

/// One series: its attributes and value.
type Series = (Vec<KeyValue>, f64);

fn as_f64<T: Copy + Into<NumberAsF64>>(data: &MetricData<T>) -> Vec<Series> {
    let conv = |v: T| -> f64 { v.into().0 };
    match data {
        MetricData::Sum(s) => s
            .data_points()
            .map(|p| (p.attributes().cloned().collect(), conv(p.value())))
            .collect(),
        MetricData::Gauge(g) => g
            .data_points()
            .map(|p| (p.attributes().cloned().collect(), conv(p.value())))
            .collect(),
        _ => Vec::new(),
    }
}

/// A lossy numeric conversion for assertions.
#[doc(hidden)]
pub struct NumberAsF64(f64);

impl From<u64> for NumberAsF64 {
    fn from(v: u64) -> Self {
        NumberAsF64(v as f64)
    }
}

impl From<i64> for NumberAsF64 {
    fn from(v: i64) -> Self {
        NumberAsF64(v as f64)
    }
}

fn same_attributes<'a>(have: impl Iterator<Item = &'a KeyValue>, want: &[KeyValue]) -> bool {
    let mut have: Vec<(String, Value)> = have
        .map(|kv| (kv.key.to_string(), kv.value.clone()))
        .collect();
    let mut want: Vec<(String, Value)> = want
        .iter()
        .map(|kv| (kv.key.to_string(), kv.value.clone()))
        .collect();
    have.sort_by(|a, b| a.0.cmp(&b.0));
    want.sort_by(|a, b| a.0.cmp(&b.0));
    have == want
}

/// The attribute `key` of a span, if present.
pub fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}
