//! The `tracing` bridge: a lean [`tracing_subscriber::Layer`] that turns `tracing` spans into
//! OpenTelemetry spans ([`OtelSpanLayer`]), and one that turns `tracing` events into
//! OpenTelemetry log records ([`LogBridge`], see [`logs`]).
//!
//! [`OtelSpanLayer`] does the job of `tracing-opentelemetry`'s layer with less work per span:
//!
//! - the OpenTelemetry span is **started when the `tracing` span is created** (no intermediate
//!   `SpanBuilder` kept behind an `Arc<Mutex>` until first use), with the fields given at creation
//!   as its attributes, so samplers see them;
//! - the span's [`opentelemetry::Context`] is **attached on enter and detached on exit**, so
//!   `Context::current()` inside a `tracing` span is that span: OpenTelemetry log records get its
//!   trace and span ids, propagators inject it, and OpenTelemetry API calls such as
//!   `Context::current().span().set_attribute(..)` reach it;
//! - contextual parents come from `Context::current()`, which needs no registry lookup, and an
//!   explicit parent for the next span (a server span continuing an incoming `traceparent`) is
//!   given with [`with_parent_context`] before the span exists rather than patched in afterwards.
//!
//! Fields map as in `tracing-opentelemetry`: `otel.name`, `otel.kind`, `otel.status_code` and
//! `otel.status_description` set the span's name, kind and status; other fields become
//! attributes (`u64` values that fit are integers, not strings); events inside a span become span
//! events named after their message, carrying `level` and `target`; an `ERROR` event marks the
//! span as failed; `follows_from` becomes a link.
//!
//! Field values are formatted through [`panic_safe`]: a `Debug`, `Display` or `Error` impl that
//! panics becomes the attribute (or log body) [`FORMAT_PANIC_MARKER`] instead of unwinding into
//! the application's `tracing` call.
//!
//! Spans end in the layer's `on_close`, so span processors run there (a simple processor exports
//! there too). Code they run must not create `tracing` spans: `tracing-subscriber`'s registry
//! never frees a span created and closed during another span's close, and that span keeps its
//! parents open, so they are never exported. The batch processor only queues in `on_end`.
//!
//! Several `OtelSpanLayer`s may share a subscriber (each keeps its own span per `tracing` span),
//! but there is one current OpenTelemetry context per thread: contextual parents come from the
//! layer entered last, that is the outermost one.
//!
//! ```
//! use opentelemetry::trace::TracerProvider as _;
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
//! let subscriber = tracing_subscriber::registry()
//!     .with(ferrotel_tracing::OtelSpanLayer::new(provider.tracer("app")));
//! tracing::subscriber::with_default(subscriber, || {
//!     let span = tracing::info_span!("work", otel.kind = "internal", items = 3_u64);
//!     let _entered = span.enter();
//!     // The OpenTelemetry context is this span while it is entered.
//!     use opentelemetry::trace::TraceContextExt as _;
//!     assert!(opentelemetry::Context::current().span().span_context().is_valid());
//! });
//! ```
//!
//! Dependencies: `opentelemetry` (the trace and logs APIs the spans and records are created
//! through; any [`opentelemetry::trace::Tracer`] and [`opentelemetry::logs::Logger`] work), `tracing`, `tracing-core` and
//! `tracing-subscriber` (the `Layer` trait, and the span registry for the ancestry of explicit
//! parents), `tracing::Span` for [`SpanExt`]. Each live span's context is kept in the layer's own
//! sharded map keyed by span id rather than in registry extensions, which would cost an allocation
//! and a slab lookup per span (see `store.rs`).
//!
//! ---
//!
//! The guide below is `docs/tracing-bridge.md` of the repository.
#![doc = include_str!("../docs/tracing-bridge.md")]

mod context;
mod fields;
mod layer;
pub mod logs;
mod memo;
pub mod panic_safe;
pub mod propagation;
mod store;

pub use context::{
    ContextSpanFields, SpanExt, forward_downcast_raw, span_layer_installed, start_span,
    with_parent_context, with_span_builder,
};
pub use layer::OtelSpanLayer;
pub use logs::LogBridge;
pub use memo::CallsiteTargets;
pub use panic_safe::FORMAT_PANIC_MARKER;

/// The `tracing` target of the HTTP middleware's request spans (`ferrotel-http`'s server and
/// client spans), defined once here for the middleware and the init crate to share.
///
/// The subscriber `ferrotel::init()` installs always enables this target at INFO for span
/// export, whatever `RUST_LOG` says: a request span is the root that every handler span and
/// log record of the request hangs under, and it continues the caller's `traceparent`. A
/// filter such as `RUST_LOG=warn`, usually set to quiet the console, would otherwise cut every
/// trace at its root and break the trace across services. Naming the target in the filter
/// (`RUST_LOG=warn,ferrotel::http=off`) still turns it off.
pub const HTTP_SPAN_TARGET: &str = "ferrotel::http";
