//! One-call OpenTelemetry setup for Rust services.
//!
//! ```no_run
//! fn main() -> Result<(), ferrotel::Error> {
//!     let _guard = ferrotel::init()?; // flushes everything when dropped
//!     tracing::info!(user = "x", "started");
//!     Ok(())
//! }
//! ```
//!
//! [`init`] reads the standard `OTEL_*` environment variables (see `docs/configuration.md` for
//! the support table), builds the tracer, meter and logger providers with OTLP exporters
//! (http/protobuf to `http://localhost:4318` by default; gRPC and http/json selectable), installs
//! them globally with W3C trace-context and baggage propagators, and installs a `tracing`
//! subscriber with three layers, each with its own filter:
//!
//! - the OpenTelemetry span layer ([`ferrotel_tracing::OtelSpanLayer`]: `tracing` spans
//!   become OTLP spans, started at creation and current as the OpenTelemetry [`opentelemetry::Context`] while
//!   entered; the HTTP middleware's request spans, target [`HTTP_SPAN_TARGET`], are always kept
//!   whatever `RUST_LOG` says). [`SpanExt::otel_context`] gives a `tracing::Span`'s context,
//!   and [`with_parent_context`] sets the parent of a span about to be created;
//! - the log bridge (`tracing` events become OTLP log records carrying the current trace and span
//!   ids);
//! - console output, human-readable or JSON lines with top-level `trace_id` and `span_id`, under
//!   the key names of the default, Go zap, Elastic (ECS) or Google Cloud Logging schema.
//!
//! Use [`builder`] to configure from code. The returned [`Guard`] flushes and shuts down all
//! three providers on drop, within a timeout, whatever runtime (or none) is running.
//!
//! The SDK never blocks or crashes the host: bad configuration values produce a
//! [`ConfigWarning`] naming the variable, the value and the fallback; exports run on background
//! threads with bounded queues, and what they drop is counted ([`Guard::stats`], and the
//! `otel.sdk.*` self-observability metrics).
//!
//! # Cargo features
//! - OTLP over HTTP with protobuf bodies is always built in (the default protocol).
//! - `http-json`: OTLP over HTTP with JSON bodies. `grpc`: OTLP over gRPC. `gzip`: compression.
//! - `otlp-file`: the configuration file's `otlp_file/development` exporter, OTLP JSON lines
//!   to stdout or a file ([`ExporterKind::OtlpFile`]).
//! - `redaction` (default): secrets and personal paths removed from spans, logs, console lines
//!   and the resource before they leave the process ([`redaction`]).
//! - `runtime-metrics` (default): allocator, tokio and process metrics ([`runtime_metrics`]).
//! - `metrics-facade`: `metrics::counter!`/`gauge!`/`histogram!` go through the same pipeline.
//! - `tls`: `https://` OTLP endpoints (http/protobuf, http/json, gRPC), a custom CA
//!   (`OTEL_EXPORTER_OTLP_*CERTIFICATE`, [`Builder::tls_ca_pem`]) and mutual TLS
//!   (`..._CLIENT_CERTIFICATE`/`..._CLIENT_KEY`, [`Builder::tls_client_identity_pem`]). rustls
//!   with the ring provider passed to each of our connections: no process-wide `CryptoProvider`
//!   is installed or needed. Off by default: it turns on rustls' `ring` feature, and in an
//!   application whose rustls otherwise has only `aws-lc-rs`, code that relies on rustls picking
//!   the provider from its features (`rustls::ClientConfig::builder()`, hyper-rustls'
//!   `with_native_roots()`) would then need `CryptoProvider::install_default()` at start-up.
//! - `stdout`: `OTEL_*_EXPORTER=console` (the opentelemetry-stdout exporters).
//! - `tracing-opentelemetry`: [`SpanLayer`]'s compatibility choice, `tracing-opentelemetry`'s layer.
//! - `config-file` (default): declarative configuration files (`OTEL_CONFIG_FILE`,
//!   [`Builder::config_file`]), the OpenTelemetry configuration schema `file_format` 1.x.
//! - `prometheus`: the configuration file's Prometheus pull reader, a `/metrics` endpoint
//!   served by `ferrotel-prometheus` (its `server` feature) on the file's host and port.
//!
//! Tests capture all three signals with the `ferrotel-testing` crate: in-memory capture through
//! this pipeline (built on [`Builder::with_span_exporter`], [`Builder::with_log_exporter`] and
//! [`Builder::with_metric_exporter`]) and a fake OTLP receiver.
//!
//! # Dependencies and why
//! - `opentelemetry`, `opentelemetry_sdk`, `opentelemetry-otlp`, `opentelemetry-stdout`: the
//!   API, SDK and exporters this crate configures (one version, moved together).
//! - `tracing`, `tracing-subscriber`, `ferrotel-tracing`: the `tracing` bridge. Our span layer
//!   replaces `tracing-opentelemetry`'s: it does the same mapping with about half the work per
//!   span (docs/benchmarks.md). `tracing-opentelemetry`: the compatibility choice
//!   `SpanLayer::TracingOpentelemetry` (feature `tracing-opentelemetry`) for code built on its `OpenTelemetrySpanExt`.
//! - `tokio`: a small private runtime that drives gRPC and `https://` exports independently of
//!   the application's runtime.
//! - `url`: endpoint validation. `thiserror`: error types.
//! - `yaml-rust2` (feature `config-file`): the configuration file's YAML, read as events so a
//!   `${VAR}` substituted into a plain scalar gets its type resolved and a quoted one stays a
//!   string, as the spec says. `percent-encoding`: the file's header and resource values, put
//!   into the `OTEL_*` list syntax the resolver reads.
//! - `opentelemetry-http` (its client trait and reqwest's blocking client), `reqwest`, `http`,
//!   `bytes`, `rand` (retry jitter): our OTLP/HTTP span exporter ([`otlp`]), which writes the
//!   protobuf straight from the span data (about a third of the stock exporter's work per span)
//!   and sends it through the same HTTP clients as the stock exporter.
//! - `futures-executor`: drives an exporter's future on our batch worker threads (our batch
//!   processors grow their queues with use instead of reserving them whole at start-up).
//! - `tonic` (feature `grpc`): gRPC metadata for OTLP headers.
//! - `tracing-log`: `log` records from dependencies reach the same subscriber (and the
//!   console shows their own target). The console layer is ours, not `tracing-subscriber`'s
//!   `fmt` (docs/console.md): it bounds, escapes and formats values panic-safe.
//! - `rustls`, `hyper-rustls`, `rustls-native-certs`, `opentelemetry-http`'s `hyper` client,
//!   `hyper-util` (feature `tls`): TLS for OTLP. `https://` OTLP/HTTP goes through a hyper-util
//!   client with a hyper-rustls connector and our own `rustls::ClientConfig` (explicit ring
//!   provider, system roots from rustls-native-certs or the configured CA), so reqwest, which
//!   exports plain `http://`, gets no TLS feature and other reqwest clients in the process are
//!   unaffected; gRPC uses tonic's rustls support (`tls-ring`) on a channel we configure.
//! - `ferrotel-redaction`, `ferrotel-runtime`, `ferrotel-meters`, `metrics`: the
//!   optional features above.
//!
//! ---
//!
//! The guide below is `docs/getting-started.md` of the repository.
#![doc = include_str!("../docs/getting-started.md")]

mod accounting;
mod admission;
mod batch;
pub mod config;
mod console;
mod hooks;
mod limits;
pub mod otlp;
mod pipeline;
mod resource;
mod subscriber;
#[cfg(feature = "tls")]
mod tls;
mod transport;

mod guard;
mod startup;

use std::sync::Arc;
use std::time::Duration;

pub use accounting::{SignalStats, Stats};
pub use config::{
    Config, ConfigWarning, ConsoleFormat, ConsoleSchema, ExemplarFilter, ExporterKind,
    OtlpFileOutput, Protocol, SamplerSetting, Signal,
};
pub use ferrotel_tracing::{SpanExt, with_parent_context};
pub use guard::{Guard, ShutdownError, ShutdownReport};
pub use hooks::{BoxedLogProcessor, BoxedSpanProcessor};
pub use subscriber::{HTTP_SPAN_TARGET, SpanLayer};

/// The redaction engine `init` installs (feature `redaction`).
#[cfg(feature = "redaction")]
pub use ferrotel_redaction as redaction;
/// Runtime and process metrics, and `build_info!()` (feature `runtime-metrics`). Expand
/// `runtime_metrics::build_info!()` in the service's own crate, whose `build.rs` calls
/// `ferrotel_runtime::build_script::emit()`.
#[cfg(feature = "runtime-metrics")]
pub use ferrotel_runtime as runtime_metrics;
pub use opentelemetry;

/// The usage and troubleshooting guide (`docs/troubleshooting.md`): "no data in Grafana" step
/// by step, two OpenTelemetry versions in one binary, PromQL and LogQL per seed service.
#[doc = include_str!("../docs/troubleshooting.md")]
pub mod troubleshooting {}
pub use opentelemetry_sdk;

use config::{EnvSource, Overrides, ProcessEnv};
use hooks::Hooks;

/// Rewrites a string value if it holds something that must not leave the process; `None` when
/// it is clean. Used for log records and console output (see [`Builder::value_redactor`]).
pub type ValueRedactor = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

type EnvLookup = Box<dyn Fn(&str) -> Option<String>>;

/// What a configuration file sets beyond the effective [`Config`] (views, typed resource
/// values, the family's switches).
#[cfg(feature = "config-file")]
type ConfigFileExtras = config::FileExtras;
/// Without the `config-file` feature there is no file, so nothing beyond the [`Config`].
#[cfg(not(feature = "config-file"))]
#[derive(Default)]
struct ConfigFileExtras;
type OnStart =
    Box<dyn FnOnce(&opentelemetry_sdk::metrics::SdkMeterProvider) -> Box<dyn std::any::Any + Send>>;

/// Errors from [`init`]. Bad configuration values are not errors: they produce warnings and
/// documented fallbacks.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A global `tracing` subscriber was installed before `init` ran.
    #[error(
        "a global tracing subscriber is already installed; call ferrotel::init() once, before \
         any other subscriber (or use Builder::global(false))"
    )]
    SubscriberAlreadySet,
    /// The OTLP exporter of a signal could not be built.
    #[error("cannot build the OTLP {signal} exporter: {source}")]
    Exporter {
        /// The signal.
        signal: Signal,
        /// The exporter's own error.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// The OTLP file exporter's output file could not be opened (feature `otlp-file`).
    #[error("cannot open the OTLP file exporter's output for {signal}: {reason}")]
    OtlpFile {
        /// The signal.
        signal: Signal,
        /// What went wrong, the path included.
        reason: String,
    },
    /// The private runtime that drives gRPC exports could not start.
    #[error("cannot start the gRPC export runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// A bug in this crate.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

/// Initialises telemetry from the environment. Equivalent to `builder().init()`.
pub fn init() -> Result<Guard, Error> {
    builder().init()
}

/// A builder for configuration from code. What the code sets wins over the environment.
pub fn builder() -> Builder {
    Builder::default()
}

/// Configures and starts telemetry. Created by [`builder`].
#[must_use = "call .init() to start telemetry"]
pub struct Builder {
    overrides: Overrides,
    hooks: Hooks,
    env: Option<EnvLookup>,
    redactor: Option<ValueRedactor>,
    console_sink: Option<console::ConsoleSink>,
    global: bool,
    span_layer: SpanLayer,
    #[cfg(feature = "redaction")]
    redaction: Option<ferrotel_redaction::Redactor>,
    #[cfg(feature = "runtime-metrics")]
    runtime_metrics: Option<ferrotel_runtime::RuntimeMetricsBuilder>,
    #[cfg(feature = "config-file")]
    config_file: Option<config::file::ConfigSource>,
    on_start: Vec<OnStart>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            overrides: Overrides::default(),
            hooks: Hooks::default(),
            env: None,
            redactor: None,
            console_sink: None,
            global: true,
            span_layer: SpanLayer::default(),
            #[cfg(feature = "redaction")]
            redaction: Some(ferrotel_redaction::Redactor::default()),
            #[cfg(feature = "runtime-metrics")]
            runtime_metrics: Some(ferrotel_runtime::RuntimeMetrics::builder()),
            #[cfg(feature = "config-file")]
            config_file: None,
            on_start: Vec::new(),
        }
    }
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("overrides", &self.overrides)
            .field("global", &self.global)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// `service.name` (wins over `OTEL_SERVICE_NAME`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.overrides.service_name = Some(name.into());
        self
    }

    /// `service.version`, typically `env!("CARGO_PKG_VERSION")`.
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.overrides.service_version = Some(version.into());
        self
    }

    /// `deployment.environment.name` (otherwise from `OTEL_RESOURCE_ATTRIBUTES` or the seeds'
    /// `OTEL_ENVIRONMENT`).
    pub fn deployment_environment(mut self, env: impl Into<String>) -> Self {
        self.overrides.deployment_environment = Some(env.into());
        self
    }

    /// `service.instance.id` (a random id by default).
    pub fn service_instance_id(mut self, id: impl Into<String>) -> Self {
        self.overrides.service_instance_id = Some(id.into());
        self
    }

    /// An extra resource attribute.
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.overrides
            .resource_attributes
            .push((key.into(), value.into()));
        self
    }

    /// The OTLP base endpoint for all signals (like `OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.overrides.endpoint = Some(url.into());
        self
    }

    /// PEM CA certificate(s) to trust for the OTLP server of all signals, instead of the system
    /// roots (like `OTEL_EXPORTER_OTLP_CERTIFICATE`, which it overrides). Invalid PEM gives a
    /// [`ConfigWarning`] and the system roots. Needs the `tls` feature (else a warning).
    pub fn tls_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.overrides.tls_ca_pem = Some(pem.into());
        self
    }

    /// PEM client certificate chain and private key for mutual TLS with the OTLP server of all
    /// signals (like `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and `..._CLIENT_KEY`, which it
    /// overrides). An unusable pair gives a [`ConfigWarning`] and no client certificate. Needs
    /// the `tls` feature (else a warning).
    pub fn tls_client_identity_pem(
        mut self,
        certificate_chain: impl Into<Vec<u8>>,
        private_key: impl Into<Vec<u8>>,
    ) -> Self {
        self.overrides.tls_client_identity_pem =
            Some((certificate_chain.into(), private_key.into()));
        self
    }

    /// The OTLP protocol for all signals.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.overrides.protocol = Some(protocol);
        self
    }

    /// The head sampler.
    pub fn sampler(mut self, sampler: SamplerSetting) -> Self {
        self.overrides.sampler = Some(sampler);
        self
    }

    /// Where all three signals go (like setting `OTEL_{TRACES,METRICS,LOGS}_EXPORTER`); an empty
    /// slice exports nothing.
    pub fn exporters(mut self, exporters: &[ExporterKind]) -> Self {
        self.overrides.exporters = Some(exporters.to_vec());
        self
    }

    /// Console output format (like `TELEMETRY_LOG_FORMAT`).
    pub fn console_format(mut self, format: ConsoleFormat) -> Self {
        self.overrides.console_format = Some(format);
        self
    }

    /// Key names of JSON console lines (like `TELEMETRY_LOG_SCHEMA`); the pretty and compact
    /// layouts ignore it.
    pub fn console_schema(mut self, schema: ConsoleSchema) -> Self {
        self.overrides.console_schema = Some(schema);
        self
    }

    /// Which layer turns `tracing` spans into OpenTelemetry spans (default
    /// [`SpanLayer::Lean`]). Choose `SpanLayer::TracingOpentelemetry` (feature `tracing-opentelemetry`) when existing code relies
    /// on `tracing_opentelemetry::OpenTelemetrySpanExt` (`set_parent`, `context`), which only
    /// works with that layer; it costs about twice as much per span (docs/tracing-bridge.md).
    pub fn span_layer(mut self, layer: SpanLayer) -> Self {
        self.span_layer = layer;
        self
    }

    /// `tracing` filter directives for console output and log export (like `RUST_LOG`).
    pub fn log_filter(mut self, directives: impl Into<String>) -> Self {
        self.overrides.log_filter = Some(directives.into());
        self
    }

    /// Interval between metric exports (like `OTEL_METRIC_EXPORT_INTERVAL`).
    pub fn metric_export_interval(mut self, interval: Duration) -> Self {
        self.overrides.metric_export_interval = Some(interval);
        self
    }

    /// Which histogram measurements keep an exemplar, linking the bucket to the trace it was
    /// recorded in (like `OTEL_METRICS_EXEMPLAR_FILTER`; default `trace_based`: those recorded
    /// while a sampled span is current). The filter is process-wide.
    pub fn exemplar_filter(mut self, filter: ExemplarFilter) -> Self {
        self.overrides.exemplar_filter = Some(filter);
        self
    }

    /// Delay between span exports (like `OTEL_BSP_SCHEDULE_DELAY`).
    pub fn span_schedule_delay(mut self, delay: Duration) -> Self {
        self.overrides.span_schedule_delay = Some(delay);
        self
    }

    /// Delay between log exports (like `OTEL_BLRP_SCHEDULE_DELAY`).
    pub fn log_schedule_delay(mut self, delay: Duration) -> Self {
        self.overrides.log_schedule_delay = Some(delay);
        self
    }

    /// How long shutdown waits for the final flush (default 5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.overrides.shutdown_timeout = Some(timeout);
        self
    }

    /// Disables export (like `OTEL_SDK_DISABLED=true`).
    pub fn sdk_disabled(mut self, disabled: bool) -> Self {
        self.overrides.sdk_disabled = Some(disabled);
        self
    }

    /// Reads configuration from `lookup` instead of the process environment.
    pub fn env_lookup(mut self, lookup: impl Fn(&str) -> Option<String> + 'static) -> Self {
        self.env = Some(Box::new(lookup));
        self
    }

    /// Whether to install the `tracing` subscriber, the OpenTelemetry providers and the
    /// propagator globally (default `true`). With `false`, use [`Guard::dispatch`].
    pub fn global(mut self, global: bool) -> Self {
        self.global = global;
        self
    }

    /// Adds a span processor after the exporting ones (it sees every ended span).
    pub fn with_span_processor(
        mut self,
        processor: impl opentelemetry_sdk::trace::SpanProcessor + 'static,
    ) -> Self {
        self.hooks
            .extra_span_processors
            .push(BoxedSpanProcessor::new(processor));
        self
    }

    /// Wraps every exporting span processor: `wrap` receives the processor that exports and
    /// returns one that forwards to it. The wrapper sees spans as they ended; redaction and value
    /// limits apply inside the processor it wraps, so what reaches an exporter is redacted.
    pub fn wrap_span_processors(
        mut self,
        wrap: impl Fn(BoxedSpanProcessor) -> BoxedSpanProcessor + 'static,
    ) -> Self {
        self.hooks.span_wrappers.push(Box::new(wrap));
        self
    }

    /// Exports spans to `exporter` as well, through the same pipeline as the built-in exporters
    /// (redaction, limits, bounded batching, export counting).
    pub fn with_span_exporter(
        mut self,
        exporter: impl opentelemetry_sdk::trace::SpanExporter + 'static,
    ) -> Self {
        self.hooks
            .custom_span_exporters
            .push(Box::new(move |config, counters, edit| {
                BoxedSpanProcessor::new(pipeline::span_pipeline(exporter, config, counters, edit))
            }));
        self
    }

    /// Exports log records to `exporter` as well, through the same pipeline as the built-in
    /// exporters.
    pub fn with_log_exporter(
        mut self,
        exporter: impl opentelemetry_sdk::logs::LogExporter + 'static,
    ) -> Self {
        self.hooks
            .custom_log_exporters
            .push(Box::new(move |config, counters| {
                BoxedLogProcessor::new(pipeline::log_pipeline(exporter, config, counters))
            }));
        self
    }

    /// Exports metrics to `exporter` as well, through a periodic reader with the configured
    /// interval (`OTEL_METRIC_EXPORT_INTERVAL`), counted like the built-in exporters.
    pub fn with_metric_exporter(
        mut self,
        exporter: impl opentelemetry_sdk::metrics::exporter::PushMetricExporter + 'static,
    ) -> Self {
        self.hooks
            .custom_metric_exporters
            .push(Box::new(move |builder, config, counters| {
                builder.with_reader(pipeline::metric_reader(exporter, config, counters))
            }));
        self
    }

    /// Adds a log processor that runs before the exporting ones and may edit records.
    pub fn with_log_processor(
        mut self,
        processor: impl opentelemetry_sdk::logs::LogProcessor + 'static,
    ) -> Self {
        self.hooks
            .pre_log_processors
            .push(BoxedLogProcessor::new(processor));
        self
    }

    /// Adds a metric view (e.g. cardinality limits, histogram boundaries).
    pub fn with_view<V>(mut self, view: V) -> Self
    where
        V: Fn(
                &opentelemetry_sdk::metrics::Instrument,
            ) -> Option<opentelemetry_sdk::metrics::Stream>
            + Send
            + Sync
            + 'static,
    {
        self.hooks
            .meter_customizers
            .push(Box::new(move |b| b.with_view(view)));
        self
    }

    /// Adds a metric reader (e.g. a Prometheus pull exporter) beside the push exporters.
    pub fn with_metric_reader(
        mut self,
        reader: impl opentelemetry_sdk::metrics::reader::MetricReader,
    ) -> Self {
        self.hooks
            .meter_customizers
            .push(Box::new(move |b| b.with_reader(reader)));
        self
    }

    /// Redacts string values of log records and console lines (spans are redacted by the
    /// `redaction` feature's [`ferrotel_redaction::Redactor`], in the exporting pipelines).
    pub fn value_redactor(mut self, redactor: ValueRedactor) -> Self {
        self.redactor = Some(redactor);
        self
    }

    /// Sends console lines to `sink` instead of stdout (each call gets one complete, redacted
    /// event, newline included).
    pub fn console_writer(mut self, sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.console_sink = Some(Arc::new(sink));
        self
    }

    /// Runs `start` with the meter provider once it exists and keeps what it returns alive until
    /// the guard shuts down (e.g. a runtime-metrics handle).
    pub fn on_meter_provider<T: Send + 'static>(
        mut self,
        start: impl FnOnce(&opentelemetry_sdk::metrics::SdkMeterProvider) -> T + 'static,
    ) -> Self {
        self.on_start.push(Box::new(move |mp| {
            Box::new(start(mp)) as Box<dyn std::any::Any + Send>
        }));
        self
    }

    /// Replaces the default redactor (feature `redaction`, on by default), e.g. to add rules or
    /// allowed values.
    #[cfg(feature = "redaction")]
    pub fn redactor(mut self, redactor: ferrotel_redaction::Redactor) -> Self {
        self.redaction = Some(redactor);
        self
    }

    /// Turns redaction of spans, logs, console lines and the resource off (it is on by
    /// default).
    #[cfg(feature = "redaction")]
    pub fn without_redaction(mut self) -> Self {
        self.redaction = None;
        self
    }

    /// Configures the runtime metrics that `init` registers (feature `runtime-metrics`, on by
    /// default). The tokio runtime current at `init` is added automatically.
    #[cfg(feature = "runtime-metrics")]
    pub fn runtime_metrics(mut self, builder: ferrotel_runtime::RuntimeMetricsBuilder) -> Self {
        self.runtime_metrics = Some(builder);
        self
    }

    /// Reports `build.info` (version, git commit, build time, rustc) with the runtime metrics:
    /// pass `ferrotel::runtime_metrics::build_info!()` expanded in the service, whose `build.rs`
    /// calls `ferrotel_runtime::build_script::emit()`. No effect after
    /// [`without_runtime_metrics`](Self::without_runtime_metrics).
    ///
    /// ```no_run
    /// let build = ferrotel::runtime_metrics::build_info!();
    /// let _guard = ferrotel::builder().build_info(build).init();
    /// ```
    #[cfg(feature = "runtime-metrics")]
    pub fn build_info(mut self, info: ferrotel_runtime::BuildInfo) -> Self {
        self.runtime_metrics = self.runtime_metrics.map(|b| b.with_build_info(info));
        self
    }

    /// Does not register runtime metrics.
    #[cfg(feature = "runtime-metrics")]
    pub fn without_runtime_metrics(mut self) -> Self {
        self.runtime_metrics = None;
        self
    }

    /// Builds the pipelines, installs them, and returns the guard that shuts them down.
    pub fn init(self) -> Result<Guard, Error> {
        startup::start(self)
    }

    /// Configures the SDK from a declarative configuration file (the OpenTelemetry
    /// configuration schema, `file_format` 1.x), as `OTEL_CONFIG_FILE` does; this wins over
    /// that variable. The `OTEL_*` variables are then read only through the file's `${VAR}`
    /// references. Settings made in code on this builder still win over the file. A file that
    /// cannot be used is reported in a warning and the environment is used instead. See
    /// docs/configuration.md for what the file supports.
    #[cfg(feature = "config-file")]
    pub fn config_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.config_file = Some(config::file::ConfigSource::Path(path.into()));
        self
    }

    /// Like [`Builder::config_file`], from YAML text (for configuration kept elsewhere than a
    /// file, and for tests).
    #[cfg(feature = "config-file")]
    pub fn config_yaml(mut self, yaml: impl Into<String>) -> Self {
        self.config_file = Some(config::file::ConfigSource::Text(yaml.into()));
        self
    }

    pub(crate) fn resolve_config(&self) -> (Config, ConfigFileExtras) {
        let source: &dyn EnvSource = match &self.env {
            Some(f) => f,
            None => &ProcessEnv,
        };
        #[cfg(feature = "config-file")]
        {
            Config::resolve_with_file(source, &self.overrides, self.config_file.as_ref())
        }
        #[cfg(not(feature = "config-file"))]
        {
            let mut config = Config::resolve(source, &self.overrides);
            if let Some(path) = source.get("OTEL_CONFIG_FILE") {
                config.warnings.insert(
                    0,
                    ConfigWarning {
                        variable: "OTEL_CONFIG_FILE".into(),
                        value: path,
                        problem: "this build lacks the `config-file` cargo feature".into(),
                        fallback: "the OTEL_* environment variables".into(),
                    },
                );
            }
            (config, ConfigFileExtras::default())
        }
    }
}
