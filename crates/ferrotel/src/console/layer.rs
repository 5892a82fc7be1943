//! The console layer: records span fields as they are created and recorded, renders each event
//! as one line and hands it, redacted, to the sink in one call.
//!
//! Its own layer rather than `tracing-subscriber`'s `fmt` layer: that one formats a late
//! `span.record` while it holds the span's extensions lock (a panicking `Debug` there poisoned
//! the lock, and the next span in the reused slot panicked), and its formats write values whole
//! and unescaped. Here user formatting runs panic-safe and outside every lock.

use opentelemetry::trace::TraceContextExt as _;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent as _;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::fields::{Collector, FieldSet, FieldValue, Skip, ValueRules};
use super::line::{self, Layout, TraceIds};
use super::{ConsoleSink, rfc3339_now};
use crate::{ConsoleSchema, ValueRedactor};

/// Console output in one layout.
pub(crate) struct ConsoleLayer {
    pub layout: Layout,
    /// Key names of JSON lines.
    pub schema: ConsoleSchema,
    /// ANSI styling (a terminal on stdout, `NO_COLOR` unset; never for JSON).
    pub ansi: bool,
    pub rules: ValueRules,
    /// The most bytes of one line, newline included.
    pub line_cap: usize,
    pub service: String,
    /// Redacts each finished line once more (sensitive keys with their values).
    pub redactor: Option<ValueRedactor>,
    pub sink: ConsoleSink,
    /// Rate limit of the SDK's own diagnostics.
    pub rate_limit: super::RateLimit,
}

/// A span's fields as the console shows them, in its extensions.
struct SpanFields(FieldSet);

impl ConsoleLayer {
    fn span_fields(&self, record: impl FnOnce(&mut Collector<'_>)) -> FieldSet {
        let mut collector = Collector::new(&self.rules, Skip::Otel);
        record(&mut collector);
        let mut fields = collector.fields;
        if let Some(message) = collector.message {
            fields.set("message", FieldValue::Text(message), self.rules.fields_cap);
        }
        fields
    }
}

impl<S> Layer<S> for ConsoleLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let fields = self.span_fields(|c| attrs.record(c));
        if fields.fields.is_empty() && !fields.truncated {
            return;
        }
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        // Formatted before the lock is taken: user code never runs under it.
        let fields = self.span_fields(|c| values.record(c));
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<SpanFields>() {
            Some(held) => held.0.merge(fields, self.rules.fields_cap),
            None => extensions.insert(SpanFields(fields)),
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if !self.rate_limit.allows(event) {
            return;
        }
        let normalized = event.normalized_metadata();
        let metadata = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let skip = if normalized.is_some() {
            Skip::Log
        } else {
            Skip::None
        };
        let mut collector = Collector::new(&self.rules, skip);
        event.record(&mut collector);
        let cx = opentelemetry::Context::current();
        let trace = (self.layout == Layout::Json)
            .then(|| {
                let span = cx.span();
                let sc = span.span_context();
                sc.is_valid().then(|| TraceIds {
                    trace_id: sc.trace_id().to_string(),
                    span_id: sc.span_id().to_string(),
                    sampled: sc.is_sampled(),
                })
            })
            .flatten();
        // Looked up only for a schema with a place for it.
        let origin = (self.layout == Layout::Json && line::shows_origin(self.schema))
            .then(|| metadata.file().map(|file| (file, metadata.line())))
            .flatten();
        // A unit of work with an OpenTelemetry span and no `tracing` span (the HTTP middleware's
        // request): shown as the outermost span.
        let context_span = cx.get::<ferrotel_tracing::ContextSpanFields>().map(|held| {
            let mut fields = FieldSet::default();
            for (name, value) in &held.fields {
                let value = FieldValue::Str(self.rules.limited(value.as_str()));
                fields.set(name, value, self.rules.fields_cap);
            }
            (held.name, fields)
        });
        let timestamp = rfc3339_now();
        let line = {
            let scope: Vec<_> = ctx
                .event_scope(event)
                .map(|scope| scope.collect())
                .unwrap_or_default();
            let held: Vec<_> = scope.iter().map(|s| (s.name(), s.extensions())).collect();
            // Innermost first, as `event_scope` yields them; the context span is the outermost.
            let mut spans: Vec<(&str, Option<&FieldSet>)> = held
                .iter()
                .map(|(name, ext)| (*name, ext.get::<SpanFields>().map(|f| &f.0)))
                .collect();
            if let Some((name, fields)) = &context_span {
                spans.push((name, Some(fields)));
            }
            line::render(
                &line::Event {
                    timestamp: &timestamp,
                    level: *metadata.level(),
                    target: metadata.target(),
                    service: &self.service,
                    message: collector.message.as_deref(),
                    fields: &collector.fields,
                    spans: &spans,
                    trace,
                    origin,
                },
                self.layout,
                self.schema,
                self.ansi,
                self.line_cap,
            )
        };
        let line = match self.redactor.as_ref().and_then(|redact| redact(&line)) {
            Some(redacted) => redacted,
            None => line,
        };
        (self.sink)(&line);
    }
}
