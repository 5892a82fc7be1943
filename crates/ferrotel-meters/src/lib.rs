// The guide lives in the repository's docs/; docs/meters.md here is a symlink to it, so the
// packaged crate (which cannot reach outside its directory) carries the same text.
#![doc = include_str!("../docs/meters.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod descriptor;
pub mod exemplars;
#[cfg(feature = "metrics-facade")]
mod facade;
mod instruments;
mod labels;
pub mod prometheus;
mod set;
mod source;
mod timing;
mod views;

pub use descriptor::{
    DEFAULT_FREE_FORM_LIMIT, DURATION_BUCKETS, InstrumentDescriptor, InstrumentKind, SCORE_BUCKETS,
    ValueType,
};
pub use exemplars::{Exemplar, ExemplarFilter, exemplar_filter, set_exemplar_filter};
#[cfg(feature = "metrics-facade")]
pub use facade::{MAX_CACHED_SERIES, OtelRecorder, install_metrics_recorder, ucum_unit};
pub use instruments::{
    Counter, FloatCounter, Histogram, Instrument, IntoObservation, MAX_PREBOUND_COMBINATIONS,
    ObservableCounter, ObservableGauge, Observer, SourceError, SourceHealth, UpDownCounter,
    rejected_float_counter_values,
};
pub use labels::{
    FREE_FORM_VALUE_LIMIT, FreeForm, LabelDescriptor, LabelKind, LabelValues, ParseLabelError,
};
pub use prometheus::{prometheus_name, prometheus_unit};
pub use set::{
    InstrumentSet, descriptors, register_descriptors, register_instrument_set,
    registered_cardinality_limit,
};
pub use source::{CacheSnapshot, CachedSource, Refresher, StaleError};
pub use timing::{Operation, Timer};
pub use views::{cardinality_views, registered_cardinality_views};

#[doc(hidden)]
pub mod __private {
    pub use opentelemetry;
}
