//! Value limits, the last processing step of every signal (after admission and redaction, so a
//! secret is matched whole before a cut could split it).
//!
//! The rule is the same everywhere, console output included (`console`): a string longer than
//! the limit keeps its first `limit` bytes, cut back to a character boundary, with no marker.
//!
//! Spans are limited in the exporting pipeline ([`limit_span`], called by the admission
//! processor after its redaction step); log records where the bridge builds them
//! ([`redact_then_limit`], the bridge's text processor), because the SDK offers no way to edit a
//! log record's attributes afterwards.

use std::borrow::Cow;

use opentelemetry::trace::Status;
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

/// The largest index `<= max` that is a character boundary of `text`.
fn char_boundary(text: &str, max: usize) -> usize {
    let mut cut = max.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    cut
}

/// `text` cut to at most `max` bytes at a character boundary: the value-length rule.
pub(crate) fn cut(text: &str, max: usize) -> &str {
    &text[..char_boundary(text, max)]
}

/// Truncates a string value to `max` bytes at a character boundary.
pub(crate) fn truncate_value(value: &mut Value, max: usize) {
    if let Value::String(s) = value {
        let s_ref = s.as_str();
        if s_ref.len() > max {
            *value = Value::String(cut(s_ref, max).to_owned().into());
        }
    }
}

fn truncate_all(attrs: &mut [KeyValue], max: usize) {
    for kv in attrs {
        truncate_value(&mut kv.value, max);
    }
}

/// Cuts the span's name, its status description, every string attribute of the span, its
/// events (names included) and its links to `max` bytes.
pub(crate) fn limit_span(span: &mut SpanData, max: usize) {
    if span.name.len() > max {
        span.name = Cow::Owned(cut(&span.name, max).to_owned());
    }
    if let Status::Error { description } = &mut span.status
        && description.len() > max
    {
        *description = Cow::Owned(cut(description, max).to_owned());
    }
    truncate_all(&mut span.attributes, max);
    for event in span.events.events.iter_mut() {
        truncate_all(&mut event.attributes, max);
        if event.name.len() > max {
            event.name = Cow::Owned(cut(&event.name, max).to_owned());
        }
    }
    for link in span.links.links.iter_mut() {
        truncate_all(&mut link.attributes, max);
    }
}

/// What the log bridge does to every string value of a record, in this order: redaction (the
/// whole value, so a secret is matched before any cut), then the value-length limit.
pub(crate) fn redact_then_limit(
    redactor: Option<crate::ValueRedactor>,
    max_len: usize,
) -> ferrotel_tracing::logs::TextProcessor {
    std::sync::Arc::new(move |value: &str| {
        let redacted = redactor.as_ref().and_then(|r| r(value));
        let text = redacted.as_deref().unwrap_or(value);
        if text.len() <= max_len {
            return redacted;
        }
        Some(cut(text, max_len).to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_utf8_boundaries() {
        let mut v = Value::String("héllo".into());
        truncate_value(&mut v, 2);
        assert_eq!(v.as_str(), "h");
        let mut v = Value::String("short".into());
        truncate_value(&mut v, 10);
        assert_eq!(v.as_str(), "short");
        let mut v = Value::I64(5);
        truncate_value(&mut v, 0);
        assert_eq!(v, Value::I64(5));
    }

    #[test]
    fn redaction_runs_before_the_cut() {
        let redactor: crate::ValueRedactor =
            std::sync::Arc::new(|v: &str| v.contains("secret").then(|| v.replace("secret", "[R]")));
        let process = redact_then_limit(Some(redactor), 8);
        // The secret straddles the 8-byte limit: redacted first, so none of it survives.
        assert_eq!(process("abcdesecret").as_deref(), Some("abcde[R]"));
        assert_eq!(process("short").as_deref(), None);
        assert_eq!(process("0123456789").as_deref(), Some("01234567"));
    }
}
