//! Instrument descriptors: the data from which instruments, views, docs and dashboards are made.

use crate::labels::LabelDescriptor;

/// Duration buckets (seconds) for request and operation durations: 5 ms .. 10 s.
pub const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Buckets for values in 0..1 (similarity or match scores, ratios), in steps of 0.1.
pub const SCORE_BUCKETS: &[f64] = &[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/// The kind of an OpenTelemetry instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstrumentKind {
    /// Monotonic synchronous counter.
    Counter,
    /// Non-monotonic synchronous counter.
    UpDownCounter,
    /// Synchronous histogram.
    Histogram,
    /// Synchronous gauge.
    Gauge,
    /// Monotonic counter read by callback.
    ObservableCounter,
    /// Non-monotonic counter read by callback.
    ObservableUpDownCounter,
    /// Gauge read by callback at each collection.
    ObservableGauge,
}

impl InstrumentKind {
    /// Human-readable name, as generated docs print it.
    pub const fn as_str(self) -> &'static str {
        match self {
            InstrumentKind::Counter => "counter",
            InstrumentKind::UpDownCounter => "up-down counter",
            InstrumentKind::Histogram => "histogram",
            InstrumentKind::Gauge => "gauge",
            InstrumentKind::ObservableCounter => "observable counter",
            InstrumentKind::ObservableUpDownCounter => "observable up-down counter",
            InstrumentKind::ObservableGauge => "observable gauge",
        }
    }

    /// Whether the exported data is a monotonic sum (a Prometheus counter).
    pub const fn is_monotonic_sum(self) -> bool {
        matches!(
            self,
            InstrumentKind::Counter | InstrumentKind::ObservableCounter
        )
    }

    /// Whether the exported data is a Prometheus gauge (gauges and non-monotonic sums).
    pub const fn is_prometheus_gauge(self) -> bool {
        matches!(
            self,
            InstrumentKind::Gauge
                | InstrumentKind::ObservableGauge
                | InstrumentKind::UpDownCounter
                | InstrumentKind::ObservableUpDownCounter
        )
    }
}

/// Number type recorded by an instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// Unsigned 64-bit integer.
    U64,
    /// Signed 64-bit integer.
    I64,
    /// 64-bit float.
    F64,
}

/// Everything known about one instrument: enough to create it, document it, configure its
/// view and compute its Prometheus name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InstrumentDescriptor {
    /// OpenTelemetry instrument name.
    pub name: &'static str,
    /// Instrument kind.
    pub kind: InstrumentKind,
    /// Number type.
    pub value_type: ValueType,
    /// UCUM unit (`s`, `By`, `1`, `%`, `{call}`...).
    pub unit: &'static str,
    /// Description (exported as HELP in Prometheus).
    pub description: &'static str,
    /// Labels, in declaration order.
    pub labels: &'static [LabelDescriptor],
    /// Explicit histogram bucket boundaries.
    pub buckets: Option<&'static [f64]>,
    /// Per-instrument cardinality limit applied by [`cardinality_views`](crate::cardinality_views).
    pub cardinality_limit: Option<usize>,
}

impl InstrumentDescriptor {
    /// The name under which Prometheus (remote write or `/metrics`) stores this instrument.
    pub fn prometheus_name(&self) -> String {
        crate::prometheus::prometheus_name(self.name, self.unit, self.kind)
    }

    /// Whether any label is free-form.
    pub fn has_free_form_label(&self) -> bool {
        self.labels.iter().any(LabelDescriptor::is_free_form)
    }

    /// The cardinality limit to install: the declared one, or [`DEFAULT_FREE_FORM_LIMIT`] for an
    /// instrument with a free-form label; `None` (SDK default of 2000) otherwise.
    pub fn effective_cardinality_limit(&self) -> Option<usize> {
        match self.cardinality_limit {
            Some(limit) => Some(limit),
            None if self.has_free_form_label() => Some(DEFAULT_FREE_FORM_LIMIT),
            None => None,
        }
    }
}

/// Cardinality limit installed for free-form instruments that do not declare their own.
pub const DEFAULT_FREE_FORM_LIMIT: usize = 200;
