//! Providers wired to the raw `opentelemetry-otlp` exporters (no `ferrotel::init()`), so a
//! test can push real OTLP through a peer.
//!
//! Every provider uses a simple (synchronous) processor or an explicit `force_flush`, so when a
//! helper returns the data has been handed to the peer and acknowledged.
//!
//! gRPC exporters (tonic) need a multi-thread tokio runtime that is *not* blocked by the call:
//! build and use them from `tokio::task::spawn_blocking` inside
//! `#[tokio::test(flavor = "multi_thread")]`.

use std::time::Duration;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{
    LogExporter, MetricExporter, Protocol, SpanExporter, WithExportConfig as _,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;

/// Exporter timeout: generous, the peers are local.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Which OTLP exporter flavour to use, and where it sends.
#[derive(Debug, Clone)]
pub enum Target {
    /// OTLP/HTTP protobuf; the value is the base URL (`http://127.0.0.1:PORT`).
    HttpProtobuf(String),
    /// OTLP/HTTP JSON; the value is the base URL.
    HttpJson(String),
    /// OTLP/gRPC; the value is `http://127.0.0.1:PORT`.
    Grpc(String),
}

impl Target {
    fn http(&self) -> Option<(&str, Protocol)> {
        match self {
            // Explicit protocol: with the `http-json` cargo feature anywhere in the build,
            // opentelemetry-otlp's default HTTP protocol silently becomes JSON.
            Target::HttpProtobuf(base) => Some((base, Protocol::HttpBinary)),
            Target::HttpJson(base) => Some((base, Protocol::HttpJson)),
            Target::Grpc(_) => None,
        }
    }

    /// A span exporter for this target.
    pub fn span_exporter(&self) -> SpanExporter {
        let built = match (self.http(), self) {
            (Some((base, protocol)), _) => SpanExporter::builder()
                .with_http()
                .with_protocol(protocol)
                .with_endpoint(format!("{base}/v1/traces"))
                .with_timeout(TIMEOUT)
                .build(),
            (
                None,
                Target::Grpc(endpoint)
                | Target::HttpProtobuf(endpoint)
                | Target::HttpJson(endpoint),
            ) => SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .with_timeout(TIMEOUT)
                .build(),
        };
        built.expect("building the OTLP span exporter")
    }

    /// A metric exporter for this target (cumulative temporality).
    pub fn metric_exporter(&self) -> MetricExporter {
        let built = match (self.http(), self) {
            (Some((base, protocol)), _) => MetricExporter::builder()
                .with_http()
                .with_protocol(protocol)
                .with_endpoint(format!("{base}/v1/metrics"))
                .with_timeout(TIMEOUT)
                .build(),
            (
                None,
                Target::Grpc(endpoint)
                | Target::HttpProtobuf(endpoint)
                | Target::HttpJson(endpoint),
            ) => MetricExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .with_timeout(TIMEOUT)
                .build(),
        };
        built.expect("building the OTLP metric exporter")
    }

    /// A log exporter for this target.
    pub fn log_exporter(&self) -> LogExporter {
        let built = match (self.http(), self) {
            (Some((base, protocol)), _) => LogExporter::builder()
                .with_http()
                .with_protocol(protocol)
                .with_endpoint(format!("{base}/v1/logs"))
                .with_timeout(TIMEOUT)
                .build(),
            (
                None,
                Target::Grpc(endpoint)
                | Target::HttpProtobuf(endpoint)
                | Target::HttpJson(endpoint),
            ) => LogExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .with_timeout(TIMEOUT)
                .build(),
        };
        built.expect("building the OTLP log exporter")
    }
}

/// A resource with `service.name` = `service` and `deployment.environment.name` = `e2e`.
pub fn resource(service: &str) -> Resource {
    Resource::builder()
        .with_service_name(service.to_owned())
        .with_attribute(KeyValue::new("deployment.environment.name", "e2e"))
        .with_attribute(KeyValue::new("service.version", "1.2.3"))
        .build()
}

/// Ids of what [`emit_all`] produced, to assert on correlation.
#[derive(Debug, Clone)]
pub struct Emitted {
    /// Trace id (hex) of the `checkout` trace.
    pub trace_id: String,
    /// Span id (hex) of the `checkout` root span.
    pub root_span_id: String,
    /// Span id (hex) of the `charge-card` child span, current when the log was emitted.
    pub child_span_id: String,
}

/// Sends, through `target`, under service `service`:
/// - spans: `checkout` (root, `http.route=/checkout`) with child `charge-card`
///   (`payment.amount=42`, event `card-accepted`);
/// - metrics: counter `orders` (+2 `{status=ok}`, +1 `{status=failed}`), histogram
///   `order.duration` (0.25 and 0.75 s, `{route=/checkout}`);
/// - logs: `payment accepted` (INFO, inside `charge-card`, attribute `order.id=7`) and
///   `background sweep` (WARN, no span).
///
/// Returns after every provider flushed and shut down.
pub fn emit_all(target: &Target, service: &str) -> Emitted {
    let tracer_provider = SdkTracerProvider::builder()
        .with_resource(resource(service))
        .with_simple_exporter(target.span_exporter())
        .build();
    let logger_provider = SdkLoggerProvider::builder()
        .with_resource(resource(service))
        .with_simple_exporter(target.log_exporter())
        .build();
    let meter_provider = SdkMeterProvider::builder()
        .with_resource(resource(service))
        .with_reader(PeriodicReader::builder(target.metric_exporter()).build())
        .build();

    let tracer = tracer_provider.tracer("e2e");
    let logger = logger_provider.logger("e2e");
    let meter = meter_provider.meter("e2e");

    let mut root = tracer.start("checkout");
    root.set_attribute(KeyValue::new("http.route", "/checkout"));
    let trace_id = root.span_context().trace_id().to_string();
    let root_span_id = root.span_context().span_id().to_string();
    let root_cx = Context::current_with_span(root);
    let mut child = tracer.start_with_context("charge-card", &root_cx);
    child.set_attribute(KeyValue::new("payment.amount", 42_i64));
    child.add_event("card-accepted", vec![KeyValue::new("card.brand", "visa")]);
    let child_span_id = child.span_context().span_id().to_string();
    let child_cx = root_cx.with_span(child);
    {
        let _attached = child_cx.clone().attach();
        let mut record = logger.create_log_record();
        record.set_body(AnyValue::from("payment accepted"));
        record.set_severity_number(Severity::Info);
        record.set_severity_text("INFO");
        record.add_attribute("order.id", 7_i64);
        logger.emit(record);
    }
    child_cx.span().end();
    root_cx.span().end();

    let mut record = logger.create_log_record();
    record.set_body(AnyValue::from("background sweep"));
    record.set_severity_number(Severity::Warn);
    record.set_severity_text("WARN");
    logger.emit(record);

    let orders = meter.u64_counter("orders").with_unit("{order}").build();
    orders.add(2, &[KeyValue::new("status", "ok")]);
    orders.add(1, &[KeyValue::new("status", "failed")]);
    let duration = meter.f64_histogram("order.duration").with_unit("s").build();
    duration.record(0.25, &[KeyValue::new("route", "/checkout")]);
    duration.record(0.75, &[KeyValue::new("route", "/checkout")]);

    tracer_provider
        .shutdown()
        .expect("tracer provider shutdown");
    logger_provider
        .shutdown()
        .expect("logger provider shutdown");
    meter_provider
        .shutdown()
        .expect("meter provider shutdown (exports the metrics)");
    Emitted {
        trace_id,
        root_span_id,
        child_span_id,
    }
}

/// Sends `count` root spans named `{prefix}-{i}` through `target` (simple processor).
pub fn emit_spans(target: &Target, service: &str, prefix: &str, count: usize) {
    let provider = SdkTracerProvider::builder()
        .with_resource(resource(service))
        .with_simple_exporter(target.span_exporter())
        .build();
    let tracer = provider.tracer("e2e");
    for i in 0..count {
        tracer.in_span(format!("{prefix}-{i}"), |_| {});
    }
    provider.shutdown().expect("tracer provider shutdown");
}

/// How long to wait for forwarded telemetry to show up at a receiver.
pub const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(30);

/// Waits until everything [`emit_all`] sent under `service` reached `receiver`, then asserts
/// names, attributes, resource attributes, the parent/child link, metric values and the
/// log/trace correlation. Panics with the receiver's summary on a miss.
pub fn assert_received(
    receiver: &ferrotel_testing::FakeReceiver,
    emitted: &Emitted,
    service: &str,
) {
    check_received(receiver, emitted, service, true);
}

/// [`assert_received`] for the spans and log records only: for paths that lose metric values
/// (rotel 0.0.1-alpha10 drops `asInt` values and histogram data it receives as OTLP/JSON).
pub fn assert_traces_and_logs_received(
    receiver: &ferrotel_testing::FakeReceiver,
    emitted: &Emitted,
    service: &str,
) {
    check_received(receiver, emitted, service, false);
}

fn check_received(
    receiver: &ferrotel_testing::FakeReceiver,
    emitted: &Emitted,
    service: &str,
    metrics: bool,
) {
    use ferrotel_testing::AttrValue;
    let ok = [("status", AttrValue::from("ok"))];
    let route = [("route", AttrValue::from("/checkout"))];
    receiver
        .wait_for_blocking(ARRIVAL_TIMEOUT, |r| {
            r.span_named("checkout").is_some()
                && r.span_named("charge-card").is_some()
                && r.log_records_containing("background sweep").len() == 1
                && r.log_records_containing("payment accepted").len() == 1
                && (!metrics
                    || (r.counter_sum("orders", &ok).is_some()
                        && r.histogram_count("order.duration", &route).is_some()))
        })
        .unwrap_or_else(|e| panic!("{e}"));

    // Traces: names, ids, parent/child, attributes, events, resource.
    let root = receiver.span_named("checkout").expect("checkout span");
    let child = receiver
        .span_named("charge-card")
        .expect("charge-card span");
    assert_eq!(root.trace_id(), emitted.trace_id);
    assert_eq!(root.span_id(), emitted.root_span_id);
    assert_eq!(root.parent_span_id(), None, "checkout must be a root span");
    assert_eq!(child.span_id(), emitted.child_span_id);
    assert_eq!(child.parent_span_id(), Some(root.span_id()));
    assert!(child.is_child_of(&root));
    assert_eq!(receiver.children_of(&root).len(), 1);
    assert_eq!(
        root.attribute("http.route"),
        Some(AttrValue::from("/checkout"))
    );
    assert_eq!(child.attribute("payment.amount"), Some(AttrValue::Int(42)));
    assert_eq!(child.event_names(), ["card-accepted"]);
    assert_eq!(
        child
            .event_attributes("card-accepted")
            .and_then(|a| a.get_str("card.brand").map(str::to_owned)),
        Some("visa".to_owned())
    );
    assert_eq!(child.scope.name, "e2e");
    for span in [&root, &child] {
        assert_eq!(span.resource.get_str("service.name"), Some(service));
        assert_eq!(span.resource.get_str("service.version"), Some("1.2.3"));
        assert_eq!(
            span.resource.get_str("deployment.environment.name"),
            Some("e2e")
        );
        assert_eq!(
            span.resource.get_str("telemetry.sdk.language"),
            Some("rust")
        );
    }
    assert_eq!(
        receiver.spans().len(),
        2,
        "unexpected spans: {}",
        receiver.summary()
    );

    // Metrics: counter per attribute set, histogram count and sum, resource.
    if metrics {
        assert_eq!(receiver.counter_sum("orders", &ok), Some(2.0));
        assert_eq!(
            receiver.counter_sum("orders", &[("status", "failed".into())]),
            Some(1.0)
        );
        assert_eq!(receiver.counter_sum("orders", &[]), Some(3.0));
        assert_eq!(receiver.histogram_count("order.duration", &route), Some(2));
        let sum = receiver
            .histogram_sum("order.duration", &route)
            .expect("histogram sum");
        assert!((sum - 1.0).abs() < 1e-9, "histogram sum {sum}");
        let point = &receiver.data_points("orders")[0];
        assert_eq!(point.unit, "{order}");
        assert_eq!(point.resource.get_str("service.name"), Some(service));
    }
    // Logs: body, severity, attributes, trace correlation, resource.
    let paid = &receiver.log_records_containing("payment accepted")[0];
    assert_eq!(paid.severity_number(), 9);
    assert_eq!(paid.severity_text(), "INFO");
    assert_eq!(paid.attribute("order.id"), Some(AttrValue::Int(7)));
    assert_eq!(paid.trace_id(), Some(emitted.trace_id.clone()));
    assert_eq!(paid.span_id(), Some(emitted.child_span_id.clone()));
    assert_eq!(
        paid.resource_attribute("service.name")
            .and_then(AttrValue::as_str),
        Some(service)
    );
    let sweep = &receiver.log_records_containing("background sweep")[0];
    assert_eq!(sweep.severity_number(), 13);
    assert_eq!(sweep.trace_id(), None);
    assert_eq!(sweep.span_id(), None);
}
