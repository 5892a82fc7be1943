//! Console output: a JSON formatter whose lines carry `trace_id`/`span_id` at top level, a writer
//! that redacts every line before it leaves the process, and a rate limit for the SDK's own
//! diagnostics (a collector that is down must not flood the console).

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::TraceContextExt;
use serde_json::{Map, Value};
use tracing::callsite::Identifier;
use tracing::field::{Field, Visit};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, MakeWriter};
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::registry::LookupSpan;

use crate::ValueRedactor;

/// One JSON object per line: `timestamp`, `level`, `target`, `message`, the event's fields, the
/// fields of the spans in scope (innermost wins), `span`, and `trace_id`/`span_id` whenever an
/// OpenTelemetry span is current (what Loki derived fields and Tempo links need).
pub(crate) struct JsonFormat {
    pub service_name: String,
}

impl<S, N> FormatEvent<S, N> for JsonFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut obj = Map::new();
        obj.insert("timestamp".into(), Value::String(rfc3339_now()));
        obj.insert("level".into(), Value::String(meta.level().as_str().into()));
        obj.insert("target".into(), Value::String(meta.target().into()));
        obj.insert("service".into(), Value::String(self.service_name.clone()));
        if let Some(scope) = ctx.event_scope() {
            let mut leaf = None;
            for span in scope.from_root() {
                let ext = span.extensions();
                if let Some(fields) = ext.get::<FormattedFields<JsonFields>>()
                    && let Ok(Value::Object(map)) = serde_json::from_str::<Value>(fields)
                {
                    for (k, v) in map {
                        if !k.starts_with("otel.") {
                            obj.insert(k, v);
                        }
                    }
                }
                leaf = Some(span.name());
            }
            if let Some(name) = leaf {
                obj.insert("span".into(), Value::String(name.into()));
            }
        }
        let mut visitor = JsonVisitor(&mut obj);
        event.record(&mut visitor);
        let cx = opentelemetry::Context::current();
        let span = cx.span();
        let sc = span.span_context();
        if sc.is_valid() {
            obj.insert("trace_id".into(), Value::String(sc.trace_id().to_string()));
            obj.insert("span_id".into(), Value::String(sc.span_id().to_string()));
        }
        let line = serde_json::to_string(&Value::Object(obj)).map_err(|_| fmt::Error)?;
        writeln!(writer, "{line}")
    }
}

struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().into(), Value::String(value.into()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_str(field, &value.to_string());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::from(value));
    }
}

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

/// Makes writers that buffer one formatted event and hand it, redacted, to the sink in one call.
pub(crate) struct RedactingWriter {
    pub redactor: Option<ValueRedactor>,
    pub sink: ConsoleSink,
}

impl<'a> MakeWriter<'a> for RedactingWriter {
    type Writer = LineWriter<'a>;
    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            buf: Vec::with_capacity(256),
            redactor: self.redactor.as_ref(),
            sink: &self.sink,
        }
    }
}

/// Buffers one event; redacts and writes it on drop.
pub(crate) struct LineWriter<'a> {
    buf: Vec<u8>,
    redactor: Option<&'a ValueRedactor>,
    sink: &'a ConsoleSink,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter<'_> {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let out = match self.redactor.and_then(|r| r(&text)) {
            Some(redacted) => redacted,
            None => text.into_owned(),
        };
        (self.sink)(&out);
    }
}

/// Lets at most one event per call site through per `interval` for targets starting with
/// `prefix` (the SDK's own diagnostics), and everything else untouched.
pub(crate) struct RateLimit {
    pub prefix: &'static str,
    pub interval: Duration,
    pub last: Mutex<HashMap<Identifier, Instant>>,
}

impl<S> Filter<S> for RateLimit {
    fn enabled(&self, _meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        true
    }

    fn event_enabled(&self, event: &Event<'_>, _cx: &Context<'_, S>) -> bool {
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
