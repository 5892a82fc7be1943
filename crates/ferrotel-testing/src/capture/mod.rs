//! In-memory capture of `ferrotel`'s pipeline, one capture per test.
//!
//! [`start`] builds the same pipeline as `ferrotel::init()` (admission, redaction, limits,
//! accounting) with in-memory exporters attached through the public builder hooks
//! (`with_span_exporter`, `with_log_exporter`, `with_metric_exporter`), and routes to it
//! everything the test emits:
//!
//! - `tracing` spans and events, and `log` records;
//! - metrics recorded through `opentelemetry::global::meter*` (instruments created once and
//!   shared between tests included: each measurement goes to the capture current where it is
//!   recorded);
//! - spans started through `opentelemetry::global::tracer*`.
//!
//! **What belongs to a capture**: the code running on the tokio runtime it was started on (every
//! worker thread, `spawn_blocking` thread and the test's own `block_on`), or, when it was started
//! outside any runtime, on its thread. A `#[tokio::test]` (any flavor) that calls [`start`] in
//! its body therefore sees exactly what its server and tasks emit, and nothing of the tests
//! running beside it. Other runtimes or threads the test starts itself join with
//! [`Capture::attach_current`].
//!
//! The first capture installs the process-wide `tracing` dispatcher, meter provider, tracer
//! provider and W3C propagators that do this routing; it panics if another global `tracing`
//! subscriber was installed first in the test binary (for example by `ferrotel::init()`), since
//! nothing could be captured then.

mod dispatch;
mod meter;
mod route;
mod tracer;

use std::sync::{Arc, OnceLock};

use ferrotel::{ConsoleFormat, Guard, ShutdownReport};
use opentelemetry::Value;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLogRecord};
use opentelemetry_sdk::metrics::InMemoryMetricExporter;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};

use crate::{AttrValue, ReceivedDataPoint, Transport, series};

/// Starts a capture for the current test with `ferrotel`'s defaults, a hermetic configuration
/// (no `OTEL_*` variable is read), every level of the test's own targets captured, and no
/// console output.
///
/// ```
/// let capture = ferrotel_testing::capture::start("my-service");
/// tracing::info_span!("work").in_scope(|| tracing::info!(n = 1, "did work"));
/// assert_eq!(capture.span("work").name, "work");
/// assert_eq!(capture.logs()[0].body, "did work");
/// ```
///
/// # Panics
/// If the routing cannot be installed (another global `tracing` subscriber exists), or the
/// pipeline cannot be built (it needs no I/O, so only a bug can cause that).
pub fn start(service_name: &str) -> Capture {
    start_with(
        ferrotel::builder()
            .service_name(service_name)
            .log_filter("trace,ferrotel=warn")
            .console_format(ConsoleFormat::Off)
            .env_lookup(|_| None),
    )
}

/// Starts a capture with the pipeline `builder` describes (redaction choices, views, a log
/// filter, extra processors...). Its exporters are replaced by the in-memory ones and nothing
/// is installed globally by the builder itself; the routing is.
///
/// # Panics
/// As [`start`].
pub fn start_with(builder: ferrotel::Builder) -> Capture {
    install_routing();
    let spans = InMemorySpanExporter::default();
    let logs = InMemoryLogExporter::default();
    let metrics = InMemoryMetricExporter::default();
    let guard = builder
        .global(false)
        .exporters(&[])
        .with_span_exporter(spans.clone())
        .with_log_exporter(logs.clone())
        .with_metric_exporter(metrics.clone())
        .init()
        .expect("an in-memory pipeline needs no I/O and cannot fail to build");
    let (Some(meter_provider), Some(tracer_provider)) =
        (guard.meter_provider(), guard.tracer_provider())
    else {
        unreachable!("a guard that was not shut down has its providers")
    };
    let route = route::Route::new(
        guard.dispatch().clone(),
        meter_provider.clone(),
        tracer_provider.clone(),
    );
    route::attach(&route);
    Capture {
        guard: Some(guard),
        spans,
        logs,
        metrics,
        route,
    }
}

fn install_routing() {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let installed = INSTALLED.get_or_init(|| {
        tracing::dispatcher::set_global_default(tracing::Dispatch::new(
            dispatch::RoutingSubscriber,
        ))
        .map_err(|_| {
            "ferrotel-testing routes each test's telemetry through the process-wide tracing \
             dispatcher, but another global subscriber was installed first in this test binary \
             (ferrotel::init() or a tracing_subscriber ...init()); use captures alone in it"
                .to_string()
        })?;
        // `log` records of dependencies, as `ferrotel::init()` does; another logger may exist.
        let _ = tracing_log::LogTracer::init();
        opentelemetry::global::set_meter_provider(meter::RoutingMeterProvider);
        opentelemetry::global::set_tracer_provider(tracer::RoutingTracerProvider);
        opentelemetry::global::set_text_map_propagator(
            opentelemetry::propagation::TextMapCompositePropagator::new(vec![
                Box::new(opentelemetry_sdk::propagation::TraceContextPropagator::new()),
                Box::new(opentelemetry_sdk::propagation::BaggagePropagator::new()),
            ]),
        );
        Ok(())
    });
    if let Err(why) = installed {
        panic!("{why}");
    }
}

/// What one test emitted. Every read flushes the pipeline first; dropping the capture shuts its
/// pipeline down (nothing is routed to it any more).
#[must_use = "the capture stops when it is dropped"]
pub struct Capture {
    guard: Option<Guard>,
    spans: InMemorySpanExporter,
    logs: InMemoryLogExporter,
    metrics: InMemoryMetricExporter,
    route: Arc<route::Route>,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture")
            .field("guard", &self.guard)
            .finish_non_exhaustive()
    }
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

impl Capture {
    /// The guard of the captured pipeline (its configuration, export accounting, meters).
    pub fn guard(&self) -> &Guard {
        self.guard
            .as_ref()
            .expect("the guard lives until the capture is dropped")
    }

    /// Routes the current tokio runtime (or, outside any runtime, the current thread) to this
    /// capture too: for a runtime or thread the test starts itself.
    pub fn attach_current(&self) {
        route::attach(&self.route);
    }

    /// Exports everything pending to the in-memory exporters.
    pub fn flush(&self) {
        let _ = self.guard().force_flush();
    }

    /// All finished spans, in the order they ended.
    pub fn spans(&self) -> Vec<SpanData> {
        self.flush();
        self.spans.get_finished_spans().unwrap_or_default()
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

    /// All log records, in the order they were emitted.
    pub fn logs(&self) -> Vec<CapturedLog> {
        self.flush();
        self.logs
            .get_emitted_logs()
            .unwrap_or_default()
            .iter()
            .map(|l| log_of(&l.record))
            .collect()
    }

    /// The current data points of every metric (from the latest collection; the pipeline
    /// exports cumulative totals), in the fake receiver's model.
    pub fn all_data_points(&self) -> Vec<ReceivedDataPoint> {
        self.flush();
        let exports = self.metrics.get_finished_metrics().unwrap_or_default();
        // Cumulative exports: the latest holds every total, and each read flushes a new one, so
        // the older ones can go (a test that reads often would otherwise copy them all each time).
        self.metrics.reset();
        exports
            .last()
            .map(|latest| {
                crate::points_of(
                    Transport::InProcess,
                    &ExportMetricsServiceRequest::from(latest),
                )
            })
            .unwrap_or_default()
    }

    /// The current data points of metric `name`.
    pub fn data_points(&self, name: &str) -> Vec<ReceivedDataPoint> {
        self.all_data_points()
            .into_iter()
            .filter(|p| p.metric_name == name)
            .collect()
    }

    /// Names of all metrics with data, sorted.
    pub fn metric_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .all_data_points()
            .into_iter()
            .map(|p| p.metric_name)
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The total of counter (or up-down counter) `name` over the series whose attributes
    /// include `attributes`; `None` when no series matches. The same rule as
    /// [`FakeReceiver::counter_sum`](crate::FakeReceiver::counter_sum).
    pub fn counter_sum(&self, name: &str, attributes: &[(&str, AttrValue)]) -> Option<f64> {
        series::counter_sum(&self.data_points(name), attributes)
    }

    /// The sample count of histogram `name` over the series whose attributes include
    /// `attributes`.
    pub fn histogram_count(&self, name: &str, attributes: &[(&str, AttrValue)]) -> Option<u64> {
        series::histogram_count(&self.data_points(name), attributes)
    }

    /// The sum of the samples of histogram `name` over the series whose attributes include
    /// `attributes`.
    pub fn histogram_sum(&self, name: &str, attributes: &[(&str, AttrValue)]) -> Option<f64> {
        series::histogram_sum(&self.data_points(name), attributes)
    }

    /// The value of gauge `name` for the series whose attributes include `attributes` (the
    /// most recent if several match).
    pub fn gauge_value(&self, name: &str, attributes: &[(&str, AttrValue)]) -> Option<f64> {
        series::gauge_value(&self.data_points(name), attributes)
    }

    /// Stops routing to this capture and shuts its pipeline down, reporting what was lost.
    pub fn shutdown(mut self) -> ShutdownReport {
        route::detach(&self.route);
        self.guard
            .take()
            .expect("the guard lives until the capture is dropped")
            .shutdown()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if self.guard.is_some() {
            route::detach(&self.route);
        }
    }
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

/// The attribute `key` of a span, if present.
pub fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}
