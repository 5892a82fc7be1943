//! Redaction counts as an OpenTelemetry metric.

use crate::Redactor;
use opentelemetry::KeyValue;
use opentelemetry::metrics::Meter;

/// Name of the observable counter registered by [`Redactor::register_metrics`].
pub const REDACTIONS_METRIC: &str = "telemetry.redaction.redactions";
/// Its only attribute: the redaction kind (a bounded set, see [`crate::kinds`]).
pub const KIND_ATTRIBUTE: &str = "redaction.kind";

impl Redactor {
    /// Registers the observable counter `telemetry.redaction.redactions`
    /// (unit `{redaction}`, attribute `redaction.kind`; Prometheus name
    /// `ferrotel_redaction_redactions_total`) reporting [`Redactor::counts`].
    /// The counts are kept whether or not this is called; they are never added
    /// as labels to other metrics.
    pub fn register_metrics(&self, meter: &Meter) {
        let redactor = self.clone();
        meter
            .u64_observable_counter(REDACTIONS_METRIC)
            .with_unit("{redaction}")
            .with_description("Spans of telemetry text redacted before export, by kind.")
            .with_callback(move |observer| {
                for (kind, count) in redactor.counts() {
                    observer.observe(count, &[KeyValue::new(KIND_ATTRIBUTE, kind)]);
                }
            })
            .build();
    }
}
