//! The metric views a file asks for (`meter_provider.views`, the readers'
//! `cardinality_limits`, `default_histogram_aggregation`), as SDK views.
//!
//! They replace the family's own per-instrument cardinality view, whose limits they keep as a
//! fallback: each instrument gets one stream per matching file view, or one stream with the
//! reader's limits, never a duplicate.

use std::sync::Arc;

use opentelemetry_sdk::metrics::{Aggregation, Instrument, InstrumentKind, Stream};

use super::model::{CardinalityLimits, FileExtras, ViewAggregation, ViewSpec};

/// A boxed SDK view.
pub(crate) type View = Box<dyn Fn(&Instrument) -> Option<Stream> + Send + Sync>;

/// The SDK views of `extras`, to register after the application's own; empty when the file
/// asks for none (the family's default view then stays).
pub(crate) fn metric_views(extras: &FileExtras) -> Vec<View> {
    if extras.views.is_empty() && !extras.cardinality.is_set() && !extras.exponential_histograms {
        return Vec::new();
    }
    let limits = extras.cardinality;
    let exponential = extras.exponential_histograms;
    let specs: Arc<Vec<ViewSpec>> = Arc::new(extras.views.clone());
    let mut out: Vec<View> = Vec::new();
    for index in 0..specs.len() {
        let specs = Arc::clone(&specs);
        out.push(Box::new(move |instrument: &Instrument| {
            let spec = &specs[index];
            if !matches(spec, instrument) {
                return None;
            }
            stream(spec, instrument, &limits, exponential)
        }));
    }
    // Instruments no file view selects: the declared or reader limit, and the default
    // histogram aggregation.
    out.push(Box::new(move |instrument: &Instrument| {
        if specs.iter().any(|s| matches(s, instrument)) {
            return None;
        }
        let limit = limit_for(instrument, None, &limits);
        let exponential_here = exponential && instrument.kind() == InstrumentKind::Histogram;
        if limit.is_none() && !exponential_here {
            return None;
        }
        let mut b = Stream::builder();
        if let Some(limit) = limit {
            b = b.with_cardinality_limit(limit);
        }
        if exponential_here {
            b = b.with_aggregation(default_exponential());
        }
        b.build().ok()
    }));
    out
}

fn default_exponential() -> Aggregation {
    Aggregation::Base2ExponentialHistogram {
        max_size: 160,
        max_scale: 20,
        record_min_max: true,
    }
}

/// The stream's limit: the view's, else the instrument set's declared one, else the reader's
/// for the instrument's kind, else its default.
fn limit_for(
    instrument: &Instrument,
    view: Option<usize>,
    limits: &CardinalityLimits,
) -> Option<usize> {
    view.or_else(|| ferrotel_meters::registered_cardinality_limit(instrument.name()))
        .or_else(|| {
            let by_kind = match instrument.kind() {
                InstrumentKind::Counter => limits.counter,
                InstrumentKind::Gauge => limits.gauge,
                InstrumentKind::Histogram => limits.histogram,
                InstrumentKind::ObservableCounter => limits.observable_counter,
                InstrumentKind::ObservableGauge => limits.observable_gauge,
                InstrumentKind::ObservableUpDownCounter => limits.observable_up_down_counter,
                InstrumentKind::UpDownCounter => limits.up_down_counter,
            };
            by_kind.or(limits.default)
        })
        .map(|l| l.max(1))
}

fn kind_name(kind: InstrumentKind) -> &'static str {
    match kind {
        InstrumentKind::Counter => "counter",
        InstrumentKind::Gauge => "gauge",
        InstrumentKind::Histogram => "histogram",
        InstrumentKind::ObservableCounter => "observable_counter",
        InstrumentKind::ObservableGauge => "observable_gauge",
        InstrumentKind::ObservableUpDownCounter => "observable_up_down_counter",
        InstrumentKind::UpDownCounter => "up_down_counter",
    }
}

fn matches(spec: &ViewSpec, instrument: &Instrument) -> bool {
    let s = &spec.selector;
    let scope = instrument.scope();
    s.instrument_name
        .as_deref()
        .is_none_or(|pattern| wildcard_match(pattern, instrument.name()))
        && s.instrument_type
            .as_deref()
            .is_none_or(|t| t == kind_name(instrument.kind()))
        && s.unit.as_deref().is_none_or(|u| u == instrument.unit())
        && s.meter_name.as_deref().is_none_or(|n| n == scope.name())
        && s.meter_version
            .as_deref()
            .is_none_or(|v| scope.version() == Some(v))
        && s.meter_schema_url
            .as_deref()
            .is_none_or(|u| scope.schema_url() == Some(u))
}

fn stream(
    spec: &ViewSpec,
    instrument: &Instrument,
    limits: &CardinalityLimits,
    exponential: bool,
) -> Option<Stream> {
    let mut b = Stream::builder();
    if let Some(name) = &spec.name {
        b = b.with_name(name.clone());
    }
    if let Some(description) = &spec.description {
        b = b.with_description(description.clone());
    }
    let aggregation = match &spec.aggregation {
        Some(ViewAggregation::Default) | None => (exponential
            && instrument.kind() == InstrumentKind::Histogram)
            .then(default_exponential),
        Some(ViewAggregation::Drop) => Some(Aggregation::Drop),
        Some(ViewAggregation::Sum) => Some(Aggregation::Sum),
        Some(ViewAggregation::LastValue) => Some(Aggregation::LastValue),
        Some(ViewAggregation::ExplicitBucketHistogram {
            boundaries,
            record_min_max,
        }) => Some(Aggregation::ExplicitBucketHistogram {
            boundaries: boundaries.clone().unwrap_or_else(|| {
                vec![
                    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0,
                    5000.0, 7500.0, 10000.0,
                ]
            }),
            record_min_max: *record_min_max,
        }),
        Some(ViewAggregation::Base2ExponentialHistogram {
            max_size,
            max_scale,
            record_min_max,
        }) => Some(Aggregation::Base2ExponentialHistogram {
            max_size: *max_size,
            max_scale: *max_scale,
            record_min_max: *record_min_max,
        }),
    };
    if let Some(a) = aggregation {
        b = b.with_aggregation(a);
    }
    if let Some(keys) = &spec.attribute_keys {
        let kept = keys
            .iter()
            .filter(|k| !spec.excluded_attribute_keys.contains(k))
            .map(|k| opentelemetry::Key::new(k.clone()));
        b = b.with_allowed_attribute_keys(kept);
    }
    if let Some(limit) = limit_for(instrument, spec.cardinality_limit, limits) {
        b = b.with_cardinality_limit(limit);
    }
    b.build().ok()
}

/// `*` matches any run of characters, `?` one character; everything else itself.
pub(crate) fn wildcard_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::wildcard_match;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match("http.*", "http.server.duration"));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("a?c", "abbc"));
        assert!(wildcard_match(
            "*duration*",
            "http.server.request.duration.seconds"
        ));
        assert!(!wildcard_match("db.*", "http.db"));
        assert!(wildcard_match("exact", "exact"));
    }
}
