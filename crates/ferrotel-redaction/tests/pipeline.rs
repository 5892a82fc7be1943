//! The corpus through real SDK pipelines: spans and logs exported through the
//! in-memory exporters and through the OTLP encoding path (the exact
//! `opentelemetry-proto` transform + protobuf encoding the OTLP exporter
//! sends), resource redaction, and the redaction-count metric.

mod support;

use ferrotel_redaction::{KIND_ATTRIBUTE, REDACTIONS_METRIC, Redactor};
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _};
use opentelemetry::trace::{
    Link, SpanContext, SpanId, Status, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    Tracer as _, TracerProvider as _,
};
use opentelemetry::{Array, Context, Key, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{
    InMemoryLogExporter, LogBatch, LogExporter, SdkLoggerProvider, SimpleLogProcessor,
};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{
    InMemorySpanExporter, SdkTracerProvider, SimpleSpanProcessor, SpanData, SpanExporter,
};
use prost::Message as _;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use support::{negatives, positives};

/// Encodes every batch exactly as the OTLP exporter does and keeps the bytes.
#[derive(Debug, Clone, Default)]
struct OtlpCapture {
    resource: Arc<Mutex<Option<Resource>>>,
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl OtlpCapture {
    fn resource(&self) -> ResourceAttributesWithSchema {
        let guard = self.resource.lock().unwrap();
        let resource = guard
            .clone()
            .unwrap_or_else(|| Resource::builder_empty().build());
        (&resource).into()
    }
    fn payload(&self) -> Vec<u8> {
        self.bytes.lock().unwrap().clone()
    }
}

impl SpanExporter for OtlpCapture {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let resource_spans =
            opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope(
                batch,
                &self.resource(),
            );
        let request = ExportTraceServiceRequest { resource_spans };
        self.bytes.lock().unwrap().extend(request.encode_to_vec());
        std::future::ready(Ok(()))
    }
    fn set_resource(&mut self, resource: &Resource) {
        *self.resource.lock().unwrap() = Some(resource.clone());
    }
}

impl LogExporter for OtlpCapture {
    fn export(&self, batch: LogBatch<'_>) -> impl Future<Output = OTelSdkResult> + Send {
        let resource_logs =
            opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope(
                &batch,
                &self.resource(),
            );
        let request = ExportLogsServiceRequest { resource_logs };
        self.bytes.lock().unwrap().extend(request.encode_to_vec());
        std::future::ready(Ok(()))
    }
    fn set_resource(&mut self, resource: &Resource) {
        *self.resource.lock().unwrap() = Some(resource.clone());
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    memchr::memmem::find(haystack, needle.as_bytes()).is_some()
}

fn resource_with_secret() -> (Resource, &'static str) {
    let secret = "Zq9xVt3mK8pL2wR7";
    let resource = Resource::builder_empty()
        .with_service_name("checkout")
        .with_attribute(KeyValue::new(
            "process.command_args",
            Value::Array(Array::String(vec![
                StringValue::from("/usr/bin/checkout"),
                StringValue::from(format!("--db-url=postgres://app:{secret}@db:5432/shop")),
            ])),
        ))
        .build();
    (resource, secret)
}

fn record_span(tracer: &opentelemetry_sdk::trace::SdkTracer, text: &str) {
    let link_cx = SpanContext::new(
        TraceId::from(0x0af7651916cd43dd8448eb211c80319c_u128),
        SpanId::from(0xb7ad6b7169203331_u64),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    );
    let span = tracer
        .span_builder(text.to_string())
        .with_attributes([
            KeyValue::new("detail", text.to_string()),
            KeyValue::new(
                "list",
                Value::Array(Array::String(vec![
                    "ok".into(),
                    StringValue::from(text.to_string()),
                ])),
            ),
            KeyValue::new("http.request.header.authorization", "Bearer opaque-0000"),
        ])
        .with_links(vec![Link::new(
            link_cx,
            vec![KeyValue::new("why", text.to_string())],
            0,
        )])
        .start(tracer);
    let cx = Context::current_with_span(span);
    let span = cx.span();
    span.add_event(
        text.to_string(),
        vec![
            KeyValue::new("exception.message", text.to_string()),
            KeyValue::new("exception.stacktrace", format!("at main\n{text}\n at lib")),
        ],
    );
    span.set_status(Status::error(text.to_string()));
    span.end();
}

#[test]
fn spans_carry_no_corpus_secret_through_in_memory_and_otlp_exporters() {
    let memory = InMemorySpanExporter::default();
    let otlp = OtlpCapture::default();
    let redactor = Redactor::default();
    let (resource, resource_secret) = resource_with_secret();
    let provider = SdkTracerProvider::builder()
        .with_resource(resource)
        .with_span_processor(redactor.span_processor(SimpleSpanProcessor::new(memory.clone())))
        .with_span_processor(redactor.span_processor(SimpleSpanProcessor::new(otlp.clone())))
        .build();
    let tracer = provider.tracer("corpus");
    let cases = positives(2, 0xc0ffee);
    for case in &cases {
        record_span(&tracer, &case.text);
    }
    provider.force_flush().unwrap();
    let spans = memory.get_finished_spans().unwrap();
    assert_eq!(spans.len(), cases.len());
    let payload = otlp.payload();
    assert!(!payload.is_empty());
    for (span, case) in spans.iter().zip(&cases) {
        let dump = format!("{span:?}");
        assert!(
            !dump.contains(&case.secret),
            "{} / {}: {dump}",
            case.kind,
            case.context
        );
        assert!(
            !contains(&payload, &case.secret),
            "OTLP payload leaks {} / {}",
            case.kind,
            case.context
        );
        let auth = span
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == "http.request.header.authorization");
        assert_eq!(auth.unwrap().value.as_str(), "[REDACTED:sensitive_key]");
        assert!(
            matches!(&span.status, Status::Error { description } if !description.contains(&case.secret))
        );
    }
    assert!(
        !contains(&payload, resource_secret),
        "resource secret in OTLP payload"
    );
    assert!(contains(&payload, "REDACTED:REDACTED@db:5432"));
    provider.shutdown().unwrap();
}

#[test]
fn spans_with_negatives_are_exported_unchanged() {
    let memory = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(
            Redactor::default().span_processor(SimpleSpanProcessor::new(memory.clone())),
        )
        .build();
    let tracer = provider.tracer("negatives");
    let cases = negatives(2, 0xbeef);
    for (_, text) in &cases {
        record_span(&tracer, text);
    }
    provider.force_flush().unwrap();
    for (span, (_, text)) in memory.get_finished_spans().unwrap().iter().zip(&cases) {
        assert_eq!(span.name, *text);
        assert_eq!(span.attributes[0].value.as_str(), *text);
        assert_eq!(span.events.events[0].attributes[0].value.as_str(), *text);
        assert_eq!(span.links.links[0].attributes[0].value.as_str(), *text);
        assert_eq!(span.status, Status::error(text.clone()));
    }
}

fn emit_log(logger: &opentelemetry_sdk::logs::SdkLogger, text: &str) {
    let mut record = logger.create_log_record();
    let mut nested = HashMap::new();
    nested.insert(
        Key::from("password"),
        AnyValue::from("plain-but-sensitive-key"),
    );
    nested.insert(Key::from("note"), AnyValue::from(text.to_string()));
    let mut body = HashMap::new();
    body.insert(Key::from("message"), AnyValue::from(text.to_string()));
    body.insert(
        Key::from("items"),
        AnyValue::ListAny(Box::new(vec![
            AnyValue::Int(1),
            AnyValue::Map(Box::new(nested)),
        ])),
    );
    record.set_body(AnyValue::Map(Box::new(body)));
    record.set_severity_text("ERROR");
    record.set_target("corpus::logs");
    record.add_attribute("detail", text.to_string());
    record.add_attribute("authorization", "Token opaque-0000");
    logger.emit(record);
}

#[test]
fn logs_carry_no_corpus_secret_through_in_memory_and_otlp_exporters() {
    let memory = InMemoryLogExporter::default();
    let otlp = OtlpCapture::default();
    let redactor = Redactor::default();
    let provider = SdkLoggerProvider::builder()
        .with_resource(redactor.redact_resource(&resource_with_secret().0))
        .with_log_processor(redactor.log_processor())
        .with_log_processor(SimpleLogProcessor::new(memory.clone()))
        .with_log_processor(SimpleLogProcessor::new(otlp.clone()))
        .build();
    let logger = provider.logger("corpus");
    let cases = positives(2, 0xfeed);
    for case in &cases {
        emit_log(&logger, &case.text);
    }
    provider.force_flush().unwrap();
    let logs = memory.get_emitted_logs().unwrap();
    assert_eq!(logs.len(), cases.len());
    let payload = otlp.payload();
    for (log, case) in logs.iter().zip(&cases) {
        let dump = format!("{:?}", log.record);
        assert!(
            !dump.contains(&case.secret),
            "{} / {}: {dump}",
            case.kind,
            case.context
        );
        assert!(!dump.contains("plain-but-sensitive-key"));
        assert!(
            !contains(&payload, &case.secret),
            "OTLP payload leaks {} / {}",
            case.kind,
            case.context
        );
        // Rebuilt records keep everything else.
        assert_eq!(log.record.severity_text(), Some("ERROR"));
        assert_eq!(
            log.record.target().map(|t| t.as_ref()),
            Some("corpus::logs")
        );
        assert!(log.record.timestamp().is_none() || log.record.observed_timestamp().is_some());
        let auth = log
            .record
            .attributes_iter()
            .find(|(k, _)| k.as_str() == "authorization");
        assert_eq!(
            auth.map(|(_, v)| v),
            Some(&AnyValue::from("[REDACTED:sensitive_key]"))
        );
    }
    assert!(!contains(&payload, "plain-but-sensitive-key"));
    assert!(!contains(&payload, resource_with_secret().1));
}

#[test]
fn clean_log_records_are_left_identical() {
    let memory = InMemoryLogExporter::default();
    let provider = SdkLoggerProvider::builder()
        .with_log_processor(Redactor::default().log_processor())
        .with_log_processor(SimpleLogProcessor::new(memory.clone()))
        .build();
    let logger = provider.logger("negatives");
    let cases = negatives(1, 0xabc);
    for (_, text) in &cases {
        let mut record = logger.create_log_record();
        record.set_body(AnyValue::from(text.clone()));
        record.add_attribute("detail", text.clone());
        logger.emit(record);
    }
    provider.force_flush().unwrap();
    for (log, (_, text)) in memory.get_emitted_logs().unwrap().iter().zip(&cases) {
        assert_eq!(log.record.body(), Some(&AnyValue::from(text.clone())));
        assert_eq!(
            log.record.attributes_iter().next().map(|(_, v)| v),
            Some(&AnyValue::from(text.clone()))
        );
    }
}

#[test]
fn a_rebuilt_log_record_equals_the_original_apart_from_redactions() {
    let redactor = Redactor::default();
    let logger = SdkLoggerProvider::builder().build().logger("t");
    let mut record = logger.create_log_record();
    record.set_event_name("evt");
    record.set_target("t::x");
    record.set_timestamp(std::time::SystemTime::UNIX_EPOCH);
    record.set_observed_timestamp(std::time::SystemTime::UNIX_EPOCH);
    record.set_trace_context(
        TraceId::from(7u128),
        SpanId::from(9u64),
        Some(TraceFlags::SAMPLED),
    );
    record.set_severity_text("WARN");
    record.set_severity_number(opentelemetry::logs::Severity::Warn);
    record.set_body(AnyValue::from("body"));
    record.add_attribute("a", 1);
    record.add_attribute("password", "x");
    let mut expected = logger.create_log_record();
    expected.set_event_name("evt");
    expected.set_target("t::x");
    expected.set_timestamp(std::time::SystemTime::UNIX_EPOCH);
    expected.set_observed_timestamp(std::time::SystemTime::UNIX_EPOCH);
    expected.set_trace_context(
        TraceId::from(7u128),
        SpanId::from(9u64),
        Some(TraceFlags::SAMPLED),
    );
    expected.set_severity_text("WARN");
    expected.set_severity_number(opentelemetry::logs::Severity::Warn);
    expected.set_body(AnyValue::from("body"));
    expected.add_attribute("a", 1);
    expected.add_attribute("password", "[REDACTED:sensitive_key]");
    redactor.redact_log_record(&mut record);
    assert_eq!(record, expected);
}

#[test]
fn deeply_nested_log_bodies_are_bounded() {
    let redactor = Redactor::default();
    let mut value = AnyValue::from("password=hunter2");
    for _ in 0..200 {
        value = AnyValue::ListAny(Box::new(vec![value]));
    }
    let out = redactor.redact_any_value(None, &value).expect("changed");
    assert!(!format!("{out:?}").contains("hunter2"));
}

#[test]
fn redaction_counts_are_exported_as_one_observable_counter_by_kind() {
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    let redactor = Redactor::builder().build().unwrap();
    redactor.register_metrics(&opentelemetry::metrics::MeterProvider::meter(
        &provider,
        "redaction",
    ));
    let _ = redactor.redact("password=a password=b https://u:p@h/");
    let _ = redactor.redact_value("authorization", &"Bearer x".into());
    provider.force_flush().unwrap();
    let metrics = exporter.get_finished_metrics().unwrap();
    let mut by_kind = HashMap::new();
    for rm in &metrics {
        for sm in rm.scope_metrics() {
            for m in sm.metrics() {
                assert_eq!(m.name(), REDACTIONS_METRIC);
                let AggregatedMetrics::U64(MetricData::Sum(sum)) = m.data() else {
                    panic!("unexpected data {:?}", m.data());
                };
                for dp in sum.data_points() {
                    let attrs: Vec<_> = dp.attributes().collect();
                    assert_eq!(attrs.len(), 1);
                    assert_eq!(attrs[0].key.as_str(), KIND_ATTRIBUTE);
                    by_kind.insert(attrs[0].value.as_str().into_owned(), dp.value());
                }
            }
        }
    }
    assert_eq!(by_kind.get("credential_pair"), Some(&2));
    assert_eq!(by_kind.get("url_credentials"), Some(&1));
    assert_eq!(by_kind.get("sensitive_key"), Some(&1));
    assert_eq!(by_kind.get("jwt"), Some(&0));
}
