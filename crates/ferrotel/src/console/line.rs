//! One console line from an event: the three layouts, escaped, within the line cap; JSON lines
//! with the key names of the configured schema, from one table per schema.
//!
//! Parts are written in order of importance, each within what is left of the cap: the header
//! (time, level, target), the message, the event's fields, then the spans' fields from the
//! innermost out. A field that does not fit is left out whole (a message is cut instead), and
//! the line says so: `"ferrotel.truncated":true` in JSON, a final `<truncated>` otherwise.

use std::fmt::Write as _;

use tracing::Level;

use super::escape::{Escape, push_escaped};
use super::fields::{FieldSet, FieldValue};
use crate::config::ConsoleSchema;

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
    /// The ids of the current OpenTelemetry span.
    pub trace: Option<TraceIds>,
    /// Source file and line of the event; only looked up for a schema that shows them
    /// ([`shows_origin`]).
    pub origin: Option<(&'a str, Option<u32>)>,
}

/// The current OpenTelemetry span as a JSON line shows it.
pub(crate) struct TraceIds {
    pub trace_id: String,
    pub span_id: String,
    pub sampled: bool,
}

/// Renders `event` in `layout` (JSON with the keys of `schema`), at most `cap` bytes (newline
/// included) before redaction.
pub(crate) fn render(
    event: &Event<'_>,
    layout: Layout,
    schema: ConsoleSchema,
    ansi: bool,
    cap: usize,
) -> String {
    let budget = cap.saturating_sub(LINE_RESERVE).max(256);
    match layout {
        Layout::Json => json(event, keys(schema), budget),
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

/// Where a schema puts the event's source location.
#[derive(Clone, Copy)]
enum Origin {
    /// Nowhere: the location is not looked up.
    None,
    /// One `file:line` string.
    Caller(&'static str),
    /// The file name as a string and the line as a number, under two keys.
    Split {
        file: &'static str,
        line: &'static str,
    },
    /// One object `{"file":"…","line":"…"}`, the line as a string.
    Object(&'static str),
}

/// The keys one schema writes, and how it spells the level. One table per schema drives one
/// writer, so the budget, escaping and collision rules are the same for all of them.
struct Keys {
    timestamp: &'static str,
    level: &'static str,
    level_text: fn(Level) -> &'static str,
    target: &'static str,
    service: &'static str,
    message: &'static str,
    /// The innermost span's name.
    span: Option<&'static str>,
    trace_id: &'static str,
    span_id: &'static str,
    /// The span's sampling decision, as a JSON boolean.
    trace_sampled: Option<&'static str>,
    origin: Origin,
    /// Keys with a fixed string value.
    constant: &'static [(&'static str, &'static str)],
    /// Whether the receiving pipeline expands dotted keys into objects: then a field that is a
    /// path prefix of a key the line writes (`log` beside `log.level`), or lies under one,
    /// collides as well, since the two cannot both be stored.
    dotted: bool,
}

/// Set on a line that left something out.
const TRUNCATED: &str = "ferrotel.truncated";

fn upper(level: Level) -> &'static str {
    level.as_str()
}

fn lower(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

/// Cloud Logging's `LogSeverity` names; it has no level below `DEBUG`.
fn google_severity(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

static DEFAULT_KEYS: Keys = Keys {
    timestamp: "timestamp",
    level: "level",
    level_text: upper,
    target: "target",
    service: "service",
    message: "message",
    span: Some("span"),
    trace_id: "trace_id",
    span_id: "span_id",
    trace_sampled: None,
    origin: Origin::None,
    constant: &[],
    dotted: false,
};

static ZAP_KEYS: Keys = Keys {
    timestamp: "ts",
    level: "level",
    level_text: lower,
    target: "logger",
    service: "service",
    message: "msg",
    span: Some("span"),
    trace_id: "trace_id",
    span_id: "span_id",
    trace_sampled: None,
    origin: Origin::Caller("caller"),
    constant: &[],
    dotted: false,
};

/// The ECS version whose field names the line uses (`log.origin.*` has been stable since 1.x).
pub(crate) const ECS_VERSION: &str = "8.11.0";

static ECS_KEYS: Keys = Keys {
    timestamp: "@timestamp",
    level: "log.level",
    level_text: lower,
    target: "log.logger",
    service: "service.name",
    message: "message",
    // ECS has no field for it, and a plain `span` would clash with `span.id`.
    span: None,
    trace_id: "trace.id",
    span_id: "span.id",
    trace_sampled: None,
    origin: Origin::Split {
        file: "log.origin.file.name",
        line: "log.origin.file.line",
    },
    constant: &[("ecs.version", ECS_VERSION)],
    dotted: true,
};

static GOOGLE_CLOUD_KEYS: Keys = Keys {
    // Cloud Logging reads an RFC 3339 string under `time`; a `timestamp` key must be an object
    // of seconds and nanos, so the string form there would be ignored.
    timestamp: "time",
    level: "severity",
    level_text: google_severity,
    target: "target",
    service: "service",
    message: "message",
    span: Some("span"),
    trace_id: "logging.googleapis.com/trace",
    span_id: "logging.googleapis.com/spanId",
    trace_sampled: Some("logging.googleapis.com/trace_sampled"),
    origin: Origin::Object("logging.googleapis.com/sourceLocation"),
    constant: &[],
    dotted: false,
};

fn keys(schema: ConsoleSchema) -> &'static Keys {
    match schema {
        ConsoleSchema::Default => &DEFAULT_KEYS,
        ConsoleSchema::Zap => &ZAP_KEYS,
        ConsoleSchema::Ecs => &ECS_KEYS,
        ConsoleSchema::GoogleCloud => &GOOGLE_CLOUD_KEYS,
    }
}

/// Whether JSON lines of `schema` show the event's source location (else it is not looked up).
pub(crate) fn shows_origin(schema: ConsoleSchema) -> bool {
    !matches!(keys(schema).origin, Origin::None)
}

/// Whether `a` names an object that holds `b` once dots are expanded (`log` and `log.level`).
fn is_path_prefix(a: &str, b: &str) -> bool {
    b.len() > a.len() && b.starts_with(a) && b.as_bytes()[a.len()] == b'.'
}

impl Keys {
    /// Whether a field named `key` would collide with a key the line sets itself (then it is
    /// shown as `fields.<key>`, so a value can never replace the level or the message).
    fn reserves(&self, key: &str) -> bool {
        let origin = match self.origin {
            Origin::None => [None, None],
            Origin::Caller(k) | Origin::Object(k) => [Some(k), None],
            Origin::Split { file, line } => [Some(file), Some(line)],
        };
        let written = [
            Some(self.timestamp),
            Some(self.level),
            Some(self.target),
            Some(self.service),
            Some(self.message),
            self.span,
            Some(self.trace_id),
            Some(self.span_id),
            self.trace_sampled,
            Some(TRUNCATED),
        ]
        .into_iter()
        .chain(origin)
        .flatten()
        .chain(self.constant.iter().map(|(k, _)| *k));
        for k in written {
            if k == key || (self.dotted && (is_path_prefix(key, k) || is_path_prefix(k, key))) {
                return true;
            }
        }
        false
    }
}

fn json_str(out: &mut String, text: &str, end: usize) -> bool {
    push_escaped(out, "\"", Escape::Text, end)
        && push_escaped(out, text, Escape::Json, end.saturating_sub(1))
        && push_escaped(out, "\"", Escape::Text, end)
}

/// `value`'s `Display` form, unescaped (numbers only), within `end`.
fn push_number(out: &mut String, value: u32, end: usize) -> bool {
    let start = out.len();
    let _ = write!(out, "{value}");
    if out.len() > end {
        out.truncate(start);
        return false;
    }
    true
}

/// `{"key":` or `,"key":` (a key the schema names: no escaping needed).
fn json_key(out: &mut String, key: &str, end: usize) -> bool {
    push_escaped(
        out,
        if out.is_empty() { "{\"" } else { ",\"" },
        Escape::Text,
        end,
    ) && push_escaped(out, key, Escape::Text, end)
        && push_escaped(out, "\":", Escape::Text, end)
}

fn json_field(out: &mut String, keys: &Keys, key: &str, value: &FieldValue, end: usize) -> bool {
    let prefix = if keys.reserves(key) { "fields." } else { "" };
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

/// The source location in the schema's form, whole or not at all.
fn json_origin(room: &mut Room, line: &mut String, origin: Origin, file: &str, at: Option<u32>) {
    match origin {
        Origin::None => {}
        Origin::Caller(key) => room.whole(line, |out, end| {
            json_key(out, key, end)
                && push_escaped(out, "\"", Escape::Text, end)
                && push_escaped(out, file, Escape::Json, end)
                && at.is_none_or(|n| {
                    push_escaped(out, ":", Escape::Text, end) && push_number(out, n, end)
                })
                && push_escaped(out, "\"", Escape::Text, end)
        }),
        Origin::Split {
            file: file_key,
            line: line_key,
        } => {
            room.whole(line, |out, end| {
                json_key(out, file_key, end) && json_str(out, file, end)
            });
            if let Some(n) = at {
                room.whole(line, |out, end| {
                    json_key(out, line_key, end) && push_number(out, n, end)
                });
            }
        }
        Origin::Object(key) => room.whole(line, |out, end| {
            json_key(out, key, end)
                && push_escaped(out, "{\"file\":", Escape::Text, end)
                && json_str(out, file, end)
                && at.is_none_or(|n| {
                    push_escaped(out, ",\"line\":\"", Escape::Text, end)
                        && push_number(out, n, end)
                        && push_escaped(out, "\"", Escape::Text, end)
                })
                && push_escaped(out, "}", Escape::Text, end)
        }),
    }
}

fn json(event: &Event<'_>, keys: &Keys, budget: usize) -> String {
    let mut room = Room {
        left: budget,
        truncated: false,
    };
    let mut line = String::with_capacity(256);
    // Whole or not at all, so that a tiny budget still leaves valid JSON.
    let key_value = |room: &mut Room, line: &mut String, key: &str, value: &str| {
        room.whole(line, |out, end| {
            json_key(out, key, end) && json_str(out, value, end)
        });
    };
    key_value(&mut room, &mut line, keys.timestamp, event.timestamp);
    key_value(
        &mut room,
        &mut line,
        keys.level,
        (keys.level_text)(event.level),
    );
    key_value(&mut room, &mut line, keys.target, event.target);
    key_value(&mut room, &mut line, keys.service, event.service);
    if let Some(message) = event.message {
        // The message is cut rather than left out; its closing quote always fits, as the rest
        // stops one byte short of the end.
        room.write(&mut line, |out, end| {
            let start = out.len();
            let open = end.saturating_sub(1);
            if !(json_key(out, keys.message, open) && push_escaped(out, "\"", Escape::Text, open)) {
                out.truncate(start);
                return false;
            }
            let whole = push_escaped(out, message, Escape::Json, end.saturating_sub(1));
            out.push('"');
            whole
        });
    }
    if let Some((file, at)) = event.origin {
        json_origin(&mut room, &mut line, keys.origin, file, at);
    }
    if let (Some(key), Some((name, _))) = (keys.span, event.spans.first()) {
        key_value(&mut room, &mut line, key, name);
    }
    if let Some(trace) = &event.trace {
        key_value(&mut room, &mut line, keys.trace_id, &trace.trace_id);
        key_value(&mut room, &mut line, keys.span_id, &trace.span_id);
        if let Some(key) = keys.trace_sampled {
            let value = if trace.sampled { "true" } else { "false" };
            room.whole(&mut line, |out, end| {
                json_key(out, key, end) && push_escaped(out, value, Escape::Text, end)
            });
        }
    }
    for (key, value) in keys.constant {
        room.whole(&mut line, |out, end| {
            json_key(out, key, end) && json_str(out, value, end)
        });
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
            room.whole(&mut line, |out, end| json_field(out, keys, key, value, end));
        }
    }
    if room.truncated {
        line.push_str(",\"");
        line.push_str(TRUNCATED);
        line.push_str("\":true");
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
            origin: None,
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
            render(&e, Layout::Compact, ConsoleSchema::Default, false, 65536),
            "2026-12-03T10:00:00.000000Z  INFO outer:inner: app: hi n=3 s=\"a \\\"b\\\"\" o=x\n"
        );
        assert_eq!(
            render(&e, Layout::Pretty, ConsoleSchema::Default, false, 65536),
            "2026-12-03T10:00:00.000000Z  INFO app: hi\n    n=3 s=\"a \\\"b\\\"\"\n    in inner\n    in outer with o=x\n"
        );
        let json: serde_json::Value = serde_json::from_str(&render(
            &e,
            Layout::Json,
            ConsoleSchema::Default,
            false,
            65536,
        ))
        .unwrap();
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
        let line = render(
            &event(&fields, &spans, "m"),
            Layout::Json,
            ConsoleSchema::Default,
            false,
            65536,
        );
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
                ConsoleSchema::Default,
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

    const SCHEMAS: [ConsoleSchema; 4] = [
        ConsoleSchema::Default,
        ConsoleSchema::Zap,
        ConsoleSchema::Ecs,
        ConsoleSchema::GoogleCloud,
    ];

    /// An event in a span with a `request_id`, with trace ids and a source location.
    fn traced<'a>(fields: &'a FieldSet, spans: &'a [(&'a str, Option<&'a FieldSet>)]) -> Event<'a> {
        Event {
            level: Level::WARN,
            trace: Some(TraceIds {
                trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
                span_id: "00f067aa0ba902b7".into(),
                sampled: true,
            }),
            origin: Some(("src/app.rs", Some(42))),
            ..event(fields, spans, "hi")
        }
    }

    #[test]
    fn each_schema_writes_its_own_keys() {
        let fields = set(&[("n", FieldValue::Raw("3".into()))]);
        let request = set(&[("request_id", FieldValue::Str("r-1".into()))]);
        let spans = [("request", Some(&request))];
        let e = traced(&fields, &spans);
        let t = "2026-12-03T10:00:00.000000Z";
        let (trace, span) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
        let expected = [
            format!(
                r#"{{"timestamp":"{t}","level":"WARN","target":"app","service":"svc","message":"hi","span":"request","trace_id":"{trace}","span_id":"{span}","n":3,"request_id":"r-1"}}"#
            ),
            format!(
                r#"{{"ts":"{t}","level":"warn","logger":"app","service":"svc","msg":"hi","caller":"src/app.rs:42","span":"request","trace_id":"{trace}","span_id":"{span}","n":3,"request_id":"r-1"}}"#
            ),
            format!(
                r#"{{"@timestamp":"{t}","log.level":"warn","log.logger":"app","service.name":"svc","message":"hi","log.origin.file.name":"src/app.rs","log.origin.file.line":42,"trace.id":"{trace}","span.id":"{span}","ecs.version":"{ECS_VERSION}","n":3,"request_id":"r-1"}}"#
            ),
            format!(
                r#"{{"time":"{t}","severity":"WARNING","target":"app","service":"svc","message":"hi","logging.googleapis.com/sourceLocation":{{"file":"src/app.rs","line":"42"}},"span":"request","logging.googleapis.com/trace":"{trace}","logging.googleapis.com/spanId":"{span}","logging.googleapis.com/trace_sampled":true,"n":3,"request_id":"r-1"}}"#
            ),
        ];
        for (schema, expected) in SCHEMAS.into_iter().zip(expected) {
            let line = render(&e, Layout::Json, schema, false, 65536);
            assert_eq!(line, format!("{expected}\n"), "{schema:?}");
            serde_json::from_str::<serde_json::Value>(&line).unwrap();
        }
    }

    #[test]
    fn levels_follow_each_schema_and_a_missing_line_number_is_left_out() {
        let fields = FieldSet::default();
        let levels = [
            (Level::TRACE, ["TRACE", "trace", "trace", "DEBUG"]),
            (Level::DEBUG, ["DEBUG", "debug", "debug", "DEBUG"]),
            (Level::INFO, ["INFO", "info", "info", "INFO"]),
            (Level::WARN, ["WARN", "warn", "warn", "WARNING"]),
            (Level::ERROR, ["ERROR", "error", "error", "ERROR"]),
        ];
        let level_key = ["level", "level", "log.level", "severity"];
        for (level, names) in levels {
            let e = Event {
                level,
                origin: Some(("src/app.rs", None)),
                ..event(&fields, &[], "m")
            };
            for ((schema, name), key) in SCHEMAS.into_iter().zip(names).zip(level_key) {
                let line = render(&e, Layout::Json, schema, false, 65536);
                let json: serde_json::Value = serde_json::from_str(&line).unwrap();
                assert_eq!(json[key], name, "{schema:?}: {line}");
                assert!(!line.contains("line"), "{schema:?}: {line}");
            }
        }
        let zap = render(
            &event(&fields, &[], "m"),
            Layout::Json,
            ConsoleSchema::Zap,
            false,
            65536,
        );
        assert!(!zap.contains("caller"), "no location, no key: {zap}");
    }

    #[test]
    fn a_field_named_like_a_key_of_the_schema_is_moved_aside() {
        let names = [
            "timestamp",
            "level",
            "message",
            "ts",
            "msg",
            "caller",
            "logger",
            "@timestamp",
            "log",
            "log.level",
            "trace",
            "span.id.x",
            "ecs.version",
            "service.name",
            "service.version",
            "severity",
            "time",
            "logging.googleapis.com/trace",
            "logging.googleapis.com/sourceLocation",
            "ferrotel.truncated",
        ];
        let fields: Vec<(&'static str, FieldValue)> = names
            .iter()
            .map(|n| (*n, FieldValue::Str("forged".into())))
            .collect();
        let fields = set(&fields);
        let e = traced(&fields, &[]);
        let moved: [&[&str]; 4] = [
            &["timestamp", "level", "message", "ferrotel.truncated"],
            &[
                "level",
                "ts",
                "msg",
                "caller",
                "logger",
                "ferrotel.truncated",
            ],
            &[
                "message",
                "@timestamp",
                "log",
                "log.level",
                "trace",
                "span.id.x",
                "ecs.version",
                "service.name",
                "ferrotel.truncated",
            ],
            &[
                "message",
                "severity",
                "time",
                "logging.googleapis.com/trace",
                "logging.googleapis.com/sourceLocation",
                "ferrotel.truncated",
            ],
        ];
        for (schema, moved) in SCHEMAS.into_iter().zip(moved) {
            let line = render(&e, Layout::Json, schema, false, 65536);
            let json: serde_json::Value = serde_json::from_str(&line).unwrap();
            for name in names {
                let aside = format!("fields.{name}");
                if moved.contains(&name) {
                    assert_eq!(json[&aside], "forged", "{schema:?} {name}: {line}");
                    assert_ne!(json[name], "forged", "{schema:?} {name}: {line}");
                } else {
                    assert_eq!(json[name], "forged", "{schema:?} {name}: {line}");
                    assert!(json.get(&aside).is_none(), "{schema:?} {name}: {line}");
                }
            }
            assert!(
                json.get("ferrotel.truncated").is_none(),
                "{schema:?}: {line}"
            );
        }
    }

    #[test]
    fn every_schema_leaves_out_what_does_not_fit_and_stays_valid_json() {
        let big = "b".repeat(3000);
        let fields = set(&[
            ("big", FieldValue::Str(big)),
            ("small", FieldValue::Raw("1".into())),
        ]);
        let e = traced(&fields, &[]);
        for schema in SCHEMAS {
            let cap = LINE_RESERVE + 2000;
            let line = render(&e, Layout::Json, schema, false, cap);
            assert!(line.len() <= cap, "{schema:?}");
            let json: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(json["ferrotel.truncated"], true, "{schema:?}");
            assert!(json.get("big").is_none(), "{schema:?}");
            assert_eq!(json["small"], 1, "{schema:?}");
            // At the smallest budget header parts are left out whole and a long message is
            // cut, the line still parses.
            let long = "m".repeat(400);
            let line = render(&event(&fields, &[], &long), Layout::Json, schema, false, 0);
            assert!(line.len() <= 256 + 32, "{schema:?}: {}", line.len());
            let json: serde_json::Value = serde_json::from_str(&line)
                .unwrap_or_else(|err| panic!("{schema:?}: {err}: {line}"));
            assert_eq!(json["ferrotel.truncated"], true, "{schema:?}");
            let message = json
                .as_object()
                .unwrap()
                .values()
                .find_map(|v| v.as_str().filter(|s| s.starts_with("mmm")));
            assert!(message.is_some_and(|m| m.len() < 256), "{schema:?}: {line}");
            let line = render(&e, Layout::Json, schema, false, 0);
            serde_json::from_str::<serde_json::Value>(&line)
                .unwrap_or_else(|err| panic!("{schema:?}: {err}: {line}"));
        }
    }
}
