//! Our OTLP trace encoder (`ferrotel::otlp::encode_traces`, what the span exporter sends) against
//! the stock one: for spans of any shape, our bytes must decode, with the `opentelemetry-proto`
//! types, to exactly the message `opentelemetry-proto` builds for the same spans.
//!
//! Input: a byte stream read as choices (how many spans, each span's ids, flags, kind, status,
//! name, scope, times, attributes of every value type, events, links and dropped counts); text
//! comes from the input itself, so any UTF-8 (and lossy-decoded bytes) is covered.
#![no_main]

use std::borrow::Cow;
use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use prost::Message as _;

/// Reads the input as a sequence of choices; zeros once it is used up.
struct Choices<'a>(&'a [u8]);

impl Choices<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn u64(&mut self) -> u64 {
        (0..8).fold(0, |n, _| (n << 8) | u64::from(self.byte()))
    }
    fn text(&mut self) -> String {
        let len = usize::from(self.byte() % 24);
        let take = len.min(self.0.len());
        let (text, rest) = self.0.split_at(take);
        self.0 = rest;
        String::from_utf8_lossy(text).into_owned()
    }
    fn value(&mut self) -> Value {
        match self.byte() % 9 {
            0 => Value::Bool(self.byte() % 2 == 0),
            1 => Value::I64(self.u64() as i64),
            2 => Value::F64(f64::from_bits(self.u64())),
            3 => Value::String(StringValue::from(self.text())),
            4 => Value::String(StringValue::from("static")),
            5 => Value::Array(Array::Bool(
                (0..self.byte() % 4).map(|i| i % 2 == 0).collect(),
            )),
            6 => Value::Array(Array::I64(
                (0..self.byte() % 4).map(|_| self.u64() as i64).collect(),
            )),
            7 => Value::Array(Array::F64(
                (0..self.byte() % 4)
                    .map(|_| f64::from_bits(self.u64()))
                    .collect(),
            )),
            _ => Value::Array(Array::String(
                (0..self.byte() % 4)
                    .map(|_| StringValue::from(self.text()))
                    .collect(),
            )),
        }
    }
    fn attributes(&mut self) -> Vec<KeyValue> {
        (0..self.byte() % 6)
            .map(|_| KeyValue::new(self.text(), self.value()))
            .collect()
    }
    fn context(&mut self) -> SpanContext {
        let state = self.text();
        SpanContext::new(
            TraceId::from(u128::from(self.u64()) << 64 | u128::from(self.u64())),
            SpanId::from(self.u64()),
            TraceFlags::new(self.byte()),
            self.byte() % 2 == 0,
            state.parse::<TraceState>().unwrap_or_default(),
        )
    }
}

fuzz_target!(|data: &[u8]| {
    let mut c = Choices(data);
    let scopes = [
        InstrumentationScope::builder("ferrotel-http")
            .with_version("0.1.0")
            .with_schema_url("https://opentelemetry.io/schemas/1.37.0")
            .build(),
        InstrumentationScope::builder("app")
            .with_attributes([KeyValue::new("scope.attr", 1)])
            .build(),
        InstrumentationScope::builder("").build(),
    ];
    let kinds = [
        SpanKind::Internal,
        SpanKind::Server,
        SpanKind::Client,
        SpanKind::Producer,
        SpanKind::Consumer,
    ];
    let mut spans = Vec::new();
    for _ in 0..c.byte() % 5 {
        let mut events = SpanEvents::default();
        for _ in 0..c.byte() % 3 {
            let name = c.text();
            events.events.push(Event::new(
                name,
                UNIX_EPOCH + Duration::from_nanos(c.u64() >> 2),
                c.attributes(),
                u32::from(c.byte()),
            ));
        }
        events.dropped_count = u32::from(c.byte() % 3);
        let mut links = SpanLinks::default();
        for _ in 0..c.byte() % 3 {
            let cx = c.context();
            links
                .links
                .push(Link::new(cx, c.attributes(), u32::from(c.byte())));
        }
        links.dropped_count = u32::from(c.byte() % 3);
        let status = match c.byte() % 3 {
            0 => Status::Unset,
            1 => Status::Ok,
            _ => Status::error(c.text()),
        };
        let start = c.u64();
        spans.push(SpanData {
            span_context: c.context(),
            parent_span_id: SpanId::from(c.u64() % 3),
            parent_span_is_remote: c.byte() % 2 == 0,
            span_kind: kinds[usize::from(c.byte()) % kinds.len()].clone(),
            name: if c.byte() % 2 == 0 {
                Cow::Borrowed("GET /users/{id}")
            } else {
                Cow::Owned(c.text())
            },
            // Times before the epoch too (encoded as 0 by both).
            start_time: if start % 7 == 0 {
                UNIX_EPOCH - Duration::from_secs(1)
            } else {
                UNIX_EPOCH + Duration::from_nanos(start >> 2)
            },
            end_time: UNIX_EPOCH + Duration::from_nanos(c.u64() >> 2),
            attributes: c.attributes(),
            dropped_attributes_count: u32::from(c.byte() % 3),
            events,
            links,
            status,
            instrumentation_scope: scopes[usize::from(c.byte()) % scopes.len()].clone(),
        });
    }
    let resource = Resource::builder_empty()
        .with_attributes([KeyValue::new("service.name", c.text())])
        .build();

    let ours = ferrotel::otlp::encode_traces(Some(&resource), &spans);
    let decoded = ExportTraceServiceRequest::decode(ours.as_slice()).expect("our bytes decode");
    let stock = ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(
            spans,
            &ResourceAttributesWithSchema::from(&resource),
        ),
    };
    // Compared as prost re-encodes them (deterministic for equal messages): `==` would call a
    // NaN double unequal to itself.
    assert!(
        decoded.encode_to_vec() == stock.encode_to_vec(),
        "ours decodes to\n{decoded:?}\nstock is\n{stock:?}"
    );
});
