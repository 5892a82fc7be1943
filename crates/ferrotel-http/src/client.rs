//! Client-side propagation for `reqwest` (feature `reqwest`).
//!
//! [`ClientTracing`] is a `reqwest-middleware` [`Middleware`]: each request gets a client span
//! (`tracing` target `ferrotel::http`, `otel.kind = "client"`), its trace context injected
//! through the global propagator (W3C `traceparent`/`tracestate`/`baggage` by default), and an
//! `http.client.request.duration` measurement. Without reqwest-middleware, call
//! [`inject_context`] on a request's headers.

use std::time::Instant;

use http::Extensions;
use opentelemetry::metrics::{Histogram, MeterProvider};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::{InstrumentationScope, KeyValue};
use reqwest_middleware::{Middleware, Next, Result};
use tracing::Instrument;
use tracing::field::Empty;

use crate::HTTP_SPAN_TARGET;
use crate::headers::HeaderInjector;
use crate::instrumentation::SCOPE_NAME;
use crate::semconv::{self, attr};
use crate::span_context;

/// Injects the current `tracing` span's OpenTelemetry context (outside any `tracing` span, the
/// current OpenTelemetry context: the request span of the server middleware) into `headers`
/// with the global propagator. Use it when not going through [`ClientTracing`].
pub fn inject_context(headers: &mut http::HeaderMap) {
    let span = tracing::Span::current();
    let cx = if span.is_disabled() {
        opentelemetry::Context::current()
    } else {
        span_context::of(&span)
    };
    inject_context_from(&cx, headers);
}

/// Injects an explicit OpenTelemetry context into `headers` with the global propagator.
pub fn inject_context_from(cx: &opentelemetry::Context, headers: &mut http::HeaderMap) {
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(cx, &mut HeaderInjector(headers))
    });
}

/// reqwest-middleware middleware: client spans, context injection, `http.client.request.duration`.
#[derive(Debug, Clone)]
pub struct ClientTracing {
    duration: Histogram<f64>,
    duration_exemplars: Option<std::sync::Arc<ferrotel_meters::exemplars::InstrumentExemplars>>,
    sensitive_query_keys: Vec<Box<str>>,
}

impl Default for ClientTracing {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientTracing {
    /// A middleware recording `http.client.request.duration` with a meter from the **global**
    /// meter provider (the one `ferrotel::init()` installs with `global(true)`, its default).
    ///
    /// The meter is taken once, here: build the middleware after the global provider is set,
    /// or its measurements go to the no-op provider that was global before. Spans go to the
    /// global `tracing` subscriber either way.
    ///
    /// ```
    /// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
    ///     .with(ferrotel_http::client::ClientTracing::new())
    ///     .build();
    /// # drop(client);
    /// ```
    pub fn new() -> Self {
        Self::with_meter(opentelemetry::global::meter_with_scope(scope()))
    }

    /// A middleware recording `http.client.request.duration` with a meter from `provider`
    /// (for example the guard's `telemetry.meter_provider()`, or a test's own provider), so
    /// the measurements do not depend on which provider is global.
    ///
    /// ```
    /// use ferrotel::opentelemetry_sdk::metrics::SdkMeterProvider;
    ///
    /// let provider = SdkMeterProvider::builder().build();
    /// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
    ///     .with(ferrotel_http::client::ClientTracing::with_meter_provider(&provider))
    ///     .build();
    /// # drop(client);
    /// ```
    pub fn with_meter_provider<P: MeterProvider + ?Sized>(provider: &P) -> Self {
        Self::with_meter(provider.meter_with_scope(scope()))
    }

    fn with_meter(meter: opentelemetry::metrics::Meter) -> Self {
        Self {
            duration_exemplars: ferrotel_meters::exemplars::InstrumentExemplars::register(
                "http.client.request.duration",
                &semconv::DURATION_BUCKETS[..],
            ),
            duration: meter
                .f64_histogram("http.client.request.duration")
                .with_unit("s")
                .with_description("Duration of HTTP client requests.")
                .with_boundaries(semconv::DURATION_BUCKETS.to_vec())
                .build(),
            sensitive_query_keys: crate::semconv::default_sensitive_keys(),
        }
    }
}

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(SCOPE_NAME)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// `url.full` without credentials and with sensitive query values redacted (semconv).
fn redacted_url(url: &reqwest::Url, keys: &[Box<str>]) -> String {
    let mut url = url.clone();
    if !url.username().is_empty() {
        let _ = url.set_username(semconv::REDACTED);
    }
    if url.password().is_some() {
        let _ = url.set_password(Some(semconv::REDACTED));
    }
    if let Some(q) = url.query() {
        let redacted = semconv::redact_query(q, keys).into_owned();
        url.set_query(Some(&redacted));
    }
    url.into()
}

#[async_trait::async_trait]
impl Middleware for ClientTracing {
    async fn handle(
        &self,
        mut req: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<reqwest::Response> {
        let method = semconv::normalize_method(req.method().as_str());
        let url = req.url();
        let host = url.host_str().unwrap_or_default().to_owned();
        let port = url.port_or_known_default().map(i64::from);
        let scheme: &'static str = if url.scheme() == "https" {
            "https"
        } else {
            "http"
        };
        let span = tracing::info_span!(
            target: HTTP_SPAN_TARGET,
            "HTTP client request",
            otel.name = if method == "_OTHER" { "HTTP" } else { method },
            otel.kind = "client",
            otel.status_code = Empty,
            http.request.method = method,
            http.response.status_code = Empty,
            server.address = %host,
            server.port = port,
            url.full = %redacted_url(url, &self.sensitive_query_keys),
            error.type = Empty,
        );
        inject_context_from(&span_context::of(&span), req.headers_mut());

        let mut attrs = vec![
            KeyValue::new(attr::HTTP_REQUEST_METHOD, method),
            KeyValue::new(attr::SERVER_ADDRESS, host),
            KeyValue::new(attr::URL_SCHEME, scheme),
        ];
        if let Some(port) = port {
            attrs.push(KeyValue::new(attr::SERVER_PORT, port));
        }
        let start = Instant::now();
        let result = next.run(req, extensions).instrument(span.clone()).await;
        let elapsed = start.elapsed().as_secs_f64();
        match &result {
            Ok(response) => {
                let status = response.status().as_u16();
                span.record("http.response.status_code", i64::from(status));
                attrs.push(KeyValue::new(
                    attr::HTTP_RESPONSE_STATUS_CODE,
                    i64::from(status),
                ));
                attrs.push(KeyValue::new(
                    attr::NETWORK_PROTOCOL_VERSION,
                    semconv::protocol_version(response.version()),
                ));
                if status >= 400 {
                    span.record("otel.status_code", "error");
                    span.record("error.type", status.to_string());
                    attrs.push(KeyValue::new(attr::ERROR_TYPE, status.to_string()));
                }
            }
            Err(error) => {
                let kind = error_type(error);
                span.record("otel.status_code", "error");
                span.record("error.type", kind);
                attrs.push(KeyValue::new(attr::ERROR_TYPE, kind));
            }
        }
        self.duration.record(elapsed, &attrs);
        if let Some(exemplars) = &self.duration_exemplars
            && let Some(offer) = ferrotel_meters::exemplars::Offer::for_span(
                span_context::of(&span).span().span_context(),
            )
        {
            exemplars.offer(elapsed, offer, &attrs);
        }
        result
    }
}

fn error_type(error: &reqwest_middleware::Error) -> &'static str {
    match error {
        reqwest_middleware::Error::Reqwest(e) if e.is_timeout() => "timeout",
        reqwest_middleware::Error::Reqwest(e) if e.is_connect() => "connect",
        reqwest_middleware::Error::Reqwest(e) if e.is_request() => "request",
        reqwest_middleware::Error::Reqwest(e) if e.is_body() || e.is_decode() => "body",
        _ => semconv::ERROR_TYPE_OTHER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_full_is_redacted() {
        let url = reqwest::Url::parse("http://u:p@h:1/x?sig=1&a=2").unwrap();
        assert_eq!(
            redacted_url(&url, &semconv::default_sensitive_keys()),
            "http://REDACTED:REDACTED@h:1/x?sig=REDACTED&a=2"
        );
    }
}
