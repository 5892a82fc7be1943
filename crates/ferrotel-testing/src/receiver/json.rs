//! OTLP/JSON decoding.
//!
//! `opentelemetry-proto`'s serde derives implement most of the OTLP/JSON mapping (lowerCamelCase
//! keys, hex trace/span ids, 64-bit integers as strings or numbers, unknown fields ignored), but
//! differ from the spec (OTLP 1.x "JSON Protobuf Encoding" + the proto3 JSON mapping) in ways a
//! receiver must tolerate. Before handing the document to serde this module rewrites it:
//!
//! - `null` is the default value of any field in the proto3 JSON mapping; serde rejects `null`
//!   for strings, numbers and lists, so null members are removed.
//! - An `AnyValue` object with an unknown member (e.g. a future value type) makes the crate's
//!   hand-written `AnyValue` visitor fail (it skips the key without consuming its value); the
//!   spec says unknown fields MUST be ignored, so unknown members of `AnyValue` objects are
//!   removed.
//! - Enum fields MUST be integers in OTLP/JSON, but the proto3 mapping (which generic protobuf
//!   JSON encoders follow) writes enum names; names of the OTLP enums (`SPAN_KIND_SERVER`,
//!   `SEVERITY_NUMBER_INFO`, `AGGREGATION_TEMPORALITY_DELTA`, `STATUS_CODE_ERROR`) are mapped
//!   to their numbers, so such payloads are accepted too.
//! - 32-bit integer fields written as decimal strings (allowed by the proto3 mapping) become
//!   numbers.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

const ANY_VALUE_KEYS: [&str; 7] = [
    "stringValue",
    "boolValue",
    "intValue",
    "doubleValue",
    "arrayValue",
    "kvlistValue",
    "bytesValue",
];

/// 32-bit integer fields of the OTLP messages (counts, flags, enums, scale, offsets).
const INT32_KEYS: [&str; 12] = [
    "kind",
    "code",
    "severityNumber",
    "aggregationTemporality",
    "flags",
    "droppedAttributesCount",
    "droppedEventsCount",
    "droppedLinksCount",
    "scale",
    "offset",
    "keyStrindex",
    "dictionaryIndex",
];

/// Decodes an OTLP/JSON request body into `T`.
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let mut doc: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    if !doc.is_object() {
        return Err("invalid OTLP/JSON: the request must be a JSON object".to_owned());
    }
    normalize(&mut doc);
    serde_json::from_value(doc).map_err(|e| format!("invalid OTLP/JSON: {e}"))
}

fn normalize(value: &mut Value) {
    match value {
        Value::Object(map) => normalize_object(map),
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

fn normalize_object(map: &mut Map<String, Value>) {
    map.retain(|_, v| !v.is_null());
    // A KeyValue: {"key": .., "value": AnyValue}. A LogRecord: {"body": AnyValue, ..}.
    if map.contains_key("key")
        && let Some(v) = map.get_mut("value")
    {
        normalize_any_value(v);
    }
    if let Some(body) = map.get_mut("body") {
        normalize_any_value(body);
    }
    for key in INT32_KEYS {
        if let Some(v) = map.get_mut(key) {
            fix_int32(key, v);
        }
    }
    for (key, v) in map.iter_mut() {
        if key != "value" && key != "body" {
            normalize(v);
        }
    }
}

fn normalize_any_value(value: &mut Value) {
    let Value::Object(map) = value else { return };
    map.retain(|k, v| ANY_VALUE_KEYS.contains(&k.as_str()) && !v.is_null());
    if let Some(Value::Object(array)) = map.get_mut("arrayValue") {
        array.retain(|k, v| k == "values" && !v.is_null());
        if let Some(Value::Array(items)) = array.get_mut("values") {
            items.iter_mut().for_each(normalize_any_value);
        }
    }
    if let Some(Value::Object(kvlist)) = map.get_mut("kvlistValue") {
        kvlist.retain(|k, v| k == "values" && !v.is_null());
        if let Some(Value::Array(items)) = kvlist.get_mut("values") {
            items.iter_mut().for_each(normalize);
        }
    }
}

fn fix_int32(key: &str, value: &mut Value) {
    let Value::String(s) = value else { return };
    let number = s.parse::<i64>().ok().or_else(|| enum_number(key, s));
    if let Some(n) = number {
        *value = Value::from(n);
    }
}

fn enum_number(key: &str, name: &str) -> Option<i64> {
    let names: &[&str] = match key {
        "kind" => &[
            "SPAN_KIND_UNSPECIFIED",
            "SPAN_KIND_INTERNAL",
            "SPAN_KIND_SERVER",
            "SPAN_KIND_CLIENT",
            "SPAN_KIND_PRODUCER",
            "SPAN_KIND_CONSUMER",
        ],
        "code" => &["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"],
        "aggregationTemporality" => &[
            "AGGREGATION_TEMPORALITY_UNSPECIFIED",
            "AGGREGATION_TEMPORALITY_DELTA",
            "AGGREGATION_TEMPORALITY_CUMULATIVE",
        ],
        "severityNumber" => {
            return opentelemetry_proto::tonic::logs::v1::SeverityNumber::from_str_name(name)
                .map(|s| s as i64);
        }
        _ => return None,
    };
    names.iter().position(|n| *n == name).map(|i| i as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value;
    use opentelemetry_proto::tonic::metrics::v1::metric;

    // The request examples shipped with the OTLP specification (opentelemetry-proto/examples).
    const TRACE: &str = include_str!("fixtures/trace.json");
    const METRICS: &str = include_str!("fixtures/metrics.json");
    const LOGS: &str = include_str!("fixtures/logs.json");

    #[test]
    fn decodes_spec_trace_example_with_uppercase_hex_ids() {
        let req: ExportTraceServiceRequest = decode(TRACE.as_bytes()).unwrap();
        let span = &req.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(span.name, "I'm a server span");
        assert_eq!(span.trace_id.len(), 16);
        assert_eq!(span.trace_id[0], 0x5b);
        assert_eq!(span.span_id.len(), 8);
        assert_eq!(span.kind, 2);
        assert_eq!(span.start_time_unix_nano, 1544712660000000000);
    }

    #[test]
    fn decodes_spec_metrics_example() {
        let req: ExportMetricsServiceRequest = decode(METRICS.as_bytes()).unwrap();
        let metrics = &req.resource_metrics[0].scope_metrics[0].metrics;
        let names: Vec<_> = metrics.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "my.counter",
                "my.gauge",
                "my.histogram",
                "my.exponential.histogram"
            ]
        );
        let Some(metric::Data::Sum(sum)) = &metrics[0].data else {
            panic!("not a sum")
        };
        assert_eq!(sum.aggregation_temporality, 1);
        assert!(sum.is_monotonic);
        let Some(metric::Data::Histogram(h)) = &metrics[2].data else {
            panic!("not a histogram")
        };
        assert_eq!(h.data_points[0].count, 2);
        assert_eq!(h.data_points[0].bucket_counts, vec![1, 1]);
    }

    #[test]
    fn decodes_spec_logs_example() {
        let req: ExportLogsServiceRequest = decode(LOGS.as_bytes()).unwrap();
        let record = &req.resource_logs[0].scope_logs[0].log_records[0];
        assert_eq!(record.severity_number, 10);
        let body = record.body.as_ref().and_then(|b| b.value.clone());
        assert_eq!(
            body,
            Some(any_value::Value::StringValue("Example log record".into()))
        );
        assert_eq!(record.trace_id.len(), 16);
    }

    #[test]
    fn tolerates_nulls_unknown_anyvalue_members_enum_names_and_string_int32() {
        let body = r#"{"resourceSpans":[{"resource":{"attributes":[
              {"key":"service.name","value":{"stringValue":"svc","futureValue":{"x":1}}},
              {"key":"n","value":{"intValue":"42"}}]},
            "scopeSpans":[{"scope":null,"spans":[{
              "traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708",
              "parentSpanId":"","name":"s","kind":"SPAN_KIND_CLIENT","flags":"257",
              "status":{"code":"STATUS_CODE_ERROR","message":null},
              "unknownTopLevel":true}]}]}]}"#;
        let req: ExportTraceServiceRequest = decode(body.as_bytes()).unwrap();
        let rs = &req.resource_spans[0];
        let attrs = &rs.resource.as_ref().unwrap().attributes;
        assert_eq!(
            attrs[0].value.as_ref().unwrap().value,
            Some(any_value::Value::StringValue("svc".into()))
        );
        assert_eq!(
            attrs[1].value.as_ref().unwrap().value,
            Some(any_value::Value::IntValue(42))
        );
        let span = &rs.scope_spans[0].spans[0];
        assert_eq!(span.kind, 3);
        assert_eq!(span.flags, 257);
        assert!(span.parent_span_id.is_empty());
        assert_eq!(span.status.as_ref().unwrap().code, 2);
    }

    #[test]
    fn rejects_garbage_with_a_message() {
        let err = decode::<ExportTraceServiceRequest>(b"[1,2]").unwrap_err();
        assert!(err.contains("JSON object"), "{err}");
        let err = decode::<ExportTraceServiceRequest>(
            b"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"zz\"}]}]}]}",
        )
        .unwrap_err();
        assert!(err.contains("invalid OTLP/JSON"), "{err}");
    }
}
