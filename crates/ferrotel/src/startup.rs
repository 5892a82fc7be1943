//! Start-up orchestration: resolves the configuration, composes redaction into every signal's
//! processing, builds the pipelines and the subscriber, installs them globally when asked, and
//! hands them to the [`Guard`].

use std::sync::Arc;

use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::propagation::text_map_propagator::TextMapPropagator;
use opentelemetry_sdk::propagation::BaggagePropagator;

use crate::accounting::Accounting;
use crate::config::{ConsoleFormat, PropagatorSetting};
use crate::{Builder, Error, Guard, pipeline, resource, subscriber};

/// Builds and installs everything `builder` describes.
pub(crate) fn start(mut builder: Builder) -> Result<Guard, Error> {
    #[allow(unused_variables)]
    let (mut config, extras) = builder.resolve_config();
    let accounting = Arc::new(Accounting::default());
    // A configuration file selects the detected attributes; detection runs once either way.
    #[cfg(feature = "config-file")]
    let mut resource = if config.config_file.is_some() {
        resource::build_keeping(&config, &|key| {
            crate::config::file::keeps_detected(&extras, key)
        })
    } else {
        resource::build(&config)
    };
    #[cfg(not(feature = "config-file"))]
    #[allow(unused_mut)]
    let mut resource = resource::build(&config);
    #[cfg(feature = "config-file")]
    {
        if !extras.typed_resource.is_empty() {
            // The file's declared types (int, bool, arrays) over the text the resolver kept.
            resource = opentelemetry_sdk::Resource::builder_empty()
                .with_attributes(
                    resource
                        .iter()
                        .map(|(k, v)| opentelemetry::KeyValue::new(k.clone(), v.clone()))
                        .chain(extras.typed_resource.iter().cloned()),
                )
                .build();
        }
        #[cfg(feature = "redaction")]
        if extras.redaction == Some(false) {
            builder.redaction = None;
        }
        #[cfg(feature = "runtime-metrics")]
        if extras.runtime_metrics == Some(false) {
            builder.runtime_metrics = None;
        }
    }
    // The value redactor of log records: applied by the bridge while the record is built, before
    // the value-length limit, so a secret straddling the limit is matched whole. The redaction
    // engine comes first, then the application's own redactor.
    #[allow(unused_mut)]
    let mut log_redactor = builder.redactor.clone();
    #[cfg(feature = "redaction")]
    if let Some(redactor) = builder.redaction.clone() {
        resource = redactor.redact_resource(&resource);
        // The configuration reports what is sent: every report of it (`Display`, the debug log)
        // then shows the redacted values.
        for (key, value) in &mut config.resource_attributes {
            if let Some(sent) = resource.get(&opentelemetry::Key::new(key.clone())) {
                *value = sent.to_string();
            }
        }
        let for_spans = redactor.clone();
        // Inside the exporting pipeline rather than a wrapping processor: spans turned away by
        // admission are not redacted for nothing, and there is no extra processor hop.
        builder.hooks.span_editor = Some(crate::admission::SpanEditor(Arc::new(move |span| {
            for_spans.redact_span(span)
        })));
        builder
            .hooks
            .pre_log_processors
            .insert(0, crate::BoxedLogProcessor::new(redactor.log_processor()));
        let for_values = redactor.clone();
        let engine: crate::ValueRedactor = Arc::new(move |v: &str| match for_values.redact(v) {
            std::borrow::Cow::Owned(s) => Some(s),
            std::borrow::Cow::Borrowed(_) => None,
        });
        log_redactor = Some(match builder.redactor.clone() {
            None => Arc::clone(&engine),
            Some(user) => Arc::new(move |v: &str| match engine(v) {
                Some(redacted) => Some(user(&redacted).unwrap_or(redacted)),
                None => user(v),
            }),
        });
        // Console lines get the same redaction as exported records.
        builder.redactor = log_redactor.clone();
        let for_metrics = redactor;
        builder.on_start.push(Box::new(move |mp| {
            for_metrics.register_metrics(&opentelemetry::metrics::MeterProvider::meter(
                mp,
                "ferrotel-redaction",
            ));
            Box::new(()) as Box<dyn std::any::Any + Send>
        }));
    }
    #[cfg(feature = "config-file")]
    if let Some((host, port)) = &extras.prometheus {
        serve_prometheus(&mut builder, &mut config, host, *port);
    }
    #[cfg(feature = "runtime-metrics")]
    if let Some(rm) = builder.runtime_metrics.take() {
        builder.on_start.push(Box::new(move |mp| {
            let meter = opentelemetry::metrics::MeterProvider::meter(mp, "ferrotel-runtime");
            match rm.with_current_tokio_runtime().build().register(&meter) {
                Ok(handle) => Box::new(handle) as Box<dyn std::any::Any + Send>,
                Err(e) => {
                    tracing::warn!(target: "ferrotel", error = %e, "runtime metrics not registered");
                    Box::new(())
                }
            }
        }));
    }
    // After the application's own views: the SDK keeps the first of two identical streams, so a
    // view the application added for the same instrument wins over the declared limit.
    #[cfg(feature = "config-file")]
    let file_views = crate::config::file::metric_views(&extras);
    #[cfg(not(feature = "config-file"))]
    let file_views: Vec<
        Box<
            dyn Fn(
                    &opentelemetry_sdk::metrics::Instrument,
                ) -> Option<opentelemetry_sdk::metrics::Stream>
                + Send
                + Sync,
        >,
    > = Vec::new();
    if file_views.is_empty() {
        builder.hooks.meter_customizers.push(Box::new(|b| {
            b.with_view(ferrotel_meters::registered_cardinality_views())
        }));
    } else {
        // The file's views keep the declared limits as their fallback (no duplicate stream).
        builder.hooks.meter_customizers.push(Box::new(move |mut b| {
            for view in file_views {
                b = b.with_view(view);
            }
            b
        }));
    }
    let mut pipelines = pipeline::build(&config, resource, &accounting, &mut builder.hooks)?;
    config.warnings.append(&mut pipelines.warnings);
    accounting.register(&opentelemetry::metrics::MeterProvider::meter(
        &pipelines.meter_provider,
        "ferrotel",
    ));

    let export = !config.sdk_disabled;
    let dispatch = subscriber::build(subscriber::Parts {
        config: &mut config,
        tracer_provider: &pipelines.tracer_provider,
        logger_provider: &pipelines.logger_provider,
        redactor: builder.redactor.clone(),
        // The redacting log processor (feature `redaction`) still sees every record: it replaces
        // the values of sensitive keys whole (a cut cannot expose those) and non-string values.
        log_redactor,
        sink: builder
            .console_sink
            .clone()
            .unwrap_or_else(crate::console::stdout_sink),
        console_ansi: builder.console_sink.is_none()
            && std::io::IsTerminal::is_terminal(&std::io::stdout())
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        export,
        span_layer: builder.span_layer,
    });

    let _ = accounting.log.set(dispatch.downgrade());
    accounting.log_to_stderr.store(
        config.console_format == ConsoleFormat::Off,
        std::sync::atomic::Ordering::Relaxed,
    );
    if builder.global {
        tracing::dispatcher::set_global_default(dispatch.clone())
            .map_err(|_| Error::SubscriberAlreadySet)?;
        let _ = tracing_log::LogTracer::init();
        opentelemetry::global::set_tracer_provider(pipelines.tracer_provider.clone());
        opentelemetry::global::set_meter_provider(pipelines.meter_provider.clone());
        opentelemetry::global::set_text_map_propagator(propagator(&config.propagators));
    }

    #[cfg(feature = "metrics-facade")]
    if builder.global {
        let meter =
            opentelemetry::metrics::MeterProvider::meter(&pipelines.meter_provider, "metrics");
        if ferrotel_meters::install_metrics_recorder(meter).is_err() {
            config.warnings.push(crate::ConfigWarning {
                variable: "metrics recorder".into(),
                value: "already installed".into(),
                problem: "another `metrics` recorder was installed before ferrotel::init()".into(),
                fallback: "metrics::counter!/gauge!/histogram! keep going to that recorder".into(),
            });
        }
    }

    let keep_alive = builder
        .on_start
        .drain(..)
        .map(|start| start(&pipelines.meter_provider))
        .collect();

    tracing::dispatcher::with_default(&dispatch, || {
        for w in &config.warnings {
            tracing::warn!(
                target: "ferrotel",
                variable = %w.variable,
                value = %w.value,
                fallback = %w.fallback,
                "invalid telemetry configuration: {w}"
            );
        }
        tracing::debug!(target: "ferrotel", "{config}");
    });
    if config.console_format == ConsoleFormat::Off {
        for w in &config.warnings {
            crate::console::stderr_line(&w.to_string());
        }
    }

    Ok(Guard::new(
        config, pipelines, accounting, dispatch, keep_alive,
    ))
}

/// The composite propagator for `OTEL_PROPAGATORS`.
pub(crate) fn propagator(settings: &[PropagatorSetting]) -> TextMapCompositePropagator {
    let list: Vec<Box<dyn TextMapPropagator + Send + Sync>> = settings
        .iter()
        .map(|p| match p {
            PropagatorSetting::TraceContext => {
                // Strict W3C parsing, cheaper than the SDK's; the same injected headers.
                Box::new(ferrotel_tracing::propagation::TraceContextPropagator::new())
                    as Box<dyn TextMapPropagator + Send + Sync>
            }
            PropagatorSetting::Baggage => Box::new(BaggagePropagator::new()),
        })
        .collect();
    TextMapCompositePropagator::new(list)
}

/// The file's Prometheus pull reader: a reader on the meter provider and its `/metrics`
/// endpoint, kept until the guard shuts down. Bound here, so a port in use is a start-up
/// warning naming the file's path.
#[cfg(feature = "config-file")]
fn serve_prometheus(
    builder: &mut Builder,
    config: &mut crate::config::Config,
    host: &str,
    port: u16,
) {
    let path = "meter_provider.readers[].pull.exporter.prometheus/development";
    let label = config
        .config_file
        .as_ref()
        .map(|f| f.source.clone())
        .unwrap_or_default();
    let warn = |config: &mut crate::config::Config, problem: String| {
        config.warnings.push(crate::config::ConfigWarning {
            variable: format!("{label}: {path}"),
            value: format!("{host}:{port}"),
            problem,
            fallback: "no Prometheus endpoint".to_owned(),
        });
    };
    #[cfg(feature = "prometheus")]
    {
        let exporter = ferrotel_prometheus::PrometheusExporter::default();
        // `localhost` and bracketed IPv6 as the schema writes them.
        let host = host.trim_start_matches('[').trim_end_matches(']');
        match exporter.serve((host, port)) {
            Ok(server) => {
                builder
                    .hooks
                    .meter_customizers
                    .push(Box::new(move |b| b.with_reader(exporter)));
                builder.on_start.push(Box::new(move |_| {
                    Box::new(server) as Box<dyn std::any::Any + Send>
                }));
            }
            Err(e) => warn(config, format!("cannot listen: {e}")),
        }
    }
    #[cfg(not(feature = "prometheus"))]
    {
        let _ = builder;
        warn(
            config,
            "this build lacks the `prometheus` cargo feature of `ferrotel`".to_owned(),
        );
    }
}
