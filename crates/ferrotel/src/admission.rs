//! The processing order of every signal, in one place: admission (the configured queue bound,
//! counted), then redaction, then value limits, then the batch processor (`batch`) and its
//! exporter.
//!
//! For spans, admission runs where the span ends (on the application's thread, so that a full
//! queue refuses at once), and redaction and value limits ([`SpanPreparation`]) run on the batch
//! processor's thread just before each export: the application's thread does not pay for the
//! scanning, and nothing is exported unredacted. Logs are limited by the bridge where the record
//! is built (the SDK offers no way to edit a record's attributes afterwards).
//!
//! The admission processors enforce the configured queue size and count what they turn away
//! (`accounting`); the batch processor behind them only grows its queue as far as admission
//! lets it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::SdkLogRecord;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use crate::accounting::Accounting;
use crate::limits;

/// Edits every admitted span in the exporting pipelines, before value limits apply (redaction).
#[derive(Clone)]
pub(crate) struct SpanEditor(pub std::sync::Arc<dyn Fn(&mut SpanData) + Send + Sync>);

impl fmt::Debug for SpanEditor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SpanEditor")
    }
}

/// Admission control in front of a batch span processor.
#[derive(Debug)]
pub(crate) struct AdmissionSpanProcessor<P> {
    pub inner: P,
    pub counters: Option<Arc<Accounting>>,
    pub capacity: usize,
}

/// What happens to every admitted span before it is exported, in this order: redaction, then
/// value limits (so that a secret is matched whole before a truncation could cut it).
#[derive(Debug, Clone)]
pub(crate) struct SpanPreparation {
    pub edit: Option<SpanEditor>,
    pub max_value_len: usize,
}

impl SpanPreparation {
    pub(crate) fn apply(&self, span: &mut SpanData) {
        if let Some(edit) = &self.edit {
            (edit.0)(span);
        }
        limits::limit_span(span, self.max_value_len);
    }
}

impl<P: SpanProcessor> SpanProcessor for AdmissionSpanProcessor<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        if let Some(acc) = &self.counters
            && !acc.spans.admit(self.capacity)
        {
            return;
        }
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Admission control in front of a batch log processor (value limits are applied by the bridge,
/// where the record is built, because the SDK offers no way to edit attributes afterwards).
#[derive(Debug)]
pub(crate) struct AdmissionLogProcessor<P> {
    pub inner: P,
    pub counters: Option<Arc<Accounting>>,
    pub capacity: usize,
}

impl<P: opentelemetry_sdk::logs::LogProcessor> opentelemetry_sdk::logs::LogProcessor
    for AdmissionLogProcessor<P>
{
    fn emit(&self, data: &mut SdkLogRecord, scope: &opentelemetry::InstrumentationScope) {
        if let Some(acc) = &self.counters
            && !acc.logs.admit(self.capacity)
        {
            return;
        }
        self.inner.emit(data, scope);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }

    fn event_enabled(
        &self,
        level: opentelemetry::logs::Severity,
        target: &str,
        name: Option<&str>,
    ) -> bool {
        self.inner.event_enabled(level, target, name)
    }
}
