//! The `tracing` subscriber: OpenTelemetry span layer, log-record bridge, console output, each
//! with its own filter.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::subscriber::Interest;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Layered, SubscriberExt};
use tracing_subscriber::{EnvFilter, Layer, Registry};

use ferrotel_tracing::OtelSpanLayer;

use crate::ValueRedactor;
use crate::config::{Config, ConfigWarning, ConsoleFormat};
use crate::console::{ConsoleLayer, ConsoleSink, Layout, RateLimit, ValueRules};
use ferrotel_tracing::LogBridge;

/// The target of the HTTP middleware's request spans: always exported, whatever `RUST_LOG` says.
pub use ferrotel_tracing::HTTP_SPAN_TARGET;

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

/// The layer that turns `tracing` spans into OpenTelemetry spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SpanLayer {
    /// [`ferrotel_tracing::OtelSpanLayer`]: spans started at creation, current as the
    /// OpenTelemetry context while entered; about half the cost per span. Use
    /// [`crate::SpanExt`] and [`crate::with_parent_context`] for OpenTelemetry access.
    #[default]
    Lean,
    /// `tracing-opentelemetry`'s layer (configured without location, thread and timing
    /// attributes), for code that calls `tracing_opentelemetry::OpenTelemetrySpanExt`
    /// (feature `tracing-opentelemetry`).
    #[cfg(feature = "tracing-opentelemetry")]
    TracingOpentelemetry,
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
    /// ANSI styling of the text layouts: stdout is a terminal and `NO_COLOR` is unset.
    pub console_ansi: bool,
    pub export: bool,
    pub span_layer: SpanLayer,
}

/// The global filter: [`AnyTargets`] or an `EnvFilter`.
type GlobalFilter = Box<dyn Layer<Registry> + Send + Sync>;

/// A layer over the registry and the global filter.
type BoxedLayer = Box<dyn Layer<Layered<GlobalFilter, Registry>> + Send + Sync>;

/// One layer's filter as `Targets`, when its directives are plain `target=level` ones (`None`
/// with span or field filters). Validated by `EnvFilter`, which reports a bad `RUST_LOG` and
/// falls back.
fn layer_targets(
    directives: &str,
    user_filter: &str,
    warnings: &mut Vec<ConfigWarning>,
) -> Option<Targets> {
    // Parsed from the directives EnvFilter accepted (possibly the "info" fallback). `Targets`
    // would take `[span]=debug` for a target named "[span]": span and field filters are
    // recognised here.
    let accepted = filter(directives, user_filter, warnings).to_string();
    if accepted.contains(['[', '{']) {
        return None;
    }
    accepted.parse().ok()
}

/// A global filter enabling a callsite when any layer's `Targets` does, so callsites no layer
/// wants stay disabled (free) although the span layer and log bridge filter internally.
struct AnyTargets(Vec<Targets>);

impl AnyTargets {
    fn enables(&self, meta: &tracing::Metadata<'_>) -> bool {
        self.0
            .iter()
            .any(|t| t.would_enable(meta.target(), meta.level()))
    }
}

impl<S: tracing::Subscriber> Layer<S> for AnyTargets {
    fn register_callsite(&self, meta: &'static tracing::Metadata<'static>) -> Interest {
        if self.enables(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(
        &self,
        meta: &tracing::Metadata<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        self.enables(meta)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.0
            .iter()
            .map(|t| Layer::<S>::max_level_hint(t))
            .try_fold(LevelFilter::OFF, |max, hint| hint.map(|h| max.max(h)))
    }
}

/// Builds the subscriber as a [`tracing::Dispatch`].
///
/// The span layer and the log bridge check a `Targets` filter themselves rather than sitting
/// behind per-layer filters, which would cost a registry lookup per layer on every span enter,
/// exit and close (docs/tracing-bridge.md). In front of everything, a global filter keeps
/// callsites no layer wants disabled:
///
/// - plain `target=level` directives (the usual `RUST_LOG`): [`AnyTargets`] of the three layers'
///   filters, and each layer checks its own;
/// - directives with span or field filters (`[checkout]=debug`): those need `EnvFilter`'s
///   per-span scope, which works as a global filter; the layers then only drop the exporters'
///   own crates, and the console shows what the global filter lets through.
pub(crate) fn build(parts: Parts<'_>) -> tracing::Dispatch {
    let Parts {
        config,
        tracer_provider,
        logger_provider,
        redactor,
        log_redactor,
        sink,
        console_ansi,
        export,
        span_layer,
    } = parts;
    let user = config.log_filter.clone();
    let noise: Vec<(&str, &str)> = EXPORT_NOISE.iter().map(|t| (*t, "off")).collect();
    let mut warnings = Vec::new();

    let mut span_extra = noise.clone();
    span_extra.push((HTTP_SPAN_TARGET, "info"));
    let span_targets = layer_targets(&directives(&user, &span_extra), &user, &mut warnings);
    let log_targets = layer_targets(&directives(&user, &noise), &user, &mut warnings);
    let sdk_level = config.sdk_log_level.as_str().to_ascii_lowercase();
    let console_on = config.console_format != ConsoleFormat::Off;
    let console_extra = [("opentelemetry", sdk_level.as_str())];
    let console_targets = layer_targets(&directives(&user, &console_extra), &user, &mut Vec::new());

    let plain = span_targets.is_some() && log_targets.is_some() && console_targets.is_some();
    let (global, span_targets, log_targets, console_targets): (GlobalFilter, _, _, _) = if plain {
        let mut used = Vec::new();
        if export {
            used.extend([&span_targets, &log_targets]);
        }
        if console_on {
            used.push(&console_targets);
        }
        let any = AnyTargets(used.into_iter().flatten().cloned().collect());
        (any.boxed(), span_targets, log_targets, console_targets)
    } else {
        let mut extra = vec![(HTTP_SPAN_TARGET, "info")];
        extra.extend(console_extra);
        let global = filter(&directives(&user, &extra), &user, &mut Vec::new());
        let not_noise = directives("trace", &noise).parse::<Targets>().ok();
        (global.boxed(), not_noise.clone(), not_noise, None)
    };

    // One `Layered` over a list rather than one per layer: every `Layered` level costs a walk
    // down the stack on each span close (it looks for the registry) and a call on every
    // callback, absent layers included.
    let mut layers: Vec<BoxedLayer> = Vec::with_capacity(3);
    if console_on {
        let console = console_layer(config, redactor, sink, console_ansi);
        layers.push(match console_targets {
            Some(targets) => console.with_filter(targets).boxed(),
            None => console,
        });
    }
    if export {
        let tracer = tracer_provider.tracer("ferrotel");
        match span_layer {
            SpanLayer::Lean => {
                let mut layer = OtelSpanLayer::new(tracer);
                if let Some(targets) = span_targets {
                    layer = layer.with_targets(targets);
                }
                layers.push(layer.boxed());
            }
            #[cfg(feature = "tracing-opentelemetry")]
            SpanLayer::TracingOpentelemetry => {
                let layer = tracing_opentelemetry::layer()
                    .with_tracer(tracer)
                    .with_tracked_inactivity(false)
                    .with_threads(false)
                    .with_location(false)
                    .with_target(false)
                    .with_error_records_to_exceptions(true);
                // Its own filter must be a per-layer one.
                let filter =
                    span_targets.unwrap_or_else(|| Targets::new().with_default(LevelFilter::TRACE));
                layers.push(layer.with_filter(filter).boxed());
            }
        }
        let mut bridge = LogBridge::new(opentelemetry::logs::LoggerProvider::logger(
            logger_provider,
            "ferrotel",
        ))
        .with_text_processor(crate::limits::redact_then_limit(
            log_redactor,
            config.limits.log_attribute_value_length,
        ))
        .with_max_attributes(config.limits.log_attribute_count);
        if let Some(targets) = log_targets {
            bridge = bridge.with_targets(targets);
        }
        layers.push(bridge.boxed());
    }
    config.warnings.extend(warnings);

    let subscriber = Registry::default().with(global).with(layers);
    tracing::Dispatch::new(subscriber)
}

/// The most bytes one console line may take, newline included, whatever the value limit.
const MIN_LINE_CAP: usize = 64 * 1024;

/// The console layer in the configured format, rate-limiting the SDK's own diagnostics.
fn console_layer(
    config: &Config,
    redactor: Option<ValueRedactor>,
    sink: ConsoleSink,
    ansi: bool,
) -> BoxedLayer {
    let rate_limit = RateLimit {
        prefix: "opentelemetry",
        interval: Duration::from_secs(30),
        last: Mutex::new(HashMap::new()),
    };
    let layout = match config.console_format {
        ConsoleFormat::Json => Layout::Json,
        ConsoleFormat::Compact => Layout::Compact,
        ConsoleFormat::Pretty | ConsoleFormat::Off => Layout::Pretty,
    };
    let value_limit = config.limits.log_attribute_value_length;
    // Room for at least two whole values besides the header and message.
    let line_cap = MIN_LINE_CAP.max(value_limit.saturating_mul(2));
    ConsoleLayer {
        layout,
        schema: config.console_schema,
        ansi: ansi && layout != Layout::Json,
        rules: ValueRules {
            value_limit,
            redactor: redactor.clone(),
            fields_cap: line_cap,
        },
        line_cap,
        service: config.service_name.clone(),
        redactor,
        sink,
        rate_limit,
    }
    .boxed()
}
