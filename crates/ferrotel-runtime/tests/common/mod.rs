//! In-memory exporter harness shared by the integration tests.
#![allow(dead_code)]

use opentelemetry::metrics::{Meter, MeterProvider as _};
use std::sync::{Arc, Weak};
use std::time::Duration;

use ferrotel_meters::InstrumentKind;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{
    InMemoryMetricExporter, ManualReader, PeriodicReader, Pipeline, SdkMeterProvider, Temporality,
};

/// One exported data point, flattened.
#[derive(Clone, Debug)]
pub struct Point {
    pub attributes: Vec<(String, String)>,
    /// Gauge / sum value, or the histogram's maximum.
    pub value: f64,
    /// Histogram sample count (1 for gauges and sums).
    pub count: u64,
}

impl Point {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// One exported metric, flattened.
#[derive(Clone, Debug)]
pub struct Exported {
    pub name: String,
    pub unit: String,
    pub description: String,
    /// Every instrument of this crate is observable except the stall histogram, so exported
    /// sums and gauges map to the observable kinds.
    pub kind: InstrumentKind,
    pub points: Vec<Point>,
}

/// A provider with a `ManualReader`: collections run synchronously on the test thread, so no
/// exporter thread allocates or frees while a test measures the heap.
pub struct Harness {
    pub provider: SdkMeterProvider,
    reader: SharedReader,
    /// Set by [`Harness::with_in_memory_exporter`]: collections go through a periodic reader
    /// and the SDK's in-memory exporter instead.
    exporter: Option<InMemoryMetricExporter>,
}

impl Harness {
    pub fn new() -> Self {
        let reader = SharedReader::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(reader.clone())
            .build();
        Self {
            provider,
            reader,
            exporter: None,
        }
    }

    /// A provider exporting through `PeriodicReader` + `InMemoryMetricExporter` (what a real
    /// exporter sees); `collect` is then `force_flush` + the exported batch.
    pub fn with_in_memory_exporter() -> Self {
        let exporter = InMemoryMetricExporter::default();
        let reader = SharedReader::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .build();
        Self {
            provider,
            reader,
            exporter: Some(exporter),
        }
    }

    pub fn meter(&self) -> Meter {
        self.provider.meter("ferrotel-runtime-test")
    }

    /// Runs one collection (every callback, like an export would) and returns its metrics.
    pub fn collect(&self) -> Vec<Exported> {
        if let Some(exporter) = &self.exporter {
            exporter.reset();
            self.provider.force_flush().expect("force_flush");
            let batches = exporter.get_finished_metrics().expect("finished metrics");
            return batches.iter().flat_map(flatten_resource).collect();
        }
        let mut rm = ResourceMetrics::default();
        self.reader.0.collect(&mut rm).expect("collect");
        flatten_resource(&rm)
    }
}

fn flatten_resource(rm: &ResourceMetrics) -> Vec<Exported> {
    let mut out = Vec::new();
    for scope in rm.scope_metrics() {
        for metric in scope.metrics() {
            let (kind, points) = flatten(metric.data());
            out.push(Exported {
                name: metric.name().to_owned(),
                unit: metric.unit().to_owned(),
                description: metric.description().to_owned(),
                kind,
                points,
            });
        }
    }
    out
}

pub fn find<'a>(exported: &'a [Exported], name: &str) -> Option<&'a Exported> {
    exported.iter().find(|m| m.name == name)
}

/// The single point of `name` whose attribute `key` is `value` (or the only point).
pub fn value(exported: &[Exported], name: &str, attribute: Option<(&str, &str)>) -> f64 {
    let metric = find(exported, name).unwrap_or_else(|| panic!("{name} not exported"));
    let points: Vec<_> = metric
        .points
        .iter()
        .filter(|p| attribute.is_none_or(|(k, v)| p.attribute(k) == Some(v)))
        .collect();
    assert_eq!(points.len(), 1, "{name} {attribute:?}: {:?}", metric.points);
    points[0].value
}

fn flatten(data: &AggregatedMetrics) -> (InstrumentKind, Vec<Point>) {
    match data {
        AggregatedMetrics::F64(d) => flatten_typed(d, |v| v),
        AggregatedMetrics::U64(d) => flatten_typed(d, |v| v as f64),
        AggregatedMetrics::I64(d) => flatten_typed(d, |v| v as f64),
    }
}

fn attrs<'a>(kvs: impl Iterator<Item = &'a opentelemetry::KeyValue>) -> Vec<(String, String)> {
    kvs.map(|kv| (kv.key.to_string(), kv.value.to_string()))
        .collect()
}

fn flatten_typed<T: Copy>(
    data: &MetricData<T>,
    f: impl Fn(T) -> f64,
) -> (InstrumentKind, Vec<Point>) {
    match data {
        MetricData::Gauge(g) => (
            InstrumentKind::ObservableGauge,
            g.data_points()
                .map(|p| Point {
                    attributes: attrs(p.attributes()),
                    value: f(p.value()),
                    count: 1,
                })
                .collect(),
        ),
        MetricData::Sum(s) => (
            if s.is_monotonic() {
                InstrumentKind::ObservableCounter
            } else {
                InstrumentKind::ObservableUpDownCounter
            },
            s.data_points()
                .map(|p| Point {
                    attributes: attrs(p.attributes()),
                    value: f(p.value()),
                    count: 1,
                })
                .collect(),
        ),
        MetricData::Histogram(h) => (
            InstrumentKind::Histogram,
            h.data_points()
                .map(|p| Point {
                    attributes: attrs(p.attributes()),
                    value: p.max().map_or(f64::NAN, &f),
                    count: p.count(),
                })
                .collect(),
        ),
        MetricData::ExponentialHistogram(_) => panic!("no exponential histograms expected"),
    }
}

/// A `ManualReader` registered with the provider and kept by the test to collect.
#[derive(Clone, Debug, Default)]
struct SharedReader(Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline)
    }
    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn temporality(&self, kind: opentelemetry_sdk::metrics::InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}
