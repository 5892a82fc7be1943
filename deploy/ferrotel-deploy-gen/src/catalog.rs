//! The instruments dashboards may query, by Prometheus name: the contextd catalog of
//! `ferrotel-catalog` (31, whose runtime and HTTP entries are the descriptors of
//! `ferrotel-runtime` and `ferrotel-http`) and the seed 003/004 services' sets
//! (`ferrotel_catalog::seeds`).

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
