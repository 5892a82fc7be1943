//! Redaction of OpenTelemetry values: span attributes, log `AnyValue` trees and
//! resources.

use crate::Redactor;
use opentelemetry::logs::AnyValue;
use opentelemetry::{Array, Key, KeyValue, StringValue, Value};
use opentelemetry_sdk::Resource;
use std::borrow::Cow;
use std::collections::HashMap;

/// Log bodies nest maps and lists; deeper than this, a subtree is replaced
/// whole rather than walked (bounded stack use on hostile input).
pub const MAX_DEPTH: usize = 64;

/// Replacement for a subtree nested deeper than [`MAX_DEPTH`].
pub const TOO_DEEP: &str = "[REDACTED:too_deep]";

impl Redactor {
    /// The redacted version of an attribute value, or `None` when it is
    /// unchanged. A sensitive key replaces the whole value (any type) with a
    /// string; otherwise strings, and string arrays element-wise, are scanned.
    pub fn redact_value(&self, key: &str, value: &Value) -> Option<Value> {
        if self.inner.keys.is_allowed(key) {
            return None;
        }
        if self.inner.keys.is_sensitive(key) {
            return match value {
                Value::Array(Array::String(items)) => {
                    let mut changed = false;
                    let items = items
                        .iter()
                        .map(|s| match self.replace_whole(s.as_str()) {
                            Some(r) => {
                                changed = true;
                                StringValue::from(r)
                            }
                            None => s.clone(),
                        })
                        .collect();
                    changed.then_some(Value::Array(Array::String(items)))
                }
                Value::String(s) => self.replace_whole(s.as_str()).map(Value::from),
                other => self.replace_whole(&other.as_str()).map(Value::from),
            };
        }
        match value {
            Value::String(s) => owned(self.redact(s.as_str())).map(Value::from),
            Value::Array(Array::String(items)) => {
                let mut out: Option<Vec<StringValue>> = None;
                for (i, s) in items.iter().enumerate() {
                    if let Some(r) = owned(self.redact(s.as_str())) {
                        out.get_or_insert_with(|| items.clone())[i] = StringValue::from(r);
                    }
                }
                out.map(|v| Value::Array(Array::String(v)))
            }
            _ => None,
        }
    }

    /// Redacts attributes in place; returns how many values changed.
    pub fn redact_attributes(&self, attributes: &mut [KeyValue]) -> usize {
        let mut changed = 0;
        for kv in attributes {
            if let Some(v) = self.redact_value(kv.key.as_str(), &kv.value) {
                kv.value = v;
                changed += 1;
            }
        }
        changed
    }

    /// The redacted version of a log value (body or attribute), or `None` when
    /// unchanged. `key` is the attribute key or map key holding it, if any;
    /// map keys inside the value are checked against the sensitive keys too.
    pub fn redact_any_value(&self, key: Option<&str>, value: &AnyValue) -> Option<AnyValue> {
        self.redact_any(key, value, 0)
    }

    fn redact_any(&self, key: Option<&str>, value: &AnyValue, depth: usize) -> Option<AnyValue> {
        if let Some(k) = key {
            if self.inner.keys.is_allowed(k) {
                return None;
            }
            if self.inner.keys.is_sensitive(k) {
                return self.replace_any_whole(value);
            }
        }
        if depth >= MAX_DEPTH {
            return match value {
                AnyValue::ListAny(_) | AnyValue::Map(_) => Some(AnyValue::from(TOO_DEEP)),
                _ => self.redact_any(None, value, 0),
            };
        }
        match value {
            AnyValue::String(s) => owned(self.redact(s.as_str())).map(AnyValue::from),
            AnyValue::ListAny(items) => {
                let mut out: Option<Vec<AnyValue>> = None;
                for (i, item) in items.iter().enumerate() {
                    if let Some(r) = self.redact_any(None, item, depth + 1) {
                        out.get_or_insert_with(|| (**items).clone())[i] = r;
                    }
                }
                out.map(|v| AnyValue::ListAny(Box::new(v)))
            }
            AnyValue::Map(map) => {
                let mut changes: Vec<(Key, AnyValue)> = Vec::new();
                for (k, v) in map.iter() {
                    if let Some(r) = self.redact_any(Some(k.as_str()), v, depth + 1) {
                        changes.push((k.clone(), r));
                    }
                }
                if changes.is_empty() {
                    return None;
                }
                let mut out: HashMap<Key, AnyValue> = (**map).clone();
                out.extend(changes);
                Some(AnyValue::Map(Box::new(out)))
            }
            _ => None,
        }
    }

    fn replace_any_whole(&self, value: &AnyValue) -> Option<AnyValue> {
        let text: Cow<'_, str> = match value {
            AnyValue::String(s) => Cow::Borrowed(s.as_str()),
            AnyValue::Int(i) => Cow::Owned(i.to_string()),
            AnyValue::Double(d) => Cow::Owned(d.to_string()),
            AnyValue::Boolean(b) => Cow::Owned(b.to_string()),
            AnyValue::Bytes(b) => String::from_utf8_lossy(b),
            // Structured values under a sensitive key: hash their debug form.
            other => Cow::Owned(format!("{other:?}")),
        };
        self.replace_whole(&text).map(AnyValue::from)
    }

    /// A copy of `resource` with its attributes redacted (for example
    /// `process.command_args` carrying `--password=...`). Returns a cheap clone
    /// when nothing changed. Pass the result to the tracer, meter and logger
    /// provider builders.
    pub fn redact_resource(&self, resource: &Resource) -> Resource {
        let mut changed = false;
        let attributes: Vec<KeyValue> = resource
            .iter()
            .map(|(k, v)| match self.redact_value(k.as_str(), v) {
                Some(new) => {
                    changed = true;
                    KeyValue::new(k.clone(), new)
                }
                None => KeyValue::new(k.clone(), v.clone()),
            })
            .collect();
        if !changed {
            return resource.clone();
        }
        let builder = Resource::builder_empty();
        match resource.schema_url() {
            Some(url) => builder.with_schema_url(attributes, url.to_string()),
            None => builder.with_attributes(attributes),
        }
        .build()
    }
}

fn owned(text: Cow<'_, str>) -> Option<String> {
    match text {
        Cow::Owned(s) => Some(s),
        Cow::Borrowed(_) => None,
    }
}
