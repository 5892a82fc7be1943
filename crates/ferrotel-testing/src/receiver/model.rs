//! Flattened, owned views of what the receiver decoded: one item per span, data point or log
//! record, each carrying its resource and instrumentation scope so a test can assert on it alone.

use std::fmt;

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Exemplar, exponential_histogram_data_point, number_data_point,
};
use opentelemetry_proto::tonic::trace::v1::{Span, Status, span};

/// The telemetry signal an OTLP request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    /// `ExportTraceServiceRequest`: `/v1/traces` or `TraceService/Export`.
    Traces,
    /// `ExportMetricsServiceRequest`: `/v1/metrics` or `MetricsService/Export`.
    Metrics,
    /// `ExportLogsServiceRequest`: `/v1/logs` or `LogsService/Export`.
    Logs,
}

impl Signal {
    /// All three signals, in a fixed order.
    pub const ALL: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

    /// The default OTLP/HTTP path for this signal (`/v1/traces`, `/v1/metrics`, `/v1/logs`).
    pub fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Metrics => "/v1/metrics",
            Signal::Logs => "/v1/logs",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        })
    }
}

/// How a request reached the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// OTLP/HTTP with `Content-Type: application/x-protobuf`.
    HttpProtobuf,
    /// OTLP/HTTP with `Content-Type: application/json` (the OTLP/JSON mapping).
    HttpJson,
    /// OTLP/gRPC.
    Grpc,
    /// No wire: captured in process by [`crate::capture`].
    InProcess,
}

impl Transport {
    /// The three OTLP transports, in a fixed order.
    pub const ALL: [Transport; 3] = [
        Transport::HttpProtobuf,
        Transport::HttpJson,
        Transport::Grpc,
    ];
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::HttpProtobuf => "http/protobuf",
            Transport::HttpJson => "http/json",
            Transport::Grpc => "grpc",
            Transport::InProcess => "in-process",
        })
    }
}

/// An OTLP attribute or log-body value, converted from the protobuf `AnyValue`.
///
/// Compare it with plain Rust values: `value == "GET"`, `value == 200_i64`, `value == true`.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// `stringValue`.
    String(String),
    /// `boolValue`.
    Bool(bool),
    /// `intValue`.
    Int(i64),
    /// `doubleValue`.
    Double(f64),
    /// `bytesValue`.
    Bytes(Vec<u8>),
    /// `arrayValue`.
    Array(Vec<AttrValue>),
    /// `kvlistValue`, in wire order.
    Map(Vec<(String, AttrValue)>),
    /// `stringValueStrindex`: an index into a profiles string table (not used by traces,
    /// metrics or logs).
    StringTableIndex(i32),
    /// An `AnyValue` with no value set.
    Empty,
}

impl AttrValue {
    /// The string, if this is a `String`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an `Int`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            AttrValue::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The number as `f64`, if this is a `Double` or an `Int`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttrValue::Double(d) => Some(*d),
            AttrValue::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The boolean, if this is a `Bool`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            AttrValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub(crate) fn from_any(value: Option<&AnyValue>) -> AttrValue {
        let Some(inner) = value.and_then(|v| v.value.as_ref()) else {
            return AttrValue::Empty;
        };
        match inner {
            any_value::Value::StringValue(s) => AttrValue::String(s.clone()),
            any_value::Value::BoolValue(b) => AttrValue::Bool(*b),
            any_value::Value::IntValue(i) => AttrValue::Int(*i),
            any_value::Value::DoubleValue(d) => AttrValue::Double(*d),
            any_value::Value::BytesValue(b) => AttrValue::Bytes(b.clone()),
            any_value::Value::ArrayValue(a) => AttrValue::Array(
                a.values
                    .iter()
                    .map(|v| AttrValue::from_any(Some(v)))
                    .collect(),
            ),
            any_value::Value::KvlistValue(kv) => AttrValue::Map(
                kv.values
                    .iter()
                    .map(|kv| (kv.key.clone(), AttrValue::from_any(kv.value.as_ref())))
                    .collect(),
            ),
            any_value::Value::StringValueStrindex(i) => AttrValue::StringTableIndex(*i),
        }
    }
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::String(s) => f.write_str(s),
            AttrValue::Bool(b) => write!(f, "{b}"),
            AttrValue::Int(i) => write!(f, "{i}"),
            AttrValue::Double(d) => write!(f, "{d}"),
            AttrValue::Bytes(b) => write!(f, "0x{}", hex(b)),
            AttrValue::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            AttrValue::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            AttrValue::StringTableIndex(i) => write!(f, "<string table #{i}>"),
            AttrValue::Empty => f.write_str("<empty>"),
        }
    }
}

impl From<&str> for AttrValue {
    fn from(v: &str) -> Self {
        AttrValue::String(v.to_owned())
    }
}
impl From<String> for AttrValue {
    fn from(v: String) -> Self {
        AttrValue::String(v)
    }
}
impl From<bool> for AttrValue {
    fn from(v: bool) -> Self {
        AttrValue::Bool(v)
    }
}
impl From<i64> for AttrValue {
    fn from(v: i64) -> Self {
        AttrValue::Int(v)
    }
}
impl From<i32> for AttrValue {
    fn from(v: i32) -> Self {
        AttrValue::Int(i64::from(v))
    }
}
impl From<f64> for AttrValue {
    fn from(v: f64) -> Self {
        AttrValue::Double(v)
    }
}
impl PartialEq<&str> for AttrValue {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}
impl PartialEq<str> for AttrValue {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}
impl PartialEq<i64> for AttrValue {
    fn eq(&self, other: &i64) -> bool {
        self.as_i64() == Some(*other)
    }
}
impl PartialEq<bool> for AttrValue {
    fn eq(&self, other: &bool) -> bool {
        self.as_bool() == Some(*other)
    }
}
impl PartialEq<f64> for AttrValue {
    fn eq(&self, other: &f64) -> bool {
        matches!(self, AttrValue::Double(d) if d == other)
    }
}

/// An ordered list of attributes (wire order), with lookup by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attributes(Vec<(String, AttrValue)>);

impl Attributes {
    pub(crate) fn from_proto(kvs: &[KeyValue]) -> Self {
        Attributes(
            kvs.iter()
                .map(|kv| (kv.key.clone(), AttrValue::from_any(kv.value.as_ref())))
                .collect(),
        )
    }

    /// The value of `key`, if present (the first one if the sender duplicated the key).
    pub fn get(&self, key: &str) -> Option<&AttrValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The string value of `key`, if present and a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(AttrValue::as_str)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Whether every `(key, value)` of `subset` is present with an equal value.
    pub fn contains_all(&self, subset: &[(&str, AttrValue)]) -> bool {
        subset.iter().all(|(k, v)| self.get(k) == Some(v))
    }

    /// Iterates `(key, value)` pairs in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &AttrValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The keys, in wire order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no attributes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A canonical, order-independent rendering used to group time series.
    pub(crate) fn series_key(&self) -> String {
        let mut parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        parts.sort();
        parts.join(",")
    }
}

/// The instrumentation scope of a received item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// Scope (tracer/meter/logger) name.
    pub name: String,
    /// Scope version; empty if not set.
    pub version: String,
    /// Scope attributes.
    pub attributes: Attributes,
}

impl Scope {
    pub(crate) fn from_proto(scope: Option<&InstrumentationScope>) -> Self {
        scope
            .map(|s| Scope {
                name: s.name.clone(),
                version: s.version.clone(),
                attributes: Attributes::from_proto(&s.attributes),
            })
            .unwrap_or_default()
    }
}

/// Lower-case hex of `bytes` (the OTLP/JSON and W3C rendering of trace and span ids).
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// `None` for an absent or all-zero id (both mean "no id" in OTLP).
fn id_hex(bytes: &[u8]) -> Option<String> {
    (!bytes.is_empty() && bytes.iter().any(|b| *b != 0)).then(|| hex(bytes))
}

/// One received span with its resource and scope.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    /// The span exactly as decoded.
    pub span: Span,
    /// Attributes of the resource the span was sent under.
    pub resource: Attributes,
    /// The instrumentation scope (tracer).
    pub scope: Scope,
    /// How the span arrived.
    pub transport: Transport,
}

impl ReceivedSpan {
    /// The span name.
    pub fn name(&self) -> &str {
        &self.span.name
    }

    /// The trace id as 32 lower-case hex digits.
    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    /// The span id as 16 lower-case hex digits.
    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }

    /// The parent span id as hex, or `None` for a root span.
    pub fn parent_span_id(&self) -> Option<String> {
        id_hex(&self.span.parent_span_id)
    }

    /// Whether this span is the direct child of `parent` (same trace, parent id matches).
    pub fn is_child_of(&self, parent: &ReceivedSpan) -> bool {
        self.span.trace_id == parent.span.trace_id
            && !self.span.parent_span_id.is_empty()
            && self.span.parent_span_id == parent.span.span_id
    }

    /// The span attributes.
    pub fn attributes(&self) -> Attributes {
        Attributes::from_proto(&self.span.attributes)
    }

    /// The value of span attribute `key`.
    pub fn attribute(&self, key: &str) -> Option<AttrValue> {
        self.attributes().get(key).cloned()
    }

    /// The value of resource attribute `key`.
    pub fn resource_attribute(&self, key: &str) -> Option<&AttrValue> {
        self.resource.get(key)
    }

    /// The span kind (`SpanKind::Server` etc.; `Unspecified` if the value is unknown).
    pub fn kind(&self) -> span::SpanKind {
        span::SpanKind::try_from(self.span.kind).unwrap_or(span::SpanKind::Unspecified)
    }

    /// The span status (`None` means unset).
    pub fn status(&self) -> Option<&Status> {
        self.span.status.as_ref()
    }

    /// The names of the span events, in order.
    pub fn event_names(&self) -> Vec<&str> {
        self.span.events.iter().map(|e| e.name.as_str()).collect()
    }

    /// The attributes of the first event named `name`.
    pub fn event_attributes(&self, name: &str) -> Option<Attributes> {
        self.span
            .events
            .iter()
            .find(|e| e.name == name)
            .map(|e| Attributes::from_proto(&e.attributes))
    }
}

/// The shape of a metric, with the properties that change how its points add up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// A gauge (last value wins).
    Gauge,
    /// A sum (counter or up-down counter).
    Sum {
        /// Whether the sum only goes up (a counter).
        monotonic: bool,
        /// `Delta` or `Cumulative`.
        temporality: AggregationTemporality,
    },
    /// An explicit-bucket histogram.
    Histogram {
        /// `Delta` or `Cumulative`.
        temporality: AggregationTemporality,
    },
    /// An exponential histogram.
    ExponentialHistogram {
        /// `Delta` or `Cumulative`.
        temporality: AggregationTemporality,
    },
    /// A summary (legacy; always cumulative).
    Summary,
}

impl MetricKind {
    pub(crate) fn is_cumulative(self) -> bool {
        match self {
            MetricKind::Gauge => false,
            MetricKind::Summary => true,
            MetricKind::Sum { temporality, .. }
            | MetricKind::Histogram { temporality }
            | MetricKind::ExponentialHistogram { temporality } => {
                temporality == AggregationTemporality::Cumulative
            }
        }
    }
}

/// The value carried by a data point.
#[derive(Debug, Clone, PartialEq)]
pub enum PointValue {
    /// A gauge or sum point with an integer value.
    Int(i64),
    /// A gauge or sum point with a floating-point value.
    Double(f64),
    /// An explicit-bucket histogram point.
    Histogram {
        /// Number of recorded values.
        count: u64,
        /// Sum of recorded values, if sent.
        sum: Option<f64>,
        /// Count per bucket (`explicit_bounds.len() + 1` entries).
        bucket_counts: Vec<u64>,
        /// Upper bounds of the buckets.
        explicit_bounds: Vec<f64>,
        /// Minimum recorded value, if sent.
        min: Option<f64>,
        /// Maximum recorded value, if sent.
        max: Option<f64>,
    },
    /// An exponential histogram point (bucket details are in the raw request).
    ExponentialHistogram {
        /// Number of recorded values.
        count: u64,
        /// Sum of recorded values, if sent.
        sum: Option<f64>,
        /// The scale (resolution) of the buckets.
        scale: i32,
        /// Positive bucket offset and counts.
        positive: Option<exponential_histogram_data_point::Buckets>,
    },
    /// A summary point.
    Summary {
        /// Number of recorded values.
        count: u64,
        /// Sum of recorded values.
        sum: f64,
    },
    /// A number point with no value set.
    Missing,
}

impl PointValue {
    pub(crate) fn from_number(value: Option<&number_data_point::Value>) -> Self {
        match value {
            Some(number_data_point::Value::AsInt(i)) => PointValue::Int(*i),
            Some(number_data_point::Value::AsDouble(d)) => PointValue::Double(*d),
            None => PointValue::Missing,
        }
    }

    /// The number of a gauge/sum point as `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            PointValue::Int(i) => Some(*i as f64),
            PointValue::Double(d) => Some(*d),
            _ => None,
        }
    }

    /// The count of a histogram, exponential histogram or summary point.
    pub fn count(&self) -> Option<u64> {
        match self {
            PointValue::Histogram { count, .. }
            | PointValue::ExponentialHistogram { count, .. }
            | PointValue::Summary { count, .. } => Some(*count),
            _ => None,
        }
    }

    /// The sum of a histogram, exponential histogram or summary point, if sent.
    pub fn sum(&self) -> Option<f64> {
        match self {
            PointValue::Histogram { sum, .. } | PointValue::ExponentialHistogram { sum, .. } => {
                *sum
            }
            PointValue::Summary { sum, .. } => Some(*sum),
            _ => None,
        }
    }
}

/// One received metric data point with its metric, resource and scope.
#[derive(Debug, Clone)]
pub struct ReceivedDataPoint {
    /// The metric name.
    pub metric_name: String,
    /// The metric description.
    pub description: String,
    /// The metric unit (UCUM, e.g. `s`, `By`, `{request}`).
    pub unit: String,
    /// Gauge, sum or histogram, with temporality.
    pub kind: MetricKind,
    /// The data point attributes.
    pub attributes: Attributes,
    /// The value.
    pub value: PointValue,
    /// Start of the aggregation window (ns since the Unix epoch; 0 if unset).
    pub start_time_unix_nano: u64,
    /// End of the aggregation window (ns since the Unix epoch).
    pub time_unix_nano: u64,
    /// Exemplars attached to the point.
    pub exemplars: Vec<Exemplar>,
    /// Attributes of the resource the point was sent under.
    pub resource: Attributes,
    /// The instrumentation scope (meter).
    pub scope: Scope,
    /// How the point arrived.
    pub transport: Transport,
}

/// One received log record with its resource and scope.
#[derive(Debug, Clone)]
pub struct ReceivedLogRecord {
    /// The log record exactly as decoded.
    pub record: LogRecord,
    /// Attributes of the resource the record was sent under.
    pub resource: Attributes,
    /// The instrumentation scope (logger).
    pub scope: Scope,
    /// How the record arrived.
    pub transport: Transport,
}

impl ReceivedLogRecord {
    /// The body, converted (`None` if the record has no body).
    pub fn body(&self) -> Option<AttrValue> {
        self.record
            .body
            .as_ref()
            .map(|b| AttrValue::from_any(Some(b)))
    }

    /// The body if it is a string.
    pub fn body_str(&self) -> Option<&str> {
        match self.record.body.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s),
            _ => None,
        }
    }

    /// The severity number (1-24; 9 = INFO, 13 = WARN, 17 = ERROR; 0 = unspecified).
    pub fn severity_number(&self) -> i32 {
        self.record.severity_number
    }

    /// The severity text as sent (e.g. `INFO`).
    pub fn severity_text(&self) -> &str {
        &self.record.severity_text
    }

    /// The trace id as hex, or `None` if the record is not correlated with a trace.
    pub fn trace_id(&self) -> Option<String> {
        id_hex(&self.record.trace_id)
    }

    /// The span id as hex, or `None` if the record is not correlated with a span.
    pub fn span_id(&self) -> Option<String> {
        id_hex(&self.record.span_id)
    }

    /// The event name (empty if unset).
    pub fn event_name(&self) -> &str {
        &self.record.event_name
    }

    /// The record attributes.
    pub fn attributes(&self) -> Attributes {
        Attributes::from_proto(&self.record.attributes)
    }

    /// The value of record attribute `key`.
    pub fn attribute(&self, key: &str) -> Option<AttrValue> {
        self.attributes().get(key).cloned()
    }

    /// The value of resource attribute `key`.
    pub fn resource_attribute(&self, key: &str) -> Option<&AttrValue> {
        self.resource.get(key)
    }
}

/// Metadata of one accepted or rejected export request.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// The signal of the request.
    pub signal: Signal,
    /// How it arrived.
    pub transport: Transport,
    /// HTTP headers or gRPC metadata (ASCII values only), lower-case names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// `Content-Encoding` (HTTP) or `grpc-encoding` (gRPC), if the body was compressed.
    pub compression: Option<String>,
    /// Whether the receiver accepted the request (false: a fault was injected).
    pub accepted: bool,
}

impl RequestInfo {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
