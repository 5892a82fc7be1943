//! [`RedactingLogProcessor`]: redacts log records in place.

use crate::Redactor;
use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _};
use opentelemetry::{InstrumentationScope, Key, logs::AnyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord, SdkLogger, SdkLoggerProvider};
use std::sync::OnceLock;
use std::time::Duration;

impl Redactor {
    /// Redacts a log record in place: the body (nested maps and lists walked,
    /// map keys checked against the sensitive keys) and the attributes.
    ///
    /// `SdkLogRecord` (opentelemetry_sdk 0.33) has no way to change or remove
    /// an attribute, so when an attribute must change the record is rebuilt
    /// field by field; records whose attributes are clean are only touched
    /// where the body changed.
    pub fn redact_log_record(&self, record: &mut SdkLogRecord) {
        if let Some(body) = record.body()
            && let Some(new_body) = self.redact_any_value(None, body)
        {
            record.set_body(new_body);
        }
        let mut attributes: Option<Vec<(Key, AnyValue)>> = None;
        for (i, (key, value)) in record.attributes_iter().enumerate() {
            if let Some(new) = self.redact_any_value(Some(key.as_str()), value) {
                attributes.get_or_insert_with(|| record.attributes_iter().cloned().collect())[i]
                    .1 = new;
            }
        }
        if let Some(attributes) = attributes {
            *record = rebuild(record, attributes);
        }
    }

    /// A log processor that redacts every record in place. Register it on the
    /// logger provider BEFORE the batch/simple processor that exports: the SDK
    /// calls processors in registration order with the same record.
    pub fn log_processor(&self) -> RedactingLogProcessor {
        RedactingLogProcessor {
            redactor: self.clone(),
        }
    }
}

/// `SdkLogRecord::new` is crate-private; a logger of a processor-less provider
/// creates empty records. Created once, never dropped.
fn record_factory() -> &'static SdkLogger {
    static FACTORY: OnceLock<SdkLogger> = OnceLock::new();
    FACTORY.get_or_init(|| {
        SdkLoggerProvider::builder()
            .build()
            .logger("ferrotel-redaction")
    })
}

fn rebuild(old: &SdkLogRecord, attributes: Vec<(Key, AnyValue)>) -> SdkLogRecord {
    let mut new = record_factory().create_log_record();
    if let Some(name) = old.event_name() {
        new.set_event_name(name);
    }
    if let Some(target) = old.target() {
        new.set_target(target.clone());
    }
    if let Some(t) = old.timestamp() {
        new.set_timestamp(t);
    }
    if let Some(t) = old.observed_timestamp() {
        new.set_observed_timestamp(t);
    }
    if let Some(cx) = old.trace_context() {
        new.set_trace_context(cx.trace_id, cx.span_id, cx.trace_flags);
    }
    if let Some(text) = old.severity_text() {
        new.set_severity_text(text);
    }
    if let Some(n) = old.severity_number() {
        new.set_severity_number(n);
    }
    if let Some(body) = old.body() {
        new.set_body(body.clone());
    }
    new.add_attributes(attributes);
    new
}

/// A [`LogProcessor`] that redacts records in `emit` (see
/// [`Redactor::redact_log_record`]) and exports nothing itself. Register it
/// before the exporting processor.
///
/// ```
/// use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLoggerProvider, SimpleLogProcessor};
/// use ferrotel_redaction::Redactor;
///
/// let exporter = InMemoryLogExporter::default();
/// let provider = SdkLoggerProvider::builder()
///     .with_log_processor(Redactor::default().log_processor())
///     .with_log_processor(SimpleLogProcessor::new(exporter.clone()))
///     .build();
/// # drop(provider);
/// ```
#[derive(Debug, Clone)]
pub struct RedactingLogProcessor {
    redactor: Redactor,
}

impl RedactingLogProcessor {
    /// A processor using `redactor`.
    pub fn new(redactor: Redactor) -> Self {
        Self { redactor }
    }
}

impl LogProcessor for RedactingLogProcessor {
    fn emit(&self, record: &mut SdkLogRecord, _scope: &InstrumentationScope) {
        self.redactor.redact_log_record(record);
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}
