//! The process-wide tracer provider of a test binary that uses captures: spans started through
//! the OpenTelemetry API (`global::tracer(..)`) belong to the capture current where they start.

use std::sync::LazyLock;

use opentelemetry::trace::{SpanBuilder, Tracer, TracerProvider};
use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider, Span};

use super::route;

pub(crate) struct RoutingTracerProvider;

impl TracerProvider for RoutingTracerProvider {
    type Tracer = RoutingTracer;

    fn tracer_with_scope(&self, scope: InstrumentationScope) -> RoutingTracer {
        RoutingTracer { scope }
    }
}

pub(crate) struct RoutingTracer {
    scope: InstrumentationScope,
}

/// Spans started outside every capture: not recorded, but they still carry their parent's
/// context so that propagation keeps working.
static OUTSIDE: LazyLock<SdkTracerProvider> = LazyLock::new(|| {
    SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOff)
        .build()
});

impl RoutingTracer {
    fn tracer(&self) -> SdkTracer {
        match route::current() {
            Some(route) => route.tracer_provider.tracer_with_scope(self.scope.clone()),
            None => OUTSIDE.tracer_with_scope(self.scope.clone()),
        }
    }
}

impl Tracer for RoutingTracer {
    type Span = Span;

    fn build_with_context(&self, builder: SpanBuilder, parent_cx: &Context) -> Span {
        self.tracer().build_with_context(builder, parent_cx)
    }
}
