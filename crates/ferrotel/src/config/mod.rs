//! The effective configuration: defaults, then `OTEL_*` environment variables, then what the code
//! set on the [`Builder`](crate::Builder). See `docs/configuration.md` for the support table.

mod env;
#[cfg(feature = "config-file")]
pub(crate) mod file;
mod tls;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use ferrotel_meters::ExemplarFilter;

pub use env::ConfigWarning;
use env::parse_key_value_list;
pub(crate) use env::{EnvReader, EnvSource, ProcessEnv};
#[cfg(feature = "config-file")]
pub use file::ConfigFileReport;
#[cfg(feature = "config-file")]
pub(crate) use file::FileExtras;
pub use tls::TlsSettings;
use tls::tls_settings;

/// OTLP transport and encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP with protobuf bodies (`http/protobuf`), port 4318. The default.
    HttpProtobuf,
    /// HTTP with JSON bodies (`http/json`), port 4318. Needs the `http-json` feature.
    HttpJson,
    /// gRPC (`grpc`), port 4317. Needs the `grpc` feature.
    Grpc,
}

impl Protocol {
    /// The spec's spelling, as in `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
            Protocol::Grpc => "grpc",
        }
    }

    fn default_endpoint(self) -> &'static str {
        match self {
            Protocol::Grpc => "http://localhost:4317",
            _ => "http://localhost:4318",
        }
    }

    fn compiled_in(self) -> Result<(), &'static str> {
        match self {
            Protocol::HttpProtobuf => Ok(()),
            Protocol::HttpJson if cfg!(feature = "http-json") => Ok(()),
            Protocol::HttpJson => Err("this build lacks the `http-json` cargo feature"),
            Protocol::Grpc if cfg!(feature = "grpc") => Ok(()),
            Protocol::Grpc => Err("this build lacks the `grpc` cargo feature"),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The three signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Spans.
    Traces,
    /// Metric data points.
    Metrics,
    /// Log records.
    Logs,
}

impl Signal {
    /// The three, in this order.
    pub const ALL: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

    /// Lower-case name, as in URL paths (`/v1/traces`).
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }

    fn env_infix(self) -> &'static str {
        match self {
            Signal::Traces => "TRACES",
            Signal::Metrics => "METRICS",
            Signal::Logs => "LOGS",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a signal goes (`OTEL_TRACES_EXPORTER` and friends; a comma-separated list is allowed).
/// Exporters of your own attach with [`crate::Builder::with_span_exporter`] and its siblings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExporterKind {
    /// OTLP to a collector.
    Otlp,
    /// Human-readable dump on stdout (debugging only; feature `stdout`, otherwise nothing is
    /// exported for it).
    Console,
    /// OTLP JSON lines (one `Export*ServiceRequest` a line, the OTLP file exporter format) to
    /// [`SignalSettings::otlp_file`]: the configuration file's `otlp_file/development`
    /// exporter (feature `otlp-file`, otherwise nothing is exported for it).
    OtlpFile,
}

/// Where the OTLP file exporter ([`ExporterKind::OtlpFile`]) writes its lines: the
/// configuration file's `output_stream`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum OtlpFileOutput {
    /// The process's standard output (`stdout`, the schema's default).
    #[default]
    Stdout,
    /// A file (`file:///path`), created if missing and appended to.
    File(PathBuf),
}

impl fmt::Display for OtlpFileOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stdout => f.write_str("stdout"),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Request body compression for OTLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// No compression (the default).
    None,
    /// gzip (needs the `gzip` feature).
    Gzip,
}

/// OTLP settings of one signal.
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpSettings {
    /// Full URL the exporter sends to (for HTTP, including `/v1/<signal>`).
    pub endpoint: String,
    /// Transport and encoding.
    pub protocol: Protocol,
    /// Extra request headers (values are never printed).
    pub headers: Vec<(String, String)>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Body compression.
    pub compression: Compression,
    /// PEM file with the CA certificate(s) to trust for TLS (`OTEL_EXPORTER_OTLP_*CERTIFICATE`),
    /// when it was readable and valid.
    pub certificate: Option<PathBuf>,
    /// PEM file with the client certificate chain for mutual TLS
    /// (`OTEL_EXPORTER_OTLP_*CLIENT_CERTIFICATE`), when it was usable with its key.
    pub client_certificate: Option<PathBuf>,
    /// PEM file with the client private key (`OTEL_EXPORTER_OTLP_*CLIENT_KEY`), when usable.
    pub client_key: Option<PathBuf>,
    /// The validated TLS material (from the files above or the builder); empty without the
    /// `tls` feature.
    pub tls: TlsSettings,
}

/// Configuration of one signal.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalSettings {
    /// Exporters for this signal; empty means the signal is not exported (`none`).
    pub exporters: Vec<ExporterKind>,
    /// OTLP settings (used when `exporters` contains [`ExporterKind::Otlp`]).
    pub otlp: OtlpSettings,
    /// Where the OTLP file exporter writes (used when `exporters` contains
    /// [`ExporterKind::OtlpFile`]).
    pub otlp_file: OtlpFileOutput,
}

/// Head sampler (`OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SamplerSetting {
    /// Sample everything.
    AlwaysOn,
    /// Sample nothing.
    AlwaysOff,
    /// Sample this fraction of traces by trace id.
    TraceIdRatio(f64),
    /// Follow the parent; sample root spans (the default).
    ParentBasedAlwaysOn,
    /// Follow the parent; drop root spans.
    ParentBasedAlwaysOff,
    /// Follow the parent; sample this fraction of root spans.
    ParentBasedTraceIdRatio(f64),
}

impl fmt::Display for SamplerSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SamplerSetting::AlwaysOn => f.write_str("always_on"),
            SamplerSetting::AlwaysOff => f.write_str("always_off"),
            SamplerSetting::TraceIdRatio(r) => write!(f, "traceidratio({r})"),
            SamplerSetting::ParentBasedAlwaysOn => f.write_str("parentbased_always_on"),
            SamplerSetting::ParentBasedAlwaysOff => f.write_str("parentbased_always_off"),
            SamplerSetting::ParentBasedTraceIdRatio(r) => {
                write!(f, "parentbased_traceidratio({r})")
            }
        }
    }
}

/// Context propagators (`OTEL_PROPAGATORS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropagatorSetting {
    /// W3C `traceparent` / `tracestate`.
    TraceContext,
    /// W3C `baggage`.
    Baggage,
}

/// Batch processor settings (`OTEL_BSP_*`, `OTEL_BLRP_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSettings {
    /// Delay between two consecutive exports.
    pub schedule_delay: Duration,
    /// Maximum time one export may take.
    pub export_timeout: Duration,
    /// Records buffered before new ones are dropped (and counted).
    pub max_queue_size: usize,
    /// Records per export request.
    pub max_export_batch_size: usize,
}

/// Metric temporality preference (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemporalityPreference {
    /// All instruments cumulative (the default; what Prometheus-style backends want).
    Cumulative,
    /// Counters and histograms delta, up-down counters cumulative.
    Delta,
    /// Synchronous counters and histograms delta, the rest cumulative.
    LowMemory,
}

/// Attribute and event limits (`OTEL_ATTRIBUTE_*`, `OTEL_SPAN_*`, `OTEL_LOGRECORD_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest string attribute value on spans, events and links, in bytes (cut at a UTF-8
    /// boundary).
    pub span_attribute_value_length: usize,
    /// Attributes per span.
    pub span_attribute_count: u32,
    /// Events per span.
    pub span_event_count: u32,
    /// Links per span.
    pub span_link_count: u32,
    /// Attributes per span event.
    pub event_attribute_count: u32,
    /// Attributes per span link.
    pub link_attribute_count: u32,
    /// Longest string attribute value (and body) on log records, in bytes.
    pub log_attribute_value_length: usize,
    /// Attributes per log record.
    pub log_attribute_count: usize,
}

/// Console output of `tracing` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleFormat {
    /// Multi-line human-readable output.
    Pretty,
    /// One human-readable line per event.
    Compact,
    /// One JSON object per line, with `trace_id` and `span_id` at top level.
    Json,
    /// No console output.
    Off,
}

/// The key names of JSON console lines (`TELEMETRY_LOG_SCHEMA`): which log pipeline's
/// conventions a line follows, so the level, message, time and trace ids land in the fields that
/// pipeline reads without a rename step. Only the JSON layout uses it; the pretty and compact
/// layouts look the same under every schema. docs/console.md lists each schema's keys.
///
/// Non-exhaustive: further pipelines' conventions may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ConsoleSchema {
    /// `timestamp`, `level` (`INFO`), `target`, `service`, `message`, `span`, `trace_id`,
    /// `span_id`: the keys JSON lines have always had.
    #[default]
    Default,
    /// The layout of Go zap's production JSON encoder, which seed 004 (AgentTrace) documents for
    /// its logs: `ts` (RFC 3339 text), `level` (`info`), `logger`, `caller` (`file:line`), `msg`,
    /// `service`, `span`, `trace_id`, `span_id`.
    Zap,
    /// Elastic Common Schema, as flat dotted keys (which Elastic's ingest expands):
    /// `@timestamp`, `log.level` (`info`), `log.logger`, `log.origin.file.name`,
    /// `log.origin.file.line`, `message`, `service.name`, `trace.id`, `span.id`, `ecs.version`.
    Ecs,
    /// Google Cloud Logging's structured-logging keys: `time` (RFC 3339), `severity` (`DEBUG`,
    /// `INFO`, `WARNING`, `ERROR`), `message`, `logging.googleapis.com/sourceLocation`,
    /// `logging.googleapis.com/trace`, `logging.googleapis.com/spanId`,
    /// `logging.googleapis.com/trace_sampled`, plus `target` and `service`.
    GoogleCloud,
}

/// The effective configuration, as [`crate::Guard::config`] reports it.
#[derive(Debug, Clone)]
pub struct Config {
    /// `OTEL_SDK_DISABLED`: nothing is exported; console logs still work.
    pub sdk_disabled: bool,
    /// `service.name`.
    pub service_name: String,
    /// `service.version`.
    pub service_version: Option<String>,
    /// `deployment.environment.name`.
    pub deployment_environment: Option<String>,
    /// `service.instance.id` (a random UUID-like id unless set).
    pub service_instance_id: String,
    /// Further resource attributes (`OTEL_RESOURCE_ATTRIBUTES` and builder).
    pub resource_attributes: Vec<(String, String)>,
    /// Spans.
    pub traces: SignalSettings,
    /// Metrics.
    pub metrics: SignalSettings,
    /// Logs.
    pub logs: SignalSettings,
    /// Head sampler.
    pub sampler: SamplerSetting,
    /// Propagators, in order.
    pub propagators: Vec<PropagatorSetting>,
    /// Batch span processor.
    pub span_batch: BatchSettings,
    /// Batch log record processor.
    pub log_batch: BatchSettings,
    /// Interval between metric exports.
    pub metric_export_interval: Duration,
    /// Maximum time one metric export may take.
    pub metric_export_timeout: Duration,
    /// Metric temporality.
    pub temporality: TemporalityPreference,
    /// Which histogram measurements keep an exemplar (`OTEL_METRICS_EXEMPLAR_FILTER`).
    pub exemplar_filter: ExemplarFilter,
    /// Attribute and event limits.
    pub limits: Limits,
    /// Console output format (`TELEMETRY_LOG_FORMAT`).
    pub console_format: ConsoleFormat,
    /// Key names of JSON console lines (`TELEMETRY_LOG_SCHEMA`).
    pub console_schema: ConsoleSchema,
    /// `tracing` filter directives (`RUST_LOG`), for console output and log export.
    pub log_filter: String,
    /// Level for the OpenTelemetry SDK's own diagnostics (`OTEL_LOG_LEVEL`).
    pub sdk_log_level: tracing::Level,
    /// How long the guard waits for the final flush on shutdown.
    pub shutdown_timeout: Duration,
    /// The declarative configuration file that configured the SDK (`OTEL_CONFIG_FILE` or
    /// [`crate::Builder::config_file`]); `None` when the environment did.
    #[cfg(feature = "config-file")]
    pub config_file: Option<ConfigFileReport>,
    /// Values that were rejected, with the fallback used.
    pub warnings: Vec<ConfigWarning>,
}

/// Values the code sets on the builder; they win over the environment.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    pub service_name: Option<String>,
    pub service_version: Option<String>,
    pub deployment_environment: Option<String>,
    pub service_instance_id: Option<String>,
    pub resource_attributes: Vec<(String, String)>,
    pub endpoint: Option<String>,
    pub protocol: Option<Protocol>,
    pub sampler: Option<SamplerSetting>,
    pub console_format: Option<ConsoleFormat>,
    pub console_schema: Option<ConsoleSchema>,
    pub log_filter: Option<String>,
    pub exporters: Option<Vec<ExporterKind>>,
    pub metric_export_interval: Option<Duration>,
    pub exemplar_filter: Option<ExemplarFilter>,
    pub span_schedule_delay: Option<Duration>,
    pub log_schedule_delay: Option<Duration>,
    pub shutdown_timeout: Option<Duration>,
    pub sdk_disabled: Option<bool>,
    pub tls_ca_pem: Option<Vec<u8>>,
    pub tls_client_identity_pem: Option<(Vec<u8>, Vec<u8>)>,
}

const DEFAULT_ATTRIBUTE_VALUE_LENGTH: usize = 32 * 1024;
const DEFAULT_COUNT_LIMIT: u32 = 128;

impl Config {
    /// Reads the configuration from the process environment only (no builder overrides).
    pub fn from_env() -> Config {
        Config::resolve(&ProcessEnv, &Overrides::default())
    }

    /// Reads the configuration from `lookup` instead of the process environment (for tests and
    /// for services that keep configuration elsewhere).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Config {
        Config::resolve(&lookup, &Overrides::default())
    }

    /// Reads a declarative configuration text (the OpenTelemetry configuration schema) as
    /// `init()` would read the file `OTEL_CONFIG_FILE` names, with `lookup` for its `${VAR}`
    /// references and for what a file cannot say; for checking a file before it ships (its
    /// [`warnings`](Config::warnings) are what start-up would report). A text that cannot be
    /// used gives the configuration of `lookup` alone, with the warning saying why.
    #[cfg(feature = "config-file")]
    pub fn from_yaml(yaml: &str, lookup: impl Fn(&str) -> Option<String>) -> Config {
        Config::resolve_with_file(
            &lookup,
            &Overrides::default(),
            Some(&file::ConfigSource::Text(yaml.to_owned())),
        )
        .0
    }

    pub(crate) fn resolve(source: &dyn EnvSource, o: &Overrides) -> Config {
        let mut r = EnvReader::new(source);

        let sdk_disabled = o
            .sdk_disabled
            .unwrap_or_else(|| r.bool("OTEL_SDK_DISABLED", false));

        let mut resource_attributes = match r.raw("OTEL_RESOURCE_ATTRIBUTES") {
            Some(raw) => parse_key_value_list(&mut r, "OTEL_RESOURCE_ATTRIBUTES", &raw, false),
            None => Vec::new(),
        };
        let take_attr = |attrs: &mut Vec<(String, String)>, key: &str| {
            let pos = attrs.iter().rposition(|(k, _)| k == key)?;
            let value = attrs.remove(pos).1;
            attrs.retain(|(k, _)| k != key);
            Some(value)
        };
        let attr_service_name = take_attr(&mut resource_attributes, "service.name");
        let attr_version = take_attr(&mut resource_attributes, "service.version");
        let attr_env = take_attr(&mut resource_attributes, "deployment.environment.name")
            .or_else(|| take_attr(&mut resource_attributes, "deployment.environment"));
        let attr_instance = take_attr(&mut resource_attributes, "service.instance.id");
        resource_attributes.extend(o.resource_attributes.iter().cloned());

        let service_name = o
            .service_name
            .clone()
            .or_else(|| r.raw("OTEL_SERVICE_NAME"))
            .or(attr_service_name)
            .unwrap_or_else(default_service_name);
        let service_version = o.service_version.clone().or(attr_version);
        let deployment_environment = o
            .deployment_environment
            .clone()
            .or(attr_env)
            .or_else(|| r.raw("OTEL_ENVIRONMENT"))
            .or_else(|| r.raw("DEPLOYMENT_ENVIRONMENT"));
        let service_instance_id = o
            .service_instance_id
            .clone()
            .or(attr_instance)
            .unwrap_or_else(random_instance_id);

        let metric_export_timeout = r
            .millis_at_most("OTEL_METRIC_EXPORT_TIMEOUT", MAX_EXPORT_WAIT)
            .unwrap_or(Duration::from_secs(30));
        let traces = signal_settings(&mut r, Signal::Traces, o, None);
        let metrics = signal_settings(&mut r, Signal::Metrics, o, Some(metric_export_timeout));
        let logs = signal_settings(&mut r, Signal::Logs, o, None);

        let sampler = o.sampler.unwrap_or_else(|| sampler(&mut r));
        let propagators = propagators(&mut r);

        let mut span_batch = batch(&mut r, "OTEL_BSP", Duration::from_millis(5000));
        if let Some(d) = o.span_schedule_delay {
            span_batch.schedule_delay = d;
        }
        let mut log_batch = batch(&mut r, "OTEL_BLRP", Duration::from_millis(1000));
        if let Some(d) = o.log_schedule_delay {
            log_batch.schedule_delay = d;
        }

        let metric_export_interval = o.metric_export_interval.unwrap_or_else(|| {
            match r.millis_at_most("OTEL_METRIC_EXPORT_INTERVAL", MAX_METRIC_EXPORT_INTERVAL) {
                Some(d) if d.is_zero() => {
                    r.warn(
                        "OTEL_METRIC_EXPORT_INTERVAL",
                        "0",
                        "must be positive",
                        "60000",
                    );
                    Duration::from_secs(60)
                }
                Some(d) => d,
                None => Duration::from_secs(60),
            }
        });
        let temporality = temporality(&mut r);
        let exemplar_filter = o.exemplar_filter.unwrap_or_else(|| exemplar_filter(&mut r));
        let limits = limits(&mut r);

        let console_format = o.console_format.unwrap_or_else(|| console_format(&mut r));
        let console_schema = o.console_schema.unwrap_or_else(|| console_schema(&mut r));
        let log_filter = o
            .log_filter
            .clone()
            .or_else(|| r.raw("RUST_LOG"))
            .unwrap_or_else(|| "info".to_string());
        let sdk_log_level = sdk_log_level(&mut r);

        Config {
            sdk_disabled,
            service_name,
            service_version,
            deployment_environment,
            service_instance_id,
            resource_attributes,
            traces,
            metrics,
            logs,
            sampler,
            propagators,
            span_batch,
            log_batch,
            metric_export_interval,
            metric_export_timeout,
            temporality,
            exemplar_filter,
            limits,
            console_format,
            console_schema,
            log_filter,
            sdk_log_level,
            shutdown_timeout: o.shutdown_timeout.unwrap_or(Duration::from_secs(5)),
            #[cfg(feature = "config-file")]
            config_file: None,
            warnings: r.warnings,
        }
    }

    /// Resolves from the configuration file when one is given (`file`, else `OTEL_CONFIG_FILE`
    /// in `source`), from `source` otherwise. With a file, `OTEL_*` variables are read only
    /// through the file's `${VAR}` references; other variables (`RUST_LOG`, `TELEMETRY_*`) still
    /// apply unless the file sets them.
    #[cfg(feature = "config-file")]
    pub(crate) fn resolve_with_file(
        source: &dyn EnvSource,
        o: &Overrides,
        file: Option<&file::ConfigSource>,
    ) -> (Config, FileExtras) {
        let from_env = source
            .get("OTEL_CONFIG_FILE")
            .map(|p| file::ConfigSource::Path(p.trim().into()));
        let Some(chosen) = file.cloned().or(from_env) else {
            return (Config::resolve(source, o), FileExtras::default());
        };
        let loaded = match file::load(&chosen, source) {
            Ok(loaded) => loaded,
            Err(warning) => {
                let mut config = Config::resolve(source, o);
                config.warnings.insert(0, warning);
                return (config, FileExtras::default());
            }
        };
        let model = loaded.model;
        let lookup = |name: &str| -> Option<String> {
            match model.vars.get(name) {
                Some(v) => Some(v.clone()),
                None if name.starts_with("OTEL_") => None,
                None => source.get(name),
            }
        };
        let mut config = Config::resolve(&lookup, o);
        let label = &loaded.report.source;
        for w in &mut config.warnings {
            if let Some(path) = model.origins.get(&w.variable) {
                w.variable = format!("{label}: {path}");
            }
            for (var, path) in &model.origins {
                if w.problem.contains(var.as_str()) {
                    w.problem = w.problem.replace(var.as_str(), path);
                }
            }
        }
        for (signal, output) in Signal::ALL.into_iter().zip(&model.extras.otlp_file) {
            if let Some(output) = output {
                let settings = config.signal_mut(signal);
                settings.exporters.push(ExporterKind::OtlpFile);
                settings.otlp_file = output.clone();
            }
        }
        let mut warnings = model.warnings;
        warnings.append(&mut config.warnings);
        config.warnings = warnings;
        config.config_file = Some(loaded.report);
        (config, model.extras)
    }

    /// The settings of one signal.
    pub fn signal(&self, signal: Signal) -> &SignalSettings {
        match signal {
            Signal::Traces => &self.traces,
            Signal::Metrics => &self.metrics,
            Signal::Logs => &self.logs,
        }
    }

    #[cfg(feature = "config-file")]
    fn signal_mut(&mut self, signal: Signal) -> &mut SignalSettings {
        match signal {
            Signal::Traces => &mut self.traces,
            Signal::Metrics => &mut self.metrics,
            Signal::Logs => &mut self.logs,
        }
    }
}

fn default_service_name() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default();
    format!("unknown_service:{exe}")
}

/// 128 random bits in UUID v4 layout, from the SDK's id generator (no extra dependency).
fn random_instance_id() -> String {
    use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
    let g = RandomIdGenerator::default();
    let hi = u128::from_be_bytes(g.new_trace_id().to_bytes());
    let v = (hi & !(0xF << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let h = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn signal_settings(
    r: &mut EnvReader<'_>,
    signal: Signal,
    o: &Overrides,
    metric_timeout: Option<Duration>,
) -> SignalSettings {
    let infix = signal.env_infix();
    let mut exporters = o
        .exporters
        .clone()
        .unwrap_or_else(|| exporter_kinds(r, &format!("OTEL_{infix}_EXPORTER")));

    let sig_protocol_var = format!("OTEL_EXPORTER_OTLP_{infix}_PROTOCOL");
    let protocol = o.protocol.unwrap_or_else(|| {
        let Some((var, raw)) = r.first(&[&sig_protocol_var, "OTEL_EXPORTER_OTLP_PROTOCOL"]) else {
            return Protocol::HttpProtobuf;
        };
        let parsed = match raw.to_ascii_lowercase().as_str() {
            "http/protobuf" => Ok(Protocol::HttpProtobuf),
            "http/json" => Ok(Protocol::HttpJson),
            "grpc" => Ok(Protocol::Grpc),
            _ => Err("expected `grpc`, `http/protobuf` or `http/json`"),
        };
        match parsed.and_then(|p| p.compiled_in().map(|()| p)) {
            Ok(p) => p,
            Err(problem) => {
                r.warn(&var, &raw, problem, "http/protobuf");
                Protocol::HttpProtobuf
            }
        }
    });

    let insecure = insecure(r, signal);
    let (endpoint_source, endpoint) =
        endpoint(r, signal, protocol, insecure, o.endpoint.as_deref());
    // Never a silent downgrade: an endpoint that asks for TLS this build cannot give gets no
    // export at all rather than plaintext.
    if !cfg!(feature = "tls") && is_https(&endpoint) && exporters.contains(&ExporterKind::Otlp) {
        let problem = if endpoint_source.contains("INSECURE") {
            format!(
                "{signal}: a gRPC endpoint without a scheme means TLS unless \
                 OTEL_EXPORTER_OTLP_INSECURE=true, and this build has no TLS support (enable \
                 the `tls` cargo feature of `ferrotel`)"
            )
        } else {
            format!(
                "{signal}: an https endpoint needs TLS, and this build has no TLS support \
                 (enable the `tls` cargo feature of `ferrotel`)"
            )
        };
        r.warn(
            &endpoint_source,
            &mask_url(&endpoint),
            problem,
            format!(
                "OTLP export of {signal} is disabled (use an http:// endpoint for plaintext, or \
                 build with the `tls` feature)"
            ),
        );
        exporters.retain(|k| *k != ExporterKind::Otlp);
    }

    let header_var = format!("OTEL_EXPORTER_OTLP_{infix}_HEADERS");
    let headers = match r.first(&[&header_var, "OTEL_EXPORTER_OTLP_HEADERS"]) {
        Some((var, raw)) => parse_key_value_list(r, &var, &raw, true),
        None => Vec::new(),
    };

    let timeout_var = format!("OTEL_EXPORTER_OTLP_{infix}_TIMEOUT");
    let timeout = match r.first(&[&timeout_var, "OTEL_EXPORTER_OTLP_TIMEOUT"]) {
        Some((var, _)) => r.millis_at_most(&var, MAX_EXPORT_WAIT),
        None => None,
    }
    .or(metric_timeout)
    .unwrap_or(Duration::from_secs(10));

    let compression_var = format!("OTEL_EXPORTER_OTLP_{infix}_COMPRESSION");
    let compression = match r.first(&[&compression_var, "OTEL_EXPORTER_OTLP_COMPRESSION"]) {
        None => Compression::None,
        Some((var, raw)) => match raw.to_ascii_lowercase().as_str() {
            "none" => Compression::None,
            "gzip" if cfg!(feature = "gzip") => Compression::Gzip,
            "gzip" => {
                r.warn(
                    &var,
                    &raw,
                    "this build lacks the `gzip` cargo feature",
                    "none",
                );
                Compression::None
            }
            _ => {
                r.warn(&var, &raw, "expected `gzip` or `none`", "none");
                Compression::None
            }
        },
    };

    let tls = tls_settings(r, infix, o);
    #[cfg(feature = "tls")]
    if endpoint
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
        && tls.settings.ca_pem().is_none()
    {
        let system = crate::tls::system_roots();
        if system.roots.is_empty() {
            let problem = format!(
                "{signal}: no system root certificates were found ({}), so the TLS handshake with \
                 {} cannot succeed",
                if system.errors.is_empty() {
                    "the trust store is empty".to_string()
                } else {
                    system.errors.join("; ")
                },
                mask_url(&endpoint)
            );
            r.warn(
                &format!("OTEL_EXPORTER_OTLP_{infix}_CERTIFICATE"),
                "",
                problem,
                "an empty trust store (install the system CA bundle, e.g. ca-certificates, or \
                 set OTEL_EXPORTER_OTLP_CERTIFICATE)",
            );
        }
    }

    SignalSettings {
        exporters,
        otlp_file: OtlpFileOutput::default(),
        otlp: OtlpSettings {
            endpoint,
            protocol,
            headers,
            timeout,
            compression,
            certificate: tls.certificate,
            client_certificate: tls.client_certificate,
            client_key: tls.client_key,
            tls: tls.settings,
        },
    }
}

/// Resolves the endpoint per the OTLP exporter spec: a per-signal URL is used as is; the generic
/// one gets `/v1/<signal>` appended for HTTP; gRPC uses the origin.
/// Returns where the endpoint came from (a variable name, the builder, or the default) and
/// the endpoint.
fn endpoint(
    r: &mut EnvReader<'_>,
    signal: Signal,
    protocol: Protocol,
    insecure: Insecure,
    code: Option<&str>,
) -> (String, String) {
    let default_base = protocol.default_endpoint();
    let with_path = |base: &str| match protocol {
        Protocol::Grpc => base.to_string(),
        _ => format!("{}/v1/{}", base.trim_end_matches('/'), signal.as_str()),
    };
    let fallback = with_path(default_base);
    let sig_var = format!("OTEL_EXPORTER_OTLP_{}_ENDPOINT", signal.env_infix());
    let (var, raw, per_signal) = if let Some(code) = code {
        ("builder endpoint".to_string(), code.to_string(), false)
    } else if let Some(v) = r.raw(&sig_var) {
        (sig_var, v, true)
    } else if let Some(v) = r.raw("OTEL_EXPORTER_OTLP_ENDPOINT") {
        ("OTEL_EXPORTER_OTLP_ENDPOINT".to_string(), v, false)
    } else {
        return ("the default endpoint".to_string(), fallback);
    };
    let (var, raw) = match grpc_scheme(protocol, insecure, &raw) {
        Some(with_scheme) => (
            format!("{var} (scheme from {})", insecure.variable),
            with_scheme,
        ),
        None => (var, raw),
    };
    let endpoint = match url::Url::parse(&raw) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => {
            if per_signal {
                raw
            } else {
                with_path(&raw)
            }
        }
        Ok(u) => {
            let problem = format!("scheme `{}` is not http or https", u.scheme());
            r.warn(&var, &mask_url(&raw), problem, &fallback);
            fallback
        }
        Err(e) => {
            r.warn(&var, &mask_url(&raw), format!("not a URL ({e})"), &fallback);
            fallback
        }
    };
    (var, endpoint)
}

fn is_https(endpoint: &str) -> bool {
    endpoint
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
}

/// `OTEL_EXPORTER_OTLP_{,SIGNAL_}INSECURE`, read (and checked) whatever the endpoint looks
/// like, so that a garbage value is reported even where it has no effect.
#[derive(Debug, Clone, Copy)]
struct Insecure {
    value: bool,
    variable: &'static str,
}

fn insecure(r: &mut EnvReader<'_>, signal: Signal) -> Insecure {
    let per_signal: &'static str = match signal {
        Signal::Traces => "OTEL_EXPORTER_OTLP_TRACES_INSECURE",
        Signal::Metrics => "OTEL_EXPORTER_OTLP_METRICS_INSECURE",
        Signal::Logs => "OTEL_EXPORTER_OTLP_LOGS_INSECURE",
    };
    let generic = r.bool("OTEL_EXPORTER_OTLP_INSECURE", false);
    if r.raw(per_signal).is_some() {
        Insecure {
            value: r.bool(per_signal, generic),
            variable: per_signal,
        }
    } else {
        Insecure {
            value: generic,
            variable: "OTEL_EXPORTER_OTLP_INSECURE",
        }
    }
}

/// For gRPC, an endpoint given without a scheme (`collector:4317`) is plaintext when
/// `OTEL_EXPORTER_OTLP_{,SIGNAL_}INSECURE` is `true` and TLS otherwise, as the OTLP exporter
/// specification says: the endpoint with its scheme. Endpoints with a scheme, and HTTP
/// protocols, are left alone (`None`).
fn grpc_scheme(protocol: Protocol, insecure: Insecure, raw: &str) -> Option<String> {
    if !matches!(protocol, Protocol::Grpc) || raw.contains("://") {
        return None;
    }
    let scheme = if insecure.value { "http" } else { "https" };
    Some(format!("{scheme}://{raw}"))
}

fn exporter_kinds(r: &mut EnvReader<'_>, var: &str) -> Vec<ExporterKind> {
    let Some(raw) = r.raw(var) else {
        return vec![ExporterKind::Otlp];
    };
    let mut out = Vec::new();
    for item in raw.split(',').map(|s| s.trim().to_ascii_lowercase()) {
        match item.as_str() {
            "otlp" => out.push(ExporterKind::Otlp),
            "console" | "logging" | "stdout" if cfg!(feature = "stdout") => {
                out.push(ExporterKind::Console)
            }
            "console" | "logging" | "stdout" => r.warn(
                var,
                &raw,
                format!("the `{item}` exporter needs the `stdout` cargo feature of `ferrotel`"),
                "it is skipped",
            ),
            "none" => return Vec::new(),
            "" => {}
            other => r.warn(
                var,
                &raw,
                format!("unsupported exporter `{other}` (supported: otlp, console, none)"),
                "it is skipped",
            ),
        }
    }
    out.dedup();
    out
}

fn sampler(r: &mut EnvReader<'_>) -> SamplerSetting {
    let default = SamplerSetting::ParentBasedAlwaysOn;
    let Some(raw) = r.raw("OTEL_TRACES_SAMPLER") else {
        return default;
    };
    let ratio = |r: &mut EnvReader<'_>| -> f64 {
        let Some(arg) = r.raw("OTEL_TRACES_SAMPLER_ARG") else {
            return 1.0;
        };
        match arg.parse::<f64>() {
            Ok(v) if (0.0..=1.0).contains(&v) => v,
            _ => {
                r.warn(
                    "OTEL_TRACES_SAMPLER_ARG",
                    &arg,
                    "expected a probability between 0.0 and 1.0",
                    "1.0",
                );
                1.0
            }
        }
    };
    match raw.to_ascii_lowercase().as_str() {
        "always_on" => SamplerSetting::AlwaysOn,
        "always_off" => SamplerSetting::AlwaysOff,
        "traceidratio" => SamplerSetting::TraceIdRatio(ratio(r)),
        "parentbased_always_on" => SamplerSetting::ParentBasedAlwaysOn,
        "parentbased_always_off" => SamplerSetting::ParentBasedAlwaysOff,
        "parentbased_traceidratio" => SamplerSetting::ParentBasedTraceIdRatio(ratio(r)),
        _ => {
            r.warn(
                "OTEL_TRACES_SAMPLER",
                &raw,
                "unsupported sampler (supported: always_on, always_off, traceidratio, \
                 parentbased_always_on, parentbased_always_off, parentbased_traceidratio)",
                default,
            );
            default
        }
    }
}

fn propagators(r: &mut EnvReader<'_>) -> Vec<PropagatorSetting> {
    let default = vec![PropagatorSetting::TraceContext, PropagatorSetting::Baggage];
    let Some(raw) = r.raw("OTEL_PROPAGATORS") else {
        return default;
    };
    let mut out = Vec::new();
    for item in raw.split(',').map(|s| s.trim().to_ascii_lowercase()) {
        match item.as_str() {
            "tracecontext" => out.push(PropagatorSetting::TraceContext),
            "baggage" => out.push(PropagatorSetting::Baggage),
            "none" => return Vec::new(),
            "" => {}
            other => r.warn(
                "OTEL_PROPAGATORS",
                &raw,
                format!(
                    "unsupported propagator `{other}` (supported: tracecontext, baggage, none)"
                ),
                "it is skipped",
            ),
        }
    }
    out.dedup();
    out
}

/// The largest `*_MAX_QUEUE_SIZE` accepted. The SDK's batch processors allocate their queue up
/// front, so the bound is what keeps a typo from reserving gigabytes at start-up.
pub const MAX_QUEUE_SIZE: usize = 65_536;
/// The longest `*_TIMEOUT` and `*_SCHEDULE_DELAY` accepted.
pub const MAX_EXPORT_WAIT: Duration = Duration::from_secs(300);
/// The largest `*_ATTRIBUTE_VALUE_LENGTH_LIMIT` accepted: the default gRPC message limit of
/// collectors (4 MiB), above which a record could not be exported anyway. The console cuts
/// lines at twice the log limit, so the bound also bounds a console line.
pub const MAX_ATTRIBUTE_VALUE_LENGTH: usize = 4 * 1024 * 1024;
/// The longest `OTEL_METRIC_EXPORT_INTERVAL` accepted.
pub const MAX_METRIC_EXPORT_INTERVAL: Duration = Duration::from_secs(24 * 3600);

fn batch(r: &mut EnvReader<'_>, prefix: &str, delay: Duration) -> BatchSettings {
    let schedule_delay = r
        .millis_at_most(&format!("{prefix}_SCHEDULE_DELAY"), MAX_EXPORT_WAIT)
        .unwrap_or(delay);
    let export_timeout = r
        .millis_at_most(&format!("{prefix}_EXPORT_TIMEOUT"), MAX_EXPORT_WAIT)
        .unwrap_or(Duration::from_secs(30));
    let max_queue_size = r
        .positive_at_most(&format!("{prefix}_MAX_QUEUE_SIZE"), MAX_QUEUE_SIZE)
        .unwrap_or(2048);
    let batch_var = format!("{prefix}_MAX_EXPORT_BATCH_SIZE");
    let Some(mut max_export_batch_size) = r.positive(&batch_var) else {
        // Unset: the default batch, or the whole queue when the queue is smaller.
        return BatchSettings {
            schedule_delay,
            export_timeout,
            max_queue_size,
            max_export_batch_size: max_queue_size.min(512),
        };
    };
    if max_export_batch_size > max_queue_size {
        r.warn(
            &batch_var,
            &max_export_batch_size.to_string(),
            format!("must not exceed {prefix}_MAX_QUEUE_SIZE ({max_queue_size})"),
            max_queue_size,
        );
        max_export_batch_size = max_queue_size;
    }
    BatchSettings {
        schedule_delay,
        export_timeout,
        max_queue_size,
        max_export_batch_size,
    }
}

fn temporality(r: &mut EnvReader<'_>) -> TemporalityPreference {
    let var = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
    let Some(raw) = r.raw(var) else {
        return TemporalityPreference::Cumulative;
    };
    match raw.to_ascii_lowercase().as_str() {
        "cumulative" => TemporalityPreference::Cumulative,
        "delta" => TemporalityPreference::Delta,
        "lowmemory" => TemporalityPreference::LowMemory,
        _ => {
            r.warn(
                var,
                &raw,
                "expected `cumulative`, `delta` or `lowmemory`",
                "cumulative",
            );
            TemporalityPreference::Cumulative
        }
    }
}

fn exemplar_filter(r: &mut EnvReader<'_>) -> ExemplarFilter {
    let var = "OTEL_METRICS_EXEMPLAR_FILTER";
    let Some(raw) = r.raw(var) else {
        return ExemplarFilter::TraceBased;
    };
    raw.parse().unwrap_or_else(|_| {
        r.warn(
            var,
            &raw,
            "expected `trace_based`, `always_on` or `always_off`",
            "trace_based",
        );
        ExemplarFilter::TraceBased
    })
}

fn limits(r: &mut EnvReader<'_>) -> Limits {
    let general_len = r
        .usize_at_most(
            "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
            MAX_ATTRIBUTE_VALUE_LENGTH,
        )
        .unwrap_or(DEFAULT_ATTRIBUTE_VALUE_LENGTH);
    let general_count = r.usize("OTEL_ATTRIBUTE_COUNT_LIMIT");
    let count = |r: &mut EnvReader<'_>, var: &str| -> u32 {
        r.usize(var)
            .or(general_count)
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
            .unwrap_or(DEFAULT_COUNT_LIMIT)
    };
    Limits {
        span_attribute_value_length: r
            .usize_at_most(
                "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
                MAX_ATTRIBUTE_VALUE_LENGTH,
            )
            .unwrap_or(general_len),
        span_attribute_count: count(r, "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT"),
        span_event_count: r
            .usize("OTEL_SPAN_EVENT_COUNT_LIMIT")
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
            .unwrap_or(DEFAULT_COUNT_LIMIT),
        span_link_count: r
            .usize("OTEL_SPAN_LINK_COUNT_LIMIT")
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
            .unwrap_or(DEFAULT_COUNT_LIMIT),
        event_attribute_count: count(r, "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT"),
        link_attribute_count: count(r, "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT"),
        log_attribute_value_length: r
            .usize_at_most(
                "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT",
                MAX_ATTRIBUTE_VALUE_LENGTH,
            )
            .unwrap_or(general_len),
        log_attribute_count: r
            .usize("OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT")
            .or(general_count)
            .unwrap_or(DEFAULT_COUNT_LIMIT as usize),
    }
}

fn console_format(r: &mut EnvReader<'_>) -> ConsoleFormat {
    let default = if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        ConsoleFormat::Pretty
    } else {
        ConsoleFormat::Json
    };
    let Some(raw) = r.raw("TELEMETRY_LOG_FORMAT") else {
        return default;
    };
    match raw.to_ascii_lowercase().as_str() {
        "json" => ConsoleFormat::Json,
        "pretty" => ConsoleFormat::Pretty,
        "compact" | "text" => ConsoleFormat::Compact,
        "none" | "off" => ConsoleFormat::Off,
        _ => {
            let shown = format!("{default:?}").to_ascii_lowercase();
            r.warn(
                "TELEMETRY_LOG_FORMAT",
                &raw,
                "expected `json`, `pretty`, `compact` or `none`",
                shown,
            );
            default
        }
    }
}

fn console_schema(r: &mut EnvReader<'_>) -> ConsoleSchema {
    let Some(raw) = r.raw("TELEMETRY_LOG_SCHEMA") else {
        return ConsoleSchema::Default;
    };
    match raw.to_ascii_lowercase().as_str() {
        "default" => ConsoleSchema::Default,
        "zap" => ConsoleSchema::Zap,
        "ecs" => ConsoleSchema::Ecs,
        "gcp" => ConsoleSchema::GoogleCloud,
        _ => {
            r.warn(
                "TELEMETRY_LOG_SCHEMA",
                &raw,
                "expected `default`, `zap`, `ecs` or `gcp`",
                "default",
            );
            ConsoleSchema::Default
        }
    }
}

fn sdk_log_level(r: &mut EnvReader<'_>) -> tracing::Level {
    let Some(raw) = r.raw("OTEL_LOG_LEVEL") else {
        return tracing::Level::WARN;
    };
    match raw.to_ascii_lowercase().as_str() {
        "error" => tracing::Level::ERROR,
        "warn" => tracing::Level::WARN,
        "info" => tracing::Level::INFO,
        "debug" => tracing::Level::DEBUG,
        "trace" => tracing::Level::TRACE,
        _ => {
            r.warn(
                "OTEL_LOG_LEVEL",
                &raw,
                "expected error, warn, info, debug or trace",
                "warn",
            );
            tracing::Level::WARN
        }
    }
}

/// ` certificate=PATH client_certificate=PATH` (paths only, never key material).
fn tls_summary(s: &OtlpSettings) -> String {
    let mut out = String::new();
    if let Some(p) = &s.certificate {
        out.push_str(&format!(" certificate={}", p.display()));
    } else if s.tls.ca_pem().is_some() {
        out.push_str(" certificate=<builder PEM>");
    }
    if let Some(p) = &s.client_certificate {
        out.push_str(&format!(" client_certificate={}", p.display()));
    } else if s.tls.has_client_identity() {
        out.push_str(" client_certificate=<builder PEM>");
    }
    out
}

/// Replaces `user:password@` in a URL with `***@`.
pub(crate) fn mask_url(raw: &str) -> String {
    match (raw.find("://"), raw.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}***{}", &raw[..scheme_end + 3], &raw[at..])
        }
        _ => raw.to_string(),
    }
}

impl fmt::Display for Config {
    /// A human-readable table of the effective configuration, with header values and URL
    /// credentials masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "ferrotel configuration:")?;
        #[cfg(feature = "config-file")]
        if let Some(file) = &self.config_file {
            writeln!(
                f,
                "  config file             {} (file_format {}; OTEL_* variables only through it)",
                file.source, file.file_format
            )?;
        }
        writeln!(f, "  sdk_disabled            {}", self.sdk_disabled)?;
        writeln!(f, "  service.name            {}", self.service_name)?;
        let none = "-".to_string();
        let version = self.service_version.as_ref().unwrap_or(&none);
        writeln!(f, "  service.version         {version}")?;
        let env = self.deployment_environment.as_ref().unwrap_or(&none);
        writeln!(f, "  deployment.environment  {env}")?;
        writeln!(f, "  service.instance.id     {}", self.service_instance_id)?;
        for (k, v) in &self.resource_attributes {
            // Credentials in URL-shaped values are masked even without the `redaction` feature.
            writeln!(f, "  resource {k:<15} {}", mask_url(v))?;
        }
        for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
            let s = self.signal(signal);
            let exporters: Vec<String> = s
                .exporters
                .iter()
                .map(|e| match e {
                    ExporterKind::OtlpFile => format!("otlp_file({})", s.otlp_file),
                    _ => format!("{e:?}").to_ascii_lowercase(),
                })
                .collect();
            let exporters = if exporters.is_empty() {
                "none".to_string()
            } else {
                exporters.join(",")
            };
            let headers: Vec<String> = s
                .otlp
                .headers
                .iter()
                .map(|(k, _)| format!("{k}=***"))
                .collect();
            writeln!(
                f,
                "  {signal:<7} exporters={exporters} endpoint={} protocol={} timeout={}ms compression={:?} headers=[{}]{}",
                mask_url(&s.otlp.endpoint),
                s.otlp.protocol,
                s.otlp.timeout.as_millis(),
                s.otlp.compression,
                headers.join(","),
                tls_summary(&s.otlp),
            )?;
        }
        writeln!(f, "  sampler                 {}", self.sampler)?;
        writeln!(f, "  propagators             {:?}", self.propagators)?;
        writeln!(
            f,
            "  span batch              delay={}ms queue={} batch={} timeout={}ms",
            self.span_batch.schedule_delay.as_millis(),
            self.span_batch.max_queue_size,
            self.span_batch.max_export_batch_size,
            self.span_batch.export_timeout.as_millis()
        )?;
        writeln!(
            f,
            "  log batch               delay={}ms queue={} batch={} timeout={}ms",
            self.log_batch.schedule_delay.as_millis(),
            self.log_batch.max_queue_size,
            self.log_batch.max_export_batch_size,
            self.log_batch.export_timeout.as_millis()
        )?;
        writeln!(
            f,
            "  metrics                 interval={}ms timeout={}ms temporality={:?} exemplars={}",
            self.metric_export_interval.as_millis(),
            self.metric_export_timeout.as_millis(),
            self.temporality,
            self.exemplar_filter
        )?;
        writeln!(f, "  limits                  {:?}", self.limits)?;
        writeln!(
            f,
            "  console                 format={:?} schema={:?} filter={:?}",
            self.console_format, self.console_schema, self.log_filter
        )?;
        for w in &self.warnings {
            writeln!(f, "  warning: {w}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
