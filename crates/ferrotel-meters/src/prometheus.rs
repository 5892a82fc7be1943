//! OpenTelemetry → Prometheus metric name translation.
//!
//! Follows the OTel "Prometheus and OpenMetrics compatibility" specification with suffixes
//! enabled, as implemented by the Collector's `prometheusremotewrite`/`prometheus` exporters and
//! Prometheus' own OTLP receiver (the `otlptranslator` rules, `UnderscoreEscapingWithSuffixes`):
//!
//! 1. The name is split into tokens on every character outside `[a-zA-Z0-9:]`, which turns
//!    `.`/`-` into `_` and collapses repeated underscores.
//! 2. The unit is split at `/`. The main part is mapped to a full word (`s` → `seconds`,
//!    `By` → `bytes`, `%` → `percent`, `1` → nothing); a part containing `{...}` (an
//!    annotation such as `{request}`) is dropped; any other unit (`USD`) is kept as written.
//!    The per part becomes `per_<word>` (`s` → `second`).
//! 3. A unit suffix is appended unless the name already contains it as a token.
//! 4. Monotonic sums (counters) get `_total`, moved to the end if already present.
//! 5. Gauges with unit `1` get `_ratio` (histograms, counters and up-down counters do not).
//! 6. A name starting with a digit is prefixed with `_`.
//!
//! Consequences for instrument design: a `_total` counter must not carry a unit word that is
//! absent from its name (`USD` on `..._cost_total` would give `..._cost_USD_total`); use an
//! annotation unit such as `{USD}` instead. A gauge with unit `1` gets `_ratio`; a
//! `..._success_rate` gauge keeps its name with the annotation unit `{ratio}`.

use crate::descriptor::InstrumentKind;

fn main_unit_word(unit: &str) -> &str {
    match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tebibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        other => other,
    }
}

fn per_unit_word(unit: &str) -> &str {
    match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => other,
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

/// Replaces characters outside `[a-zA-Z0-9:_]` with `_`, collapses `__`, trims leading `_`.
fn clean_unit(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    for c in unit.chars() {
        let c = if is_name_char(c) || c == '_' { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    out.trim_start_matches('_').to_owned()
}

/// The unit suffixes (main, per) that translation appends, before dedup against the name.
fn unit_suffixes(unit: &str) -> (String, String) {
    let mut parts = unit.splitn(2, '/');
    let main = parts.next().unwrap_or("").trim();
    let main = if main.is_empty() || main.contains(['{', '}']) {
        String::new()
    } else {
        clean_unit(main_unit_word(main))
    };
    let per = match parts.next().map(str::trim) {
        Some(p) if !p.is_empty() && !p.contains(['{', '}']) => {
            clean_unit(&format!("per_{}", per_unit_word(p)))
        }
        _ => String::new(),
    };
    (main, per)
}

/// The unit word the translation appends for `unit` (`s` -> `seconds`, `By/s` ->
/// `bytes_per_second`, `1` on a gauge -> `ratio`), or `None` for no unit or an annotation such
/// as `{request}`. Prometheus-format encoders use it for the OpenMetrics `# UNIT` line.
///
/// ```
/// use ferrotel_meters::{prometheus_unit, InstrumentKind};
///
/// assert_eq!(prometheus_unit("By/s", InstrumentKind::Gauge).as_deref(), Some("bytes_per_second"));
/// assert_eq!(prometheus_unit("1", InstrumentKind::Gauge).as_deref(), Some("ratio"));
/// assert_eq!(prometheus_unit("{request}", InstrumentKind::Counter), None);
/// ```
pub fn prometheus_unit(unit: &str, kind: InstrumentKind) -> Option<String> {
    if unit.trim() == "1" {
        return matches!(
            kind,
            InstrumentKind::Gauge | InstrumentKind::ObservableGauge
        )
        .then(|| "ratio".to_owned());
    }
    let (main, per) = unit_suffixes(unit);
    let main = main.trim_matches('_');
    let per = per.trim_matches('_');
    let per = if per == "per" { "" } else { per };
    match (main.is_empty(), per.is_empty()) {
        (true, true) => None,
        (false, true) => Some(main.to_owned()),
        (true, false) => Some(per.to_owned()),
        (false, false) => Some(format!("{main}_{per}")),
    }
}

/// Translates an OpenTelemetry metric (name, UCUM unit, kind) to the Prometheus metric name
/// produced by OTLP → Prometheus translation with suffixes (the default of the Collector's
/// Prometheus exporters and of Prometheus' OTLP receiver). See the [module docs](self).
///
/// ```
/// use ferrotel_meters::{prometheus_name, InstrumentKind};
///
/// assert_eq!(prometheus_name("http.server.request.duration", "s", InstrumentKind::Histogram),
///            "http_server_request_duration_seconds");
/// assert_eq!(prometheus_name("http.server.requests", "{request}", InstrumentKind::Counter),
///            "http_server_requests_total");
/// assert_eq!(prometheus_name("rust.memory.heap.live", "By", InstrumentKind::ObservableGauge),
///            "rust_memory_heap_live_bytes");
/// // A unit word absent from the name is inserted before `_total`:
/// assert_eq!(prometheus_name("embedding_cost_total", "USD", InstrumentKind::Counter),
///            "embedding_cost_USD_total");
/// assert_eq!(prometheus_name("cpu.utilization", "1", InstrumentKind::ObservableGauge),
///            "cpu_utilization_ratio");
/// ```
pub fn prometheus_name(name: &str, unit: &str, kind: InstrumentKind) -> String {
    let mut tokens: Vec<String> = name
        .split(|c: char| !is_name_char(c))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();

    let (main, per) = unit_suffixes(unit);
    let main = if tokens.contains(&main) {
        String::new()
    } else {
        main
    };
    let per = if per == "per_" {
        String::new()
    } else {
        let p = per.trim_end_matches('_').to_owned();
        if tokens.contains(&p) {
            String::new()
        } else {
            p
        }
    };
    let main = if per.is_empty() {
        main
    } else {
        main.trim_end_matches('_').to_owned()
    };
    if !main.is_empty() {
        tokens.push(main);
    }
    if !per.is_empty() {
        tokens.push(per);
    }

    if kind.is_monotonic_sum() {
        tokens.retain(|t| t != "total");
        tokens.push("total".to_owned());
    }
    if unit == "1"
        && matches!(
            kind,
            InstrumentKind::Gauge | InstrumentKind::ObservableGauge
        )
    {
        tokens.retain(|t| t != "ratio");
        tokens.push("ratio".to_owned());
    }

    let joined = tokens.join("_");
    if joined.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{joined}")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use InstrumentKind::*;

    #[test]
    fn reference_cases() {
        // Cases from the otlptranslator / collector normalize_name test-suites.
        assert_eq!(
            prometheus_name("system.io", "By", Counter),
            "system_io_bytes_total"
        );
        assert_eq!(
            prometheus_name("network.transmitted", "By/s", Gauge),
            "network_transmitted_bytes_per_second"
        );
        assert_eq!(prometheus_name("foo", "1", ObservableGauge), "foo_ratio");
        assert_eq!(prometheus_name("foo", "1", Histogram), "foo");
        assert_eq!(prometheus_name("foo", "1", Counter), "foo_total");
        assert_eq!(prometheus_name("foo_total", "", Counter), "foo_total");
        assert_eq!(prometheus_name("total_foo", "", Counter), "foo_total");
        assert_eq!(prometheus_name("foo", "%", Gauge), "foo_percent");
        assert_eq!(
            prometheus_name("foo_percent", "%", ObservableGauge),
            "foo_percent"
        );
        assert_eq!(
            prometheus_name("foo.bar", "{packet}", UpDownCounter),
            "foo_bar"
        );
        assert_eq!(
            prometheus_name("foo", "{packet}/s", Gauge),
            "foo_per_second"
        );
        assert_eq!(
            prometheus_name("foo__bar", "ms", Histogram),
            "foo_bar_milliseconds"
        );
        assert_eq!(
            prometheus_name("2xx.responses", "", Gauge),
            "_2xx_responses"
        );
        assert_eq!(
            prometheus_name("foo", "m/s", Gauge),
            "foo_meters_per_second"
        );
        assert_eq!(prometheus_name("cost", "USD", Counter), "cost_USD_total");
        assert_eq!(
            prometheus_name("cost_total", "{USD}", Counter),
            "cost_total"
        );
        assert_eq!(prometheus_name("rate", "{ratio}", ObservableGauge), "rate");
    }
}
