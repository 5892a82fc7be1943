//! OpenMetrics 1.0 text, encoded by `prometheus-client` from the scrape's families.

use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use crate::families::{Family, FamilyKind, Number, SampleValue};

/// The families of one scrape, encoded through `prometheus-client`'s OpenMetrics encoder.
#[derive(Debug)]
pub(crate) struct Families(pub Vec<Family>);

impl prometheus_client::collector::Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in &self.0 {
            let metric_type = match family.kind {
                FamilyKind::Counter => MetricType::Counter,
                FamilyKind::Gauge => MetricType::Gauge,
                FamilyKind::Histogram => MetricType::Histogram,
                FamilyKind::Info => MetricType::Info,
            };
            // prometheus-client appends `_{unit}` itself; hand it the stem.
            let unit = family.unit.as_ref().map(|u| Unit::Other(u.clone()));
            let stem = match &family.unit {
                Some(u) => family
                    .name
                    .strip_suffix(u.as_str())
                    .and_then(|s| s.strip_suffix('_'))
                    .unwrap_or(&family.name),
                None => &family.name,
            };
            let mut metric =
                encoder.encode_descriptor(stem, &family.help, unit.as_ref(), metric_type)?;
            for (labels, value) in &family.samples {
                match (family.kind, value) {
                    (FamilyKind::Info, _) => metric.encode_info(labels)?,
                    (FamilyKind::Counter, SampleValue::Number(n)) => {
                        let mut m = metric.encode_family(labels)?;
                        match *n {
                            Number::U(v) => m.encode_counter::<NoLabelSet, _, u64>(&v, None)?,
                            Number::I(v) => m.encode_counter::<NoLabelSet, _, u64>(
                                &v.max(0).unsigned_abs(),
                                None,
                            )?,
                            Number::F(v) => m.encode_counter::<NoLabelSet, _, f64>(&v, None)?,
                        }
                    }
                    (FamilyKind::Gauge, SampleValue::Number(n)) => {
                        let mut m = metric.encode_family(labels)?;
                        match *n {
                            Number::U(v) => m.encode_gauge(&v)?,
                            Number::I(v) => m.encode_gauge(&v)?,
                            Number::F(v) => m.encode_gauge(&v)?,
                        }
                    }
                    (
                        FamilyKind::Histogram,
                        SampleValue::Histogram {
                            sum,
                            count,
                            buckets,
                        },
                    ) => {
                        metric
                            .encode_family(labels)?
                            .encode_histogram::<NoLabelSet>(*sum, *count, buckets, None)?;
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}
