//! Per-thread state: the parent chosen for the next span, and the contexts attached by entered
//! spans. Plus the lookup from a `tracing::Span` to its OpenTelemetry context.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry::trace::SpanBuilder;
use opentelemetry::{Context, ContextGuard};
use tracing_core::span::Id;

use crate::store::SpanStore;

thread_local! {
    static NEXT_PARENT: RefCell<Option<Context>> = const { RefCell::new(None) };
    static NEXT_SPAN: RefCell<Option<(SpanBuilder, Context)>> = const { RefCell::new(None) };
    static ATTACHED: RefCell<Vec<(LayerId, Id, ContextGuard)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `make` with `parent` as the parent of the first span an [`crate::OtelSpanLayer`]
/// starts on this thread inside it, whatever the `tracing` parent of that span is (an explicit
/// root with `parent: None` included).
///
/// Inside a telemetry-suppressed scope ([`Context::enter_telemetry_suppressed_scope`]) no span is
/// started and the parent is discarded. The previous parent is restored when `make` returns or
/// panics.
///
/// This is how a server continues an incoming trace: extract the remote context from the request
/// headers, then create the request span inside this call. Spans are started when they are
/// created, so the parent has to be known then, not set afterwards.
///
/// ```
/// use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState};
///
/// let remote = opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
///     TraceId::from(7_u128),
///     SpanId::from(9_u64),
///     TraceFlags::SAMPLED,
///     true,
///     TraceState::default(),
/// ));
/// let span = ferrotel_tracing::with_parent_context(remote, || {
///     tracing::info_span!(parent: None, "GET /items")
/// });
/// # drop(span);
/// ```
pub fn with_parent_context<R>(parent: Context, make: impl FnOnce() -> R) -> R {
    /// Puts the previous parent back when `make` returns or unwinds: an unconsumed parent (no
    /// layer, a disabled span, or a panic before the span was created) must not leak to a later
    /// span on this thread, which may go on serving after the panic is caught.
    struct Restore(Option<Context>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            // `try_with`: a no-op while the thread's locals are being destroyed.
            let _ = NEXT_PARENT.try_with(|slot| *slot.borrow_mut() = previous);
        }
    }
    let _restore = Restore(NEXT_PARENT.with(|slot| slot.replace(Some(parent))));
    make()
}

/// The parent set by [`with_parent_context`] for the span being created, if any.
pub(crate) fn take_next_parent() -> Option<Context> {
    NEXT_PARENT.with(|slot| slot.borrow_mut().take())
}

/// Runs `make` so that the first span an [`crate::OtelSpanLayer`] starts on this thread inside
/// it is started from `builder` (name, kind, attributes, links, start time) with `parent` as its
/// parent, instead of from the `tracing` span's own name and fields.
///
/// The `tracing` span keeps its fields for the other layers (the console prints them); the
/// OpenTelemetry span gets exactly the builder's attributes, typed values included, without the
/// layer visiting and converting each field. Fields `record`ed later still become attributes.
/// This is how an instrumentation that already knows its span's attributes (an HTTP server
/// middleware) creates a request span that is current for both `tracing` and OpenTelemetry at
/// the cost of one SDK span.
///
/// Without an `OtelSpanLayer` in the current subscriber ([`span_layer_installed`] is `false`),
/// or when the layer filters the span out, the builder is discarded when `make` returns or
/// panics; inside a telemetry-suppressed scope no span is started.
///
/// ```
/// use opentelemetry::KeyValue;
/// use opentelemetry::trace::{SpanBuilder, SpanKind};
///
/// let builder = SpanBuilder::from_name("GET /items/{id}")
///     .with_kind(SpanKind::Server)
///     .with_attributes([KeyValue::new("http.request.method", "GET")]);
/// let span = ferrotel_tracing::with_span_builder(builder, opentelemetry::Context::new(), || {
///     tracing::info_span!(parent: None, "HTTP request", request_id = "r-1")
/// });
/// # drop(span);
/// ```
pub fn with_span_builder<R>(builder: SpanBuilder, parent: Context, make: impl FnOnce() -> R) -> R {
    /// Discards an unconsumed builder (and whatever it held before) when `make` returns or
    /// unwinds, so that it cannot become a later span on this thread.
    struct Restore(Option<(SpanBuilder, Context)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            let unconsumed = NEXT_SPAN.try_with(|slot| slot.replace(previous));
            // Dropped outside the borrow: a context's drop may run OpenTelemetry code.
            drop(unconsumed);
        }
    }
    let _restore = Restore(NEXT_SPAN.with(|slot| slot.replace(Some((builder, parent)))));
    make()
}

/// The builder set by [`with_span_builder`] for the span being created, if any.
pub(crate) fn take_next_span() -> Option<(SpanBuilder, Context)> {
    NEXT_SPAN.with(|slot| slot.borrow_mut().take())
}

/// Starts an OpenTelemetry span from `builder` under `parent` with the tracer of the current
/// subscriber's [`crate::OtelSpanLayer`], and returns the context holding it; no `tracing` span
/// is created.
///
/// `None` when the subscriber has no `OtelSpanLayer`, when the layer's targets
/// ([`crate::OtelSpanLayer::with_targets`]) leave out `target` at `level`, or inside a
/// telemetry-suppressed scope. The caller ends the span (`cx.span().end()`) and makes the context
/// current where the work runs (`cx.attach()` around each poll): `tracing` spans created there
/// become its children, and log records carry its ids. Attach [`ContextSpanFields`] to the
/// context to show fields of the request on the console lines printed inside it.
///
/// This is the cheapest way to a span that is current for both worlds, for instrumentation that
/// already knows its attributes (an HTTP server middleware): one SDK span, no registry entry,
/// no field visits.
///
/// ```
/// use opentelemetry::trace::{SpanBuilder, SpanKind, TraceContextExt as _};
/// use tracing_subscriber::layer::SubscriberExt as _;
///
/// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
/// let tracer = opentelemetry::trace::TracerProvider::tracer(&provider, "example");
/// let subscriber =
///     tracing_subscriber::registry().with(ferrotel_tracing::OtelSpanLayer::new(tracer));
/// tracing::subscriber::with_default(subscriber, || {
///     let builder = SpanBuilder::from_name("GET /items").with_kind(SpanKind::Server);
///     let cx = ferrotel_tracing::start_span(
///         "my_server",
///         tracing::Level::INFO,
///         builder,
///         &opentelemetry::Context::new(),
///     )
///     .expect("the layer is installed");
///     {
///         let _current = cx.clone().attach();
///         // `tracing` spans and events here belong to the request span.
///         tracing::info_span!("load").in_scope(|| tracing::info!("loaded"));
///     }
///     cx.span().end();
/// });
/// ```
pub fn start_span(
    target: &str,
    level: tracing::Level,
    builder: SpanBuilder,
    parent: &Context,
) -> Option<Context> {
    if Context::is_current_telemetry_suppressed() {
        return None;
    }
    let mut builder = Some(builder);
    tracing::dispatcher::get_default(|dispatch| {
        dispatch.downcast_ref::<crate::layer::SpanStarter>()?.start(
            target,
            level,
            builder.take()?,
            parent,
        )
    })
}

/// Fields of a unit of work that has an OpenTelemetry span but no `tracing` span (see
/// [`start_span`]), as a value in its OpenTelemetry context: the console shows them on every
/// line printed while the context is current, like the fields of an enclosing span named `name`.
#[derive(Debug, Clone)]
pub struct ContextSpanFields {
    /// The name shown for the enclosing span.
    pub name: &'static str,
    /// Field names and values (a `StringValue` can share its text with a span attribute).
    pub fields: Vec<(&'static str, opentelemetry::StringValue)>,
}

/// Whether the current `tracing` subscriber has an [`crate::OtelSpanLayer`] (directly, or through
/// a forwarding subscriber that uses [`forward_downcast_raw`]).
pub fn span_layer_installed() -> bool {
    tracing::dispatcher::get_default(|dispatch| dispatch.downcast_ref::<SpanStore>().is_some())
}

/// Tells apart the layers that share a thread's [`ATTACHED`] stack: span ids are only unique
/// within one registry, and a thread can run spans of several subscribers (a scoped dispatcher
/// inside the global one), so an id alone could detach another layer's span.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct LayerId(u64);

impl LayerId {
    pub(crate) fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Self(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// Makes `cx` current on this thread until [`detach`] is called with the same layer and span.
pub(crate) fn attach(layer: LayerId, id: &Id, cx: Context) {
    let guard = cx.attach();
    ATTACHED.with(|stack| stack.borrow_mut().push((layer, id.clone(), guard)));
}

/// Restores the context that was current before the span `id` was entered here by `layer`.
/// Spans usually exit in reverse order of entry, so the search starts at the top; the
/// OpenTelemetry context stack handles guards dropped out of order.
pub(crate) fn detach(layer: LayerId, id: &Id) {
    let guard = ATTACHED.with(|stack| {
        let mut stack = stack.borrow_mut();
        let on_top = stack
            .last()
            .is_some_and(|(owner, entered, _)| *owner == layer && entered == id);
        if on_top {
            return stack.pop().map(|(_, _, guard)| guard);
        }
        let at = stack
            .iter()
            .rposition(|(owner, entered, _)| *owner == layer && entered == id)?;
        Some(stack.remove(at).2)
    });
    // Dropped outside the borrow: restoring the previous context runs OpenTelemetry code.
    drop(guard);
}

/// OpenTelemetry access to a `tracing::Span` handled by an [`crate::OtelSpanLayer`].
pub trait SpanExt {
    /// The OpenTelemetry context holding this span (its span context for propagation, and the
    /// span itself for OpenTelemetry API calls such as `update_name`).
    ///
    /// `None` when the span is disabled, was filtered out of the layer, was sampled out of
    /// existence by a suppressed context, or the current subscriber has no `OtelSpanLayer`.
    /// With several layers in one subscriber, the outermost layer's context.
    fn otel_context(&self) -> Option<Context>;
}

impl SpanExt for tracing::Span {
    fn otel_context(&self) -> Option<Context> {
        self.with_subscriber(|(id, dispatch)| dispatch.downcast_ref::<SpanStore>()?.get(id))
            .flatten()
    }
}

/// For a subscriber that forwards to another [`tracing::Dispatch`] (a router or multiplexer):
/// answers its `downcast_raw(id)` with what `inner` holds for [`SpanExt`], so that
/// [`SpanExt::otel_context`] keeps working through the forwarding subscriber. `None` for any
/// other type.
///
/// `Dispatch` offers only typed downcasts, so a forwarding subscriber cannot pass an arbitrary
/// `TypeId` on; this names the types the bridge looks up (for [`SpanExt`] and [`start_span`]). The pointer is valid as long as
/// `inner`'s subscriber lives.
pub fn forward_downcast_raw(inner: &tracing::Dispatch, id: std::any::TypeId) -> Option<*const ()> {
    if id == std::any::TypeId::of::<SpanStore>() {
        inner
            .downcast_ref::<SpanStore>()
            .map(|store| store as *const SpanStore as *const ())
    } else if id == std::any::TypeId::of::<crate::layer::SpanStarter>() {
        inner
            .downcast_ref::<crate::layer::SpanStarter>()
            .map(|starter| starter as *const crate::layer::SpanStarter as *const ())
    } else {
        None
    }
}
