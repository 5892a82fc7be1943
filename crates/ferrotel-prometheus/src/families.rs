//! The format-independent model of one scrape: the SDK's metrics converted to Prometheus
//! families (names, labels, samples), which both encoders write.

use std::collections::{BTreeMap, HashMap};

use opentelemetry::{Key, Value};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};

use ferrotel_meters::exemplars::{self, Exemplar};

use crate::naming::{self, PromKind};

/// What the exporter's builder chose to add to every scrape.
#[derive(Debug, Clone)]
pub(crate) struct ExporterConfig {
    pub scope_labels: bool,
    pub target_info: bool,
}

/// A number as the SDK reported it (kept exact: integers print without a fraction).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Number {
    I(i64),
    U(u64),
    F(f64),
}

impl Number {
    /// Counters never go below zero (an `i64` counter's negative total shows as 0).
    pub(crate) fn at_least_zero(self) -> Self {
        match self {
            Self::I(v) => Self::U(v.max(0).unsigned_abs()),
            n => n,
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Self::I(v) => v as f64,
            Self::U(v) => v as f64,
            Self::F(v) => v,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FamilyKind {
    Counter,
    Gauge,
    Histogram,
    Info,
}

#[derive(Debug)]
pub(crate) enum SampleValue {
    Number(Number),
    /// Non-cumulative bucket counts with their upper bounds (the last is `+Inf`).
    Histogram {
        sum: f64,
        count: u64,
        buckets: Vec<(f64, u64)>,
        /// The exemplar of each bucket (empty when the series has none).
        exemplars: Vec<Option<Exemplar>>,
    },
}

pub(crate) type Labels = Vec<(String, String)>;

/// One Prometheus family, format-independent.
#[derive(Debug)]
pub(crate) struct Family {
    /// Family name; counters exclude `_total`, info excludes `_info`.
    pub name: String,
    pub help: String,
    /// Unit word the name ends with (OpenMetrics `# UNIT`).
    pub unit: Option<String>,
    pub kind: FamilyKind,
    pub samples: Vec<(Labels, SampleValue)>,
}

/// Maps OTel attributes to sorted Prometheus labels; keys colliding after sanitisation are
/// merged with `;`, ordered by original key (spec rule).
fn labels<'a>(
    attrs: impl Iterator<Item = (&'a Key, &'a Value)>,
    extra: &[(String, String)],
) -> Labels {
    let mut map: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (k, v) in attrs {
        map.entry(naming::sanitize_label_name(k.as_str()))
            .or_default()
            .push((k.as_str().to_owned(), v.to_string()));
    }
    let mut out: Labels = map
        .into_iter()
        .map(|(k, mut vs)| {
            vs.sort();
            (
                k,
                vs.into_iter().map(|(_, v)| v).collect::<Vec<_>>().join(";"),
            )
        })
        .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
        .collect();
    out.extend(extra.iter().cloned());
    out.sort();
    out
}

pub(crate) fn convert(rm: &ResourceMetrics, config: &ExporterConfig) -> Vec<Family> {
    let mut families: Vec<Family> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    if config.target_info && !rm.resource().is_empty() {
        families.push(Family {
            name: "target".to_owned(),
            help: "Target metadata".to_owned(),
            unit: None,
            kind: FamilyKind::Info,
            samples: vec![(
                labels(rm.resource().iter(), &[]),
                SampleValue::Number(Number::U(1)),
            )],
        });
        index.insert("target_info".to_owned(), 0);
    }
    for scope in rm.scope_metrics() {
        let mut scope_labels = Vec::new();
        if config.scope_labels {
            scope_labels.push((
                "otel_scope_name".to_owned(),
                scope.scope().name().to_owned(),
            ));
            if let Some(v) = scope.scope().version() {
                scope_labels.push(("otel_scope_version".to_owned(), v.to_owned()));
            }
        }
        for metric in scope.metrics() {
            let Some((kind, samples)) = samples(metric.name(), metric.data(), &scope_labels) else {
                tracing::debug!(
                    metric = metric.name(),
                    "exponential histograms are not exposed to Prometheus"
                );
                continue;
            };
            let prom_kind = match kind {
                FamilyKind::Counter => PromKind::Counter,
                FamilyKind::Histogram => PromKind::Histogram,
                FamilyKind::Gauge | FamilyKind::Info => PromKind::Gauge,
            };
            let (name, unit) = naming::family_name(metric.name(), metric.unit(), prom_kind);
            match index.get(&name) {
                Some(&i) if families[i].kind == kind => families[i].samples.extend(samples),
                Some(_) => {
                    tracing::warn!(metric = %name, "dropping metric whose Prometheus name clashes with another type");
                }
                None => {
                    index.insert(name.clone(), families.len());
                    families.push(Family {
                        name,
                        help: metric.description().to_owned(),
                        unit,
                        kind,
                        samples,
                    });
                }
            }
        }
    }
    families
}

fn samples(
    name: &str,
    data: &AggregatedMetrics,
    extra: &Labels,
) -> Option<(FamilyKind, Vec<(Labels, SampleValue)>)> {
    fn of<T: Copy>(
        name: &str,
        data: &MetricData<T>,
        extra: &Labels,
        num: impl Fn(T) -> Number,
    ) -> Option<(FamilyKind, Vec<(Labels, SampleValue)>)> {
        let attrs = |it: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
            labels(it.map(|kv| (&kv.key, &kv.value)), extra)
        };
        Some(match data {
            MetricData::Gauge(g) => (
                FamilyKind::Gauge,
                g.data_points()
                    .map(|dp| {
                        (
                            attrs(&mut dp.attributes()),
                            SampleValue::Number(num(dp.value())),
                        )
                    })
                    .collect(),
            ),
            MetricData::Sum(s) => (
                if s.is_monotonic() {
                    FamilyKind::Counter
                } else {
                    FamilyKind::Gauge
                },
                s.data_points()
                    .map(|dp| {
                        (
                            attrs(&mut dp.attributes()),
                            SampleValue::Number(num(dp.value())),
                        )
                    })
                    .collect(),
            ),
            MetricData::Histogram(h) => (
                FamilyKind::Histogram,
                h.data_points()
                    .map(|dp| {
                        let mut buckets: Vec<(f64, u64)> =
                            dp.bounds().zip(dp.bucket_counts()).collect();
                        let inf = dp.bucket_counts().last().unwrap_or(0);
                        buckets.push((f64::INFINITY, inf));
                        let exemplars = bucket_exemplars(
                            &buckets,
                            exemplars::exemplars_for(name, dp.attributes()),
                        );
                        let value = SampleValue::Histogram {
                            sum: num(dp.sum()).as_f64(),
                            count: dp.count(),
                            buckets,
                            exemplars,
                        };
                        (attrs(&mut dp.attributes()), value)
                    })
                    .collect(),
            ),
            MetricData::ExponentialHistogram(_) => return None,
        })
    }
    match data {
        AggregatedMetrics::F64(d) => of(name, d, extra, Number::F),
        AggregatedMetrics::U64(d) => of(name, d, extra, Number::U),
        AggregatedMetrics::I64(d) => of(name, d, extra, Number::I),
    }
}

/// Places each exemplar in the bucket its value falls in under the data point's own bounds
/// (a view may have changed them since recording); the latest wins where several land in one.
fn bucket_exemplars(buckets: &[(f64, u64)], found: Vec<Exemplar>) -> Vec<Option<Exemplar>> {
    if found.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<Option<Exemplar>> = vec![None; buckets.len()];
    for exemplar in found {
        let i = buckets
            .partition_point(|(bound, _)| *bound < exemplar.value)
            .min(buckets.len() - 1);
        match &out[i] {
            Some(kept) if kept.time > exemplar.time => {}
            _ => out[i] = Some(exemplar),
        }
    }
    out
}
