//! The receiver against the real opentelemetry-otlp exporters and hand-made requests.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{
    LogExporter, MetricExporter, Protocol, SpanExporter, WithExportConfig as _,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::SdkTracerProvider;
use prost::Message as _;

use super::*;

const WAIT: Duration = Duration::from_secs(20);

fn resource() -> Resource {
    Resource::builder()
        .with_service_name("receiver-test")
        .with_attribute(KeyValue::new("deployment.environment.name", "test"))
        .build()
}

fn http_span_exporter(receiver: &FakeReceiver, protocol: Protocol) -> SpanExporter {
    SpanExporter::builder()
        .with_http()
        .with_protocol(protocol)
        .with_endpoint(receiver.http_signal_url(Signal::Traces))
        .with_timeout(Duration::from_secs(5))
        .build()
        .expect("span exporter")
}

/// Emits `root` with a child `leaf` (attribute `n` = 7, event `hit`) through `exporter`.
fn emit_span_tree(exporter: SpanExporter) {
    let provider = SdkTracerProvider::builder()
        .with_resource(resource())
        .with_simple_exporter(exporter)
        .build();
    let tracer = provider.tracer("receiver-tests");
    tracer.in_span("root", |cx| {
        let mut leaf = tracer.start_with_context("leaf", &cx);
        leaf.set_attribute(KeyValue::new("n", 7_i64));
        leaf.add_event("hit", vec![KeyValue::new("why", "test")]);
        leaf.end();
    });
    provider.shutdown().expect("tracer provider shutdown");
}

fn assert_span_tree(receiver: &FakeReceiver, transport: Transport) {
    receiver
        .wait_for_blocking(WAIT, |r| r.spans().len() >= 2)
        .expect("two spans");
    let root = receiver.span_named("root").expect("root");
    let leaf = receiver.span_named("leaf").expect("leaf");
    assert_eq!(root.transport, transport);
    assert!(root.parent_span_id().is_none());
    assert_eq!(leaf.parent_span_id(), Some(root.span_id()));
    assert_eq!(leaf.trace_id(), root.trace_id());
    assert_eq!(leaf.trace_id().len(), 32);
    assert!(leaf.is_child_of(&root));
    assert!(!root.is_child_of(&leaf));
    assert_eq!(receiver.children_of(&root)[0].name(), "leaf");
    assert_eq!(
        receiver.parent_of(&leaf).map(|p| p.span_id()),
        Some(root.span_id())
    );
    assert_eq!(leaf.attribute("n"), Some(AttrValue::Int(7)));
    assert_eq!(leaf.event_names(), ["hit"]);
    assert_eq!(
        leaf.event_attributes("hit").unwrap().get_str("why"),
        Some("test")
    );
    assert_eq!(
        leaf.resource_attribute("service.name").unwrap(),
        "receiver-test"
    );
    assert_eq!(leaf.scope.name, "receiver-tests");
    assert_eq!(
        receiver.resource_attribute(Signal::Traces, "deployment.environment.name"),
        Some(AttrValue::from("test"))
    );
    assert!(receiver.request_count(Signal::Traces, transport) >= 1);
    for other in Transport::ALL.into_iter().filter(|t| *t != transport) {
        assert_eq!(receiver.request_count(Signal::Traces, other), 0);
    }
    assert!(
        receiver.decode_errors().is_empty(),
        "{:?}",
        receiver.decode_errors()
    );
}

#[test]
fn http_protobuf_spans_arrive_with_tree_and_resource() {
    let receiver = FakeReceiver::start().unwrap();
    emit_span_tree(http_span_exporter(&receiver, Protocol::HttpBinary));
    assert_span_tree(&receiver, Transport::HttpProtobuf);
    let info = &receiver.requests()[0];
    assert_eq!(info.header("content-type"), Some("application/x-protobuf"));
}

#[test]
fn http_json_spans_arrive_with_tree_and_resource() {
    let receiver = FakeReceiver::start().unwrap();
    emit_span_tree(http_span_exporter(&receiver, Protocol::HttpJson));
    assert_span_tree(&receiver, Transport::HttpJson);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_spans_arrive_with_tree_and_resource() {
    let receiver = FakeReceiver::start().unwrap();
    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(receiver.grpc_endpoint())
        .build()
        .unwrap();
    // The tonic exporter must be used from a runtime thread other than the one it blocks.
    tokio::task::spawn_blocking(move || emit_span_tree(exporter))
        .await
        .unwrap();
    receiver
        .wait_for(WAIT, |r| r.spans().len() >= 2)
        .await
        .unwrap();
    assert_span_tree(&receiver, Transport::Grpc);
}

fn emit_metrics(exporter: MetricExporter) {
    let provider = SdkMeterProvider::builder()
        .with_resource(resource())
        .with_reader(PeriodicReader::builder(exporter).build())
        .build();
    let meter = provider.meter("receiver-tests");
    let counter = meter.u64_counter("jobs").with_unit("{job}").build();
    let histogram = meter.f64_histogram("latency").with_unit("s").build();
    counter.add(2, &[KeyValue::new("queue", "a")]);
    counter.add(5, &[KeyValue::new("queue", "b")]);
    histogram.record(0.2, &[KeyValue::new("route", "/x")]);
    histogram.record(0.4, &[KeyValue::new("route", "/x")]);
    provider.force_flush().expect("first flush");
    // A second export of the same cumulative series must not be double counted.
    counter.add(1, &[KeyValue::new("queue", "a")]);
    provider.force_flush().expect("second flush");
    provider.shutdown().expect("meter provider shutdown");
}

fn assert_metrics(receiver: &FakeReceiver) {
    receiver
        .wait_for_blocking(WAIT, |r| {
            r.counter_sum("jobs", &[("queue", "a".into())]) == Some(3.0)
        })
        .unwrap();
    assert!(receiver.metric_names().contains(&"jobs".to_owned()));
    assert!(receiver.metric_names().contains(&"latency".to_owned()));
    assert_eq!(
        receiver.counter_sum("jobs", &[("queue", "b".into())]),
        Some(5.0)
    );
    assert_eq!(receiver.counter_sum("jobs", &[]), Some(8.0));
    assert_eq!(
        receiver.counter_sum("jobs", &[("queue", "zzz".into())]),
        None
    );
    assert_eq!(receiver.counter_sum("nope", &[]), None);
    assert_eq!(
        receiver.histogram_count("latency", &[("route", "/x".into())]),
        Some(2)
    );
    let sum = receiver.histogram_sum("latency", &[]).unwrap();
    assert!((sum - 0.6).abs() < 1e-9, "{sum}");
    let point = &receiver.data_points_with("jobs", &[("queue", "a".into())])[0];
    assert_eq!(point.unit, "{job}");
    assert!(matches!(
        point.kind,
        MetricKind::Sum {
            monotonic: true,
            ..
        }
    ));
    assert_eq!(
        point.resource.get_str("service.name"),
        Some("receiver-test")
    );
}

#[test]
fn http_protobuf_metrics_cumulative_sums_are_not_double_counted() {
    let receiver = FakeReceiver::start().unwrap();
    // Explicit: with the `http-json` cargo feature on, `with_http()` defaults to JSON.
    let exporter = MetricExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(receiver.http_signal_url(Signal::Metrics))
        .build()
        .unwrap();
    emit_metrics(exporter);
    assert_metrics(&receiver);
    assert!(
        receiver.request_count(Signal::Metrics, Transport::HttpProtobuf) >= 2,
        "{}",
        receiver.summary()
    );
}

#[test]
fn http_json_metrics_with_delta_temporality_add_up() {
    let receiver = FakeReceiver::start().unwrap();
    let exporter = MetricExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_endpoint(receiver.http_signal_url(Signal::Metrics))
        .with_temporality(Temporality::Delta)
        .build()
        .unwrap();
    emit_metrics(exporter);
    assert_metrics(&receiver);
    let point = &receiver.data_points("jobs")[0];
    assert!(matches!(
        point.kind,
        MetricKind::Sum {
            temporality: proto::metrics::v1::AggregationTemporality::Delta,
            ..
        }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_metrics_and_logs_arrive() {
    let receiver = FakeReceiver::start().unwrap();
    let metric_exporter = MetricExporter::builder()
        .with_tonic()
        .with_endpoint(receiver.grpc_endpoint())
        .build()
        .unwrap();
    let log_exporter = LogExporter::builder()
        .with_tonic()
        .with_endpoint(receiver.grpc_endpoint())
        .build()
        .unwrap();
    tokio::task::spawn_blocking(move || {
        emit_metrics(metric_exporter);
        emit_logs(log_exporter);
    })
    .await
    .unwrap();
    receiver
        .wait_for(WAIT, |r| r.log_records().len() >= 2)
        .await
        .unwrap();
    assert_metrics(&receiver);
    assert_logs(&receiver, Transport::Grpc);
}

/// Emits an INFO record inside a span context and a WARN record outside any span.
fn emit_logs(exporter: LogExporter) -> (String, String) {
    let provider = SdkLoggerProvider::builder()
        .with_resource(resource())
        .with_simple_exporter(exporter)
        .build();
    let tracer_provider = SdkTracerProvider::builder().build();
    let tracer = tracer_provider.tracer("receiver-tests");
    let logger = provider.logger("receiver-tests");
    let span = tracer.start("with-logs");
    let ids = (
        span.span_context().trace_id().to_string(),
        span.span_context().span_id().to_string(),
    );
    let cx = Context::current_with_span(span);
    {
        let _attached = cx.attach();
        let mut record = logger.create_log_record();
        record.set_body(AnyValue::from("order placed"));
        record.set_severity_number(Severity::Info);
        record.set_severity_text("INFO");
        record.add_attribute("order.id", 42_i64);
        logger.emit(record);
    }
    let mut record = logger.create_log_record();
    record.set_body(AnyValue::from("disk almost full"));
    record.set_severity_number(Severity::Warn);
    logger.emit(record);
    provider.shutdown().expect("logger provider shutdown");
    ids
}

fn assert_logs(receiver: &FakeReceiver, transport: Transport) {
    let placed = &receiver.log_records_containing("order placed")[0];
    assert_eq!(placed.transport, transport);
    assert_eq!(placed.severity_number(), 9);
    assert_eq!(placed.severity_text(), "INFO");
    assert_eq!(placed.attribute("order.id"), Some(AttrValue::Int(42)));
    assert_eq!(placed.trace_id().map(|t| t.len()), Some(32));
    assert_eq!(placed.span_id().map(|t| t.len()), Some(16));
    assert_eq!(
        placed.resource_attribute("service.name").unwrap(),
        "receiver-test"
    );
    let full = &receiver.log_records_containing("disk almost full")[0];
    assert_eq!(full.severity_number(), 13);
    assert_eq!(full.trace_id(), None);
    assert_eq!(full.body(), Some(AttrValue::from("disk almost full")));
}

#[test]
fn http_logs_carry_trace_ids_over_protobuf_and_json() {
    for (protocol, transport) in [
        (Protocol::HttpBinary, Transport::HttpProtobuf),
        (Protocol::HttpJson, Transport::HttpJson),
    ] {
        let receiver = FakeReceiver::start().unwrap();
        let exporter = LogExporter::builder()
            .with_http()
            .with_protocol(protocol)
            .with_endpoint(receiver.http_signal_url(Signal::Logs))
            .build()
            .unwrap();
        let (trace_id, span_id) = emit_logs(exporter);
        receiver
            .wait_for_blocking(WAIT, |r| r.log_records().len() == 2)
            .unwrap();
        assert_logs(&receiver, transport);
        let placed = &receiver.log_records_containing("order placed")[0];
        assert_eq!(placed.trace_id(), Some(trace_id));
        assert_eq!(placed.span_id(), Some(span_id));
    }
}

// ---- raw HTTP ---------------------------------------------------------------------------

/// POSTs `body` with HTTP/1.1 and returns (status, response body).
fn post(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

const SPEC_TRACE_JSON: &str = include_str!("fixtures/trace.json");

#[test]
fn gzip_json_and_gzip_protobuf_bodies_are_decoded() {
    let receiver = FakeReceiver::start().unwrap();
    let (status, body) = post(
        receiver.http_addr(),
        "/v1/traces",
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
        &gzip(SPEC_TRACE_JSON.as_bytes()),
    );
    assert_eq!((status, body.as_str()), (200, "{}"));
    let request: ExportTraceServiceRequest = json::decode(SPEC_TRACE_JSON.as_bytes()).unwrap();
    let (status, _) = post(
        receiver.http_addr(),
        "/v1/traces",
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "gzip"),
        ],
        &gzip(&request.encode_to_vec()),
    );
    assert_eq!(status, 200);
    let spans = receiver.spans_named("I'm a server span");
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[0].trace_id(), "5b8efff798038103d269b633813fc60c");
    assert_eq!(spans[0].transport, Transport::HttpJson);
    assert_eq!(spans[1].transport, Transport::HttpProtobuf);
    assert_eq!(spans[0].span, spans[1].span);
    assert!(
        receiver
            .requests()
            .iter()
            .all(|r| r.compression.as_deref() == Some("gzip"))
    );
}

#[test]
fn bad_requests_are_refused_with_a_reason() {
    let receiver = FakeReceiver::start().unwrap();
    let addr = receiver.http_addr();
    let (status, body) = post(addr, "/v1/traces", &[("Content-Type", "text/plain")], b"hi");
    assert_eq!(status, 415, "{body}");
    assert!(body.contains("unsupported Content-Type"), "{body}");
    let (status, body) = post(
        addr,
        "/v1/logs",
        &[("Content-Type", "application/x-protobuf")],
        b"\xff\xff\xff",
    );
    assert_eq!(status, 400);
    assert!(body.contains("invalid protobuf"), "{body}");
    let (status, body) = post(
        addr,
        "/v1/metrics",
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
        b"not gzip",
    );
    assert_eq!(status, 400);
    assert!(body.contains("gzip"), "{body}");
    let (status, _) = post(
        addr,
        "/v1/nothing",
        &[("Content-Type", "application/json")],
        b"{}",
    );
    assert_eq!(status, 404);
    assert_eq!(
        receiver.decode_errors().len(),
        3,
        "{:?}",
        receiver.decode_errors()
    );
    assert_eq!(receiver.rejected_count(Signal::Logs), 1);
    assert!(receiver.spans().is_empty());
}

// ---- faults, shutdown, restart ----------------------------------------------------------

#[test]
fn injected_faults_reject_then_recover() {
    let receiver = FakeReceiver::start().unwrap();
    let addr = receiver.http_addr();
    let json = [("Content-Type", "application/json")];
    receiver.set_fault(Fault::Unavailable);
    assert_eq!(
        post(addr, "/v1/traces", &json, SPEC_TRACE_JSON.as_bytes()).0,
        503
    );
    assert_eq!(
        post(addr, "/v1/traces", &json, SPEC_TRACE_JSON.as_bytes()).0,
        503
    );
    receiver.clear_fault();
    receiver.fail_next(1, Fault::BadRequest);
    assert_eq!(
        post(addr, "/v1/traces", &json, SPEC_TRACE_JSON.as_bytes()).0,
        400
    );
    assert_eq!(
        post(addr, "/v1/traces", &json, SPEC_TRACE_JSON.as_bytes()).0,
        200
    );
    receiver.fail_next(1, Fault::Delay(Duration::from_millis(50)));
    assert_eq!(
        post(addr, "/v1/traces", &json, SPEC_TRACE_JSON.as_bytes()).0,
        200
    );
    assert_eq!(receiver.rejected_count(Signal::Traces), 3);
    assert_eq!(
        receiver.request_count(Signal::Traces, Transport::HttpJson),
        2
    );
    assert_eq!(receiver.spans().len(), 2);
}

#[test]
fn exporter_sees_unavailable_as_an_error() {
    let receiver = FakeReceiver::start().unwrap();
    receiver.set_fault(Fault::Unavailable);
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(http_span_exporter(&receiver, Protocol::HttpBinary))
        .build();
    provider.tracer("t").in_span("lost", |_| {});
    receiver
        .wait_for_blocking(WAIT, |r| r.rejected_count(Signal::Traces) >= 1)
        .unwrap();
    assert!(receiver.spans().is_empty());
    receiver.clear_fault();
    provider.tracer("t").in_span("kept", |_| {});
    receiver
        .wait_for_blocking(WAIT, |r| r.span_named("kept").is_some())
        .unwrap();
    assert!(receiver.span_named("lost").is_none());
    let _ = provider.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_faults_map_to_status_codes() {
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    let receiver = FakeReceiver::start().unwrap();
    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .unwrap();
    let request: ExportTraceServiceRequest = json::decode(SPEC_TRACE_JSON.as_bytes()).unwrap();
    receiver.fail_next(1, Fault::Unavailable);
    let err = client.export(request.clone()).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);
    receiver.fail_next(1, Fault::BadRequest);
    let err = client.export(request.clone()).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    client.export(request).await.unwrap();
    assert_eq!(receiver.request_count(Signal::Traces, Transport::Grpc), 1);
    assert_eq!(receiver.rejected_count(Signal::Traces), 2);
}

#[test]
fn shutdown_refuses_connections_and_restart_serves_the_same_ports() {
    let receiver = FakeReceiver::start().unwrap();
    let (http, grpc) = (receiver.http_addr(), receiver.grpc_addr());
    let json = [("Content-Type", "application/json")];
    // An open keep-alive connection must die with the server too.
    let idle = TcpStream::connect(http).unwrap();
    receiver.shutdown();
    assert!(!receiver.is_running());
    assert!(
        TcpStream::connect(http).is_err(),
        "HTTP port still accepting"
    );
    assert!(
        TcpStream::connect(grpc).is_err(),
        "gRPC port still accepting"
    );
    idle.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0_u8; 1];
    assert!(
        matches!((&idle).read(&mut buf), Ok(0) | Err(_)),
        "idle connection survived"
    );
    receiver.shutdown(); // idempotent
    receiver.restart().unwrap();
    receiver.restart().unwrap(); // idempotent
    assert_eq!((receiver.http_addr(), receiver.grpc_addr()), (http, grpc));
    assert_eq!(
        post(http, "/v1/traces", &json, SPEC_TRACE_JSON.as_bytes()).0,
        200
    );
    assert!(TcpStream::connect(grpc).is_ok());
    assert_eq!(receiver.spans().len(), 1);
}

#[test]
fn restart_fails_clearly_when_a_port_was_taken() {
    let receiver = FakeReceiver::start().unwrap();
    let addr = receiver.http_addr();
    receiver.shutdown();
    let _squatter = std::net::TcpListener::bind(addr).unwrap();
    let err = FakeReceiver::builder()
        .http_port(addr.port())
        .start()
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot bind HTTP listener"),
        "{err}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn runs_on_a_current_thread_test_runtime() {
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    let receiver = FakeReceiver::start_on_current_runtime().unwrap();
    let request: ExportTraceServiceRequest = json::decode(SPEC_TRACE_JSON.as_bytes()).unwrap();
    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .unwrap();
    client.export(request.clone()).await.unwrap();
    receiver
        .wait_for(WAIT, |r| r.spans().len() == 1)
        .await
        .unwrap();
    receiver.shutdown();
    tokio::task::yield_now().await;
    receiver.restart().unwrap();
    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .unwrap();
    client.export(request).await.unwrap();
    receiver
        .wait_for(WAIT, |r| r.spans().len() == 2)
        .await
        .unwrap();
}

#[test]
fn start_on_current_runtime_outside_a_runtime_is_an_error() {
    let err = FakeReceiver::start_on_current_runtime().unwrap_err();
    assert!(matches!(err, ReceiverError::NoRuntime));
}

#[test]
fn wait_for_times_out_with_a_summary() {
    let receiver = FakeReceiver::start().unwrap();
    let err = receiver
        .wait_for_blocking(Duration::from_millis(50), |r| {
            r.span_named("never").is_some()
        })
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("not met within"), "{message}");
    assert!(message.contains("spans []"), "{message}");
}

#[tokio::test]
async fn async_wait_for_times_out_too() {
    let receiver = FakeReceiver::start().unwrap();
    let err = receiver
        .wait_for(Duration::from_millis(50), |r| !r.spans().is_empty())
        .await;
    assert!(matches!(err, Err(ReceiverError::Timeout { .. })));
}

#[test]
fn clear_forgets_everything() {
    let receiver = FakeReceiver::start().unwrap();
    let json = [("Content-Type", "application/json")];
    post(
        receiver.http_addr(),
        "/v1/traces",
        &json,
        SPEC_TRACE_JSON.as_bytes(),
    );
    assert_eq!(receiver.spans().len(), 1);
    receiver.clear();
    assert!(receiver.spans().is_empty());
    assert!(receiver.requests().is_empty());
}

#[test]
fn exponential_histograms_and_gauges_are_queryable() {
    let receiver = FakeReceiver::start().unwrap();
    let json = [("Content-Type", "application/json")];
    let metrics = include_str!("fixtures/metrics.json");
    let (status, body) = post(
        receiver.http_addr(),
        "/v1/metrics",
        &json,
        metrics.as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(receiver.gauge_value("my.gauge", &[]), Some(10.0));
    assert_eq!(receiver.histogram_count("my.histogram", &[]), Some(2));
    assert_eq!(
        receiver.histogram_count("my.exponential.histogram", &[]),
        Some(3)
    );
    assert_eq!(
        receiver.counter_sum("my.counter", &[("my.counter.attr", "some value".into())]),
        Some(5.0)
    );
}

#[test]
fn ingested_bodies_are_decoded_like_posted_ones() {
    let receiver = FakeReceiver::start().unwrap();
    let json = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","name":"replayed"}]}]}]}"#;
    receiver
        .ingest_http_body(Signal::Traces, "application/json", None, json)
        .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&ExportTraceServiceRequest::default().encode_to_vec())
        .unwrap();
    receiver
        .ingest_http_body(
            Signal::Traces,
            "Application/X-Protobuf",
            Some(" GZIP "),
            &gz.finish().unwrap(),
        )
        .unwrap();
    assert_eq!(
        receiver.span_named("replayed").unwrap().trace_id().len(),
        32
    );
    assert_eq!(
        receiver.request_count(Signal::Traces, Transport::HttpJson),
        1
    );
    assert_eq!(
        receiver.request_count(Signal::Traces, Transport::HttpProtobuf),
        1
    );

    let refused = receiver
        .ingest_http_body(
            Signal::Logs,
            "application/x-protobuf",
            Some("gzip"),
            b"not gzip",
        )
        .unwrap_err();
    assert!(refused.contains("invalid gzip"), "{refused}");
    let refused = receiver
        .ingest_http_body(Signal::Metrics, "text/plain", None, b"")
        .unwrap_err();
    assert!(refused.contains("unsupported Content-Type"), "{refused}");
    assert_eq!(receiver.decode_errors().len(), 2);
    assert_eq!(receiver.rejected_count(Signal::Logs), 1);
}
