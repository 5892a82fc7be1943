//! Framework-independent core: configuration, instruments, and the per-request [`Observation`]
//! that both the tower and the actix adapters drive, so the two behave identically.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use opentelemetry::InstrumentationScope;
use opentelemetry::KeyValue;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::metrics::{Meter, MeterProvider};
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::{SpanContext, Status, TraceContextExt};

use ferrotel_tracing::HTTP_SPAN_TARGET;

use ferrotel_meters::exemplars::Offer;

use crate::headers::ResponseHeaders;
use crate::metrics::{ErrorType, Measurement, RouteSeries, ServerMetrics};
use crate::semconv;
use crate::span_context;

/// The instrumentation scope name of every instrument this crate creates.
pub const SCOPE_NAME: &str = "ferrotel-http";

/// Paths excluded from request metrics and tracing unless configured otherwise.
pub const DEFAULT_EXCLUDED_PATHS: [&str; 5] =
    ["/health", "/livez", "/readyz", "/version", "/metrics"];

/// The default request-id header.
pub const DEFAULT_REQUEST_ID_HEADER: &str = "x-request-id";

/// Which response header carries the server span's trace context back to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TraceResponseHeader {
    /// `traceresponse: 00-{trace-id}-{span-id}-{flags}` (W3C Trace Context Level 2 draft).
    #[default]
    TraceResponse,
    /// `traceparent: 00-{trace-id}-{span-id}-{flags}`, for tools that only read that name.
    TraceParent,
    /// No trace header on responses.
    None,
}

impl TraceResponseHeader {
    /// Whether a trace header is configured.
    pub(crate) fn enabled(self) -> bool {
        self != Self::None
    }
}

/// The `url.scheme` this server reports (it cannot be read reliably from a server-side request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheme {
    /// `http`
    #[default]
    Http,
    /// `https` (the server terminates TLS itself or sits behind a TLS proxy).
    Https,
}

impl Scheme {
    fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

/// HTTP server instrumentation shared by the tower layer and the actix middleware.
///
/// Cheap to clone (an `Arc`). Build one per service with [`HttpInstrumentation::builder`], then
/// hand it to `HttpLayer::new` (feature `axum`) or `HttpMiddleware::new` (feature `actix`).
#[derive(Clone, Debug)]
pub struct HttpInstrumentation {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    metrics: ServerMetrics,
    excluded_paths: Vec<Box<str>>,
    sensitive_query_keys: Vec<Box<str>>,
    pub(crate) request_id_header: http::HeaderName,
    trace_response_header: TraceResponseHeader,
    scheme: &'static str,
    tracing_span: bool,
}

/// Builder for [`HttpInstrumentation`].
#[derive(Debug)]
pub struct HttpInstrumentationBuilder {
    meter: Option<Meter>,
    excluded_paths: Vec<Box<str>>,
    sensitive_query_keys: Vec<Box<str>>,
    request_id_header: http::HeaderName,
    trace_response_header: TraceResponseHeader,
    scheme: Scheme,
    tracing_span: bool,
}

/// A configuration value the builder rejected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The request-id header name is not a valid HTTP header name.
    #[error("invalid request-id header name {0:?}: {1}")]
    InvalidHeaderName(String, http::header::InvalidHeaderName),
}

impl Default for HttpInstrumentationBuilder {
    fn default() -> Self {
        Self {
            meter: None,
            excluded_paths: DEFAULT_EXCLUDED_PATHS
                .iter()
                .map(|p| Box::from(*p))
                .collect(),
            sensitive_query_keys: semconv::default_sensitive_keys(),
            request_id_header: http::HeaderName::from_static(DEFAULT_REQUEST_ID_HEADER),
            trace_response_header: TraceResponseHeader::default(),
            scheme: Scheme::default(),
            tracing_span: false,
        }
    }
}

impl HttpInstrumentationBuilder {
    /// Records metrics with a meter from `provider` (default: the global meter provider).
    pub fn meter_provider<P: MeterProvider + ?Sized>(mut self, provider: &P) -> Self {
        self.meter = Some(provider.meter_with_scope(scope()));
        self
    }

    /// Excludes one more exact path from metrics and tracing.
    pub fn exclude_path(mut self, path: impl Into<String>) -> Self {
        self.excluded_paths.push(path.into().into_boxed_str());
        self
    }

    /// Instruments every path, including the health and metrics routes excluded by default
    /// ([`DEFAULT_EXCLUDED_PATHS`]). Paths added later with [`Self::exclude_path`] still apply.
    pub fn instrument_all_paths(mut self) -> Self {
        self.excluded_paths.clear();
        self
    }

    /// Redacts the values of one more query key in `url.query` (the semconv keys
    /// `AWSAccessKeyId`, `Signature`, `sig`, `X-Goog-Signature` are always redacted).
    pub fn redact_query_key(mut self, key: impl Into<String>) -> Self {
        self.sensitive_query_keys.push(key.into().into_boxed_str());
        self
    }

    /// Uses another request-id header name (default `x-request-id`).
    pub fn request_id_header(mut self, name: &str) -> Result<Self, ConfigError> {
        self.request_id_header = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| ConfigError::InvalidHeaderName(name.to_owned(), e))?;
        Ok(self)
    }

    /// Chooses the trace-context response header (default [`TraceResponseHeader::TraceResponse`]).
    pub fn trace_response_header(mut self, header: TraceResponseHeader) -> Self {
        self.trace_response_header = header;
        self
    }

    /// Sets the `url.scheme` reported on metrics and spans (default `http`).
    pub fn scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// Also creates a `tracing` span for each request under our span layer (default `false`).
    ///
    /// By default, under the span layer `ferrotel::init()` installs, the request span is only an
    /// OpenTelemetry span, made current around every poll of the request: `tracing` spans and log
    /// records inside the request belong to it, the OpenTelemetry current context is it, and the
    /// console prints its `request_id` on every line, at the cost of one SDK span. Turn this on
    /// when other `tracing` layers must see the request as a span (`tracing::Span::current()`
    /// in a handler without its own span, or a `fmt` layer of your own printing span fields);
    /// it costs a `tracing` span per request. Under another span layer (`tracing-opentelemetry`)
    /// the request always has a `tracing` span.
    pub fn tracing_span(mut self, enabled: bool) -> Self {
        self.tracing_span = enabled;
        self
    }

    /// Creates the instruments and returns the instrumentation.
    pub fn build(self) -> HttpInstrumentation {
        let meter = self
            .meter
            .unwrap_or_else(|| opentelemetry::global::meter_with_scope(scope()));
        HttpInstrumentation {
            inner: Arc::new(Inner {
                metrics: ServerMetrics::new(&meter, self.scheme.as_str()),
                excluded_paths: self.excluded_paths,
                sensitive_query_keys: self.sensitive_query_keys,
                request_id_header: self.request_id_header,
                trace_response_header: self.trace_response_header,
                scheme: self.scheme.as_str(),
                tracing_span: self.tracing_span,
            }),
        }
    }
}

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(SCOPE_NAME)
        .with_version(env!("CARGO_PKG_VERSION"))
        .with_schema_url("https://opentelemetry.io/schemas/1.37.0")
        .build()
}

impl HttpInstrumentation {
    /// Starts building an instrumentation.
    pub fn builder() -> HttpInstrumentationBuilder {
        HttpInstrumentationBuilder::default()
    }

    /// An instrumentation with the default configuration on the global meter provider.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Whether `path` is excluded from metrics and tracing.
    pub fn is_excluded(&self, path: &str) -> bool {
        self.inner.excluded_paths.iter().any(|p| &**p == path)
    }
}

impl Default for HttpInstrumentation {
    fn default() -> Self {
        Self::new()
    }
}

/// What an adapter knows about a request when it arrives.
pub(crate) struct RequestInfo<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub version: &'static str,
    /// The matched route template, `None` when nothing matched.
    pub route: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub client_address: Option<IpAddr>,
    /// The incoming request-id header value, if any.
    pub request_id: Option<&'a [u8]>,
    /// Content-Length, or 0 when the request has no body, `None` when unknown.
    pub body_size: Option<u64>,
    pub headers: &'a dyn Extractor,
}

/// A request id held inline (no allocation): the incoming one when valid, else generated.
pub(crate) struct RequestId {
    buf: [u8; MAX_REQUEST_ID_LEN],
    len: u8,
    generated: bool,
}

const MAX_REQUEST_ID_LEN: usize = 128;

impl RequestId {
    /// Keeps `incoming` if it is short and made of safe characters; anything else is replaced
    /// by a generated 128-bit hex id (it is client-controlled and ends up in logs).
    pub(crate) fn new(incoming: Option<&[u8]>) -> Self {
        let mut buf = [0u8; MAX_REQUEST_ID_LEN];
        match incoming {
            Some(id) if valid_request_id(id) => {
                buf[..id.len()].copy_from_slice(id);
                Self {
                    buf,
                    len: id.len() as u8,
                    generated: false,
                }
            }
            _ => {
                hex_into(&mut buf[..32], &rand::random::<u128>().to_be_bytes());
                Self {
                    buf,
                    len: 32,
                    generated: true,
                }
            }
        }
    }

    /// The id's bytes (ASCII, valid as a header value).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    pub(crate) fn as_str(&self) -> &str {
        // Always ASCII: validated or hex-generated.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// Whether the id was generated here (so adapters add it to the request).
    pub(crate) fn generated(&self) -> bool {
        self.generated
    }
}

fn valid_request_id(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_LEN
        && id.iter().all(|&b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'+' | b'=')
        })
}

/// Writes `bytes` as lowercase hex into `out` (`out.len() == 2 * bytes.len()`).
fn hex_into(out: &mut [u8], bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0xf)];
    }
}

/// A W3C `00-{trace-id}-{span-id}-{flags}` header value, formatted on the stack.
pub(crate) struct TraceHeaderValue([u8; 55]);

impl TraceHeaderValue {
    pub(crate) fn new(sc: &SpanContext) -> Self {
        let mut buf = [b'-'; 55];
        buf[..2].copy_from_slice(b"00");
        hex_into(&mut buf[3..35], &sc.trace_id().to_bytes());
        hex_into(&mut buf[36..52], &sc.span_id().to_bytes());
        hex_into(&mut buf[53..55], &[sc.trace_flags().to_u8()]);
        Self(buf)
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// A small string formatted into a stack buffer; longer values fall back to the heap.
struct StackStr<const N: usize> {
    buf: [u8; N],
    len: usize,
    heap: String,
}

impl<const N: usize> StackStr<N> {
    fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
            heap: String::new(),
        }
    }

    fn format(&mut self, value: impl std::fmt::Display) -> &str {
        use std::fmt::Write as _;
        self.len = 0;
        if write!(self, "{value}").is_ok() {
            // Only whole `&str`s were copied in, so the bytes are UTF-8.
            return std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default();
        }
        self.heap = value.to_string();
        &self.heap
    }
}

impl<const N: usize> std::fmt::Write for StackStr<N> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dest = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dest.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// One in-flight request. Records its metrics exactly once: when the response body ends, or
/// when it is dropped (client went away, body never polled, future cancelled).
pub(crate) struct Observation {
    inner: Arc<Inner>,
    start: Instant,
    /// Index in `semconv::METHODS`.
    method: usize,
    route: Arc<RouteSeries>,
    version: &'static str,
    request_body_size: Option<u64>,
    /// The request's `tracing` span: only under another span layer, or when asked for
    /// ([`HttpInstrumentationBuilder::tracing_span`]); else disabled.
    pub(crate) span: tracing::Span,
    /// The request span's OpenTelemetry context, when it was started without a `tracing` span
    /// (under our span layer): the adapters make it current around every poll.
    otel: Option<opentelemetry::Context>,
    pub(crate) request_id: RequestId,
    status: Option<u16>,
    error_type: Option<ErrorType>,
    response_bytes: u64,
    response_size_known: bool,
    done: bool,
}

impl Inner {
    /// Starts observing a request, or returns `None` for an excluded path.
    pub(crate) fn start(self: &Arc<Self>, req: RequestInfo<'_>) -> Option<Observation> {
        if self.excluded_paths.iter().any(|p| &**p == req.path) {
            return None;
        }
        let start = Instant::now();
        let method_index = semconv::method_index(req.method);
        let method = semconv::METHODS[method_index];
        let request_id = RequestId::new(req.request_id);
        let route = self.metrics.route(req.route);
        // Without an interested subscriber, skip the field values too (`tracing`'s `log`
        // fallback would otherwise format them for a disabled span).
        let (span, otel) = if !tracing::span_enabled!(target: HTTP_SPAN_TARGET, tracing::Level::INFO)
        {
            (tracing::Span::none(), None)
        } else {
            let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(req.headers));
            let remote = parent.span().span_context().is_valid() || !parent.baggage().is_empty();
            if ferrotel_tracing::span_layer_installed() {
                // Without a remote parent the request span is a root, whatever is current.
                let parent = if remote {
                    parent
                } else {
                    opentelemetry::Context::new()
                };
                // One allocation for the id, shared by the span attribute and the console field.
                let id = opentelemetry::StringValue::from(Arc::<str>::from(request_id.as_str()));
                let builder = self.span_builder(&req, method, &route, id.clone());
                if self.tracing_span {
                    let span = ferrotel_tracing::with_span_builder(builder, parent, || {
                        tracing::info_span!(
                            target: HTTP_SPAN_TARGET,
                            parent: None,
                            "HTTP request",
                            request_id = request_id.as_str(),
                        )
                    });
                    (span, None)
                } else {
                    let cx = ferrotel_tracing::start_span(
                        HTTP_SPAN_TARGET,
                        tracing::Level::INFO,
                        builder,
                        &parent,
                    )
                    .map(|cx| {
                        cx.with_value(ferrotel_tracing::ContextSpanFields {
                            name: "HTTP request",
                            fields: vec![("request_id", id)],
                        })
                    });
                    (tracing::Span::none(), cx)
                }
            } else {
                let span = self.request_span_from_fields(
                    &req,
                    method,
                    &request_id,
                    remote.then_some(parent),
                );
                (span, None)
            }
        };

        self.metrics.add_active(method_index, 1);
        Some(Observation {
            inner: Arc::clone(self),
            start,
            method: method_index,
            route,
            version: req.version,
            request_body_size: req.body_size,
            span,
            otel,
            request_id,
            status: None,
            error_type: None,
            response_bytes: 0,
            response_size_known: true,
            done: false,
        })
    }
}

impl Inner {
    /// The request span under our span layer, as an SDK span builder holding the typed
    /// attributes (the route template shared, constants not copied).
    fn span_builder(
        &self,
        req: &RequestInfo<'_>,
        method: &'static str,
        route: &RouteSeries,
        request_id: opentelemetry::StringValue,
    ) -> opentelemetry::trace::SpanBuilder {
        use opentelemetry::trace::{SpanBuilder, SpanKind};
        use semconv::attr;
        let mut attributes = Vec::with_capacity(11);
        attributes.push(KeyValue::new(attr::HTTP_REQUEST_METHOD, method));
        if method == semconv::ERROR_TYPE_OTHER {
            attributes.push(KeyValue::new(
                "http.request.method_original",
                req.method.to_owned(),
            ));
        }
        if let Some(template) = route.template() {
            attributes.push(KeyValue::new(attr::HTTP_ROUTE, Arc::clone(template)));
        }
        attributes.push(KeyValue::new("url.path", req.path.to_owned()));
        if let Some(query) = req.query.filter(|q| !q.is_empty()) {
            let query = semconv::redact_query(query, &self.sensitive_query_keys);
            attributes.push(KeyValue::new("url.query", query.into_owned()));
        }
        attributes.push(KeyValue::new(attr::URL_SCHEME, self.scheme));
        attributes.push(KeyValue::new(attr::NETWORK_PROTOCOL_VERSION, req.version));
        if let Some(agent) = req.user_agent {
            attributes.push(KeyValue::new("user_agent.original", agent.to_owned()));
        }
        if let Some(address) = req.client_address {
            attributes.push(KeyValue::new("client.address", address.to_string()));
        }
        attributes.push(KeyValue::new("request_id", request_id));
        SpanBuilder::from_name(route.span_name(semconv::method_index(method)))
            .with_kind(SpanKind::Server)
            .with_attributes(attributes)
    }

    /// The request span under another span layer (`tracing-opentelemetry`): every attribute is a
    /// field of the `tracing` span, and the remote parent is set through the span.
    fn request_span_from_fields(
        &self,
        req: &RequestInfo<'_>,
        method: &'static str,
        request_id: &RequestId,
        parent: Option<opentelemetry::Context>,
    ) -> tracing::Span {
        // Formatted on the stack: span layers copy `&str` fields into exactly sized strings,
        // whereas `Display` fields go through a growing `format!` buffer.
        let mut name = StackStr::<128>::new();
        let mut client = StackStr::<48>::new();
        // Every optional field is passed at creation (`Option` fields record only when `Some`):
        // one subscriber call instead of one `record` per field.
        let mut make = || {
            tracing::info_span!(
                target: HTTP_SPAN_TARGET,
                parent: None,
                "HTTP request",
                otel.name = name.format(semconv::SpanName { method, route: req.route }),
                otel.kind = "server",
                http.request.method = method,
                http.request.method_original = (method == "_OTHER").then_some(req.method),
                http.route = req.route,
                url.path = req.path,
                url.query = req
                    .query
                    .filter(|q| !q.is_empty())
                    .map(|q| semconv::redact_query(q, &self.sensitive_query_keys))
                    .as_deref(),
                url.scheme = self.scheme,
                network.protocol.version = req.version,
                user_agent.original = req.user_agent,
                client.address = req.client_address.as_ref().map(|a| client.format(a)),
                request_id = request_id.as_str(),
            )
        };
        match parent {
            Some(parent) => span_context::child_of(parent, make),
            None => make(),
        }
    }
}

impl Observation {
    /// Records the response status on the span. Returns the response headers to add:
    /// the trace-context header (when the span is sampled into a valid context) and the request id.
    ///
    /// `late_route` is a route template the adapter learnt only after the inner service ran
    /// (actix routes inside the wrapped service): it becomes `http.route` of the metrics and the
    /// span, and renames the span `{method} {route}`. `None` keeps what `start` saw.
    pub(crate) fn on_response(
        &mut self,
        status: u16,
        late_route: Option<&str>,
    ) -> ResponseHeaders<'_> {
        self.status = Some(status);
        if late_route.is_some() {
            self.route = self.inner.metrics.route(late_route);
        }
        let server_error = status >= 500;
        if server_error {
            self.error_type = Some(ErrorType::Status);
        }
        let mut trace = None;
        if let Some(cx) = self.otel_context() {
            // Set on the OpenTelemetry span directly: no subscriber dispatch per `record`.
            let span = cx.span();
            let mut attributes = Vec::with_capacity(3);
            attributes.push(KeyValue::new(
                semconv::attr::HTTP_RESPONSE_STATUS_CODE,
                i64::from(status),
            ));
            if server_error {
                span.set_status(Status::error(""));
                attributes.push(KeyValue::new(semconv::attr::ERROR_TYPE, status.to_string()));
            }
            if let Some(route) = late_route {
                attributes.push(KeyValue::new(semconv::attr::HTTP_ROUTE, route.to_owned()));
                let method = semconv::METHODS.get(self.method).copied();
                let method = method.unwrap_or(semconv::ERROR_TYPE_OTHER);
                span.update_name(
                    semconv::SpanName {
                        method,
                        route: Some(route),
                    }
                    .to_string(),
                );
            }
            span.set_attributes(attributes);
            let header = self.inner.trace_response_header;
            let sc = span.span_context();
            if header.enabled() && sc.is_valid() {
                trace = Some((header, TraceHeaderValue::new(sc)));
            }
        }
        ResponseHeaders {
            trace,
            request_id: &self.request_id,
        }
    }

    /// The request span's OpenTelemetry context, `None` when there is no request span.
    fn otel_context(&self) -> Option<std::borrow::Cow<'_, opentelemetry::Context>> {
        match &self.otel {
            Some(cx) => Some(std::borrow::Cow::Borrowed(cx)),
            None if self.span.is_disabled() => None,
            None => Some(std::borrow::Cow::Owned(span_context::of(&self.span))),
        }
    }

    /// Makes the request span current (when it has no `tracing` span to enter) until the guard
    /// is dropped: the adapters hold one around every call into the wrapped service.
    pub(crate) fn attach(&self) -> Option<opentelemetry::ContextGuard> {
        self.otel.clone().map(opentelemetry::Context::attach)
    }

    /// The configured request-id header name.
    #[cfg_attr(not(feature = "tower"), allow(dead_code))] // actix keeps its own name type
    pub(crate) fn request_id_header(&self) -> &http::HeaderName {
        &self.inner.request_id_header
    }

    /// Records that the service failed without a response, or that the response body failed
    /// (`error.type` = `_OTHER`).
    pub(crate) fn on_error(&mut self) {
        self.error_type = Some(ErrorType::Other);
        if let Some(cx) = self.otel_context() {
            cx.span().set_status(Status::error(""));
            cx.span().set_attribute(KeyValue::new(
                semconv::attr::ERROR_TYPE,
                semconv::ERROR_TYPE_OTHER,
            ));
        }
    }

    /// The response body is rendered outside this middleware: do not record its size.
    #[cfg_attr(not(feature = "actix"), allow(dead_code))] // only actix can lose the response
    pub(crate) fn response_size_unknown(&mut self) {
        self.response_size_known = false;
    }

    /// Counts response body bytes as they stream out.
    pub(crate) fn add_response_bytes(&mut self, n: usize) {
        self.response_bytes = self.response_bytes.saturating_add(n as u64);
    }

    /// Records every metric once. Called at end of body, and from `Drop` otherwise.
    pub(crate) fn finish(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        if let Some(cx) = &self.otel {
            cx.span().end();
        }
        let metrics = &self.inner.metrics;
        metrics.add_active(self.method, -1);
        if self.status.is_none() && self.error_type.is_none() {
            // Cancelled before any response: nothing was served, so only the gauge moves.
            return;
        }
        // The span is ended, but its context still names it.
        let exemplar = match ferrotel_meters::exemplar_filter() {
            ferrotel_meters::ExemplarFilter::AlwaysOff => None,
            _ => match self.otel_context() {
                Some(cx) => Offer::for_span(cx.span().span_context()),
                None => Offer::for_span(&SpanContext::empty_context()),
            },
        };
        metrics.record(
            &self.route,
            &Measurement {
                method: self.method,
                version: self.version,
                status: self.status,
                error: self.error_type,
                duration_s: self.start.elapsed().as_secs_f64(),
                request_body_size: self.request_body_size,
                response_body_size: (self.status.is_some() && self.response_size_known)
                    .then_some(self.response_bytes),
                exemplar,
            },
        );
    }
}

impl Drop for Observation {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The body size a request announces: Content-Length, else 0 when it cannot carry a body.
pub(crate) fn announced_body_size(content_length: Option<&str>, chunked: bool) -> Option<u64> {
    match content_length {
        Some(v) => v.trim().parse().ok(),
        None if chunked => None,
        None => Some(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_sanitised() {
        assert!(valid_request_id(b"abc-123_DEF.4"));
        assert!(!valid_request_id(b""));
        assert!(!valid_request_id(b"a b"));
        assert!(!valid_request_id(b"x\"y"));
        assert!(!valid_request_id("a".repeat(129).as_bytes()));
        let kept = RequestId::new(Some(b"abc-123"));
        assert_eq!((kept.as_str(), kept.generated()), ("abc-123", false));
        let long = "a".repeat(128);
        assert_eq!(RequestId::new(Some(long.as_bytes())).as_str(), long);
        for incoming in [None, Some(&b"bad id"[..])] {
            let id = RequestId::new(incoming);
            assert!(id.generated());
            assert_eq!(id.as_str().len(), 32);
            assert!(id.as_bytes().iter().all(u8::is_ascii_hexdigit));
        }
        assert_ne!(RequestId::new(None).as_str(), RequestId::new(None).as_str());
    }

    #[test]
    fn stack_strings_fall_back_to_the_heap() {
        let mut small = StackStr::<8>::new();
        assert_eq!(small.format("GET /a"), "GET /a");
        assert_eq!(small.format("GET /users/{id}"), "GET /users/{id}");
        assert_eq!(small.format(7), "7");
    }

    #[test]
    fn trace_header_value_is_w3c() {
        use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};
        let sc = SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("hex"),
            SpanId::from_hex("00f067aa0ba902b7").expect("hex"),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        );
        assert_eq!(
            TraceHeaderValue::new(&sc).as_bytes(),
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
    }

    #[test]
    fn exclusions_are_configurable() {
        let default = HttpInstrumentation::builder().build();
        assert!(
            DEFAULT_EXCLUDED_PATHS
                .iter()
                .all(|p| default.is_excluded(p))
        );
        assert!(!default.is_excluded("/healthz-not-listed"));
        let all = HttpInstrumentation::builder()
            .instrument_all_paths()
            .exclude_path("/internal")
            .build();
        assert!(!all.is_excluded("/health"));
        assert!(all.is_excluded("/internal"));
        assert!(
            HttpInstrumentation::builder()
                .request_id_header("bad header")
                .is_err()
        );
    }

    #[test]
    fn announced_sizes() {
        assert_eq!(announced_body_size(Some("12"), false), Some(12));
        assert_eq!(announced_body_size(Some("x"), false), None);
        assert_eq!(announced_body_size(None, true), None);
        assert_eq!(announced_body_size(None, false), Some(0));
    }
}
