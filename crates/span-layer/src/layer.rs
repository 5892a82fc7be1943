//! The layer: one OpenTelemetry span per `tracing` span, started at creation, current while
//! entered, ended at close.

use std::any::TypeId;
use std::borrow::Cow;
use std::marker::PhantomData;

use opentelemetry::trace::{SpanBuilder, Status, TraceContextExt as _, Tracer};
use opentelemetry::{Context, KeyValue};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Dispatch, Event, Level, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::registry::LookupSpan;

use crate::context::{self, ContextLookup, LayerId};
use crate::fields::Fields;
use crate::memo::CallsiteTargets;

/// The span's OpenTelemetry context, kept in the registry's span extensions.
///
/// Extensions hold one value per type, so every [`OtelSpanLayer`] of a subscriber shares this
/// one (inserting a second value of a type panics): each layer's context is kept under its
/// [`LayerId`]. The usual single layer uses `first` and allocates nothing more.
struct OtelSpan {
    first: Option<(LayerId, Context)>,
    more: Vec<(LayerId, Context)>,
}

impl OtelSpan {
    fn get(&self, layer: LayerId) -> Option<&Context> {
        self.first
            .iter()
            .chain(&self.more)
            .find(|(owner, _)| *owner == layer)
            .map(|(_, cx)| cx)
    }

    fn take(&mut self, layer: LayerId) -> Option<Context> {
        if self
            .first
            .as_ref()
            .is_some_and(|(owner, _)| *owner == layer)
        {
            return self.first.take().map(|(_, cx)| cx);
        }
        let at = self.more.iter().position(|(owner, _)| *owner == layer)?;
        Some(self.more.swap_remove(at).1)
    }

    fn is_empty(&self) -> bool {
        self.first.is_none() && self.more.is_empty()
    }
}

/// A [`Layer`] that mirrors `tracing` spans as OpenTelemetry spans; see the [crate docs](crate).
///
/// `S` is the subscriber it is layered onto (inferred); `T` the OpenTelemetry tracer.
pub struct OtelSpanLayer<S, T> {
    tracer: T,
    id: LayerId,
    lookup: ContextLookup,
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
    T: Tracer,
{
    /// A layer creating its spans with `tracer`. Events become span events and error fields
    /// become `exception.message` attributes; see the `with_*` methods to turn those off.
    pub fn new(tracer: T) -> Self {
        let id = LayerId::next();
        Self {
            tracer,
            id,
            lookup: ContextLookup(lookup::<S>, id),
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
        self.targets = Some(CallsiteTargets::new(targets));
        self
    }

    fn wants(&self, meta: &'static Metadata<'static>) -> bool {
        self.targets.as_ref().is_none_or(|t| t.enabled(meta))
    }

    fn context_of(&self, ctx: &LayerContext<'_, S>, id: &Id) -> Option<Context> {
        let span = ctx.span(id)?;
        let extensions = span.extensions();
        extensions.get::<OtelSpan>()?.get(self.id).cloned()
    }

    /// The context of span `id`, or of its nearest ancestor this layer started when `id` itself
    /// was filtered out (a per-layer filter hides filtered spans, so then there is none).
    fn nearest_context(&self, ctx: &LayerContext<'_, S>, id: &Id) -> Option<Context> {
        let span = ctx.span(id)?;
        span.scope().find_map(|ancestor| {
            let extensions = ancestor.extensions();
            extensions.get::<OtelSpan>()?.get(self.id).cloned()
        })
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

/// The context of span `id` in the dispatcher's registry (see [`crate::SpanExt`]).
fn lookup<S>(dispatch: &Dispatch, id: &Id, layer: LayerId) -> Option<Context>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let subscriber = dispatch.downcast_ref::<S>()?;
    let span = subscriber.span(id)?;
    let extensions = span.extensions();
    extensions.get::<OtelSpan>()?.get(layer).cloned()
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
        // Taken even when suppressed, so it cannot leak to a later span.
        let next_parent = context::take_next_parent();
        if Context::is_current_telemetry_suppressed() {
            return;
        }
        let parent = match next_parent {
            Some(parent) => parent,
            None => match attrs.parent() {
                Some(parent) => self.nearest_context(&ctx, parent).unwrap_or_default(),
                None if attrs.is_root() => Context::new(),
                // The innermost entered span of this layer, or a context attached by other code.
                None => Context::current(),
            },
        };

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

        let mut span = self.tracer.build_with_context(builder, &parent);
        if let Some(status) = status {
            opentelemetry::trace::Span::set_status(&mut span, status);
        }
        let cx = parent.with_span(span);
        if let Some(span) = ctx.span(id) {
            let mut extensions = span.extensions_mut();
            match extensions.get_mut::<OtelSpan>() {
                // Another `OtelSpanLayer` of this subscriber got there first.
                Some(data) => data.more.push((self.id, cx)),
                None => extensions.insert(OtelSpan {
                    first: Some((self.id, cx)),
                    more: Vec::new(),
                }),
            }
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(cx) = self.context_of(&ctx, id) else {
            return;
        };
        let mut fields = Fields::span(values.len());
        values.record(&mut fields);
        self.apply(&cx, fields);
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: LayerContext<'_, S>) {
        let (Some(cx), Some(follows)) = (self.context_of(&ctx, id), self.context_of(&ctx, follows))
        else {
            return;
        };
        let target = follows.span().span_context().clone();
        if target.is_valid() {
            cx.span().add_link(target, Vec::new());
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        if !self.span_events || !self.wants(event.metadata()) {
            return;
        }
        let cx = match event.parent() {
            Some(parent) => match self.context_of(&ctx, parent) {
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

    fn on_enter(&self, id: &Id, ctx: LayerContext<'_, S>) {
        if let Some(cx) = self.context_of(&ctx, id) {
            context::attach(self.id, id, cx);
        }
    }

    fn on_exit(&self, id: &Id, _ctx: LayerContext<'_, S>) {
        context::detach(self.id, id);
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        let cx = ctx.span(&id).and_then(|span| {
            let mut extensions = span.extensions_mut();
            let data = extensions.get_mut::<OtelSpan>()?;
            let cx = data.take(self.id);
            if data.is_empty() {
                extensions.remove::<OtelSpan>();
            }
            cx
        });
        // Ended with no registry lock held: processors may run arbitrary code.
        if let Some(cx) = cx {
            cx.span().end();
        }
    }

    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            Some(self as *const Self as *const ())
        } else if id == TypeId::of::<ContextLookup>() {
            Some(&self.lookup as *const ContextLookup as *const ())
        } else {
            None
        }
    }
}
