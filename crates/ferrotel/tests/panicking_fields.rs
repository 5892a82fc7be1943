//! A value whose `Debug` or `Display` panics must not crash the host: in every position a value
//! can take (span field at creation, late `span.record`, event field, error field, the message,
//! a `log` crate record) and every console format, the caller goes on, the console and the
//! exported span or record carry the documented marker, and later spans still work.
//!
//! The panic hook still prints each provoked panic to stderr: that is expected here.

use std::error::Error;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};

use ferrotel::ConsoleFormat;
use ferrotel::opentelemetry::Value;
use ferrotel_testing::capture::{Capture, attribute};
const FORMAT_PANIC_MARKER: &str = "<formatting panicked>";
use tracing::field;

/// Panics whenever it is formatted, whichever trait is used.
struct Bad;

impl fmt::Debug for Bad {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("Debug of Bad")
    }
}

impl fmt::Display for Bad {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("Display of Bad")
    }
}

impl Error for Bad {}

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
            .service_name("panicking-fields")
            .env_lookup(|_| None)
            .console_format(format)
            .log_filter("info")
            .console_writer(move |line| sink.lock().unwrap().push(line.to_string())),
    );
    (capture, lines)
}

fn line_with<'a>(lines: &'a [String], needle: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no console line with {needle:?} in {lines:#?}"))
}

fn marker_attribute(capture: &Capture, span: &str, key: &str) {
    let span = capture.span(span);
    assert_eq!(
        attribute(&span, key),
        Some(&Value::from(FORMAT_PANIC_MARKER)),
        "{key} of {}: {:?}",
        span.name,
        span.attributes
    );
}

#[test]
fn a_panicking_value_is_recorded_as_the_marker_in_every_position_and_format() {
    for format in FORMATS {
        let (capture, lines) = capture(format);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            tracing::dispatcher::with_default(capture.guard().dispatch(), || {
                let created = tracing::info_span!("created", debugged = ?Bad, displayed = %Bad);
                created.in_scope(|| tracing::info!("inside created"));
                drop(created);

                let late = tracing::info_span!("late", recorded = field::Empty);
                late.record("recorded", field::debug(&Bad));
                late.in_scope(|| tracing::info!("inside late"));
                drop(late);

                tracing::info!(debugged = ?Bad, displayed = %Bad, "event fields");
                tracing::info!(error = &Bad as &(dyn Error + 'static), "error field");
                tracing::info!("message {}", Bad);
                tracing_log::log::info!("log record {}", Bad);

                tracing::info_span!("unrelated", n = 1_u64)
                    .in_scope(|| tracing::info!(ok = true, "after the panics"));
            })
        }));
        assert!(outcome.is_ok(), "{format:?}: a panic reached the caller");

        let lines = lines.lock().unwrap().clone();
        for needle in [
            "inside created",
            "inside late",
            "event fields",
            "error field",
        ] {
            let line = line_with(&lines, needle);
            assert!(line.contains(FORMAT_PANIC_MARKER), "{format:?}: {line}");
        }
        let message_lines: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains(FORMAT_PANIC_MARKER) && !l.contains("inside"))
            .collect();
        // Event fields, error field, message, log record.
        assert_eq!(message_lines.len(), 4, "{format:?}: {lines:#?}");
        assert!(line_with(&lines, "after the panics").contains("ok"));

        marker_attribute(&capture, "created", "debugged");
        marker_attribute(&capture, "created", "displayed");
        marker_attribute(&capture, "late", "recorded");
        assert_eq!(
            attribute(&capture.span("unrelated"), "n"),
            Some(&Value::I64(1))
        );
        let logs = capture.logs();
        let fields = logs.iter().find(|l| l.body == "event fields").unwrap();
        for key in ["debugged", "displayed"] {
            assert!(
                fields
                    .attributes
                    .contains(&(key.into(), FORMAT_PANIC_MARKER.into())),
                "{format:?}: {fields:?}"
            );
        }
        let error = logs.iter().find(|l| l.body == "error field").unwrap();
        assert!(
            error
                .attributes
                .contains(&("error".into(), FORMAT_PANIC_MARKER.into())),
            "{error:?}"
        );
        let bodies: Vec<&str> = logs.iter().map(|l| l.body.as_str()).collect();
        assert_eq!(
            bodies.iter().filter(|b| **b == FORMAT_PANIC_MARKER).count(),
            2,
            "the message and the log record: {bodies:?}"
        );
        assert!(bodies.contains(&"after the panics"));
    }
}

/// The case that used to poison the registry: the console layer formatted a late `record` while
/// holding the span's extensions lock, the panic poisoned it, and the next span created in the
/// reused slot panicked with "Mutex poisoned".
#[test]
fn a_panicking_late_record_does_not_poison_later_spans() {
    for format in FORMATS {
        let (capture, lines) = capture(format);
        tracing::dispatcher::with_default(capture.guard().dispatch(), || {
            let late = tracing::info_span!("late", recorded = field::Empty);
            let recorded = catch_unwind(AssertUnwindSafe(|| {
                late.record("recorded", field::debug(&Bad));
            }));
            assert!(recorded.is_ok(), "{format:?}: record panicked");
            drop(late);
            for i in 0..3_u64 {
                let next = catch_unwind(AssertUnwindSafe(|| {
                    tracing::info_span!("unrelated", i)
                        .in_scope(|| tracing::info!(i, "unrelated event"));
                }));
                assert!(
                    next.is_ok(),
                    "{format:?}: span {i} after the record panicked"
                );
            }
        });
        assert_eq!(capture.spans_named("unrelated").len(), 3, "{format:?}");
        let printed = lines.lock().unwrap();
        assert_eq!(
            printed
                .iter()
                .filter(|l| l.contains("unrelated event"))
                .count(),
            3,
            "{format:?}: {printed:#?}"
        );
    }
}

/// A `Display` that reports an error without panicking: `to_string()` would panic on it.
struct Failing;

impl fmt::Display for Failing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("partial")?;
        Err(fmt::Error)
    }
}

impl fmt::Debug for Failing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Error for Failing {}

#[test]
fn a_formatter_returning_an_error_keeps_what_it_wrote() {
    let (capture, lines) = capture(ConsoleFormat::Json);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        tracing::dispatcher::with_default(capture.guard().dispatch(), || {
            tracing::info_span!("failing", value = %Failing).in_scope(|| {
                tracing::info!(error = &Failing as &(dyn Error + 'static), "failed");
            });
        })
    }));
    assert!(outcome.is_ok());
    let span = capture.span("failing");
    assert_eq!(attribute(&span, "value"), Some(&Value::from("partial")));
    let line: serde_json::Value =
        serde_json::from_str(line_with(&lines.lock().unwrap(), "failed")).unwrap();
    assert_eq!(line["error"], "partial");
    assert_eq!(line["value"], "partial");
}
