//! `tracing` field values to OpenTelemetry attributes, and the `otel.*` control fields.

use std::borrow::Cow;
use std::fmt;

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{Key, KeyValue, Value};
use tracing_core::field::{Field, Visit};

use crate::panic_safe;

pub(crate) const NAME_FIELD: &str = "otel.name";
pub(crate) const KIND_FIELD: &str = "otel.kind";
pub(crate) const STATUS_CODE_FIELD: &str = "otel.status_code";
pub(crate) const STATUS_DESCRIPTION_FIELD: &str = "otel.status_description";
const MESSAGE_FIELD: &str = "message";

/// What a set of fields asks for: attributes plus, for spans, the `otel.*` controls and, for
/// events, the message that names the event.
#[derive(Default)]
pub(crate) struct Fields {
    pub attributes: Vec<KeyValue>,
    pub name: Option<Cow<'static, str>>,
    pub kind: Option<SpanKind>,
    pub status_code: Option<StatusCode>,
    pub status_description: Option<String>,
    /// The message of a field recorded as `&dyn Error`.
    pub exception: Option<String>,
    /// Event fields: `message` is the name and `otel.*` fields are plain attributes.
    event: bool,
}

/// The `otel.status_code` values.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum StatusCode {
    Ok,
    Error,
    Unset,
}

impl Fields {
    /// Fields of a span (creation or `record`).
    pub(crate) fn span(capacity: usize) -> Self {
        Self {
            attributes: Vec::with_capacity(capacity),
            ..Self::default()
        }
    }

    /// Fields of an event.
    pub(crate) fn event(capacity: usize) -> Self {
        Self {
            attributes: Vec::with_capacity(capacity),
            event: true,
            ..Self::default()
        }
    }

    /// The status these fields set, if any.
    pub(crate) fn status(&mut self) -> Option<Status> {
        let description = self.status_description.take().unwrap_or_default();
        match self.status_code? {
            StatusCode::Ok => Some(Status::Ok),
            StatusCode::Error => Some(Status::error(description)),
            StatusCode::Unset => None,
        }
    }

    /// Consumes a field that is not an attribute; `false` when it is one.
    fn control(&mut self, field: &Field, value: &str) -> bool {
        let name = field.name();
        if self.event {
            if name != MESSAGE_FIELD {
                return false;
            }
            self.name = Some(Cow::Owned(value.to_owned()));
            return true;
        }
        match name {
            NAME_FIELD => self.name = Some(Cow::Owned(value.to_owned())),
            KIND_FIELD => self.kind = span_kind(value),
            STATUS_CODE_FIELD => self.status_code = status_code(value),
            STATUS_DESCRIPTION_FIELD => self.status_description = Some(value.to_owned()),
            _ => return false,
        }
        true
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if !self.control(field, value) {
            self.attributes
                .push(KeyValue::new(field.name(), value.to_owned()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = panic_safe::debug_to_string(value);
        if !self.control(field, &text) {
            self.attributes.push(KeyValue::new(field.name(), text));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let message = panic_safe::display_to_string(value);
        self.attributes
            .push(KeyValue::new(field.name(), message.clone()));
        self.exception = Some(message);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.attributes.push(KeyValue::new(field.name(), value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.attributes.push(kv(field, unsigned(value)));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.attributes.push(kv(field, wide(value)));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        let value = i128::try_from(value).map_or_else(|_| Value::from(value.to_string()), wide);
        self.attributes.push(kv(field, value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.attributes.push(KeyValue::new(field.name(), value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.attributes.push(KeyValue::new(field.name(), value));
    }
}

fn kv(field: &Field, value: Value) -> KeyValue {
    KeyValue::new(Key::from_static_str(field.name()), value)
}

/// OpenTelemetry integers are signed 64-bit: larger values keep their digits as a string.
fn unsigned(value: u64) -> Value {
    i64::try_from(value).map_or_else(|_| Value::from(value.to_string()), Value::from)
}

fn wide(value: i128) -> Value {
    i64::try_from(value).map_or_else(|_| Value::from(value.to_string()), Value::from)
}

fn span_kind(value: &str) -> Option<SpanKind> {
    let kinds = [
        ("server", SpanKind::Server),
        ("client", SpanKind::Client),
        ("producer", SpanKind::Producer),
        ("consumer", SpanKind::Consumer),
        ("internal", SpanKind::Internal),
    ];
    kinds
        .into_iter()
        .find(|(name, _)| value.eq_ignore_ascii_case(name))
        .map(|(_, kind)| kind)
}

fn status_code(value: &str) -> Option<StatusCode> {
    if value.eq_ignore_ascii_case("error") {
        Some(StatusCode::Error)
    } else if value.eq_ignore_ascii_case("ok") {
        Some(StatusCode::Ok)
    } else if value.eq_ignore_ascii_case("unset") {
        Some(StatusCode::Unset)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_values_that_fit_stay_integers() {
        assert_eq!(unsigned(7), Value::I64(7));
        assert_eq!(unsigned(u64::MAX), Value::from(u64::MAX.to_string()));
        assert_eq!(wide(-5), Value::I64(-5));
        assert_eq!(wide(i128::MIN), Value::from(i128::MIN.to_string()));
    }

    #[test]
    fn control_values_are_case_insensitive_and_unknown_ones_ignored() {
        assert_eq!(span_kind("SERVER"), Some(SpanKind::Server));
        assert_eq!(span_kind("sideways"), None);
        assert_eq!(status_code("Error"), Some(StatusCode::Error));
        assert_eq!(status_code("fine"), None);
    }
}
