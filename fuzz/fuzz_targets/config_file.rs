//! Declarative configuration text as a hostile or broken file would give it: any bytes (lossy
//! UTF-8), read by `Config::from_yaml` with a few variables for its `${VAR}` references.
//!
//! Checked for every input: parsing, substitution and resolution never panic (nor overflow the
//! stack on deep nesting, nor run away on alias bombs); every numeric setting is within the
//! same documented range as from the environment (docs/configuration.md); the configuration
//! and its warnings print; a usable text's warnings each name a path in it, an unusable one's
//! first warning is `OTEL_CONFIG_FILE` (the environment then applies); every warning shows a
//! bounded value; and with a usable text, an `OTEL_*` variable it does not reference is never
//! read.
#![no_main]

use std::time::Duration;

use ferrotel::{Config, SamplerSetting};
use libfuzzer_sys::fuzz_target;

const MAX_QUEUE_SIZE: usize = 65_536;
const MAX_EXPORT_WAIT: Duration = Duration::from_secs(300);
const MAX_METRIC_EXPORT_INTERVAL: Duration = Duration::from_secs(24 * 3600);
const MAX_ATTRIBUTE_VALUE_LENGTH: usize = 4 * 1024 * 1024;
const MAX_SHOWN_VALUE_BYTES: usize = 256;
/// Only reachable through the environment: a file never names `OTEL_*` variables directly
/// unless it substitutes them, so this value is shown only if `${OTEL_EXPORTER_OTLP_HEADERS}`
/// (or the like) appears in the text.
const HIDDEN: &str = "hidden-7f3a9c";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lookup = |name: &str| -> Option<String> {
        match name {
            "N" => Some("42".into()),
            "B" => Some("true".into()),
            "S" => Some("a: [b, {c: d}]".into()),
            "EMPTY" => Some(String::new()),
            "DOLLAR" => Some("${N}".into()),
            n if n.starts_with("OTEL_") => Some(HIDDEN.into()),
            _ => None,
        }
    };
    let config = Config::from_yaml(&text, lookup);

    for batch in [&config.span_batch, &config.log_batch] {
        assert!((1..=MAX_QUEUE_SIZE).contains(&batch.max_queue_size), "{batch:?}");
        assert!(
            (1..=batch.max_queue_size).contains(&batch.max_export_batch_size),
            "{batch:?}"
        );
        assert!(batch.schedule_delay <= MAX_EXPORT_WAIT, "{batch:?}");
        assert!(batch.export_timeout <= MAX_EXPORT_WAIT, "{batch:?}");
    }
    assert!(!config.metric_export_interval.is_zero());
    assert!(config.metric_export_interval <= MAX_METRIC_EXPORT_INTERVAL);
    assert!(config.metric_export_timeout <= MAX_EXPORT_WAIT);
    for signal in [&config.traces, &config.metrics, &config.logs] {
        assert!(signal.otlp.timeout <= MAX_EXPORT_WAIT);
    }
    assert!(config.limits.span_attribute_value_length <= MAX_ATTRIBUTE_VALUE_LENGTH);
    assert!(config.limits.log_attribute_value_length <= MAX_ATTRIBUTE_VALUE_LENGTH);
    if let SamplerSetting::TraceIdRatio(r) | SamplerSetting::ParentBasedTraceIdRatio(r) =
        config.sampler
    {
        assert!((0.0..=1.0).contains(&r), "ratio {r}");
    }

    let mut shown = config.to_string();
    if config.config_file.is_none() {
        // Unusable: one warning saying why, then the environment's own.
        assert_eq!(config.warnings[0].variable, "OTEL_CONFIG_FILE");
    }
    for warning in &config.warnings {
        if config.config_file.is_some() {
            assert!(
                warning.variable.starts_with("(configuration text)"),
                "{warning}"
            );
        }
        assert!(
            warning.value.len() <= MAX_SHOWN_VALUE_BYTES + 32,
            "{} shows {} bytes",
            warning.variable,
            warning.value.len()
        );
        shown.push_str(&warning.to_string());
    }
    if config.config_file.is_some() && !text.contains("OTEL_") && !text.contains(HIDDEN) {
        assert!(!shown.contains(HIDDEN), "an OTEL_* variable was read:\n{shown}");
    }
});
