//! The instruments dashboards may query, by Prometheus name: the contextd catalog of
//! `ferrotel-catalog` (31, whose runtime and HTTP entries are the descriptors of
//! `ferrotel-runtime` and `ferrotel-http`) and the seed 003/004 services' sets
//! (`ferrotel_catalog::seeds`), the SDK's own `otel.sdk.*` self-observability metrics, and the
//! few ClickHouse server series the seed 004 ClickHouse dashboard reads from ClickHouse's
//! built-in Prometheus endpoint (`:9363`, the seed's `clickhouse` scrape job).

use std::collections::BTreeMap;

use ferrotel_catalog::contextd::CATALOG;
use ferrotel_catalog::seeds::{AgentTraceMeters, AutomationMeters};
use ferrotel_meters::{InstrumentDescriptor, InstrumentKind, InstrumentSet};

use crate::Error;

/// How an instrument appears in Prometheus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesKind {
    /// A monotonic sum: one `*_total` series family.
    Counter,
    /// A gauge (gauges and non-monotonic sums).
    Gauge,
    /// A histogram: `_bucket`, `_sum`, `_count`.
    Histogram,
}

/// One queryable instrument.
#[derive(Debug, Clone, PartialEq)]
pub struct Instrument {
    /// OpenTelemetry instrument name.
    pub otel_name: &'static str,
    /// Name in Prometheus/VictoriaMetrics (after OTLP → Prometheus translation).
    pub prometheus_name: String,
    /// How it is exposed.
    pub kind: SeriesKind,
    /// Prometheus label names (OTel attribute keys with `.` → `_`).
    pub labels: Vec<String>,
    /// Which instrument set declares it.
    pub source: &'static str,
}

impl Instrument {
    fn from_descriptor(d: &InstrumentDescriptor, source: &'static str) -> Self {
        let kind = match d.kind {
            InstrumentKind::Histogram => SeriesKind::Histogram,
            k if k.is_monotonic_sum() => SeriesKind::Counter,
            _ => SeriesKind::Gauge,
        };
        Instrument {
            otel_name: d.name,
            prometheus_name: d.prometheus_name(),
            kind,
            labels: d.labels.iter().map(|l| label_name(l.key)).collect(),
            source,
        }
    }

    /// Every series name this instrument produces in Prometheus.
    pub fn series_names(&self) -> Vec<String> {
        match self.kind {
            SeriesKind::Histogram => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|s| format!("{}{s}", self.prometheus_name))
                .collect(),
            _ => vec![self.prometheus_name.clone()],
        }
    }

    /// Whether `label` can appear on this instrument's series: its own labels, the target
    /// labels every series carries (`job`, `instance`) and `le` on histogram buckets.
    pub fn has_label(&self, label: &str) -> bool {
        matches!(label, "job" | "instance")
            || (label == "le" && self.kind == SeriesKind::Histogram)
            || self.labels.iter().any(|l| l == label)
    }
}

/// Prometheus label name of an OTel attribute key (`http.route` → `http_route`).
pub fn label_name(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Where the SDK's self-observability metrics come from (`Instrument::source`).
pub const SDK_SOURCE: &str = "ferrotel SDK self-observability";

/// Where the ClickHouse server series come from (`Instrument::source`): no instrument set of
/// ours produces them, so no example fills them.
pub const CLICKHOUSE_SERVER_SOURCE: &str = "ClickHouse server (:9363)";

/// The semconv SDK metrics every `ferrotel::init` registers (observable counters fed by the
/// export accounting): exports that finished, failures with `error.type="export_failed"`, and
/// records the queue turned away with `error.type="queue_full"`.
fn sdk_self_metrics() -> Vec<Instrument> {
    let exported = [
        "otel.sdk.exporter.span.exported",
        "otel.sdk.exporter.log.exported",
        "otel.sdk.exporter.metric_data_point.exported",
    ];
    let processed = [
        "otel.sdk.processor.span.processed",
        "otel.sdk.processor.log.processed",
    ];
    let counter = |otel_name: &'static str, labels: &[&str]| Instrument {
        otel_name,
        prometheus_name: format!("{}_total", label_name(otel_name)),
        kind: SeriesKind::Counter,
        labels: labels.iter().map(|l| (*l).to_owned()).collect(),
        source: SDK_SOURCE,
    };
    exported
        .into_iter()
        .map(|n| counter(n, &["error_type"]))
        .chain(
            processed
                .into_iter()
                .map(|n| counter(n, &["error_type", "otel_component_type"])),
        )
        .collect()
}

/// ClickHouse's own merge series (`<prometheus><metrics>true</metrics><events>true</events>`):
/// running background merges (a current metric) and merge events and rows (profile events,
/// counters exposed without a `_total` suffix).
fn clickhouse_server() -> Vec<Instrument> {
    let series = |name: &'static str, kind| Instrument {
        otel_name: name,
        prometheus_name: name.to_owned(),
        kind,
        labels: Vec::new(),
        source: CLICKHOUSE_SERVER_SOURCE,
    };
    vec![
        series("ClickHouseMetrics_Merge", SeriesKind::Gauge),
        series("ClickHouseProfileEvents_Merge", SeriesKind::Counter),
        series("ClickHouseProfileEvents_MergedRows", SeriesKind::Counter),
    ]
}

/// Series that the stacks produce themselves, never an application: scrape health, alert
/// state, the OTLP resource, Prometheus' own metrics used by the dashboards.
pub const STACK_SERIES: &[&str] = &[
    "up",
    "ALERTS",
    "ALERTS_FOR_STATE",
    "target_info",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
];

/// The instruments dashboards may query, by Prometheus name.
#[derive(Debug, Clone)]
pub struct Catalog {
    by_name: BTreeMap<String, Instrument>,
}

impl Catalog {
    /// The contextd catalog of `ferrotel-catalog` plus the seed sets.
    pub fn load() -> Self {
        let mut by_name = BTreeMap::new();
        for entry in CATALOG.iter() {
            let i = Instrument::from_descriptor(entry.descriptor, "contextd catalog");
            by_name.insert(i.prometheus_name.clone(), i);
        }
        let seeds: [(&'static str, &'static [InstrumentDescriptor]); 2] = [
            ("seed 003 automation", AutomationMeters::DESCRIPTORS),
            ("seed 004 agenttrace", AgentTraceMeters::DESCRIPTORS),
        ];
        for (source, set) in seeds {
            for d in set {
                let i = Instrument::from_descriptor(d, source);
                by_name.entry(i.prometheus_name.clone()).or_insert(i);
            }
        }
        for i in sdk_self_metrics().into_iter().chain(clickhouse_server()) {
            by_name.entry(i.prometheus_name.clone()).or_insert(i);
        }
        Catalog { by_name }
    }

    /// The instrument with this Prometheus name.
    pub fn get(&self, prometheus_name: &str) -> Result<&Instrument, Error> {
        self.by_name
            .get(prometheus_name)
            .ok_or_else(|| Error::UnknownInstrument(prometheus_name.to_owned()))
    }

    /// Every instrument.
    pub fn instruments(&self) -> impl Iterator<Item = &Instrument> {
        self.by_name.values()
    }

    /// The instrument producing series `series` (`foo_bucket` → histogram `foo`).
    pub fn instrument_of_series(&self, series: &str) -> Option<&Instrument> {
        self.by_name
            .values()
            .find(|i| i.series_names().iter().any(|s| s == series))
    }
}
