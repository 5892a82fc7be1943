//! [`RedactingSpanProcessor`]: redacts finished spans, then hands them on.

use crate::Redactor;
use opentelemetry::Context;
use opentelemetry::trace::Status;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use std::borrow::Cow;
use std::time::Duration;

impl Redactor {
    /// Redacts a finished span in place: name, attributes, event names and
    /// attributes (including `exception.message` and `exception.stacktrace`),
    /// link attributes and the error status description.
    pub fn redact_span(&self, span: &mut SpanData) {
        if let Some(name) = self.redact_name(&span.name) {
            span.name = Cow::Owned(name);
        }
        self.redact_attributes(&mut span.attributes);
        for event in &mut span.events.events {
            if let Some(name) = self.redact_name(&event.name) {
                event.name = Cow::Owned(name);
            }
            self.redact_attributes(&mut event.attributes);
        }
        for link in &mut span.links.links {
            self.redact_attributes(&mut link.attributes);
        }
        if let Status::Error { description } = &mut span.status
            && let Some(d) = self.redact_cow(description)
        {
            *description = Cow::Owned(d);
        }
    }

    /// Span and event names are mostly `&'static str` literals, the same few on every span:
    /// their clean verdict is remembered per thread (see [`crate::static_memo`]).
    #[expect(
        clippy::ptr_arg,
        reason = "the variant tells whether the text is 'static"
    )]
    fn redact_name(&self, name: &Cow<'static, str>) -> Option<String> {
        match name {
            Cow::Borrowed(text) => crate::static_memo::redact_static(self, text),
            Cow::Owned(text) => self.redact_cow(text),
        }
    }

    pub(crate) fn redact_cow(&self, text: &str) -> Option<String> {
        match self.redact(text) {
            Cow::Owned(s) => Some(s),
            Cow::Borrowed(_) => None,
        }
    }

    /// Wraps `inner` so that every span reaching it is redacted first.
    pub fn span_processor<P: SpanProcessor>(&self, inner: P) -> RedactingSpanProcessor<P> {
        RedactingSpanProcessor::new(self.clone(), inner)
    }
}

/// A span processor wrapper: `on_end` redacts the finished span (see
/// [`Redactor::redact_span`]) and forwards it to the inner processor (usually
/// the batch processor in front of the exporter). `set_resource` forwards a
/// redacted resource, so the inner exporter sees redacted resource attributes
/// too. `on_start`, `force_flush` and `shutdown` are forwarded unchanged.
///
/// Inner processors that read spans in `on_start` see them unredacted.
///
/// ```
/// use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SimpleSpanProcessor};
/// use ferrotel_redaction::Redactor;
///
/// let exporter = InMemorySpanExporter::default();
/// let processor = Redactor::default().span_processor(SimpleSpanProcessor::new(exporter.clone()));
/// let provider = SdkTracerProvider::builder().with_span_processor(processor).build();
/// # drop(provider);
/// ```
#[derive(Debug)]
pub struct RedactingSpanProcessor<P> {
    redactor: Redactor,
    inner: P,
}

impl<P: SpanProcessor> RedactingSpanProcessor<P> {
    /// Wraps `inner`.
    pub fn new(redactor: Redactor, inner: P) -> Self {
        Self { redactor, inner }
    }

    /// The wrapped processor.
    pub fn inner(&self) -> &P {
        &self.inner
    }
}

impl<P: SpanProcessor> SpanProcessor for RedactingSpanProcessor<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, mut span: SpanData) {
        self.redactor.redact_span(&mut span);
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn shutdown(&self) -> OTelSdkResult {
        self.inner.shutdown()
    }

    fn set_resource(&mut self, resource: &Resource) {
        let redacted = self.redactor.redact_resource(resource);
        self.inner.set_resource(&redacted);
    }
}

/// A boxed span processor usable as the inner processor of
/// [`RedactingSpanProcessor`] (the SDK has no `SpanProcessor` impl for
/// `Box<dyn SpanProcessor>`).
#[derive(Debug)]
pub struct BoxedSpanProcessor(pub Box<dyn SpanProcessor>);

impl SpanProcessor for BoxedSpanProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.0.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        self.0.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn shutdown(&self) -> OTelSdkResult {
        self.0.shutdown()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}
