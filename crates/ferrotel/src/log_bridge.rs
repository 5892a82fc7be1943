//! `tracing` events -> OpenTelemetry log records.
//!
//! Our own bridge rather than `opentelemetry-appender-tracing`: the SDK offers no way to edit a
//! record's attributes once built, so redaction and the value-length limit must be applied while
//! the record is built, here.

use std::borrow::Cow;
use std::time::SystemTime;

use ferrotel_tracing::CallsiteTargets;
use opentelemetry::Key;
use opentelemetry::logs::{AnyValue, LogRecord, Logger, Severity};
use opentelemetry_sdk::logs::SdkLogger;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;

use crate::ValueRedactor;

/// The log-record bridge layer.
pub(crate) struct LogBridge {
    pub logger: SdkLogger,
    /// Checked per event when the layer is not wrapped in a per-layer filter (see
    /// `subscriber::build`).
    pub targets: Option<CallsiteTargets>,
    pub redactor: Option<ValueRedactor>,
    pub max_value_len: usize,
    pub max_attributes: usize,
}

fn severity(level: &Level) -> Severity {
    match *level {
        Level::TRACE => Severity::Trace,
        Level::DEBUG => Severity::Debug,
        Level::INFO => Severity::Info,
        Level::WARN => Severity::Warn,
        Level::ERROR => Severity::Error,
    }
}

impl<S: Subscriber> Layer<S> for LogBridge {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if let Some(targets) = &self.targets
            && !targets.enabled(meta)
        {
            return;
        }
        let sev = severity(meta.level());
        if !self
            .logger
            .event_enabled(sev, meta.target(), Some(meta.name()))
        {
            return;
        }
        let mut record = self.logger.create_log_record();
        record.set_target(meta.target());
        record.set_event_name(meta.name());
        record.set_severity_number(sev);
        record.set_severity_text(meta.level().as_str());
        record.set_timestamp(SystemTime::now());
        let mut visitor = RecordVisitor {
            bridge: self,
            record: &mut record,
            attributes: 0,
        };
        event.record(&mut visitor);
        self.logger.emit(record);
    }
}

struct RecordVisitor<'a, R> {
    bridge: &'a LogBridge,
    record: &'a mut R,
    attributes: usize,
}

impl<R: LogRecord> RecordVisitor<'_, R> {
    /// Redacts and truncates one string value.
    fn text(&self, value: &str) -> String {
        let redacted = match &self.bridge.redactor {
            Some(r) => r(value).map_or(Cow::Borrowed(value), Cow::Owned),
            None => Cow::Borrowed(value),
        };
        let max = self.bridge.max_value_len;
        if redacted.len() <= max {
            return redacted.into_owned();
        }
        let mut cut = max;
        while !redacted.is_char_boundary(cut) {
            cut -= 1;
        }
        redacted[..cut].to_string()
    }

    fn attribute(&mut self, key: &'static str, value: AnyValue) {
        if self.attributes < self.bridge.max_attributes {
            self.attributes += 1;
            self.record.add_attribute(Key::from_static_str(key), value);
        }
    }
}

impl<R: LogRecord> Visit for RecordVisitor<'_, R> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let value = self.text(value);
        if field.name() == "message" {
            self.record.set_body(AnyValue::String(value.into()));
        } else {
            self.attribute(field.name(), AnyValue::String(value.into()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_str(field, &value.to_string());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.attribute(field.name(), AnyValue::Int(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(v) => self.attribute(field.name(), AnyValue::Int(v)),
            Err(_) => self.record_str(field, &value.to_string()),
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.attribute(field.name(), AnyValue::Double(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.attribute(field.name(), AnyValue::Boolean(value));
    }
}
