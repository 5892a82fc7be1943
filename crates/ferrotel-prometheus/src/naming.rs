//! OpenTelemetry -> Prometheus name translation, per the OTel specification "Prometheus and
//! OpenMetrics Compatibility" (metric names, unit suffixes, `_total`, label names).
//!
//! Metric names come from `ferrotel_meters::prometheus_name` (the workspace's single
//! translation); this module adds what the exposition needs on top of it: label-name
//! sanitisation and the unit word for the OpenMetrics `# UNIT` line. The tests pin the names
//! the dashboards and alert rules in `deploy/` query.

/// What kind of Prometheus family a metric becomes (it changes the suffix rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromKind {
    /// Monotonic sum: gets `_total`.
    Counter,
    /// Gauge or non-monotonic sum: unit `1` becomes `_ratio`.
    Gauge,
    /// Histogram.
    Histogram,
}

/// Label names: characters outside `[a-zA-Z0-9_]` become `_`, runs of `_` collapse, and a
/// leading digit gets the `key_` prefix.
pub fn sanitize_label_name(name: &str) -> String {
    let s = sanitize(name, false);
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("key_{s}")
    } else {
        s
    }
}

fn sanitize(name: &str, allow_colon: bool) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    for c in name.chars() {
        let ok = c.is_ascii_alphanumeric() || c == '_' || (allow_colon && c == ':');
        let c = if ok { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    if allow_colon && out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The Prometheus unit word for an OTel (UCUM) unit: `s` -> `seconds`, `By/s` ->
/// `bytes_per_second`, `1` -> `ratio` for gauges; `None` for no unit or annotations like
/// `{request}`. Delegates to the workspace-wide translation in `ferrotel_meters`.
pub fn unit_suffix(unit: &str, kind: PromKind) -> Option<String> {
    ferrotel_meters::prometheus_unit(unit, meters_kind(kind))
}

fn meters_kind(kind: PromKind) -> ferrotel_meters::InstrumentKind {
    use ferrotel_meters::InstrumentKind;
    match kind {
        PromKind::Counter => InstrumentKind::Counter,
        PromKind::Gauge => InstrumentKind::Gauge,
        PromKind::Histogram => InstrumentKind::Histogram,
    }
}

/// The Prometheus family name (without `_total`) and the unit word it ends with, if any (for
/// the OpenMetrics `# UNIT` line). The name itself comes from the workspace-wide translation,
/// `ferrotel_meters::prometheus_name`, so dashboards, docs and this exposition agree.
pub fn family_name(name: &str, unit: &str, kind: PromKind) -> (String, Option<String>) {
    let full = ferrotel_meters::prometheus_name(name, unit, meters_kind(kind));
    let family = match kind {
        PromKind::Counter => full.strip_suffix("_total").unwrap_or(&full).to_owned(),
        _ => full,
    };
    let unit = unit_suffix(unit, kind).filter(|u| family.ends_with(&format!("_{u}")));
    (family, unit)
}

/// The full Prometheus metric name: family name plus `_total` for counters.
pub fn prometheus_name(name: &str, unit: &str, kind: PromKind) -> String {
    let (family, _) = family_name(name, unit, kind);
    if kind == PromKind::Counter {
        family + "_total"
    } else {
        family
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashboard_names() {
        use PromKind::*;
        assert_eq!(
            prometheus_name("http.server.request.duration", "s", Histogram),
            "http_server_request_duration_seconds"
        );
        assert_eq!(
            prometheus_name("http.server.requests", "{request}", Counter),
            "http_server_requests_total"
        );
        assert_eq!(
            prometheus_name("rust.memory.heap.live", "By", Gauge),
            "rust_memory_heap_live_bytes"
        );
        assert_eq!(
            prometheus_name("tokio.runtime.stall.duration", "s", Histogram),
            "tokio_runtime_stall_duration_seconds"
        );
        assert_eq!(
            prometheus_name("tokio.runtime.alive_tasks", "{task}", Gauge),
            "tokio_runtime_alive_tasks"
        );
        assert_eq!(
            prometheus_name("contextd_requests_total", "", Counter),
            "contextd_requests_total"
        );
        assert_eq!(
            prometheus_name("contextd_latency_seconds", "s", Histogram),
            "contextd_latency_seconds"
        );
    }

    #[test]
    fn spec_rules() {
        use PromKind::*;
        assert_eq!(
            prometheus_name("cpu.utilization", "1", Gauge),
            "cpu_utilization_ratio"
        );
        assert_eq!(prometheus_name("hits", "1", Counter), "hits_total");
        assert_eq!(
            prometheus_name("net.io", "By/s", Gauge),
            "net_io_bytes_per_second"
        );
        // otlptranslator rule: a unit word already present as a token is not repeated.
        assert_eq!(
            prometheus_name("bytes.sent", "By", Counter),
            "bytes_sent_total"
        );
        assert_eq!(family_name("bytes.sent", "By", Counter).1, None);
        assert_eq!(prometheus_name("io", "By", Counter), "io_bytes_total");
        assert_eq!(family_name("io", "By", Counter).1.as_deref(), Some("bytes"));
        assert_eq!(prometheus_name("a..b--c", "", Gauge), "a_b_c");
        assert_eq!(prometheus_name("9lives", "", Gauge), "_9lives");
        assert_eq!(
            sanitize_label_name("http.request.method"),
            "http_request_method"
        );
        assert_eq!(sanitize_label_name("0key"), "key_0key");
    }
}
