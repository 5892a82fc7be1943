//! Console output: one line per event in the pretty, compact or JSON layout (JSON lines carry
//! `trace_id`/`span_id` at top level), values redacted, cut to the export value limit and
//! escaped, every line within a cap and redacted whole before it leaves the process; and a rate
//! limit for the SDK's own diagnostics (a collector that is down must not flood the console).
//! docs/console.md is the user's guide.

mod escape;
mod fields;
mod layer;
mod line;

pub(crate) use fields::ValueRules;
pub(crate) use layer::ConsoleLayer;
pub(crate) use line::Layout;

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tracing::Event;
use tracing::callsite::Identifier;

/// `2026-11-22T04:20:47.123456Z`, without a date-time dependency.
pub(crate) fn rfc3339_now() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// Where console lines go.
pub(crate) type ConsoleSink = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// Writes to stdout, ignoring a closed stdout: console output must never take the service down.
pub(crate) fn stdout_sink() -> ConsoleSink {
    std::sync::Arc::new(|line: &str| {
        let _ = io::stdout().lock().write_all(line.as_bytes());
    })
}

/// The longest line [`stderr_line`] writes.
const STDERR_LINE_CAP: usize = 8 * 1024;

/// Writes one `ferrotel: ...` line to stderr, for what must be seen without a console
/// (configuration warnings, export trouble, an incomplete shutdown). The text may hold values
/// from outside (a setting, a collector's error message), so control characters are escaped and
/// the line is cut at 8 KiB. A closed stderr is ignored: `eprintln!` would panic there.
pub(crate) fn stderr_line(text: &str) {
    let mut line = String::with_capacity(text.len().min(STDERR_LINE_CAP) + 16);
    line.push_str("ferrotel: ");
    if !escape::push_escaped(&mut line, text, escape::Escape::Text, STDERR_LINE_CAP) {
        line.push_str(" <truncated>");
    }
    line.push('\n');
    let _ = io::stderr().lock().write_all(line.as_bytes());
}

/// Lets at most one event per call site through per `interval` for targets starting with
/// `prefix` (the SDK's own diagnostics), and everything else untouched.
///
/// Checked by the console layer itself rather than as a per-layer filter: a per-layer filter
/// costs a filter-state lookup on every span's creation, entry, exit and close, for the sake of
/// a few events.
pub(crate) struct RateLimit {
    pub prefix: &'static str,
    pub interval: Duration,
    pub last: Mutex<HashMap<Identifier, Instant>>,
}

impl RateLimit {
    /// Whether `event` is printed.
    pub(crate) fn allows(&self, event: &Event<'_>) -> bool {
        let meta = event.metadata();
        if !meta.target().starts_with(self.prefix) {
            return true;
        }
        let Ok(mut last) = self.last.lock() else {
            return true;
        };
        let now = Instant::now();
        match last.get(&meta.callsite()) {
            Some(t) if now.duration_since(*t) < self.interval => false,
            _ => {
                last.insert(meta.callsite(), now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let t = rfc3339_now();
        assert_eq!(t.len(), 27, "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
        let year: i32 = t[..4].parse().unwrap();
        assert!(year >= 2024, "{t}");
    }
}
