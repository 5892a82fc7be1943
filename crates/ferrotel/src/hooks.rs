//! What the code plugs into the pipelines through the [`Builder`](crate::Builder): extra span and
//! log processors, a wrapper around every exporting span processor (redaction), meter provider
//! customisations (views, readers), and the in-memory exporters of the test kit.

use std::fmt;
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};
use opentelemetry_sdk::metrics::MeterProviderBuilder;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor, TracerProviderBuilder};

/// A type-erased span processor.
pub struct BoxedSpanProcessor(Box<dyn SpanProcessor>);

impl BoxedSpanProcessor {
    /// Boxes `processor`.
    pub fn new(processor: impl SpanProcessor + 'static) -> Self {
        Self(Box::new(processor))
    }
}

impl fmt::Debug for BoxedSpanProcessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl SpanProcessor for BoxedSpanProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.0.on_start(span, cx);
    }
    fn on_end(&self, span: SpanData) {
        self.0.on_end(span);
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

/// A type-erased log processor.
pub struct BoxedLogProcessor(Box<dyn LogProcessor>);

impl BoxedLogProcessor {
    /// Boxes `processor`.
    pub fn new(processor: impl LogProcessor + 'static) -> Self {
        Self(Box::new(processor))
    }
}

impl fmt::Debug for BoxedLogProcessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl LogProcessor for BoxedLogProcessor {
    fn emit(&self, data: &mut SdkLogRecord, scope: &opentelemetry::InstrumentationScope) {
        self.0.emit(data, scope);
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
    fn event_enabled(
        &self,
        level: opentelemetry::logs::Severity,
        target: &str,
        name: Option<&str>,
    ) -> bool {
        self.0.event_enabled(level, target, name)
    }
}

pub(crate) type SpanWrapper = Box<dyn Fn(BoxedSpanProcessor) -> BoxedSpanProcessor>;
pub(crate) type CustomSpanExporter = Box<
    dyn FnOnce(
        &crate::Config,
        Option<std::sync::Arc<crate::accounting::Accounting>>,
        Option<crate::admission::SpanEditor>,
    ) -> BoxedSpanProcessor,
>;
pub(crate) type CustomLogExporter = Box<
    dyn FnOnce(
        &crate::Config,
        Option<std::sync::Arc<crate::accounting::Accounting>>,
    ) -> BoxedLogProcessor,
>;
pub(crate) type CustomMetricExporter = Box<
    dyn FnOnce(
        MeterProviderBuilder,
        &crate::Config,
        Option<std::sync::Arc<crate::accounting::Accounting>>,
    ) -> MeterProviderBuilder,
>;
pub(crate) type MeterCustomizer = Box<dyn FnOnce(MeterProviderBuilder) -> MeterProviderBuilder>;

#[derive(Default)]
pub(crate) struct Hooks {
    pub span_wrappers: Vec<SpanWrapper>,
    pub span_editor: Option<crate::admission::SpanEditor>,
    pub extra_span_processors: Vec<BoxedSpanProcessor>,
    pub pre_log_processors: Vec<BoxedLogProcessor>,
    pub meter_customizers: Vec<MeterCustomizer>,
    pub custom_span_exporters: Vec<CustomSpanExporter>,
    pub custom_log_exporters: Vec<CustomLogExporter>,
    pub custom_metric_exporters: Vec<CustomMetricExporter>,
}

impl Hooks {
    /// Adds an exporting span processor, wrapped by every span wrapper (e.g. redaction), so that
    /// what reaches the exporter has been through them.
    pub(crate) fn add_span_processor(
        &self,
        builder: TracerProviderBuilder,
        processor: impl SpanProcessor + 'static,
    ) -> TracerProviderBuilder {
        if self.span_wrappers.is_empty() {
            return builder.with_span_processor(processor);
        }
        self.add_boxed_span_processor(builder, BoxedSpanProcessor::new(processor))
    }

    /// [`Self::add_span_processor`] for a processor that is already boxed: boxing it again would
    /// add a virtual call and a move of every ended span.
    pub(crate) fn add_boxed_span_processor(
        &self,
        builder: TracerProviderBuilder,
        mut processor: BoxedSpanProcessor,
    ) -> TracerProviderBuilder {
        for wrap in &self.span_wrappers {
            processor = wrap(processor);
        }
        builder.with_span_processor(processor)
    }

    pub(crate) fn take_extra_span_processors(&mut self) -> Vec<BoxedSpanProcessor> {
        std::mem::take(&mut self.extra_span_processors)
    }

    pub(crate) fn take_pre_log_processors(&mut self) -> Vec<BoxedLogProcessor> {
        std::mem::take(&mut self.pre_log_processors)
    }

    pub(crate) fn apply_meter_customizations(
        &mut self,
        mut builder: MeterProviderBuilder,
    ) -> MeterProviderBuilder {
        for c in self.meter_customizers.drain(..) {
            builder = c(builder);
        }
        builder
    }
}
