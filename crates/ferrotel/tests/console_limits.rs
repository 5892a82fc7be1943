//! Console output is bounded and cannot be forged: values are cut to the export limit, a line
//! never exceeds the documented cap, span names are cut in export and on the console, and
//! control characters in values cannot start a second line, move the cursor or forge a JSON
//! line (docs/console.md).

use std::sync::{Arc, Mutex};

use ferrotel::ConsoleFormat;
use ferrotel_testing::capture::Capture;
use tracing::field;

/// The default value-length limit (docs/configuration.md).
const VALUE_LIMIT: usize = 32 * 1024;
/// The documented hard cap of one console line, newline included (docs/console.md).
const LINE_LIMIT: usize = 64 * 1024;

const FORMATS: [ConsoleFormat; 3] = [
    ConsoleFormat::Json,
    ConsoleFormat::Compact,
    ConsoleFormat::Pretty,
];

fn capture(format: ConsoleFormat) -> (Capture, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let capture = ferrotel_testing::capture::start_with(
        ferrotel::builder()
            .service_name("console-limits")
            .env_lookup(|_| None)
            .console_format(format)
            .log_filter("info")
            .console_writer(move |line| sink.lock().unwrap().push(line.to_string()))
            .value_redactor(Arc::new(|v: &str| {
                v.contains("hunter2")
                    .then(|| v.replace("hunter2", "[REDACTED]"))
            })),
    );
    (capture, lines)
}

fn run(capture: &Capture, f: impl FnOnce()) {
    tracing::dispatcher::with_default(capture.guard().dispatch(), f);
}

/// The longest run of `c` in `text`.
fn longest_run(text: &str, c: char) -> usize {
    text.split(|x| x != c).map(str::len).max().unwrap_or(0)
}

/// A `Debug` value whose output is `len` times `c`.
struct Repeated(char, usize);

impl std::fmt::Debug for Repeated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for _ in 0..self.1 {
            f.write_fmt(format_args!("{}", self.0))?;
        }
        Ok(())
    }
}

#[test]
fn a_ten_megabyte_value_prints_at_most_the_limit() {
    let huge = "x".repeat(10 * 1024 * 1024);
    for format in FORMATS {
        let (capture, lines) = capture(format);
        run(&capture, || {
            tracing::info!(big = huge.as_str(), "str field");
            tracing::info!(big = ?Repeated('y', 10 * 1024 * 1024), "debug field");
            tracing::info!("{huge}");
            tracing::info_span!("wide", big = huge.as_str())
                .in_scope(|| tracing::info!("span field"));
        });
        let lines = lines.lock().unwrap().clone();
        assert_eq!(lines.len(), 4, "{format:?}");
        let total: usize = lines.iter().map(String::len).sum();
        assert!(total <= 4 * LINE_LIMIT, "{format:?}: {total} bytes printed");
        for line in &lines {
            assert!(line.len() <= LINE_LIMIT, "{format:?}: {} bytes", line.len());
            assert!(longest_run(line, 'x') <= VALUE_LIMIT, "{format:?}");
            assert!(longest_run(line, 'y') <= VALUE_LIMIT, "{format:?}");
        }
        assert_eq!(longest_run(&lines[0], 'x'), VALUE_LIMIT, "{format:?}");
        assert_eq!(longest_run(&lines[1], 'y'), VALUE_LIMIT, "{format:?}");
        assert_eq!(longest_run(&lines[2], 'x'), VALUE_LIMIT, "{format:?}");
        assert_eq!(longest_run(&lines[3], 'x'), VALUE_LIMIT, "{format:?}");
        // Export cuts the same values to the same limit.
        let logs = capture.logs();
        let log = logs.iter().find(|l| l.body == "str field").unwrap();
        let big = &log.attributes.iter().find(|(k, _)| k == "big").unwrap().1;
        assert_eq!(big.len(), VALUE_LIMIT);
    }
}

#[test]
fn a_flood_of_large_fields_stays_under_the_line_cap_and_keeps_the_message() {
    let big = "z".repeat(VALUE_LIMIT);
    for format in FORMATS {
        let (capture, lines) = capture(format);
        run(&capture, || {
            let outer = tracing::info_span!("outer", a = big.as_str(), b = big.as_str());
            let _outer = outer.enter();
            let inner = tracing::info_span!("inner", c = big.as_str(), d = big.as_str());
            let _inner = inner.enter();
            tracing::info!(
                e = big.as_str(),
                f = big.as_str(),
                g = big.as_str(),
                "the message survives"
            );
        });
        let lines = lines.lock().unwrap().clone();
        assert_eq!(lines.len(), 1, "{format:?}");
        let line = &lines[0];
        assert!(line.len() <= LINE_LIMIT, "{format:?}: {} bytes", line.len());
        assert!(line.ends_with('\n'), "{format:?}");
        assert!(line.contains("the message survives"), "{format:?}");
        match format {
            ConsoleFormat::Json => {
                let json: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
                assert_eq!(json["ferrotel.truncated"], true, "{json}");
                assert_eq!(json["message"], "the message survives");
            }
            _ => assert!(line.trim_end().ends_with("<truncated>"), "{format:?}"),
        }
    }
}

#[test]
fn a_megabyte_span_name_is_cut_in_export_and_on_the_console() {
    let name = "n".repeat(1024 * 1024);
    for format in FORMATS {
        let (capture, lines) = capture(format);
        run(&capture, || {
            tracing::info_span!("renamed", otel.name = name.as_str())
                .in_scope(|| tracing::info!("inside the renamed span"));
            let api = tracing::info_span!("updated");
            use ferrotel::opentelemetry::trace::TraceContextExt as _;
            use ferrotel_tracing::SpanExt as _;
            if let Some(cx) = api.otel_context() {
                cx.span().update_name(name.clone());
            }
        });
        let spans = capture.spans();
        assert_eq!(spans.len(), 2, "{format:?}");
        for span in &spans {
            assert_eq!(span.name.len(), VALUE_LIMIT, "{format:?}");
        }
        let lines = lines.lock().unwrap().clone();
        let line = lines.iter().find(|l| l.contains("inside")).unwrap();
        assert!(longest_run(line, 'n') <= VALUE_LIMIT, "{format:?}");
    }
}

#[test]
fn a_secret_across_the_console_cut_is_redacted_before_the_cut() {
    // "hunter2" starts 3 bytes before the limit: a cut first would leave "hunt".
    let value = format!("{}hunter2{}", "v".repeat(VALUE_LIMIT - 3), "w".repeat(100));
    for format in FORMATS {
        let (capture, lines) = capture(format);
        run(&capture, || {
            tracing::info!(secret = value.as_str(), "str field");
            tracing::info!(secret = ?Wrapped(&value), "debug field");
            tracing::info_span!("holder", secret = value.as_str())
                .in_scope(|| tracing::info!("span field"));
        });
        let text = lines.lock().unwrap().join("");
        assert!(!text.contains("hunt"), "{format:?}");
        assert!(
            text.contains("[RE"),
            "{format:?}: the redacted value is cut"
        );
    }
}

/// Formats its text raw with `Debug`.
struct Wrapped<'a>(&'a str);

impl std::fmt::Debug for Wrapped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// An attacker-controlled value: a forged JSON line, line breaks, a screen clear, an OSC title,
/// NUL, BEL, a C1 CSI, and Unicode line and bidi controls.
const HOSTILE: &str = "ok\n{\"level\":\"ERROR\",\"message\":\"forged\"}\r\x1b[2J\x1b]0;title\x07\0\u{9b}31m\u{2028}\u{202e}end";

/// Our own ANSI styling (SGR sequences `ESC [ digits m`) removed.
fn without_our_styles(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find('\x1b') {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 1..];
        let sgr = tail.strip_prefix('[').and_then(|t| {
            let end = t.find(|c: char| !c.is_ascii_digit() && c != ';')?;
            (t.as_bytes()[end] == b'm').then_some(&t[end + 1..])
        });
        match sgr {
            Some(after) => rest = after,
            None => {
                out.push('\x1b');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}')
}

#[test]
fn control_characters_cannot_forge_lines_or_reach_the_terminal() {
    for format in FORMATS {
        let (capture, lines) = capture(format);
        run(&capture, || {
            tracing::info!("{HOSTILE}");
            tracing::info!(value = HOSTILE, "str field");
            tracing::info!(value = ?Wrapped(HOSTILE), "debug field");
            tracing::info!(value = %HOSTILE, "display field");
            let span = tracing::info_span!("hostile", value = HOSTILE, late = field::Empty);
            span.record("late", field::display(HOSTILE));
            span.in_scope(|| tracing::info!("span fields"));
            tracing_log::log::info!("{HOSTILE}");
        });
        let lines = lines.lock().unwrap().clone();
        assert_eq!(lines.len(), 6, "{format:?}: one sink call per event");
        for line in &lines {
            let body = line.strip_suffix('\n').expect("ends with a newline");
            // A pretty event continues on indented lines; nothing else breaks a line.
            for continued in body.split('\n').skip(1) {
                assert!(format == ConsoleFormat::Pretty, "{format:?}: {line:?}");
                assert!(continued.starts_with("    "), "{line:?}");
            }
            assert!(
                !line.contains("\x1b[2J") && !line.contains("\x1b]"),
                "{line:?}"
            );
            let unstyled = without_our_styles(body);
            assert!(
                !unstyled.chars().any(|c| c != '\n' && is_control(c)),
                "{format:?}: raw control character in {unstyled:?}"
            );
            assert!(!line.starts_with("{\"level\":\"ERROR\""), "{line:?}");
            if format == ConsoleFormat::Json {
                let json: serde_json::Value = serde_json::from_str(body).expect("valid JSON");
                assert_eq!(json["level"], "INFO", "{json}");
            }
        }
        if format == ConsoleFormat::Json {
            let json: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
            assert_eq!(json["message"], HOSTILE, "JSON escaping round-trips");
            let json: serde_json::Value = serde_json::from_str(&lines[4]).unwrap();
            assert_eq!(json["value"], HOSTILE);
            assert_eq!(json["late"], HOSTILE);
        } else {
            assert!(lines[0].contains("ok\\n{"), "{format:?}: {:?}", lines[0]);
            assert!(lines[0].contains("\\u{1b}[2J"), "{:?}", lines[0]);
        }
    }
}
