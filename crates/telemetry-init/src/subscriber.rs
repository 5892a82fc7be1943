//! The `tracing` subscriber: OpenTelemetry span layer, log-record bridge, console output, each
//! with its own filter.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::ValueRedactor;
use crate::config::{Config, ConfigWarning, ConsoleFormat};
use crate::console::{ConsoleSink, JsonFormat, RateLimit, RedactingWriter};
use crate::log_bridge::LogBridge;

/// The target of the HTTP middleware's request spans: always exported, whatever `RUST_LOG` says.
pub const HTTP_SPAN_TARGET: &str = "telemetry::http";

/// Crates whose own spans and events would feed back into the export pipeline (the exporters
/// use them), so they are kept out of span and log export unless the filter names them.
const EXPORT_NOISE: &[&str] = &["opentelemetry", "hyper", "h2", "tonic", "tower", "reqwest"];

/// `base` plus `extra` directives for targets the user's filter does not mention.
fn directives(base: &str, extra: &[(&str, &str)]) -> String {
    let mut out = base.to_string();
    for (target, level) in extra {
        if !base.contains(target) {
            out.push_str(&format!(",{target}={level}"));
        }
    }
    out
}

fn filter(directives: &str, user_filter: &str, warnings: &mut Vec<ConfigWarning>) -> EnvFilter {
    match EnvFilter::builder().parse(directives) {
        Ok(f) => f,
        Err(e) => {
            if !warnings.iter().any(|w| w.variable == "RUST_LOG") {
                warnings.push(ConfigWarning {
                    variable: "RUST_LOG".into(),
                    value: user_filter.into(),
                    problem: format!("not a valid filter ({e})"),
                    fallback: "info".into(),
                });
            }
            let fixed = directives.replacen(user_filter, "info", 1);
            EnvFilter::builder()
                .parse(&fixed)
                .unwrap_or_else(|_| EnvFilter::new("info"))
        }
    }
}

/// Everything the subscriber needs.
pub(crate) struct Parts<'a> {
    pub config: &'a mut Config,
    pub tracer_provider: &'a SdkTracerProvider,
    pub logger_provider: &'a SdkLoggerProvider,
    /// Redacts console lines.
    pub redactor: Option<ValueRedactor>,
    /// Redacts log record values as they are built (when no redacting log processor runs).
    pub log_redactor: Option<ValueRedactor>,
    pub sink: ConsoleSink,
    pub export: bool,
}

/// Builds the subscriber as a [`tracing::Dispatch`].
pub(crate) fn build(parts: Parts<'_>) -> tracing::Dispatch {
    let Parts {
        config,
        tracer_provider,
        logger_provider,
        redactor,
        log_redactor,
        sink,
        export,
    } = parts;
    let user = config.log_filter.clone();
    let noise: Vec<(&str, &str)> = EXPORT_NOISE.iter().map(|t| (*t, "off")).collect();
    let mut warnings = Vec::new();

    let span_layer = export.then(|| {
        let mut extra = noise.clone();
        extra.push((HTTP_SPAN_TARGET, "info"));
        let f = filter(&directives(&user, &extra), &user, &mut warnings);
        tracing_opentelemetry::layer()
            .with_tracer(tracer_provider.tracer("telemetry"))
            .with_tracked_inactivity(false)
            .with_threads(false)
            .with_location(false)
            .with_target(false)
            .with_error_records_to_exceptions(true)
            .with_filter(f)
    });

    let log_layer = export.then(|| {
        let f = filter(&directives(&user, &noise), &user, &mut warnings);
        LogBridge {
            logger: opentelemetry::logs::LoggerProvider::logger(logger_provider, "telemetry"),
            redactor: log_redactor,
            max_value_len: config.limits.log_attribute_value_length,
            max_attributes: config.limits.log_attribute_count,
        }
        .with_filter(f)
    });

    let sdk_level = config.sdk_log_level.as_str().to_ascii_lowercase();
    let console_filter = || {
        let extra = [("opentelemetry", sdk_level.as_str())];
        filter(&directives(&user, &extra), &user, &mut Vec::new())
    };
    let rate_limit = || RateLimit {
        prefix: "opentelemetry",
        interval: Duration::from_secs(30),
        last: Mutex::new(HashMap::new()),
    };
    let writer = || RedactingWriter {
        redactor: redactor.clone(),
        sink: sink.clone(),
    };
    let console: Option<Box<dyn Layer<Registry> + Send + Sync>> = match config.console_format {
        ConsoleFormat::Off => None,
        ConsoleFormat::Json => Some(
            tracing_subscriber::fmt::layer()
                .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
                .event_format(JsonFormat {
                    service_name: config.service_name.clone(),
                })
                .with_writer(writer())
                .with_filter(console_filter())
                .with_filter(rate_limit())
                .boxed(),
        ),
        ConsoleFormat::Pretty => Some(
            tracing_subscriber::fmt::layer()
                .with_writer(writer())
                .with_filter(console_filter())
                .with_filter(rate_limit())
                .boxed(),
        ),
        ConsoleFormat::Compact => Some(
            tracing_subscriber::fmt::layer()
                .compact()
                .with_writer(writer())
                .with_filter(console_filter())
                .with_filter(rate_limit())
                .boxed(),
        ),
    };
    config.warnings.extend(warnings);

    let subscriber = Registry::default()
        .with(console)
        .with(span_layer)
        .with(log_layer);
    tracing::Dispatch::new(subscriber)
}
