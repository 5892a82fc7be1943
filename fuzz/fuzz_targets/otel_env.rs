//! `OTEL_*` settings as a hostile environment would give them: any variable the SDK reads, any
//! bytes as its value (lossy UTF-8, as the process environment would hold), many at once.
//!
//! Checked for every input: resolution never panics; every numeric setting is within its
//! documented range (docs/configuration.md); the configuration and its warnings print, every
//! warning names a variable and shows a bounded value; and an OTLP header value is never
//! printed unless the same text was given elsewhere.
//!
//! Input: entries of `[variable selector byte][length byte][value bytes]`; a length of 255
//! takes the rest of the input.
#![no_main]

use std::time::Duration;

use ferrotel::{Config, SamplerSetting};
use libfuzzer_sys::fuzz_target;

const GENERAL: &[&str] = &[
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_ENVIRONMENT",
    "DEPLOYMENT_ENVIRONMENT",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_PROPAGATORS",
    "OTEL_METRIC_EXPORT_INTERVAL",
    "OTEL_METRIC_EXPORT_TIMEOUT",
    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_SPAN_EVENT_COUNT_LIMIT",
    "OTEL_SPAN_LINK_COUNT_LIMIT",
    "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_LOG_LEVEL",
    "RUST_LOG",
    "TELEMETRY_LOG_FORMAT",
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_LOGS_EXPORTER",
];
/// `OTEL_EXPORTER_OTLP_<infix>` with an empty infix (the generic variable) and per signal.
const OTLP_SUFFIXES: &[&str] = &[
    "ENDPOINT",
    "PROTOCOL",
    "HEADERS",
    "TIMEOUT",
    "COMPRESSION",
    "INSECURE",
    "CERTIFICATE",
    "CLIENT_CERTIFICATE",
    "CLIENT_KEY",
];
const BATCH_PREFIXES: &[&str] = &["OTEL_BSP", "OTEL_BLRP"];
const BATCH_SUFFIXES: &[&str] = &[
    "SCHEDULE_DELAY",
    "EXPORT_TIMEOUT",
    "MAX_QUEUE_SIZE",
    "MAX_EXPORT_BATCH_SIZE",
];

// Documented ranges (docs/configuration.md).
const MAX_QUEUE_SIZE: usize = 65_536;
const MAX_EXPORT_WAIT: Duration = Duration::from_secs(300);
const MAX_METRIC_EXPORT_INTERVAL: Duration = Duration::from_secs(24 * 3600);
const MAX_ATTRIBUTE_VALUE_LENGTH: usize = 4 * 1024 * 1024;
const MAX_SHOWN_VALUE_BYTES: usize = 256;

fn variable_names() -> Vec<String> {
    let mut names: Vec<String> = GENERAL.iter().map(|s| s.to_string()).collect();
    for infix in ["", "TRACES_", "METRICS_", "LOGS_"] {
        for suffix in OTLP_SUFFIXES {
            names.push(format!("OTEL_EXPORTER_OTLP_{infix}{suffix}"));
        }
    }
    for prefix in BATCH_PREFIXES {
        for suffix in BATCH_SUFFIXES {
            names.push(format!("{prefix}_{suffix}"));
        }
    }
    names
}

fn environment(data: &[u8], names: &[String]) -> Vec<(String, String)> {
    let mut env = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 && env.len() < 64 {
        let name = &names[rest[0] as usize % names.len()];
        let len = match rest[1] {
            255 => rest.len() - 2,
            n => (n as usize).min(rest.len() - 2),
        };
        let value = String::from_utf8_lossy(&rest[2..2 + len]).into_owned();
        env.push((name.clone(), value));
        rest = &rest[2 + len..];
    }
    env
}

fuzz_target!(|data: &[u8]| {
    let names = variable_names();
    let env = environment(data, &names);
    // The last setting of a variable wins, as a later `export` would.
    let lookup = |name: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let config = Config::from_lookup(lookup);

    for batch in [&config.span_batch, &config.log_batch] {
        assert!(
            (1..=MAX_QUEUE_SIZE).contains(&batch.max_queue_size),
            "{batch:?}"
        );
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
        assert!(
            signal.otlp.timeout <= MAX_EXPORT_WAIT,
            "{:?}",
            signal.otlp.timeout
        );
    }
    assert!(config.limits.span_attribute_value_length <= MAX_ATTRIBUTE_VALUE_LENGTH);
    assert!(config.limits.log_attribute_value_length <= MAX_ATTRIBUTE_VALUE_LENGTH);
    match config.sampler {
        SamplerSetting::TraceIdRatio(r) | SamplerSetting::ParentBasedTraceIdRatio(r) => {
            assert!((0.0..=1.0).contains(&r), "ratio {r}")
        }
        _ => {}
    }

    let shown = config.to_string();
    for warning in &config.warnings {
        assert!(!warning.variable.is_empty());
        // The cut value, "... (N bytes)" and the replacement characters of lossy UTF-8.
        assert!(
            warning.value.len() <= MAX_SHOWN_VALUE_BYTES + 32,
            "{} shows {} bytes",
            warning.variable,
            warning.value.len()
        );
        let _ = warning.to_string();
    }

    // Header values are credentials: never printed, in the configuration or its warnings,
    // unless the same text is printed without any headers set (a default endpoint, a sampler
    // name, the value given as another variable).
    let without_headers = Config::from_lookup(|name: &str| {
        if name.ends_with("_HEADERS") {
            None
        } else {
            lookup(name)
        }
    })
    .to_string();
    // Header names are printed, as `name=***`: text inside (or across) one is not a leak, so
    // those are taken out of the printed text first.
    let signals = [&config.traces, &config.metrics, &config.logs];
    let mut shown = shown.clone();
    // Longest first: a short key ("kay") may end a longer one ("... kay"), and taking it out
    // first would leave the rest of the longer name behind.
    let mut keys: Vec<&String> = signals
        .iter()
        .flat_map(|s| &s.otlp.headers)
        .map(|(key, _)| key)
        .collect();
    keys.sort_by_key(|key| std::cmp::Reverse(key.len()));
    for key in keys {
        shown = shown.replace(&format!("{key}=***"), "\u{ffff}");
    }
    // The header warnings' own text (variable, problem, fallback) is ours, not a value.
    for w in config
        .warnings
        .iter()
        .filter(|w| w.variable.ends_with("_HEADERS"))
    {
        for own in [&w.problem, &w.fallback, &w.variable] {
            if !own.is_empty() {
                shown = shown.replace(own.as_str(), "\u{ffff}");
            }
        }
    }
    // The header warnings' own words ("entry 2 has no `=` (expected key=value)"): a value made
    // of them is found in the text without having leaked.
    const HEADER_WARNING_WORDS: [&str; 5] = [
        "entry ",
        " has no `=` (expected key=value)",
        " has an empty key",
        " has a malformed percent-encoding",
        "the entry is ignored",
    ];
    for signal in signals {
        for (_, value) in &signal.otlp.headers {
            let words = value.trim_matches(|c: char| c.is_ascii_digit());
            // Replacement characters alone: what any lossy-decoded shown value is made of.
            let only_replacements = value.chars().all(|c| c == '\u{fffd}' || c.is_whitespace());
            if value.len() < 8
                || only_replacements
                || without_headers.contains(value.as_str())
                || HEADER_WARNING_WORDS.iter().any(|w| w.contains(words))
            {
                continue;
            }
            assert!(
                !shown.contains(value.as_str()),
                "header value {value:?} printed"
            );
        }
    }
});
