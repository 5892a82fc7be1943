//! Shared test pipeline: an SDK meter provider with an in-memory exporter.
#![allow(dead_code)]

use std::collections::BTreeMap;

use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{
    InMemoryMetricExporter, Instrument, PeriodicReader, SdkMeterProvider, Stream,
};

/// One exported data point, flattened.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub attrs: BTreeMap<String, String>,
    /// Sum or gauge value; histogram sum.
    pub value: f64,
    /// Histogram count.
    pub count: u64,
    pub bounds: Vec<f64>,
}

/// One exported metric, flattened.
#[derive(Debug, Clone)]
pub struct Exported {
    pub name: String,
    pub unit: String,
    pub description: String,
    /// "counter", "updowncounter", "gauge" or "histogram".
    pub kind: &'static str,
    /// "u64", "i64" or "f64".
    pub number: &'static str,
    pub points: Vec<Point>,
}

impl Exported {
    pub fn point(&self, attrs: &[(&str, &str)]) -> Option<&Point> {
        let want: BTreeMap<String, String> = attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.points.iter().find(|p| p.attrs == want)
    }
    pub fn total(&self) -> f64 {
        self.points.iter().map(|p| p.value).sum()
    }
}

pub struct Pipeline {
    pub provider: SdkMeterProvider,
    pub exporter: InMemoryMetricExporter,
}

impl Pipeline {
    pub fn new() -> Self {
        Self::with_view(|_: &Instrument| -> Option<Stream> { None })
    }

    pub fn with_view(view: impl Fn(&Instrument) -> Option<Stream> + Send + Sync + 'static) -> Self {
        let exporter = InMemoryMetricExporter::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .with_view(view)
            .build();
        Pipeline { provider, exporter }
    }

    pub fn meter(&self) -> Meter {
        self.provider.meter("test")
    }

    /// Flushes and returns the metrics of this collection, by name.
    pub fn collect(&self) -> BTreeMap<String, Exported> {
        self.exporter.reset();
        self.provider.force_flush().expect("flush");
        let rms = self.exporter.get_finished_metrics().expect("metrics");
        let mut out = BTreeMap::new();
        for rm in &rms {
            for sm in rm.scope_metrics() {
                for m in sm.metrics() {
                    let (kind, number, points) = match m.data() {
                        AggregatedMetrics::F64(d) => flatten(d, |v| v, "f64"),
                        AggregatedMetrics::U64(d) => flatten(d, |v| v as f64, "u64"),
                        AggregatedMetrics::I64(d) => flatten(d, |v| v as f64, "i64"),
                    };
                    out.insert(
                        m.name().to_owned(),
                        Exported {
                            name: m.name().to_owned(),
                            unit: m.unit().to_owned(),
                            description: m.description().to_owned(),
                            kind: kind.0,
                            number,
                            points,
                        },
                    );
                }
            }
        }
        out
    }
}

fn attrs<'a>(it: impl Iterator<Item = &'a opentelemetry::KeyValue>) -> BTreeMap<String, String> {
    it.map(|kv| (kv.key.to_string(), kv.value.to_string()))
        .collect()
}

struct Kind(&'static str);

fn flatten<T: Copy>(
    d: &MetricData<T>,
    f: impl Fn(T) -> f64,
    number: &'static str,
) -> (Kind, &'static str, Vec<Point>) {
    match d {
        MetricData::Gauge(g) => (
            Kind("gauge"),
            number,
            g.data_points()
                .map(|p| Point {
                    attrs: attrs(p.attributes()),
                    value: f(p.value()),
                    count: 0,
                    bounds: vec![],
                })
                .collect(),
        ),
        MetricData::Sum(s) => (
            Kind(if s.is_monotonic() {
                "counter"
            } else {
                "updowncounter"
            }),
            number,
            s.data_points()
                .map(|p| Point {
                    attrs: attrs(p.attributes()),
                    value: f(p.value()),
                    count: 0,
                    bounds: vec![],
                })
                .collect(),
        ),
        MetricData::Histogram(h) => (
            Kind("histogram"),
            number,
            h.data_points()
                .map(|p| Point {
                    attrs: attrs(p.attributes()),
                    value: f(p.sum()),
                    count: p.count(),
                    bounds: p.bounds().collect(),
                })
                .collect(),
        ),
        MetricData::ExponentialHistogram(_) => (Kind("exponential"), number, vec![]),
    }
}
