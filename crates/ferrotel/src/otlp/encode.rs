//! OTLP protobuf encoding of finished spans, straight from [`SpanData`].
//!
//! The stock exporter first converts each span into the `opentelemetry-proto` message tree (a
//! `String` per attribute key and value, a `Vec` per id, a struct per attribute, event and link)
//! and then encodes that tree. Here the bytes are written directly: strings are copied once
//! into the output, the resource is encoded once when it is set, and the output buffer keeps its
//! capacity from one batch to the next. The messages decode, with the official
//! `opentelemetry-proto` types, to exactly what the stock exporter sends (tested on a corpus and
//! by the `otlp_encode` fuzz target in `fuzz/`).
//!
//! Field numbers are those of `opentelemetry/proto/trace/v1/trace.proto`,
//! `common/v1/common.proto` and `resource/v1/resource.proto`. As prost does, scalar fields
//! holding their default value are left out, and set `oneof` members and message fields are
//! always written.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::{Array, InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint_len(v: u64) -> usize {
    // 1 byte per 7 bits, at least one.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn tag(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire));
}

/// A length-delimited field; left out when empty (proto3 strings and bytes).
fn bytes(out: &mut Vec<u8>, field: u32, value: &[u8]) {
    if !value.is_empty() {
        bytes_always(out, field, value);
    }
}

/// A length-delimited field written even when empty (a set `oneof` member).
fn bytes_always(out: &mut Vec<u8>, field: u32, value: &[u8]) {
    tag(out, field, LEN);
    varint(out, value.len() as u64);
    out.extend_from_slice(value);
}

fn uint(out: &mut Vec<u8>, field: u32, value: u64) {
    if value != 0 {
        tag(out, field, VARINT);
        varint(out, value);
    }
}

fn fixed64(out: &mut Vec<u8>, field: u32, value: u64) {
    if value != 0 {
        tag(out, field, FIXED64);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

fn fixed32(out: &mut Vec<u8>, field: u32, value: u32) {
    if value != 0 {
        tag(out, field, FIXED32);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

/// A message field: `body` writes the message's fields, then its length is put in front. One
/// byte is reserved for the length, which fits most small messages (attributes, status); a longer
/// message is moved up by the extra length bytes.
fn message(out: &mut Vec<u8>, field: u32, body: impl FnOnce(&mut Vec<u8>)) {
    tag(out, field, LEN);
    let at = out.len();
    out.push(0);
    body(out);
    let len = out.len() - at - 1;
    let n = varint_len(len as u64);
    if n > 1 {
        let end = out.len();
        out.resize(end + n - 1, 0);
        out.copy_within(at + 1..end, at + n);
    }
    let mut v = len as u64;
    for slot in &mut out[at..at + n] {
        *slot = (v as u8 & 0x7f) | 0x80;
        v >>= 7;
    }
    out[at + n - 1] &= 0x7f;
}

fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// `AnyValue` (common.proto): string 1, bool 2, int 3, double 4, array 5.
fn any_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::String(s) => bytes_always(out, 1, s.as_str().as_bytes()),
        Value::Bool(b) => {
            tag(out, 2, VARINT);
            out.push(u8::from(*b));
        }
        Value::I64(i) => {
            tag(out, 3, VARINT);
            varint(out, *i as u64);
        }
        Value::F64(f) => {
            tag(out, 4, FIXED64);
            out.extend_from_slice(&f.to_le_bytes());
        }
        Value::Array(array) => message(out, 5, |out| array_value(out, array)),
        // A value type added after this encoder was written: an empty `AnyValue`.
        _ => {}
    }
}

/// `ArrayValue`: repeated `AnyValue` values = 1.
fn array_value(out: &mut Vec<u8>, array: &Array) {
    match array {
        Array::Bool(items) => {
            for b in items {
                message(out, 1, |out| any_value(out, &Value::Bool(*b)));
            }
        }
        Array::I64(items) => {
            for i in items {
                message(out, 1, |out| any_value(out, &Value::I64(*i)));
            }
        }
        Array::F64(items) => {
            for f in items {
                message(out, 1, |out| any_value(out, &Value::F64(*f)));
            }
        }
        Array::String(items) => {
            for s in items {
                message(out, 1, |out| bytes_always(out, 1, s.as_str().as_bytes()));
            }
        }
        _ => {}
    }
}

/// The encoded length of a scalar `AnyValue`, `None` for an array (its length is found by
/// writing it).
fn scalar_len(value: &Value) -> Option<usize> {
    Some(match value {
        Value::String(s) => 1 + varint_len(s.as_str().len() as u64) + s.as_str().len(),
        Value::Bool(_) => 2,
        Value::I64(i) => 1 + varint_len(*i as u64),
        Value::F64(_) => 9,
        Value::Array(_) => return None,
        _ => 0,
    })
}

/// `KeyValue`: key 1, value 2. Scalar values (nearly all attributes) have their lengths
/// computed up front, so the bytes are written once, without moving them.
fn key_value(out: &mut Vec<u8>, field: u32, kv: &KeyValue) {
    let key = kv.key.as_str().as_bytes();
    let Some(value_len) = scalar_len(&kv.value) else {
        return message(out, field, |out| {
            bytes(out, 1, key);
            message(out, 2, |out| any_value(out, &kv.value));
        });
    };
    let key_len = if key.is_empty() {
        0
    } else {
        1 + varint_len(key.len() as u64) + key.len()
    };
    let len = key_len + 1 + varint_len(value_len as u64) + value_len;
    tag(out, field, LEN);
    varint(out, len as u64);
    bytes(out, 1, key);
    tag(out, 2, LEN);
    varint(out, value_len as u64);
    any_value(out, &kv.value);
}

fn attributes<'a>(
    out: &mut Vec<u8>,
    field: u32,
    attributes: impl IntoIterator<Item = &'a KeyValue>,
) {
    for kv in attributes {
        key_value(out, field, kv);
    }
}

/// `Span.flags` (and `Link.flags`): the W3C trace flags plus the "has is-remote" bit, and the
/// "is remote" bit when the parent (or linked context) is remote, as the stock exporter sets them.
fn span_flags(is_remote: bool, trace_flags: u8) -> u32 {
    const HAS_IS_REMOTE: u32 = 0x100;
    const IS_REMOTE: u32 = 0x200;
    u32::from(trace_flags) | HAS_IS_REMOTE | if is_remote { IS_REMOTE } else { 0 }
}

fn kind(kind: &SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

/// `Span` (trace.proto).
fn span(out: &mut Vec<u8>, span: &SpanData) {
    let sc = &span.span_context;
    bytes(out, 1, &sc.trace_id().to_bytes());
    bytes(out, 2, &sc.span_id().to_bytes());
    let trace_state = sc.trace_state().header();
    bytes(out, 3, trace_state.as_bytes());
    if span.parent_span_id != SpanId::INVALID {
        bytes(out, 4, &span.parent_span_id.to_bytes());
    }
    bytes(out, 5, span.name.as_bytes());
    uint(out, 6, kind(&span.span_kind));
    fixed64(out, 7, nanos(span.start_time));
    fixed64(out, 8, nanos(span.end_time));
    attributes(out, 9, &span.attributes);
    uint(out, 10, u64::from(span.dropped_attributes_count));
    for event in span.events.iter() {
        message(out, 11, |out| {
            fixed64(out, 1, nanos(event.timestamp));
            bytes(out, 2, event.name.as_bytes());
            attributes(out, 3, &event.attributes);
            uint(out, 4, u64::from(event.dropped_attributes_count));
        });
    }
    uint(out, 12, u64::from(span.events.dropped_count));
    for link in span.links.iter() {
        message(out, 13, |out| {
            let sc = &link.span_context;
            bytes(out, 1, &sc.trace_id().to_bytes());
            bytes(out, 2, &sc.span_id().to_bytes());
            let trace_state = sc.trace_state().header();
            bytes(out, 3, trace_state.as_bytes());
            attributes(out, 4, &link.attributes);
            uint(out, 5, u64::from(link.dropped_attributes_count));
            fixed32(out, 6, span_flags(sc.is_remote(), sc.trace_flags().to_u8()));
        });
    }
    uint(out, 14, u64::from(span.links.dropped_count));
    // `Status`: message 2, code 3 (Unset 0, Ok 1, Error 2); always present.
    message(out, 15, |out| match &span.status {
        Status::Unset => {}
        Status::Ok => uint(out, 3, 1),
        Status::Error { description } => {
            bytes(out, 2, description.as_bytes());
            uint(out, 3, 2);
        }
    });
    fixed32(
        out,
        16,
        span_flags(span.parent_span_is_remote, sc.trace_flags().to_u8()),
    );
}

/// `InstrumentationScope`: name 1, version 2, attributes 3.
fn scope(out: &mut Vec<u8>, scope: &InstrumentationScope) {
    bytes(out, 1, scope.name().as_bytes());
    bytes(out, 2, scope.version().unwrap_or_default().as_bytes());
    attributes(out, 3, scope.attributes());
}

/// The resource part of every request, encoded once: `ResourceSpans.resource` (field 1) and
/// `ResourceSpans.schema_url` (field 3, written after the scopes).
#[derive(Debug, Default, Clone)]
pub(crate) struct EncodedResource {
    resource: Vec<u8>,
    schema_url: Vec<u8>,
}

impl EncodedResource {
    pub(crate) fn new(resource: &Resource) -> Self {
        let mut encoded = Vec::new();
        message(&mut encoded, 1, |out| {
            for (key, value) in resource.iter() {
                message(out, 1, |out| {
                    bytes(out, 1, key.as_str().as_bytes());
                    message(out, 2, |out| any_value(out, value));
                });
            }
        });
        let mut schema_url = Vec::new();
        bytes(
            &mut schema_url,
            3,
            resource.schema_url().unwrap_or_default().as_bytes(),
        );
        Self {
            resource: encoded,
            schema_url,
        }
    }
}

impl EncodedResource {
    /// The empty resource (before the provider sets one), as the stock exporter encodes it.
    fn empty() -> Self {
        let mut resource = Vec::new();
        message(&mut resource, 1, |_| {});
        Self {
            resource,
            schema_url: Vec::new(),
        }
    }
}

/// Writes `ExportTraceServiceRequest { resource_spans: [one ResourceSpans] }` for `spans` into
/// `out` (cleared first). Spans are grouped by instrumentation scope, scopes in order of first
/// appearance, spans in batch order, as the stock exporter groups them.
pub(crate) fn export_trace_request(
    out: &mut Vec<u8>,
    resource: Option<&EncodedResource>,
    spans: &[SpanData],
) {
    out.clear();
    let empty;
    let resource = match resource {
        Some(r) if !r.resource.is_empty() => r,
        _ => {
            empty = EncodedResource::empty();
            &empty
        }
    };
    // Scopes in order of first appearance; most batches hold one to three.
    let mut scopes: Vec<&InstrumentationScope> = Vec::new();
    for s in spans {
        if !scopes.contains(&&s.instrumentation_scope) {
            scopes.push(&s.instrumentation_scope);
        }
    }
    message(out, 1, |out| {
        out.extend_from_slice(&resource.resource);
        for known in &scopes {
            message(out, 2, |out| {
                message(out, 1, |out| scope(out, known));
                for s in spans.iter().filter(|s| &s.instrumentation_scope == *known) {
                    message(out, 2, |out| span(out, s));
                }
                bytes(out, 3, known.schema_url().unwrap_or_default().as_bytes());
            });
        }
        out.extend_from_slice(&resource.schema_url);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Event, Link, SpanContext, TraceFlags, TraceId, TraceState};
    use opentelemetry::{KeyValue, StringValue};
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
    use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use prost::Message as _;
    use std::borrow::Cow;
    use std::time::Duration;

    fn context(
        trace: u128,
        span: u64,
        flags: TraceFlags,
        remote: bool,
        state: &str,
    ) -> SpanContext {
        SpanContext::new(
            TraceId::from(trace),
            SpanId::from(span),
            flags,
            remote,
            state.parse::<TraceState>().unwrap_or_default(),
        )
    }

    /// Spans of every shape the encoder handles: each value type, arrays, empty strings and
    /// keys, events, links, dropped counts, each status and kind, remote and local parents,
    /// trace state, several scopes, times before the epoch, non-ASCII text, long values.
    pub(crate) fn corpus() -> Vec<SpanData> {
        let scope_a = InstrumentationScope::builder("ferrotel-http")
            .with_version("0.1.0")
            .with_schema_url("https://opentelemetry.io/schemas/1.37.0")
            .with_attributes([KeyValue::new("scope.attr", 7)])
            .build();
        let scope_b = InstrumentationScope::builder("app").build();
        let epoch = UNIX_EPOCH + Duration::from_nanos(1_733_000_000_123_456_789);
        let long = "x".repeat(20_000);
        let mut spans = Vec::new();
        let kinds = [
            SpanKind::Server,
            SpanKind::Client,
            SpanKind::Internal,
            SpanKind::Producer,
            SpanKind::Consumer,
        ];
        let statuses = [
            Status::Unset,
            Status::Ok,
            Status::error(""),
            Status::error("boom ü"),
        ];
        for i in 0..12_u64 {
            let mut events = SpanEvents::default();
            if i % 3 == 0 {
                events.events.push(Event::new(
                    "exception",
                    epoch + Duration::from_micros(i),
                    vec![
                        KeyValue::new("exception.message", "bad \"thing\"\n"),
                        KeyValue::new("n", -(i as i64)),
                    ],
                    u32::try_from(i).unwrap_or(0),
                ));
                events.events.push(Event::new("", epoch, Vec::new(), 0));
                events.dropped_count = 2;
            }
            let mut links = SpanLinks::default();
            if i % 4 == 1 {
                links.links.push(Link::new(
                    context(99, 98, TraceFlags::SAMPLED, true, "k=v,a=b"),
                    vec![KeyValue::new("link.attr", true)],
                    3,
                ));
                links.links.push(Link::new(
                    context(5, 6, TraceFlags::default(), false, ""),
                    Vec::new(),
                    0,
                ));
                links.dropped_count = 1;
            }
            spans.push(SpanData {
                span_context: context(
                    0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736 + u128::from(i),
                    0x00f0_67aa_0ba9_02b7 + i,
                    if i % 2 == 0 {
                        TraceFlags::SAMPLED
                    } else {
                        TraceFlags::default()
                    },
                    false,
                    if i % 5 == 0 {
                        "rojo=00f067aa0ba902b7"
                    } else {
                        ""
                    },
                ),
                parent_span_id: if i % 3 == 2 {
                    SpanId::INVALID
                } else {
                    SpanId::from(1000 + i)
                },
                parent_span_is_remote: i % 2 == 1,
                span_kind: kinds[i as usize % kinds.len()].clone(),
                name: if i % 2 == 0 {
                    Cow::Borrowed("GET /users/{id}")
                } else {
                    Cow::Owned(format!("op {i} ✓"))
                },
                start_time: if i == 7 {
                    UNIX_EPOCH - Duration::from_secs(5)
                } else {
                    epoch
                },
                end_time: epoch + Duration::from_millis(i),
                attributes: vec![
                    KeyValue::new("http.request.method", "GET"),
                    KeyValue::new(
                        "http.route",
                        StringValue::from(std::sync::Arc::<str>::from("/users/{id}")),
                    ),
                    KeyValue::new("url.path", format!("/users/{i}")),
                    KeyValue::new("http.response.status_code", 200_i64 + i as i64),
                    KeyValue::new("neg", i64::MIN),
                    KeyValue::new("ratio", 0.25 * i as f64),
                    KeyValue::new("nan", f64::NAN.max(1.5)),
                    KeyValue::new("flag", i % 2 == 0),
                    KeyValue::new("empty", ""),
                    KeyValue::new("", "empty key"),
                    KeyValue::new("bools", Value::Array(Array::Bool(vec![true, false]))),
                    KeyValue::new("ints", Value::Array(Array::I64(vec![0, -1, 300]))),
                    KeyValue::new("floats", Value::Array(Array::F64(vec![0.0, -2.5]))),
                    KeyValue::new(
                        "strings",
                        Value::Array(Array::String(vec!["a".into(), "".into()])),
                    ),
                    KeyValue::new("empty.array", Value::Array(Array::I64(Vec::new()))),
                    KeyValue::new("long", if i == 3 { long.clone() } else { "short".into() }),
                ],
                dropped_attributes_count: u32::try_from(i % 2).unwrap_or(0),
                events,
                links,
                status: statuses[i as usize % statuses.len()].clone(),
                instrumentation_scope: if i % 3 == 1 {
                    scope_b.clone()
                } else {
                    scope_a.clone()
                },
            });
        }
        spans
    }

    fn resource() -> Resource {
        Resource::builder_empty()
            .with_attributes([
                KeyValue::new("service.name", "corpus"),
                KeyValue::new("service.instance.id", "i-1"),
                KeyValue::new("host.cpus", 2),
            ])
            .with_schema_url(
                Vec::<KeyValue>::new(),
                "https://opentelemetry.io/schemas/1.37.0",
            )
            .build()
    }

    fn stock(spans: Vec<SpanData>, resource: Option<&Resource>) -> ExportTraceServiceRequest {
        let resource = resource
            .map(ResourceAttributesWithSchema::from)
            .unwrap_or_default();
        ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(spans, &resource),
        }
    }

    fn ours(spans: &[SpanData], resource: Option<&Resource>) -> ExportTraceServiceRequest {
        let encoded = resource.map(EncodedResource::new);
        let mut out = Vec::new();
        export_trace_request(&mut out, encoded.as_ref(), spans);
        ExportTraceServiceRequest::decode(out.as_slice()).expect("our bytes decode")
    }

    #[test]
    fn decodes_to_exactly_what_the_stock_exporter_sends() {
        let spans = corpus();
        let resource = resource();
        assert_eq!(
            ours(&spans, Some(&resource)),
            stock(spans.clone(), Some(&resource))
        );
        // Every prefix: one span, a few, scopes appearing in between.
        for n in 0..spans.len() {
            assert_eq!(
                ours(&spans[..n], Some(&resource)),
                stock(spans[..n].to_vec(), Some(&resource)),
                "first {n} spans"
            );
        }
        assert_eq!(ours(&spans, None), stock(spans.clone(), None));
    }

    #[test]
    fn lengths_are_minimal_varints() {
        for len in [0_usize, 1, 127, 128, 16_383, 16_384, 2_097_152] {
            let mut out = Vec::new();
            message(&mut out, 1, |out| out.resize(out.len() + len, 7));
            let mut expected = Vec::new();
            bytes_always(&mut expected, 1, &vec![7; len]);
            assert_eq!(out, expected, "length {len}");
        }
    }
}
