//! Stable HTTP semantic-convention names, the server instruments as descriptors, and the
//! normalisations that keep metric labels bounded.

use std::borrow::Cow;

use ferrotel_meters::{
    InstrumentDescriptor, InstrumentKind, LabelDescriptor, LabelValues, ValueType,
};

/// `http.server.request.duration` bucket boundaries (seconds), from the stable HTTP semconv.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Body-size histogram boundaries (bytes): powers of four from 0 B to 16 MiB. The semconv gives
/// no advice for sizes; these resolve small JSON bodies and still bound large uploads.
pub const BODY_SIZE_BUCKETS: [f64; 12] = [
    0.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0,
    67108864.0,
];

/// Attribute keys used on metrics and spans.
pub(crate) mod attr {
    pub const HTTP_REQUEST_METHOD: &str = "http.request.method";
    pub const HTTP_ROUTE: &str = "http.route";
    pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";
    pub const URL_SCHEME: &str = "url.scheme";
    pub const NETWORK_PROTOCOL_VERSION: &str = "network.protocol.version";
    pub const ERROR_TYPE: &str = "error.type";
    #[cfg_attr(not(feature = "reqwest"), allow(dead_code))]
    pub const SERVER_ADDRESS: &str = "server.address";
    #[cfg_attr(not(feature = "reqwest"), allow(dead_code))]
    pub const SERVER_PORT: &str = "server.port";
}

/// The value of `error.type` when the service failed without producing a response.
pub const ERROR_TYPE_OTHER: &str = "_OTHER";

/// The semconv known methods plus `_OTHER`, in the order of [`method_index`].
pub(crate) const METHODS: [&str; 10] = [
    "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE", "_OTHER",
];

/// The index in [`METHODS`] of a request method (`_OTHER`'s index for unknown methods).
pub(crate) fn method_index(method: &str) -> usize {
    match method {
        "GET" => 0,
        "POST" => 1,
        "PUT" => 2,
        "DELETE" => 3,
        "HEAD" => 4,
        "OPTIONS" => 5,
        "PATCH" => 6,
        "CONNECT" => 7,
        "TRACE" => 8,
        _ => 9,
    }
}

/// Normalises a request method to one of the semconv known methods, or `_OTHER`.
///
/// Returns a `'static` string so that a client-chosen method can never become a metric label.
pub fn normalize_method(method: &str) -> &'static str {
    METHODS[method_index(method)]
}

/// The span name for a request: `{method} {route}`, `{method}` without a route, and `HTTP`
/// in place of `_OTHER` (semconv "Name" rules for HTTP server spans).
pub fn span_name(method: &'static str, route: Option<&str>) -> Cow<'static, str> {
    match route {
        Some(_) => Cow::Owned(SpanName { method, route }.to_string()),
        None => Cow::Borrowed(SpanName { method, route }.method()),
    }
}

/// [`span_name`] as a `Display` value, so a span field can take it without an intermediate
/// `String`.
#[derive(Clone, Copy)]
pub(crate) struct SpanName<'a> {
    pub method: &'static str,
    pub route: Option<&'a str>,
}

impl SpanName<'_> {
    /// The name when there is no route: the method alone (`HTTP` for `_OTHER`).
    pub(crate) fn method_only(&self) -> &'static str {
        self.method()
    }

    fn method(&self) -> &'static str {
        if self.method == "_OTHER" {
            "HTTP"
        } else {
            self.method
        }
    }
}

impl std::fmt::Display for SpanName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.method())?;
        if let Some(route) = self.route {
            f.write_str(" ")?;
            f.write_str(route)?;
        }
        Ok(())
    }
}

/// The `network.protocol.version` value of an `http::Version`.
pub fn protocol_version(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_11 => "1.1",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => "_OTHER",
    }
}

const fn label(key: &'static str, values: LabelValues) -> LabelDescriptor {
    LabelDescriptor { key, values }
}

/// Attributes of the duration, count and body-size instruments (`http.route`,
/// `http.response.status_code` and `error.type` only when known), most queried first.
const REQUEST_LABELS: &[LabelDescriptor] = &[
    label(attr::HTTP_REQUEST_METHOD, LabelValues::Closed(&METHODS)),
    label(attr::HTTP_ROUTE, LabelValues::FreeForm),
    label(attr::HTTP_RESPONSE_STATUS_CODE, LabelValues::FreeForm),
    label(attr::URL_SCHEME, LabelValues::Closed(&["http", "https"])),
    label(
        attr::NETWORK_PROTOCOL_VERSION,
        LabelValues::Closed(&["0.9", "1.0", "1.1", "2", "3", "_OTHER"]),
    ),
    label(attr::ERROR_TYPE, LabelValues::FreeForm),
];

/// Attributes of `http.server.active_requests`.
const ACTIVE_LABELS: &[LabelDescriptor] = &[
    label(attr::HTTP_REQUEST_METHOD, LabelValues::Closed(&METHODS)),
    label(attr::URL_SCHEME, LabelValues::Closed(&["http", "https"])),
];

/// Route templates and status codes are bounded by the application, not by an enum; the
/// middleware's own caches stay below the SDK default (2000), which is declared here so a
/// view built from these descriptors does not lower it to the free-form default of 200.
const REQUEST_CARDINALITY_LIMIT: Option<usize> = Some(2000);

/// `http.server.request.duration` (histogram, `s`, [`DURATION_BUCKETS`]).
pub const SERVER_REQUEST_DURATION: InstrumentDescriptor = InstrumentDescriptor {
    name: "http.server.request.duration",
    kind: InstrumentKind::Histogram,
    value_type: ValueType::F64,
    unit: "s",
    description: "Duration of HTTP server requests.",
    labels: REQUEST_LABELS,
    buckets: Some(&DURATION_BUCKETS),
    cardinality_limit: REQUEST_CARDINALITY_LIMIT,
};

/// `http.server.requests` (counter, `{request}`): requests completed.
pub const SERVER_REQUESTS: InstrumentDescriptor = InstrumentDescriptor {
    name: "http.server.requests",
    kind: InstrumentKind::Counter,
    value_type: ValueType::U64,
    unit: "{request}",
    description: "Number of HTTP server requests completed.",
    labels: REQUEST_LABELS,
    buckets: None,
    cardinality_limit: REQUEST_CARDINALITY_LIMIT,
};

/// `http.server.active_requests` (up-down counter, `{request}`).
pub const SERVER_ACTIVE_REQUESTS: InstrumentDescriptor = InstrumentDescriptor {
    name: "http.server.active_requests",
    kind: InstrumentKind::UpDownCounter,
    value_type: ValueType::I64,
    unit: "{request}",
    description: "Number of active HTTP server requests.",
    labels: ACTIVE_LABELS,
    buckets: None,
    cardinality_limit: None,
};

/// `http.server.request.body.size` (histogram, `By`, [`BODY_SIZE_BUCKETS`]).
pub const SERVER_REQUEST_BODY_SIZE: InstrumentDescriptor = InstrumentDescriptor {
    name: "http.server.request.body.size",
    kind: InstrumentKind::Histogram,
    value_type: ValueType::U64,
    unit: "By",
    description: "Size of HTTP server request bodies.",
    labels: REQUEST_LABELS,
    buckets: Some(&BODY_SIZE_BUCKETS),
    cardinality_limit: REQUEST_CARDINALITY_LIMIT,
};

/// `http.server.response.body.size` (histogram, `By`, [`BODY_SIZE_BUCKETS`]).
pub const SERVER_RESPONSE_BODY_SIZE: InstrumentDescriptor = InstrumentDescriptor {
    name: "http.server.response.body.size",
    kind: InstrumentKind::Histogram,
    value_type: ValueType::U64,
    unit: "By",
    description: "Size of HTTP server response bodies.",
    labels: REQUEST_LABELS,
    buckets: Some(&BODY_SIZE_BUCKETS),
    cardinality_limit: REQUEST_CARDINALITY_LIMIT,
};

/// Every server instrument the middleware records, as data for catalogs, docs, dashboards and
/// views.
pub const SERVER_INSTRUMENTS: &[InstrumentDescriptor] = &[
    SERVER_REQUEST_DURATION,
    SERVER_REQUESTS,
    SERVER_ACTIVE_REQUESTS,
    SERVER_REQUEST_BODY_SIZE,
    SERVER_RESPONSE_BODY_SIZE,
];

/// Query keys whose values the semconv requires to be redacted in `url.query` / `url.full`.
pub const SENSITIVE_QUERY_KEYS: [&str; 4] =
    ["AWSAccessKeyId", "Signature", "sig", "X-Goog-Signature"];

/// The replacement for redacted values, as the semconv prescribes.
pub const REDACTED: &str = "REDACTED";

/// Redacts the values of `keys` (matched case-insensitively) in a raw query string.
///
/// Borrows the input when nothing needs redacting, so the common case does not allocate.
pub fn redact_query<'a>(query: &'a str, keys: &[Box<str>]) -> Cow<'a, str> {
    let is_sensitive = |pair: &str| {
        let key = pair.split_once('=').map_or(pair, |(k, _)| k);
        keys.iter().any(|k| k.eq_ignore_ascii_case(key))
    };
    if !query
        .split('&')
        .any(|pair| pair.contains('=') && is_sensitive(pair))
    {
        return Cow::Borrowed(query);
    }
    let mut out = String::with_capacity(query.len());
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((key, _)) if is_sensitive(pair) => {
                out.push_str(key);
                out.push('=');
                out.push_str(REDACTED);
            }
            _ => out.push_str(pair),
        }
    }
    Cow::Owned(out)
}

/// The default sensitive keys as owned boxed strings (the form the config stores).
pub(crate) fn default_sensitive_keys() -> Vec<Box<str>> {
    SENSITIVE_QUERY_KEYS.iter().map(|k| Box::from(*k)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_become_other() {
        assert_eq!(normalize_method("GET"), "GET");
        assert_eq!(normalize_method("get"), "_OTHER");
        assert_eq!(normalize_method("PURGE"), "_OTHER");
        assert_eq!(span_name("_OTHER", Some("/a")), "HTTP /a");
        assert_eq!(span_name("GET", None), "GET");
    }

    #[test]
    fn redacts_sensitive_query_values_only() {
        let keys = default_sensitive_keys();
        assert_eq!(redact_query("a=1&b=2", &keys), "a=1&b=2");
        assert!(matches!(redact_query("a=1&b=2", &keys), Cow::Borrowed(_)));
        assert_eq!(
            redact_query("sig=abc&x=1&Signature=zz&X-Goog-Signature=q", &keys),
            "sig=REDACTED&x=1&Signature=REDACTED&X-Goog-Signature=REDACTED"
        );
        assert_eq!(redact_query("sig&x", &keys), "sig&x");
    }
}
