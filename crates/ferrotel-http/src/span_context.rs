//! The OpenTelemetry side of this crate's `tracing` spans, under either span layer: the SDK's
//! own [`ferrotel_tracing::OtelSpanLayer`] (what `ferrotel::init()` installs) or
//! `tracing-opentelemetry`'s layer (what a hand-built subscriber usually has).

use ferrotel_tracing::SpanExt as _;
use opentelemetry::Context;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The OpenTelemetry context holding `span`; the empty context when no layer handles it.
pub(crate) fn of(span: &tracing::Span) -> Context {
    span.otel_context().unwrap_or_else(|| {
        // tracing-opentelemetry's lookup; the empty context when it has none either.
        OpenTelemetrySpanExt::context(span)
    })
}

/// Creates a span (with `make`) whose OpenTelemetry parent is `parent`.
///
/// Our layer starts spans at creation, so it takes the parent from [`with_parent_context`]
/// beforehand; tracing-opentelemetry starts them lazily, so `set_parent` works afterwards. Each
/// call is a no-op under the other layer.
///
/// [`with_parent_context`]: ferrotel_tracing::with_parent_context
pub(crate) fn child_of(parent: Context, make: impl FnOnce() -> tracing::Span) -> tracing::Span {
    let span = ferrotel_tracing::with_parent_context(parent.clone(), make);
    // Refused (and ignored) under our layer, which has no tracing-opentelemetry context.
    let _ = span.set_parent(parent);
    span
}
