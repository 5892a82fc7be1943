//! The one rule for reading metric series, shared by `FakeReceiver` and `Capture`, so that an
//! assertion reads the same against a collector and in memory (docs/testing.md states it for
//! users):
//!
//! - a series **matches** `attributes` when it has every given key with an equal value; other
//!   attributes may be present too, and `&[]` matches every series;
//! - a **total** (`counter_sum`, `histogram_count`, `histogram_sum`) adds the current value of
//!   every matching series: the latest point of each cumulative series (a series is resource +
//!   scope + attributes + start time, so a restarted process starts a new one), plus every point
//!   of delta series;
//! - a **gauge** reads the most recent matching point.

use std::collections::BTreeMap;

use crate::{AttrValue, MetricKind, ReceivedDataPoint};

/// The points of `points` whose attributes include all of `attributes`.
pub(crate) fn matching(
    points: Vec<ReceivedDataPoint>,
    attributes: &[(&str, AttrValue)],
) -> Vec<ReceivedDataPoint> {
    points
        .into_iter()
        .filter(|p| p.attributes.contains_all(attributes))
        .collect()
}

/// The current value of every time series of `points` (one metric) whose attributes contain
/// `filter`: for cumulative temporality the latest point per series, for delta every point.
pub(crate) fn current_points<'a>(
    points: &'a [ReceivedDataPoint],
    filter: &[(&str, AttrValue)],
) -> Vec<&'a ReceivedDataPoint> {
    let mut latest: BTreeMap<String, &ReceivedDataPoint> = BTreeMap::new();
    let mut deltas = Vec::new();
    for p in points.iter().filter(|p| p.attributes.contains_all(filter)) {
        if p.kind.is_cumulative() || p.kind == MetricKind::Gauge {
            // A series is resource + scope + attributes + start time (a restart starts a new one).
            let start = if p.kind == MetricKind::Gauge {
                0
            } else {
                p.start_time_unix_nano
            };
            let key = format!(
                "{}|{}|{}|{}",
                p.resource.series_key(),
                p.scope.name,
                p.attributes.series_key(),
                start
            );
            match latest.get(&key) {
                Some(prev) if prev.time_unix_nano > p.time_unix_nano => {}
                _ => {
                    latest.insert(key, p);
                }
            }
        } else {
            deltas.push(p);
        }
    }
    deltas.extend(latest.into_values());
    deltas
}

/// The total of a sum metric over the matching series.
pub(crate) fn counter_sum(
    points: &[ReceivedDataPoint],
    attributes: &[(&str, AttrValue)],
) -> Option<f64> {
    total(points, attributes, |p| p.value.as_f64())
}

/// The sample count of a histogram over the matching series.
pub(crate) fn histogram_count(
    points: &[ReceivedDataPoint],
    attributes: &[(&str, AttrValue)],
) -> Option<u64> {
    let counts: Vec<u64> = current_points(points, attributes)
        .iter()
        .filter_map(|p| p.value.count())
        .collect();
    (!counts.is_empty()).then(|| counts.iter().sum())
}

/// The sum of a histogram's samples over the matching series.
pub(crate) fn histogram_sum(
    points: &[ReceivedDataPoint],
    attributes: &[(&str, AttrValue)],
) -> Option<f64> {
    total(points, attributes, |p| p.value.sum())
}

/// The most recent value of a gauge among the matching points.
pub(crate) fn gauge_value(
    points: &[ReceivedDataPoint],
    attributes: &[(&str, AttrValue)],
) -> Option<f64> {
    points
        .iter()
        .filter(|p| p.attributes.contains_all(attributes) && p.value.as_f64().is_some())
        .max_by_key(|p| p.time_unix_nano)
        .and_then(|p| p.value.as_f64())
}

fn total(
    points: &[ReceivedDataPoint],
    attributes: &[(&str, AttrValue)],
    value: fn(&ReceivedDataPoint) -> Option<f64>,
) -> Option<f64> {
    let values: Vec<f64> = current_points(points, attributes)
        .iter()
        .filter_map(|p| value(p))
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}
