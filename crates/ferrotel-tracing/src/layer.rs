//! The layer: one OpenTelemetry span per `tracing` span, started at creation, current while
//! entered, ended at close.

use std::any::TypeId;
use std::borrow::Cow;
use std::marker::PhantomData;

use opentelemetry::trace::{SpanBuilder, Status, TraceContextExt as _, Tracer};
use opentelemetry::{Context, KeyValue};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::registry::LookupSpan;

use crate::context::{self, LayerId};
use crate::fields::Fields;
use crate::memo::CallsiteTargets;
use crate::store::SpanStore;

/// Starts a span from a builder under a parent, returning the context holding it.
type StartFn = Box<dyn Fn(SpanBuilder, &Context) -> Context + Send + Sync>;

/// A layer's way of starting an OpenTelemetry span with its tracer, found through the
/// dispatcher by [`crate::start_span`]: the tracer type is the layer's type parameter, so it is
/// reached through this type-erased function.
pub(crate) struct SpanStarter {
    start: StartFn,
    /// The layer's own targets ([`OtelSpanLayer::with_targets`]).
    targets: Option<Targets>,
}

impl SpanStarter {
    /// Starts a span from `builder` under `parent` if the layer takes spans of `target` at
    /// `level`; the context returned holds it.
    pub(crate) fn start(
        &self,
        target: &str,
        level: Level,
        builder: SpanBuilder,
        parent: &Context,
    ) -> Option<Context> {
        if let Some(targets) = &self.targets
            && !targets.would_enable(target, &level)
        {
            return None;
        }
        Some((self.start)(builder, parent))
    }
}

/// A [`Layer`] that mirrors `tracing` spans as OpenTelemetry spans; see the [crate docs](crate).
///
/// `S` is the subscriber it is layered onto (inferred); `T` the OpenTelemetry tracer.
pub struct OtelSpanLayer<S, T> {
    tracer: std::sync::Arc<T>,
    /// Starts spans with `tracer` for [`crate::start_span`].
    starter: SpanStarter,
    id: LayerId,
    store: SpanStore,
    span_events: bool,
    exceptions: bool,
    targets: Option<CallsiteTargets>,
    _subscriber: PhantomData<fn(S)>,
}

impl<S, T> std::fmt::Debug for OtelSpanLayer<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtelSpanLayer")
            .field("span_events", &self.span_events)
            .field("exceptions", &self.exceptions)
            .field("targets", &self.targets)
            .finish_non_exhaustive()
    }
}

impl<S, T> OtelSpanLayer<S, T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    T: Tracer + Send + Sync + 'static,
    T::Span: Send + Sync + 'static,
{
    /// A layer creating its spans with `tracer`. Events become span events and error fields
    /// become `exception.message` attributes; see the `with_*` methods to turn those off.
    pub fn new(tracer: T) -> Self {
        let id = LayerId::next();
        let tracer = std::sync::Arc::new(tracer);
        let for_starter = std::sync::Arc::clone(&tracer);
        Self {
            tracer,
            starter: SpanStarter {
                start: Box::new(move |builder, parent| {
                    let span = for_starter.build_with_context(builder, parent);
                    parent.with_span(span)
                }),
                targets: None,
            },
            id,
            store: SpanStore::default(),
            span_events: true,
            exceptions: true,
            targets: None,
            _subscriber: PhantomData,
        }
    }

    /// Whether `tracing` events inside a span are added to it as span events (default `true`).
    /// Turn it off when events are exported as log records only.
    pub fn with_span_events(mut self, enabled: bool) -> Self {
        self.span_events = enabled;
        self
    }

    /// Whether a field recorded as `&dyn Error` also sets `exception.message` (on the span) or
    /// names the span event `exception` (default `true`), as the semantic conventions describe.
    pub fn with_exception_fields(mut self, enabled: bool) -> Self {
        self.exceptions = enabled;
        self
    }

    /// Only spans and events that `targets` enables become OpenTelemetry spans and span events.
    ///
    /// Unlike wrapping the layer in a per-layer filter (`layer.with_filter(targets)`, which also
    /// works), this check costs no registry lookups on enter, exit and close. It does not take
    /// part in callsite interest: put a global filter in front of the subscriber (or use a
    /// per-layer filter) if disabled callsites must cost nothing.
    pub fn with_targets(mut self, targets: Targets) -> Self {
        self.starter.targets = Some(targets.clone());
        self.targets = Some(CallsiteTargets::new(targets));
        self
    }

    fn wants(&self, meta: &'static Metadata<'static>) -> bool {
        self.targets.as_ref().is_none_or(|t| t.enabled(meta))
    }

    /// The context of span `id`, or of its nearest ancestor this layer started when `id` itself
    /// was filtered out (a per-layer filter hides filtered spans, so then there is none).
    fn nearest_context(&self, ctx: &LayerContext<'_, S>, id: &Id) -> Option<Context> {
        let span = ctx.span(id)?;
        span.scope()
            .find_map(|ancestor| self.store.get(&ancestor.id()))
    }

    /// The span to start for `attrs`, and the status its `otel.status_*` fields set.
    fn builder(&self, attrs: &Attributes<'_>) -> (SpanBuilder, Option<Status>) {
        let meta = attrs.metadata();
        if meta.fields().is_empty() {
            // Nothing to record (`info_span!("name")`, `#[instrument(skip_all)]`).
            return (SpanBuilder::from_name(meta.name()), None);
        }
        let mut fields = Fields::span(meta.fields().len());
        attrs.record(&mut fields);
        let mut builder =
            SpanBuilder::from_name(fields.name.take().unwrap_or(Cow::Borrowed(meta.name())));
        builder.span_kind = fields.kind.take();
        if let Some(message) = fields.exception.take().filter(|_| self.exceptions) {
            fields
                .attributes
                .push(KeyValue::new("exception.message", message));
        }
        let status = fields.status();
        builder.attributes = Some(fields.attributes);
        (builder, status)
    }

    /// Applies `record`ed fields to a started span.
    fn apply(&self, cx: &Context, mut fields: Fields) {
        let span = cx.span();
        if let Some(name) = fields.name.take() {
            span.update_name(name);
        }
        if let Some(status) = fields.status() {
            span.set_status(status);
        }
        if let Some(message) = fields.exception.take().filter(|_| self.exceptions) {
            fields
                .attributes
                .push(KeyValue::new("exception.message", message));
        }
        if !fields.attributes.is_empty() {
            span.set_attributes(fields.attributes);
        }
    }
}

impl<S, T> Layer<S> for OtelSpanLayer<S, T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    T: Tracer + Send + Sync + 'static,
    T::Span: Send + Sync + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let meta = attrs.metadata();
        if !self.wants(meta) {
            return;
        }
        // Both taken even when suppressed, so that neither can leak to a later span.
        let next_span = context::take_next_span();
        let next_parent = context::take_next_parent();
        if let Some((builder, parent)) = next_span {
            if Context::is_current_telemetry_suppressed() {
                return;
            }
            let span = self.tracer.build_with_context(builder, &parent);
            self.store.insert(id, parent.with_span(span));
            return;
        }
        let parent = match next_parent {
            Some(parent) if !Context::is_current_telemetry_suppressed() => parent,
            Some(_) => return,
            // The innermost entered span of this layer, or a context attached by other code;
            // the current context also says whether telemetry is suppressed here.
            None if attrs.is_contextual() => match Context::current() {
                current if current.is_telemetry_suppressed() => return,
                current => current,
            },
            None if Context::is_current_telemetry_suppressed() => return,
            None => match attrs.parent() {
                Some(parent) => self.nearest_context(&ctx, parent).unwrap_or_default(),
                None => Context::new(),
            },
        };

        let (builder, status) = self.builder(attrs);
        let mut span = self.tracer.build_with_context(builder, &parent);
        if let Some(status) = status {
            opentelemetry::trace::Span::set_status(&mut span, status);
        }
        self.store.insert(id, parent.with_span(span));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: LayerContext<'_, S>) {
        let Some(cx) = self.store.get(id) else {
            return;
        };
        let mut fields = Fields::span(values.len());
        values.record(&mut fields);
        self.apply(&cx, fields);
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, _ctx: LayerContext<'_, S>) {
        let (Some(cx), Some(follows)) = (self.store.get(id), self.store.get(follows)) else {
            return;
        };
        let target = follows.span().span_context().clone();
        if target.is_valid() {
            cx.span().add_link(target, Vec::new());
        }
    }

    fn on_event(&self, event: &Event<'_>, _ctx: LayerContext<'_, S>) {
        if !self.span_events || !self.wants(event.metadata()) {
            return;
        }
        let cx = match event.parent() {
            Some(parent) => match self.store.get(parent) {
                Some(cx) => cx,
                None => return,
            },
            None if event.is_contextual() => Context::current(),
            None => return,
        };
        let span = cx.span();
        if !span.is_recording() {
            return;
        }
        let meta = event.metadata();
        let mut fields = Fields::event(meta.fields().len() + 2);
        fields
            .attributes
            .push(KeyValue::new("level", meta.level().as_str()));
        fields
            .attributes
            .push(KeyValue::new("target", meta.target()));
        event.record(&mut fields);
        let mut name = fields.name.take().unwrap_or(Cow::Borrowed(meta.name()));
        if let Some(message) = fields.exception.take().filter(|_| self.exceptions) {
            fields
                .attributes
                .push(KeyValue::new("exception.message", message));
            name = Cow::Borrowed("exception");
        }
        if *meta.level() == Level::ERROR {
            span.set_status(Status::error(""));
        }
        span.add_event(name, fields.attributes);
    }

    fn on_enter(&self, id: &Id, _ctx: LayerContext<'_, S>) {
        if let Some(cx) = self.store.get(id) {
            context::attach(self.id, id, cx);
        }
    }

    fn on_exit(&self, id: &Id, _ctx: LayerContext<'_, S>) {
        context::detach(self.id, id);
    }

    fn on_close(&self, id: Id, _ctx: LayerContext<'_, S>) {
        // Ended with no lock held: processors may run arbitrary code.
        if let Some(cx) = self.store.remove(&id) {
            cx.span().end();
        }
    }

    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            Some(self as *const Self as *const ())
        } else if id == TypeId::of::<SpanStore>() {
            Some(&self.store as *const SpanStore as *const ())
        } else if id == TypeId::of::<SpanStarter>() {
            Some(&self.starter as *const SpanStarter as *const ())
        } else {
            None
        }
    }
}
