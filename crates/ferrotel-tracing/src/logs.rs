//! [`LogBridge`]: `tracing` events -> OpenTelemetry log records.
//!
//! A pure mapper. Each event that passes the optional [`Targets`] filter and the logger's own
//! `event_enabled` becomes one record:
//!
//! | `tracing` | OpenTelemetry log record |
//! |---|---|
//! | level | severity number and text (`TRACE`..`ERROR`) |
//! | target, callsite name | target, event name |
//! | `message` field | body (a string) |
//! | other fields | attributes: `i64`, `u64` that fit, `f64` and `bool` keep their type; larger `u64`, strings, `Debug` and `Error` values become strings |
//! | the OpenTelemetry context current at the event (the span layer makes an entered span current) | trace id, span id and trace flags |
//! | wall clock at the event | timestamp |
//!
//! A field whose `Debug`/`Display`/`Error` formatting panics is recorded as
//! [`FORMAT_PANIC_MARKER`](crate::FORMAT_PANIC_MARKER) (see [`panic_safe`]).
//!
//! Values are mapped as they are: no redaction, no truncation, no attribute-count limit. Those
//! belong to the processing of the logger's pipeline (`ferrotel` runs admission, redaction and
//! value limits, in that order, in front of each exporter), so that every record is processed
//! in one place and in one order, whichever bridge produced it. A bridge that truncated here
//! would cut a secret before a redactor downstream could recognise it.
//!
//! Compared with `opentelemetry-appender-tracing`: the same mapping, plus a callsite-memoized
//! target filter checked inside the layer ([`LogBridge::with_targets`]) and trace context set
//! explicitly, so it works with any [`Logger`], not only the SDK's.

use std::time::SystemTime;

use opentelemetry::Key;
use opentelemetry::logs::{AnyValue, LogRecord, Logger, Severity};
use opentelemetry::trace::TraceContextExt as _;
use tracing_core::field::{Field, Visit};
use tracing_core::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::Context;

use crate::memo::CallsiteTargets;
use crate::panic_safe;

/// A [`Layer`] that turns every `tracing` event into an OpenTelemetry log record emitted through
/// `L`; see the [module docs](self) for the mapping.
///
/// ```
/// use opentelemetry::logs::LoggerProvider as _;
/// use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLoggerProvider, SimpleLogProcessor};
/// use tracing_subscriber::layer::SubscriberExt as _;
///
/// let exporter = InMemoryLogExporter::default();
/// let provider = SdkLoggerProvider::builder()
///     .with_log_processor(SimpleLogProcessor::new(exporter.clone()))
///     .build();
/// let bridge = ferrotel_tracing::LogBridge::new(provider.logger("app"))
///     .with_targets("info".parse().expect("valid directives"));
/// let subscriber = tracing_subscriber::registry().with(bridge);
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::info!(user = "ada", attempt = 2, "signed in");
///     tracing::debug!("filtered out");
/// });
/// let logs = exporter.get_emitted_logs().expect("in-memory logs");
/// assert_eq!(logs.len(), 1);
/// assert_eq!(logs[0].record.body(), Some(&"signed in".into()));
/// ```
pub struct LogBridge<L> {
    logger: L,
    targets: Option<CallsiteTargets>,
    text: Option<TextProcessor>,
    max_attributes: usize,
}

/// Rewrites a string value (the body or an attribute) before it is put in the record; `None`
/// keeps it as it is. See [`LogBridge::with_text_processor`].
pub type TextProcessor = std::sync::Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

impl<L> std::fmt::Debug for LogBridge<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogBridge")
            .field("targets", &self.targets)
            .field("max_attributes", &self.max_attributes)
            .finish_non_exhaustive()
    }
}

impl<L: Logger> LogBridge<L> {
    /// A bridge emitting through `logger`.
    pub fn new(logger: L) -> Self {
        Self {
            logger,
            targets: None,
            text: None,
            max_attributes: usize::MAX,
        }
    }

    /// Runs `text` on every string value while the record is built. A pipeline that must redact
    /// and then cut values does both here, in that order: the SDK offers no way to edit a
    /// record's attributes once built, and cutting first could leave part of a secret behind.
    pub fn with_text_processor(mut self, text: TextProcessor) -> Self {
        self.text = Some(text);
        self
    }

    /// Keeps at most `max` attributes per record (the first ones, in field order).
    pub fn with_max_attributes(mut self, max: usize) -> Self {
        self.max_attributes = max;
        self
    }

    /// Only events that `targets` enables become log records. Checked inside the layer with a
    /// per-callsite memo ([`CallsiteTargets`]), which costs less than a per-layer filter; like
    /// [`OtelSpanLayer::with_targets`](crate::OtelSpanLayer::with_targets), it does not take
    /// part in callsite interest.
    pub fn with_targets(mut self, targets: Targets) -> Self {
        self.targets = Some(CallsiteTargets::new(targets));
        self
    }

    /// The logger records are emitted through.
    pub fn logger(&self) -> &L {
        &self.logger
    }
}

/// The OpenTelemetry severity of a `tracing` level.
pub fn severity_of(level: &Level) -> Severity {
    match *level {
        Level::TRACE => Severity::Trace,
        Level::DEBUG => Severity::Debug,
        Level::INFO => Severity::Info,
        Level::WARN => Severity::Warn,
        Level::ERROR => Severity::Error,
    }
}

impl<S, L> Layer<S> for LogBridge<L>
where
    S: Subscriber,
    L: Logger + Send + Sync + 'static,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if let Some(targets) = &self.targets
            && !targets.enabled(meta)
        {
            return;
        }
        let severity = severity_of(meta.level());
        if !self
            .logger
            .event_enabled(severity, meta.target(), Some(meta.name()))
        {
            return;
        }
        let mut record = self.logger.create_log_record();
        record.set_target(meta.target());
        record.set_event_name(meta.name());
        record.set_severity_number(severity);
        record.set_severity_text(meta.level().as_str());
        record.set_timestamp(SystemTime::now());
        opentelemetry::Context::map_current(|cx| {
            let span = cx.span();
            let sc = span.span_context();
            if sc.is_valid() {
                record.set_trace_context(sc.trace_id(), sc.span_id(), Some(sc.trace_flags()));
            }
        });
        event.record(&mut RecordVisitor {
            record: &mut record,
            text: self.text.as_ref(),
            room: self.max_attributes,
        });
        self.logger.emit(record);
    }
}

/// Writes each field of an event into the record.
struct RecordVisitor<'a, R> {
    record: &'a mut R,
    text: Option<&'a TextProcessor>,
    /// Attributes that may still be added.
    room: usize,
}

impl<R: LogRecord> RecordVisitor<'_, R> {
    fn attribute(&mut self, field: &Field, value: AnyValue) {
        if self.room > 0 {
            self.room -= 1;
            self.record
                .add_attribute(Key::from_static_str(field.name()), value);
        }
    }
}

impl<R: LogRecord> Visit for RecordVisitor<'_, R> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let value = match self.text.and_then(|text| text(value)) {
            Some(rewritten) => rewritten,
            None => value.to_owned(),
        };
        let value = AnyValue::String(value.into());
        if field.name() == "message" {
            self.record.set_body(value);
        } else {
            self.attribute(field, value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &panic_safe::debug_to_string(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_str(field, &panic_safe::display_to_string(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.attribute(field, AnyValue::Int(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(v) => self.attribute(field, AnyValue::Int(v)),
            Err(_) => self.record_str(field, &value.to_string()),
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.attribute(field, AnyValue::Double(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.attribute(field, AnyValue::Boolean(value));
    }
}
