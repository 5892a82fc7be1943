//! Builds the three SDK providers from a [`Config`]: exporters, batch processors, readers.

use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::{LogExporter, SdkLoggerProvider};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanExporter, SpanLimits};

use crate::accounting::{Accounting, CountingExporter};
use crate::admission::{
    AdmissionLogProcessor, AdmissionSpanProcessor, SpanEditor, SpanPreparation,
};
use crate::batch::{
    BatchLogProcessor, BatchPolicy, BatchSpanProcessor, Batcher, LogBatchExport, SpanBatchExport,
};
use crate::config::{
    BatchSettings, Compression, Config, ExporterKind, OtlpSettings, Protocol, SamplerSetting,
    Signal, TemporalityPreference,
};
use crate::hooks::Hooks;
use crate::otlp::http::{BodyFormat, HttpMetricExporter, HttpSender, HttpSpanExporter};
use crate::otlp::{MetricExporter, TraceExporter};
use crate::{ConfigWarning, Error};

/// The providers and what keeps them running.
pub(crate) struct Pipelines {
    pub tracer_provider: SdkTracerProvider,
    pub meter_provider: SdkMeterProvider,
    pub logger_provider: SdkLoggerProvider,
    /// Drives gRPC and `https://` HTTP exports, independent of the application's runtime (if
    /// any).
    pub grpc_runtime: Option<tokio::runtime::Runtime>,
    /// OTLP exporters that could not be built, and were left out instead of failing `init()`.
    pub warnings: Vec<ConfigWarning>,
}

/// An exporter that could not be built costs its signal's export, never the start-up.
fn skipped_exporter(error: Error) -> ConfigWarning {
    let (variable, signal) = match &error {
        Error::Exporter { signal, .. } => (format!("OTLP {signal} exporter"), Some(*signal)),
        Error::OtlpFile { signal, .. } => (format!("OTLP file {signal} exporter"), Some(*signal)),
        _ => ("OTLP exporter".to_string(), None),
    };
    ConfigWarning {
        variable,
        value: String::new(),
        problem: error.to_string(),
        fallback: match signal {
            Some(signal) => format!("OTLP export of {signal} is disabled"),
            None => "OTLP export of that signal is disabled".to_string(),
        },
    }
}

pub(crate) fn build(
    config: &Config,
    resource: Resource,
    accounting: &Arc<Accounting>,
    hooks: &mut Hooks,
) -> Result<Pipelines, Error> {
    let needs_runtime = !config.sdk_disabled
        && [Signal::Traces, Signal::Metrics, Signal::Logs]
            .iter()
            .any(|s| {
                let s = config.signal(*s);
                s.exporters.contains(&ExporterKind::Otlp) && runs_on_our_runtime(&s.otlp)
            });
    #[cfg(any(feature = "grpc", feature = "tls"))]
    let grpc_runtime = if needs_runtime {
        Some(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("ferrotel-grpc")
                .enable_all()
                .build()
                .map_err(Error::Runtime)?,
        )
    } else {
        None
    };
    // Without these features no exporter needs it (the configuration falls back to HTTP, and
    // `https://` goes to reqwest, which fails with the warning given at init).
    #[cfg(not(any(feature = "grpc", feature = "tls")))]
    let grpc_runtime: Option<tokio::runtime::Runtime> = {
        let _ = needs_runtime;
        None
    };
    let rt = grpc_runtime.as_ref().map(|r| r.handle().clone());

    let mut skipped = Vec::new();
    let tracer_provider = tracer_provider(
        config,
        resource.clone(),
        accounting,
        hooks,
        rt.as_ref(),
        &mut skipped,
    )?;
    let meter_provider = meter_provider(
        config,
        resource.clone(),
        accounting,
        hooks,
        rt.as_ref(),
        &mut skipped,
    )?;
    let logger_provider = logger_provider(
        config,
        resource,
        accounting,
        hooks,
        rt.as_ref(),
        &mut skipped,
    )?;
    Ok(Pipelines {
        tracer_provider,
        meter_provider,
        logger_provider,
        grpc_runtime,
        warnings: skipped.into_iter().map(skipped_exporter).collect(),
    })
}

/// gRPC exports, and with the `tls` feature `https://` HTTP exports, are polled on our runtime.
fn runs_on_our_runtime(s: &OtlpSettings) -> bool {
    s.protocol == Protocol::Grpc || (cfg!(feature = "tls") && is_https(&s.endpoint))
}

fn is_https(endpoint: &str) -> bool {
    endpoint
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
}

fn exporters_of(config: &Config, signal: Signal) -> &[ExporterKind] {
    if config.sdk_disabled {
        &[]
    } else {
        &config.signal(signal).exporters
    }
}

/// The counters for the `i`th exporter of `signal`: only the first one is counted (and named
/// in export warnings).
fn primary(
    accounting: &Arc<Accounting>,
    config: &Config,
    signal: Signal,
    i: usize,
    kind: ExporterKind,
) -> Option<Arc<Accounting>> {
    if i != 0 {
        return None;
    }
    let destination = match kind {
        ExporterKind::Otlp => crate::config::mask_url(&config.signal(signal).otlp.endpoint),
        ExporterKind::Console => "the console exporter".to_string(),
        ExporterKind::OtlpFile => format!("OTLP JSON lines to {}", config.signal(signal).otlp_file),
    };
    accounting.of(signal).set_destination(destination);
    Some(Arc::clone(accounting))
}

/// The counters for an exporter of the application's own, when it is the signal's first one.
fn custom_primary(
    accounting: &Arc<Accounting>,
    signal: Signal,
    first: bool,
) -> Option<Arc<Accounting>> {
    first.then(|| {
        accounting
            .of(signal)
            .set_destination("the application's exporter".to_string());
        Arc::clone(accounting)
    })
}

fn sampler(s: SamplerSetting) -> Sampler {
    match s {
        SamplerSetting::AlwaysOn => Sampler::AlwaysOn,
        SamplerSetting::AlwaysOff => Sampler::AlwaysOff,
        SamplerSetting::TraceIdRatio(r) => Sampler::TraceIdRatioBased(r),
        SamplerSetting::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        SamplerSetting::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        SamplerSetting::ParentBasedTraceIdRatio(r) => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(r)))
        }
    }
}

/// When our batch processor exports: a flush waits at most the shutdown timeout (the guard
/// bounds it as well, from the caller's side).
fn batch_policy(b: &BatchSettings, config: &Config) -> BatchPolicy {
    BatchPolicy {
        schedule_delay: b.schedule_delay,
        max_batch: b.max_export_batch_size,
        flush_wait: config.shutdown_timeout,
    }
}

fn tracer_provider(
    config: &Config,
    resource: Resource,
    accounting: &Arc<Accounting>,
    hooks: &mut Hooks,
    rt: Option<&tokio::runtime::Handle>,
    skipped: &mut Vec<Error>,
) -> Result<SdkTracerProvider, Error> {
    let limits = config.limits;
    let span_limits = SpanLimits {
        max_attributes_per_span: limits.span_attribute_count,
        max_events_per_span: limits.span_event_count,
        max_links_per_span: limits.span_link_count,
        max_attributes_per_event: limits.event_attribute_count,
        max_attributes_per_link: limits.link_attribute_count,
    };
    let mut builder = SdkTracerProvider::builder()
        .with_resource(resource)
        .with_sampler(sampler(config.sampler))
        .with_span_limits(span_limits);

    let kinds = exporters_of(config, Signal::Traces);
    for (i, kind) in kinds.iter().enumerate() {
        let counters = primary(accounting, config, Signal::Traces, i, *kind);
        let edit = hooks.span_editor.clone();
        builder = match kind {
            ExporterKind::Otlp => {
                let otlp = bounded(&config.traces.otlp, &config.span_batch);
                let exporter = match otlp_span_exporter(&otlp, rt) {
                    Ok(e) => e,
                    Err(e) => {
                        skipped.push(e);
                        continue;
                    }
                };
                hooks.add_span_processor(builder, span_pipeline(exporter, config, counters, edit))
            }
            #[cfg(feature = "stdout")]
            ExporterKind::Console => hooks.add_span_processor(
                builder,
                span_pipeline(
                    opentelemetry_stdout::SpanExporter::default(),
                    config,
                    counters,
                    edit,
                ),
            ),
            // Only code can ask for it without the feature: the configuration skips it with a
            // warning.
            #[cfg(not(feature = "stdout"))]
            ExporterKind::Console => builder,
            #[cfg(feature = "otlp-file")]
            ExporterKind::OtlpFile => match line_writer(config, Signal::Traces) {
                Ok(out) => hooks.add_span_processor(
                    builder,
                    span_pipeline(
                        crate::otlp::file::FileSpanExporter::new(out),
                        config,
                        counters,
                        edit,
                    ),
                ),
                Err(e) => {
                    skipped.push(e);
                    continue;
                }
            },
            #[cfg(not(feature = "otlp-file"))]
            ExporterKind::OtlpFile => builder,
        };
    }
    let custom = std::mem::take(&mut hooks.custom_span_exporters);
    for (i, make) in custom.into_iter().enumerate() {
        let counters = custom_primary(accounting, Signal::Traces, kinds.is_empty() && i == 0);
        let edit = hooks.span_editor.clone();
        if !config.sdk_disabled {
            builder = hooks.add_boxed_span_processor(builder, make(config, counters, edit));
        }
    }
    for processor in hooks.take_extra_span_processors() {
        builder = builder.with_span_processor(processor);
    }
    Ok(builder.build())
}

/// Admission control, value limits, batching and export counting around `exporter`.
pub(crate) fn span_pipeline<E: SpanExporter + 'static>(
    exporter: E,
    config: &Config,
    counters: Option<Arc<Accounting>>,
    edit: Option<SpanEditor>,
) -> AdmissionSpanProcessor<BatchSpanProcessor<CountingExporter<E>>> {
    let b = &config.span_batch;
    let exporter = CountingExporter {
        inner: exporter,
        counters: counters.clone(),
    };
    AdmissionSpanProcessor {
        inner: Batcher::new(
            SpanBatchExport {
                exporter,
                prepare: SpanPreparation {
                    edit,
                    max_value_len: config.limits.span_attribute_value_length,
                },
            },
            batch_policy(b, config),
            "spans",
        ),
        counters,
        capacity: b.max_queue_size,
    }
}

/// Admission control, batching and export counting around `exporter`.
pub(crate) fn log_pipeline<E: LogExporter + 'static>(
    exporter: E,
    config: &Config,
    counters: Option<Arc<Accounting>>,
) -> AdmissionLogProcessor<BatchLogProcessor<CountingExporter<E>>> {
    let b = &config.log_batch;
    let exporter = CountingExporter {
        inner: exporter,
        counters: counters.clone(),
    };
    AdmissionLogProcessor {
        inner: Batcher::new(LogBatchExport(exporter), batch_policy(b, config), "logs"),
        counters,
        capacity: b.max_queue_size,
    }
}

fn temporality(t: TemporalityPreference) -> Temporality {
    match t {
        TemporalityPreference::Cumulative => Temporality::Cumulative,
        TemporalityPreference::Delta => Temporality::Delta,
        TemporalityPreference::LowMemory => Temporality::LowMemory,
    }
}

fn meter_provider(
    config: &Config,
    resource: Resource,
    accounting: &Arc<Accounting>,
    hooks: &mut Hooks,
    rt: Option<&tokio::runtime::Handle>,
    skipped: &mut Vec<Error>,
) -> Result<SdkMeterProvider, Error> {
    // Process-wide, as the reservoirs are: the last initialised pipeline decides.
    ferrotel_meters::set_exemplar_filter(match config.sdk_disabled {
        true => ferrotel_meters::ExemplarFilter::AlwaysOff,
        false => config.exemplar_filter,
    });
    let mut builder = SdkMeterProvider::builder().with_resource(resource);
    let t = temporality(config.temporality);
    let kinds = exporters_of(config, Signal::Metrics);
    for (i, kind) in kinds.iter().enumerate() {
        let counters = primary(accounting, config, Signal::Metrics, i, *kind);
        macro_rules! reader {
            ($exporter:expr) => {{
                PeriodicReader::builder(CountingExporter {
                    inner: $exporter,
                    counters: counters.clone(),
                })
                .with_interval(config.metric_export_interval)
                .build()
            }};
        }
        builder = match kind {
            ExporterKind::Otlp => match otlp_metric_exporter(&config.metrics.otlp, t, rt) {
                Ok(e) => builder.with_reader(reader!(e)),
                Err(e) => {
                    skipped.push(e);
                    builder
                }
            },
            #[cfg(feature = "stdout")]
            ExporterKind::Console => builder.with_reader(reader!(
                opentelemetry_stdout::MetricExporter::builder()
                    .with_temporality(t)
                    .build()
            )),
            #[cfg(not(feature = "stdout"))]
            ExporterKind::Console => builder,
            #[cfg(feature = "otlp-file")]
            ExporterKind::OtlpFile => match line_writer(config, Signal::Metrics) {
                Ok(out) => {
                    builder.with_reader(reader!(crate::otlp::file::FileMetricExporter::new(out, t)))
                }
                Err(e) => {
                    skipped.push(e);
                    builder
                }
            },
            #[cfg(not(feature = "otlp-file"))]
            ExporterKind::OtlpFile => builder,
        };
    }
    let custom = std::mem::take(&mut hooks.custom_metric_exporters);
    for (i, make) in custom.into_iter().enumerate() {
        let counters = custom_primary(accounting, Signal::Metrics, kinds.is_empty() && i == 0);
        if !config.sdk_disabled {
            builder = make(builder, config, counters);
        }
    }
    builder = hooks.apply_meter_customizations(builder);
    Ok(builder.build())
}

/// A periodic reader with the configured interval and export counting around `exporter`.
pub(crate) fn metric_reader<E: opentelemetry_sdk::metrics::exporter::PushMetricExporter>(
    exporter: E,
    config: &Config,
    counters: Option<Arc<Accounting>>,
) -> PeriodicReader<CountingExporter<E>> {
    PeriodicReader::builder(CountingExporter {
        inner: exporter,
        counters,
    })
    .with_interval(config.metric_export_interval)
    .build()
}

fn logger_provider(
    config: &Config,
    resource: Resource,
    accounting: &Arc<Accounting>,
    hooks: &mut Hooks,
    rt: Option<&tokio::runtime::Handle>,
    skipped: &mut Vec<Error>,
) -> Result<SdkLoggerProvider, Error> {
    let mut builder = SdkLoggerProvider::builder().with_resource(resource);
    for processor in hooks.take_pre_log_processors() {
        builder = builder.with_log_processor(processor);
    }
    let kinds = exporters_of(config, Signal::Logs);
    for (i, kind) in kinds.iter().enumerate() {
        let counters = primary(accounting, config, Signal::Logs, i, *kind);
        builder = match kind {
            ExporterKind::Otlp => {
                let otlp = bounded(&config.logs.otlp, &config.log_batch);
                let exporter = match otlp_log_exporter(&otlp, rt) {
                    Ok(e) => e,
                    Err(e) => {
                        skipped.push(e);
                        continue;
                    }
                };
                builder.with_log_processor(log_pipeline(exporter, config, counters))
            }
            #[cfg(feature = "stdout")]
            ExporterKind::Console => builder.with_log_processor(log_pipeline(
                opentelemetry_stdout::LogExporter::default(),
                config,
                counters,
            )),
            #[cfg(not(feature = "stdout"))]
            ExporterKind::Console => builder,
            #[cfg(feature = "otlp-file")]
            ExporterKind::OtlpFile => match line_writer(config, Signal::Logs) {
                Ok(out) => builder.with_log_processor(log_pipeline(
                    crate::otlp::file::FileLogExporter::new(out),
                    config,
                    counters,
                )),
                Err(e) => {
                    skipped.push(e);
                    continue;
                }
            },
            #[cfg(not(feature = "otlp-file"))]
            ExporterKind::OtlpFile => builder,
        };
    }
    let custom = std::mem::take(&mut hooks.custom_log_exporters);
    for (i, make) in custom.into_iter().enumerate() {
        let counters = custom_primary(accounting, Signal::Logs, kinds.is_empty() && i == 0);
        if !config.sdk_disabled {
            builder = builder.with_log_processor(make(config, counters));
        }
    }
    Ok(builder.build())
}

/// The OTLP file exporter's output for `signal`, opened.
#[cfg(feature = "otlp-file")]
fn line_writer(config: &Config, signal: Signal) -> Result<crate::otlp::file::LineWriter, Error> {
    crate::otlp::file::LineWriter::open(&config.signal(signal).otlp_file)
        .map_err(|reason| Error::OtlpFile { signal, reason })
}

/// The SDK's thread-based batch processors do not enforce `*_EXPORT_TIMEOUT` themselves: it
/// bounds each export through the OTLP request timeout instead.
fn bounded(s: &OtlpSettings, b: &BatchSettings) -> OtlpSettings {
    let mut s = s.clone();
    s.timeout = s.timeout.min(b.export_timeout);
    s
}

fn otlp_protocol(p: Protocol) -> opentelemetry_otlp::Protocol {
    match p {
        #[cfg(feature = "http-json")]
        Protocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
        #[cfg(feature = "grpc")]
        Protocol::Grpc => opentelemetry_otlp::Protocol::Grpc,
        _ => opentelemetry_otlp::Protocol::HttpBinary,
    }
}

fn otlp_compression(c: Compression) -> Option<opentelemetry_otlp::Compression> {
    match c {
        Compression::None => None,
        Compression::Gzip => Some(opentelemetry_otlp::Compression::Gzip),
    }
}

fn build_error(signal: Signal) -> impl FnOnce(opentelemetry_otlp::ExporterBuildError) -> Error {
    move |source| Error::Exporter { signal, source }
}

/// A TLS setup problem the configuration did not catch, as an exporter build error.
#[cfg(feature = "tls")]
fn tls_error(signal: Signal) -> impl FnOnce(String) -> Error {
    move |problem| Error::Exporter {
        signal,
        source: opentelemetry_otlp::ExporterBuildError::InvalidConfiguration(format!(
            "TLS: {problem}"
        )),
    }
}

/// Applies the HTTP settings shared by the three signal builders. `http://` endpoints use
/// opentelemetry-otlp's reqwest blocking client; with the `tls` feature, `https://` endpoints use
/// our hyper-rustls client, polled on our runtime.
macro_rules! http_exporter {
    ($builder:expr, $s:expr, $signal:expr, $rt:expr) => {{
        let s: &OtlpSettings = $s;
        let headers: HashMap<String, String> = s.headers.iter().cloned().collect();
        let mut b = $builder
            .with_http()
            .with_protocol(otlp_protocol(s.protocol))
            .with_endpoint(s.endpoint.clone())
            .with_timeout(s.timeout)
            .with_headers(headers);
        if let Some(c) = otlp_compression(s.compression) {
            b = b.with_compression(c);
        }
        let _ = $rt;
        #[cfg(feature = "tls")]
        if is_https(&s.endpoint) {
            let rt: &tokio::runtime::Handle = $rt.ok_or(Error::Internal("TLS runtime missing"))?;
            let client = crate::tls::https_client(&s.tls, s.timeout).map_err(tls_error($signal))?;
            return b
                .with_http_client(client)
                .build()
                .map(|e| crate::transport::OnRuntime::new(e, rt.clone()))
                .map(EitherExporter::OnRuntime)
                .map_err(build_error($signal));
        }
        b.build()
            .map(EitherExporter::Direct)
            .map_err(build_error($signal))
    }};
}

/// The metadata sent with every gRPC call: the configured headers with lowercase keys (the
/// configuration has already dropped unusable ones with a warning).
#[cfg(feature = "grpc")]
fn grpc_metadata(s: &OtlpSettings) -> tonic::metadata::MetadataMap {
    let mut metadata = tonic::metadata::MetadataMap::new();
    for (k, v) in &s.headers {
        if let (Ok(k), Ok(v)) = (
            tonic::metadata::MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes()),
            tonic::metadata::MetadataValue::try_from(v.as_str()),
        ) {
            metadata.insert(k, v);
        }
    }
    metadata
}

/// A lazily connected channel to `s.endpoint`, with our trust roots and client identity for
/// `https://`. tonic's request timeout does not cover connecting: the TCP connect and the TLS
/// handshake are bounded by the export timeout too, or a silent server hangs the export. Call it
/// inside our runtime: tonic spawns its connection tasks on the current one.
#[cfg(feature = "grpc")]
fn grpc_channel(s: &OtlpSettings, signal: Signal) -> Result<tonic::transport::Channel, Error> {
    let invalid = |problem: String| Error::Exporter {
        signal,
        source: opentelemetry_otlp::ExporterBuildError::InvalidConfiguration(problem),
    };
    let endpoint = tonic::transport::Endpoint::from_shared(s.endpoint.clone())
        .map_err(|e| invalid(format!("invalid gRPC endpoint: {e}")))?;
    #[cfg(feature = "tls")]
    let endpoint = if is_https(&s.endpoint) {
        let tls = crate::tls::tonic_config(&s.tls)
            .map_err(tls_error(signal))?
            .timeout(s.timeout);
        endpoint
            .tls_config(tls)
            .map_err(|e| tls_error(signal)(e.to_string()))?
    } else {
        endpoint
    };
    Ok(endpoint
        .connect_timeout(s.timeout)
        .timeout(s.timeout)
        .connect_lazy())
}

#[cfg(feature = "grpc")]
macro_rules! grpc_exporter {
    ($builder:expr, $s:expr, $signal:expr, $rt:expr) => {{
        use opentelemetry_otlp::WithTonicConfig;
        let s: &OtlpSettings = $s;
        let rt: &tokio::runtime::Handle = $rt.ok_or(Error::Internal("gRPC runtime missing"))?;
        let _enter = rt.enter();
        let mut b = $builder
            .with_tonic()
            .with_endpoint(s.endpoint.clone())
            .with_timeout(s.timeout)
            .with_metadata(grpc_metadata(s));
        if let Some(c) = otlp_compression(s.compression) {
            b = b.with_compression(c);
        }
        // opentelemetry-otlp's own TLS path would need its `tls-*` features; we hand it a
        // channel configured with our trust roots and client identity instead.
        #[cfg(feature = "tls")]
        if is_https(&s.endpoint) {
            b = b.with_channel(grpc_channel(s, $signal)?);
        }
        b.build()
            .map(|e| crate::transport::OnRuntime::new(e, rt.clone()))
            .map_err(build_error($signal))
    }};
}

use crate::transport::EitherExporter;

type Grpc<E> = crate::transport::OnRuntime<E>;

fn otlp_span_exporter(
    s: &OtlpSettings,
    rt: Option<&tokio::runtime::Handle>,
) -> Result<EitherExporter<TraceExporter, Grpc<TraceExporter>>, Error> {
    type Stock =
        EitherExporter<opentelemetry_otlp::SpanExporter, Grpc<opentelemetry_otlp::SpanExporter>>;
    let stock = |e: Stock| match e {
        EitherExporter::Direct(e) => EitherExporter::Direct(TraceExporter::Stock(e)),
        EitherExporter::OnRuntime(e) => EitherExporter::OnRuntime(e.map(TraceExporter::Stock)),
    };
    #[cfg(feature = "grpc")]
    if s.protocol == Protocol::Grpc {
        let build = || -> Result<Stock, Error> {
            grpc_exporter!(
                opentelemetry_otlp::SpanExporter::builder(),
                s,
                Signal::Traces,
                rt
            )
            .map(EitherExporter::OnRuntime)
        };
        return build().map(stock);
    }
    if s.protocol == Protocol::HttpProtobuf {
        return direct_span_exporter(s, rt);
    }
    let build = || -> Result<Stock, Error> {
        http_exporter!(
            opentelemetry_otlp::SpanExporter::builder(),
            s,
            Signal::Traces,
            rt
        )
    };
    build().map(stock)
}

/// Our protobuf span exporter, on the HTTP client the stock exporter would use.
fn direct_span_exporter(
    s: &OtlpSettings,
    rt: Option<&tokio::runtime::Handle>,
) -> Result<EitherExporter<TraceExporter, Grpc<TraceExporter>>, Error> {
    direct_exporter(s, Signal::Traces, rt, |sender| {
        TraceExporter::Direct(HttpSpanExporter::new(sender))
    })
}

/// Our metric exporter (the stock message with exemplars), on the same HTTP clients.
fn direct_metric_exporter(
    s: &OtlpSettings,
    t: Temporality,
    rt: Option<&tokio::runtime::Handle>,
) -> Result<EitherExporter<MetricExporter, Grpc<MetricExporter>>, Error> {
    direct_exporter(s, Signal::Metrics, rt, |sender| {
        MetricExporter::Http(HttpMetricExporter::new(sender, t))
    })
}

/// The exporter `make` builds on `signal`'s sender, moved onto the TLS runtime when the sender
/// needs it.
fn direct_exporter<E>(
    s: &OtlpSettings,
    signal: Signal,
    rt: Option<&tokio::runtime::Handle>,
    make: impl FnOnce(HttpSender) -> E,
) -> Result<EitherExporter<E, Grpc<E>>, Error> {
    let (sender, on_runtime) = direct_sender(s, signal, rt)?;
    let exporter = make(sender);
    Ok(match on_runtime {
        Some(rt) => EitherExporter::OnRuntime(crate::transport::OnRuntime::new(exporter, rt)),
        None => EitherExporter::Direct(exporter),
    })
}

/// The sender for `signal`'s endpoint: reqwest's blocking client for `http://`, our rustls
/// client for `https://` (which must run on the TLS runtime, returned beside it).
fn direct_sender(
    s: &OtlpSettings,
    signal: Signal,
    rt: Option<&tokio::runtime::Handle>,
) -> Result<(HttpSender, Option<tokio::runtime::Handle>), Error> {
    let invalid = |problem: String| Error::Exporter {
        signal,
        source: opentelemetry_otlp::ExporterBuildError::InvalidConfiguration(problem),
    };
    let format = match s.protocol {
        #[cfg(feature = "http-json")]
        Protocol::HttpJson => BodyFormat::Json,
        _ => BodyFormat::Protobuf,
    };
    let gzip = s.compression == Compression::Gzip;
    let sender = |client: Arc<dyn opentelemetry_http::HttpClient>| {
        HttpSender::new(client, &s.endpoint, &s.headers, s.timeout, format, gzip).map_err(invalid)
    };
    let _ = rt;
    #[cfg(feature = "tls")]
    if is_https(&s.endpoint) {
        let rt: &tokio::runtime::Handle = rt.ok_or(Error::Internal("TLS runtime missing"))?;
        let client = crate::tls::https_client(&s.tls, s.timeout).map_err(tls_error(signal))?;
        return Ok((sender(Arc::new(client))?, Some(rt.clone())));
    }
    let client = blocking_client(s.timeout).map_err(invalid)?;
    Ok((sender(Arc::new(client))?, None))
}

/// reqwest's blocking client, as the stock exporter builds it: on a thread of its own, since
/// building (and dropping) it inside an async context panics.
fn blocking_client(timeout: std::time::Duration) -> Result<reqwest::blocking::Client, String> {
    std::thread::Builder::new()
        .name("ferrotel-http-client".into())
        .spawn(move || {
            reqwest::blocking::Client::builder()
                .timeout(timeout)
                .build()
        })
        .map_err(|e| format!("failed to spawn a thread for the HTTP client: {e}"))?
        .join()
        .map_err(|_| "the HTTP client's thread panicked".to_string())?
        .map_err(|e| format!("failed to build the HTTP client: {e}"))
}

fn otlp_metric_exporter(
    s: &OtlpSettings,
    t: Temporality,
    rt: Option<&tokio::runtime::Handle>,
) -> Result<EitherExporter<MetricExporter, Grpc<MetricExporter>>, Error> {
    #[cfg(feature = "grpc")]
    if s.protocol == Protocol::Grpc {
        let rt = rt.ok_or(Error::Internal("gRPC runtime missing"))?;
        let _enter = rt.enter();
        let exporter = crate::otlp::grpc::GrpcMetricExporter::new(
            grpc_channel(s, Signal::Metrics)?,
            grpc_metadata(s),
            s.timeout,
            s.compression == Compression::Gzip,
            t,
        );
        return Ok(EitherExporter::OnRuntime(crate::transport::OnRuntime::new(
            MetricExporter::Grpc(exporter),
            rt.clone(),
        )));
    }
    direct_metric_exporter(s, t, rt)
}

fn otlp_log_exporter(
    s: &OtlpSettings,
    rt: Option<&tokio::runtime::Handle>,
) -> Result<
    EitherExporter<opentelemetry_otlp::LogExporter, Grpc<opentelemetry_otlp::LogExporter>>,
    Error,
> {
    #[cfg(feature = "grpc")]
    if s.protocol == Protocol::Grpc {
        return grpc_exporter!(
            opentelemetry_otlp::LogExporter::builder(),
            s,
            Signal::Logs,
            rt
        )
        .map(EitherExporter::OnRuntime);
    }
    http_exporter!(
        opentelemetry_otlp::LogExporter::builder(),
        s,
        Signal::Logs,
        rt
    )
}
