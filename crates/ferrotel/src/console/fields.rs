//! The fields of one event or span as the console shows them: recorded panic-safe, redacted
//! whole, cut to the value limit, and held within the line cap.

use std::fmt;

use ferrotel_tracing::panic_safe::{append_debug, append_display};
use tracing::field::{Field, Visit};

use crate::ValueRedactor;
use crate::limits::cut;

/// How much of a value beyond the limit redaction sees: a secret that starts before the cut is
/// matched whole (and so never half-printed) unless it is longer than this.
const REDACTION_LOOKAHEAD: usize = 4096;

/// The value rules of the console: the export value limit and the redactor.
pub(crate) struct ValueRules {
    /// `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT` of log records.
    pub value_limit: usize,
    /// Redacts each value before it is cut.
    pub redactor: Option<ValueRedactor>,
    /// The most bytes the fields of one event, or of one span, may hold.
    pub fields_cap: usize,
}

impl ValueRules {
    /// The budget for formatting a value before redaction: the limit plus the lookahead.
    fn format_budget(&self) -> usize {
        self.value_limit.saturating_add(REDACTION_LOOKAHEAD)
    }

    /// `text` redacted (as far as redaction looks), then cut to the value limit.
    pub(crate) fn limited(&self, text: &str) -> String {
        let head = cut(text, self.format_budget());
        match self.redactor.as_ref().and_then(|redact| redact(head)) {
            Some(redacted) => cut(&redacted, self.value_limit).to_owned(),
            None => cut(head, self.value_limit).to_owned(),
        }
    }
}

/// A value as the console shows it (already redacted and cut, not yet escaped).
#[derive(Debug, Clone)]
pub(crate) enum FieldValue {
    /// A string value: quoted in the text formats.
    Str(String),
    /// `Debug`, `Display` or error output: shown as is in the text formats.
    Text(String),
    /// A number or a boolean, as JSON writes it.
    Raw(String),
}

impl FieldValue {
    fn len(&self) -> usize {
        match self {
            Self::Str(s) | Self::Text(s) | Self::Raw(s) => s.len(),
        }
    }
}

/// Fields in recording order, at most [`ValueRules::fields_cap`] bytes of them; `truncated` when
/// one was left out for room.
#[derive(Debug, Default)]
pub(crate) struct FieldSet {
    pub fields: Vec<(&'static str, FieldValue)>,
    pub bytes: usize,
    pub truncated: bool,
}

impl FieldSet {
    /// Adds a field, replacing an earlier value of the same key (a late `span.record`).
    pub fn set(&mut self, key: &'static str, value: FieldValue, cap: usize) {
        if let Some(at) = self.fields.iter().position(|(k, _)| *k == key) {
            let (_, old) = self.fields.remove(at);
            self.bytes -= key.len() + old.len();
        }
        let size = key.len() + value.len();
        if self.bytes + size > cap {
            self.truncated = true;
            return;
        }
        self.bytes += size;
        self.fields.push((key, value));
    }

    /// Adds every field of `other` (later values win).
    pub fn merge(&mut self, other: FieldSet, cap: usize) {
        self.truncated |= other.truncated;
        for (key, value) in other.fields {
            self.set(key, value, cap);
        }
    }
}

/// Which recorded fields the console leaves out.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Skip {
    /// Nothing.
    None,
    /// `otel.*`: span fields that configure the exported span, not data.
    Otel,
    /// `log.*`: the fields `tracing-log` adds to a `log` record (shown as its target instead).
    Log,
}

/// Records an event's or a span's fields under the value rules; the message separately.
pub(crate) struct Collector<'a> {
    rules: &'a ValueRules,
    skip: Skip,
    pub fields: FieldSet,
    pub message: Option<String>,
}

impl<'a> Collector<'a> {
    pub fn new(rules: &'a ValueRules, skip: Skip) -> Self {
        Self {
            rules,
            skip,
            fields: FieldSet::default(),
            message: None,
        }
    }

    fn skipped(&self, name: &str) -> bool {
        match self.skip {
            Skip::None => false,
            Skip::Otel => name.starts_with("otel."),
            Skip::Log => name.starts_with("log."),
        }
    }

    fn text(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.message = Some(value);
        } else {
            self.fields
                .set(field.name(), FieldValue::Text(value), self.rules.fields_cap);
        }
    }

    fn raw(&mut self, field: &Field, value: impl fmt::Display) {
        if !self.skipped(field.name()) {
            self.fields.set(
                field.name(),
                FieldValue::Raw(value.to_string()),
                self.rules.fields_cap,
            );
        }
    }
}

impl Visit for Collector<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.skipped(field.name()) {
            return;
        }
        let value = self.rules.limited(value);
        if field.name() == "message" {
            self.message = Some(value);
        } else {
            self.fields
                .set(field.name(), FieldValue::Str(value), self.rules.fields_cap);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.skipped(field.name()) {
            return;
        }
        let mut out = String::new();
        append_debug(&mut out, value, self.rules.format_budget());
        let value = self.rules.limited(&out);
        self.text(field, value);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if self.skipped(field.name()) {
            return;
        }
        let mut out = String::new();
        append_display(&mut out, value, self.rules.format_budget());
        let value = self.rules.limited(&out);
        self.text(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.raw(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.raw(field, value);
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.raw(field, value);
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.raw(field, value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if self.skipped(field.name()) {
            return;
        }
        // JSON has no NaN or infinity: those are shown as strings.
        let value = if value.is_finite() {
            FieldValue::Raw(value.to_string())
        } else {
            FieldValue::Str(value.to_string())
        };
        self.fields.set(field.name(), value, self.rules.fields_cap);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.raw(field, value);
    }
}
