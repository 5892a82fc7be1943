//! One console line from an event: the three layouts, escaped, within the line cap.
//!
//! Parts are written in order of importance, each within what is left of the cap: the header
//! (time, level, target), the message, the event's fields, then the spans' fields from the
//! innermost out. A field that does not fit is left out whole (a message is cut instead), and
//! the line says so: `"ferrotel.truncated":true` in JSON, a final `<truncated>` otherwise.

use std::fmt::Write as _;

use tracing::Level;

use super::escape::{Escape, push_escaped};
use super::fields::{FieldSet, FieldValue};

/// The console layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// A header line, an indented line of fields, one `in <span> with <fields>` line per span.
    Pretty,
    /// `time LEVEL outer:inner: target: message key=value...` on one line.
    Compact,
    /// One JSON object per line.
    Json,
}

/// Room kept below the cap for the truncation marker, styling and redaction replacements that
/// are longer than what they replace (console lines are redacted once more whole).
pub(crate) const LINE_RESERVE: usize = 1024;

/// What one line shows.
pub(crate) struct Event<'a> {
    pub timestamp: &'a str,
    pub level: Level,
    pub target: &'a str,
    pub service: &'a str,
    pub message: Option<&'a str>,
    pub fields: &'a FieldSet,
    /// Name and fields of each span in scope, innermost first.
    pub spans: &'a [(&'a str, Option<&'a FieldSet>)],
    /// `trace_id` and `span_id` of the current OpenTelemetry span.
    pub trace: Option<(String, String)>,
}

/// Renders `event` in `layout`, at most `cap` bytes (newline included) before redaction.
pub(crate) fn render(event: &Event<'_>, layout: Layout, ansi: bool, cap: usize) -> String {
    let budget = cap.saturating_sub(LINE_RESERVE).max(256);
    match layout {
        Layout::Json => json(event, budget),
        Layout::Compact | Layout::Pretty => text(event, layout, ansi, budget),
    }
}

/// What is left of a line's budget.
struct Room {
    left: usize,
    truncated: bool,
}

impl Room {
    /// Runs `write` on `part` with an end at what is left; charges what it wrote.
    fn write(&mut self, part: &mut String, write: impl FnOnce(&mut String, usize) -> bool) {
        let start = part.len();
        let end = start + self.left;
        if !write(part, end) {
            self.truncated = true;
        }
        self.left = self.left.saturating_sub(part.len() - start);
    }

    /// Appends a piece whole or not at all.
    fn whole(&mut self, part: &mut String, write: impl FnOnce(&mut String, usize) -> bool) {
        let start = part.len();
        let end = start + self.left;
        if write(part, end) {
            self.left -= part.len() - start;
        } else {
            part.truncate(start);
            self.truncated = true;
        }
    }
}

fn push(out: &mut String, text: &str, end: usize) -> bool {
    push_escaped(out, text, Escape::Text, end)
}

/// ` key=value`, escaped, into `out` within `end`.
fn text_field(out: &mut String, sep: &str, key: &str, value: &FieldValue, end: usize) -> bool {
    if !(push(out, sep, end) && push(out, key, end) && push(out, "=", end)) {
        return false;
    }
    match value {
        FieldValue::Str(s) => {
            push(out, "\"", end)
                && push_escaped(out, s, Escape::Quoted, end.saturating_sub(1))
                && push(out, "\"", end)
        }
        FieldValue::Text(s) => push(out, s, end),
        FieldValue::Raw(s) => push(out, s, end),
    }
}

/// The fields of a set, each preceded by `sep` (the first by `first`); whole fields only.
fn text_fields(room: &mut Room, out: &mut String, first: &str, sep: &str, set: &FieldSet) {
    if set.truncated {
        room.truncated = true;
    }
    for (key, value) in &set.fields {
        let lead = if out.is_empty() { first } else { sep };
        room.whole(out, |out, end| text_field(out, lead, key, value, end));
    }
}

fn level_style(level: Level) -> &'static str {
    match level {
        Level::ERROR => "\x1b[31m",
        Level::WARN => "\x1b[33m",
        Level::INFO => "\x1b[32m",
        Level::DEBUG => "\x1b[34m",
        Level::TRACE => "\x1b[35m",
    }
}

fn text(event: &Event<'_>, layout: Layout, ansi: bool, budget: usize) -> String {
    let mut room = Room {
        left: budget,
        truncated: false,
    };
    let mut head = String::with_capacity(128);
    room.write(&mut head, |out, end| {
        let _ = if ansi {
            write!(
                out,
                "\x1b[2m{}\x1b[0m {}{:>5}\x1b[0m ",
                event.timestamp,
                level_style(event.level),
                event.level.as_str()
            )
        } else {
            write!(out, "{} {:>5} ", event.timestamp, event.level.as_str())
        };
        out.len() <= end
    });
    let mut target = String::new();
    room.write(&mut target, |out, end| push(out, event.target, end));
    let mut message = String::new();
    if let Some(text) = event.message {
        room.write(&mut message, |out, end| push(out, text, end));
    }
    let mut fields = String::new();
    let (first, sep) = match layout {
        Layout::Pretty => ("", " "),
        _ => (" ", " "),
    };
    text_fields(&mut room, &mut fields, first, sep, event.fields);
    let mut names = Vec::with_capacity(event.spans.len());
    for (name, _) in event.spans {
        let mut part = String::new();
        room.write(&mut part, |out, end| {
            if ansi {
                push(out, "\x1b[1m", end) && push(out, name, end) && push(out, "\x1b[0m", end)
            } else {
                push(out, name, end)
            }
        });
        names.push(part);
    }
    let mut span_fields = Vec::with_capacity(event.spans.len());
    for (_, set) in event.spans {
        let mut part = String::new();
        if let Some(set) = set {
            text_fields(&mut room, &mut part, " ", " ", set);
        }
        span_fields.push(part);
    }

    let mut line = String::with_capacity(budget - room.left + 64);
    line.push_str(&head);
    match layout {
        Layout::Compact => {
            // Spans from the root in, as `tracing` shows them.
            for name in names.iter().rev() {
                line.push_str(name);
                line.push(':');
            }
            if !names.is_empty() {
                line.push(' ');
            }
            line.push_str(&target);
            line.push_str(": ");
            line.push_str(&message);
            line.push_str(&fields);
            for part in span_fields.iter().rev() {
                line.push_str(part);
            }
            if room.truncated {
                line.push_str(" <truncated>");
            }
            line.push('\n');
        }
        // JSON lines are not written here.
        Layout::Pretty | Layout::Json => {
            line.push_str(&target);
            line.push_str(": ");
            line.push_str(&message);
            line.push('\n');
            if !fields.is_empty() {
                line.push_str("    ");
                line.push_str(&fields);
                line.push('\n');
            }
            for (name, part) in names.iter().zip(&span_fields) {
                line.push_str("    in ");
                line.push_str(name);
                if !part.is_empty() {
                    line.push_str(" with");
                    line.push_str(part);
                }
                line.push('\n');
            }
            if room.truncated {
                line.push_str("    <truncated>\n");
            }
        }
    }
    line
}

/// The keys a JSON line sets itself: a field of the same name is shown as `fields.<name>`.
const RESERVED: &[&str] = &[
    "timestamp",
    "level",
    "target",
    "service",
    "message",
    "span",
    "trace_id",
    "span_id",
    "ferrotel.truncated",
];

fn json_str(out: &mut String, text: &str, end: usize) -> bool {
    push_escaped(out, "\"", Escape::Text, end)
        && push_escaped(out, text, Escape::Json, end.saturating_sub(1))
        && push_escaped(out, "\"", Escape::Text, end)
}

fn json_field(out: &mut String, key: &str, value: &FieldValue, end: usize) -> bool {
    let prefix = if RESERVED.contains(&key) {
        "fields."
    } else {
        ""
    };
    if !(push_escaped(out, ",\"", Escape::Text, end)
        && push_escaped(out, prefix, Escape::Text, end)
        && push_escaped(out, key, Escape::Json, end)
        && push_escaped(out, "\":", Escape::Text, end))
    {
        return false;
    }
    match value {
        FieldValue::Str(s) | FieldValue::Text(s) => json_str(out, s, end),
        FieldValue::Raw(s) => push_escaped(out, s, Escape::Text, end),
    }
}

fn json(event: &Event<'_>, budget: usize) -> String {
    let mut room = Room {
        left: budget,
        truncated: false,
    };
    let mut line = String::with_capacity(256);
    let key_value = |room: &mut Room, line: &mut String, key: &str, value: &str| {
        room.write(line, |out, end| {
            push_escaped(
                out,
                if out.is_empty() { "{\"" } else { ",\"" },
                Escape::Text,
                end,
            ) && push_escaped(out, key, Escape::Text, end)
                && push_escaped(out, "\":", Escape::Text, end)
                && json_str(out, value, end)
        });
    };
    key_value(&mut room, &mut line, "timestamp", event.timestamp);
    key_value(&mut room, &mut line, "level", event.level.as_str());
    key_value(&mut room, &mut line, "target", event.target);
    key_value(&mut room, &mut line, "service", event.service);
    if let Some(message) = event.message {
        key_value(&mut room, &mut line, "message", message);
    }
    if let Some((name, _)) = event.spans.first() {
        key_value(&mut room, &mut line, "span", name);
    }
    if let Some((trace_id, span_id)) = &event.trace {
        key_value(&mut room, &mut line, "trace_id", trace_id);
        key_value(&mut room, &mut line, "span_id", span_id);
    }
    // The event's fields win over its spans', an inner span's over an outer one's.
    let mut seen: Vec<&str> = Vec::new();
    let sets = std::iter::once(event.fields).chain(event.spans.iter().filter_map(|(_, s)| *s));
    for set in sets {
        room.truncated |= set.truncated;
        for (key, value) in &set.fields {
            if seen.contains(key) {
                continue;
            }
            seen.push(key);
            room.whole(&mut line, |out, end| json_field(out, key, value, end));
        }
    }
    if room.truncated {
        line.push_str(",\"ferrotel.truncated\":true");
    }
    line.push_str("}\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(fields: &[(&'static str, FieldValue)]) -> FieldSet {
        let mut set = FieldSet::default();
        for (k, v) in fields {
            set.set(k, v.clone(), usize::MAX);
        }
        set
    }

    fn event<'a>(
        fields: &'a FieldSet,
        spans: &'a [(&'a str, Option<&'a FieldSet>)],
        message: &'a str,
    ) -> Event<'a> {
        Event {
            timestamp: "2026-12-03T10:00:00.000000Z",
            level: Level::INFO,
            target: "app",
            service: "svc",
            message: Some(message),
            fields,
            spans,
            trace: None,
        }
    }

    #[test]
    fn the_layouts_show_fields_and_spans() {
        let fields = set(&[
            ("n", FieldValue::Raw("3".into())),
            ("s", FieldValue::Str("a \"b\"".into())),
        ]);
        let outer = set(&[("o", FieldValue::Text("x".into()))]);
        let spans = [("inner", None), ("outer", Some(&outer))];
        let e = event(&fields, &spans, "hi");
        assert_eq!(
            render(&e, Layout::Compact, false, 65536),
            "2026-12-03T10:00:00.000000Z  INFO outer:inner: app: hi n=3 s=\"a \\\"b\\\"\" o=x\n"
        );
        assert_eq!(
            render(&e, Layout::Pretty, false, 65536),
            "2026-12-03T10:00:00.000000Z  INFO app: hi\n    n=3 s=\"a \\\"b\\\"\"\n    in inner\n    in outer with o=x\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(&e, Layout::Json, false, 65536)).unwrap();
        assert_eq!(json["n"], 3);
        assert_eq!(json["s"], "a \"b\"");
        assert_eq!(json["o"], "x");
        assert_eq!(json["span"], "inner");
    }

    #[test]
    fn reserved_json_keys_are_moved_aside_and_inner_fields_win() {
        let fields = set(&[("level", FieldValue::Str("forged".into()))]);
        let inner = set(&[("k", FieldValue::Raw("1".into()))]);
        let outer = set(&[("k", FieldValue::Raw("2".into()))]);
        let spans = [("inner", Some(&inner)), ("outer", Some(&outer))];
        let line = render(&event(&fields, &spans, "m"), Layout::Json, false, 65536);
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(json["level"], "INFO");
        assert_eq!(json["fields.level"], "forged");
        assert_eq!(json["k"], 1);
        assert_eq!(line.matches("\"k\"").count(), 1, "{line}");
    }

    #[test]
    fn fields_that_do_not_fit_are_left_out_whole_and_the_line_says_so() {
        let big = "b".repeat(3000);
        let fields = set(&[
            ("big", FieldValue::Str(big.clone())),
            ("small", FieldValue::Raw("1".into())),
        ]);
        for layout in [Layout::Compact, Layout::Pretty, Layout::Json] {
            let line = render(
                &event(&fields, &[], "msg"),
                layout,
                false,
                LINE_RESERVE + 2000,
            );
            assert!(line.len() <= LINE_RESERVE + 2000, "{layout:?}");
            assert!(
                !line.contains('b'.to_string().repeat(10).as_str()),
                "{layout:?}"
            );
            assert!(line.contains("small"), "{layout:?}: {line}");
            assert!(line.contains("msg"), "{layout:?}");
            if layout == Layout::Json {
                let json: serde_json::Value = serde_json::from_str(&line).unwrap();
                assert_eq!(json["ferrotel.truncated"], true);
            } else {
                assert!(
                    line.trim_end().ends_with("<truncated>"),
                    "{layout:?}: {line}"
                );
            }
        }
    }
}
