//! SDK views that apply each instrument's cardinality limit: for a given list of descriptors
//! ([`cardinality_views`]), or for every instrument set registered in the process
//! ([`registered_cardinality_views`]).

use std::collections::HashMap;

use opentelemetry_sdk::metrics::{Instrument, Stream};

use crate::descriptor::InstrumentDescriptor;

/// One SDK view covering every descriptor in `descriptors` that needs a cardinality limit
/// (a declared `cardinality_limit`, or a free-form label, which gets
/// [`DEFAULT_FREE_FORM_LIMIT`](crate::DEFAULT_FREE_FORM_LIMIT)).
///
/// Install it with `SdkMeterProvider::builder().with_view(cardinality_views(..))` (or
/// `ferrotel::init`'s `.with_view(..)`). Past the limit, new label combinations are folded
/// into one series carrying `otel.metric.overflow=true`, so memory stays bounded whatever the
/// traffic. Instruments not listed fall through to the SDK's default view (limit 2000).
///
/// It is a single view on purpose: when two views match one instrument with different stream
/// names, descriptions or units the SDK exports two streams (with the same ones, the first view
/// registered wins). Histogram buckets come from the instrument itself and are preserved.
///
/// Under `ferrotel::init()` this is not needed for sets declared with
/// [`instrument_set!`](crate::instrument_set): it installs [`registered_cardinality_views`].
///
/// ```
/// use opentelemetry_sdk::metrics::SdkMeterProvider;
/// use ferrotel_meters::{FreeForm, InstrumentSet, cardinality_views, instrument_set};
///
/// instrument_set! {
///     /// Embedding metrics.
///     pub struct EmbeddingMeters {
///         counter calls {
///             name: "embedding_calls_total",
///             unit: "{call}",
///             description: "Embedding calls by model.",
///             labels: { "model": FreeForm },
///             cardinality_limit: 50,
///         },
///     }
/// }
///
/// let provider = SdkMeterProvider::builder()
///     .with_view(cardinality_views(EmbeddingMeters::DESCRIPTORS))
///     .build();
/// # drop(provider);
/// ```
pub fn cardinality_views(
    descriptors: &[InstrumentDescriptor],
) -> impl Fn(&Instrument) -> Option<Stream> + Send + Sync + 'static {
    let limits: HashMap<&'static str, usize> = descriptors
        .iter()
        .filter_map(|d| d.effective_cardinality_limit().map(|l| (d.name, l)))
        .collect();
    move |instrument: &Instrument| {
        let limit = *limits.get(instrument.name())?;
        // A limit of 0 would be rejected by the SDK; the view is then skipped (default view).
        Stream::builder()
            .with_cardinality_limit(limit.max(1))
            .build()
            .ok()
    }
}

/// One SDK view applying the cardinality limit of every instrument of the registered instrument
/// sets ([`register_descriptors`](crate::register_descriptors); sets declared with
/// [`instrument_set!`](crate::instrument_set) register themselves when built). `ferrotel::init()`
/// installs it after the application's own views.
///
/// The registry is read when an instrument is created (that is when the SDK consults views), so
/// a set built after the provider is still covered. Instruments of no registered set fall through
/// to the SDK's default view (limit 2000). A view of the application's that matches the same
/// instrument, registered earlier, takes precedence (the SDK keeps the first of two identical
/// streams).
///
/// ```
/// use opentelemetry::metrics::MeterProvider as _;
/// use opentelemetry_sdk::metrics::SdkMeterProvider;
/// use ferrotel_meters::{FreeForm, instrument_set, registered_cardinality_views};
///
/// instrument_set! {
///     /// Cache metrics.
///     pub struct CacheMeters {
///         counter lookups {
///             name: "cache_lookups_total",
///             unit: "{lookup}",
///             description: "Lookups by key prefix.",
///             labels: { "prefix": FreeForm },
///             cardinality_limit: 100,
///         },
///     }
/// }
///
/// let provider = SdkMeterProvider::builder()
///     .with_view(registered_cardinality_views())
///     .build();
/// let meters = CacheMeters::new(&provider.meter("cache")); // registers the limit of 100
/// meters.lookups.add(1, "user:");
/// assert_eq!(ferrotel_meters::registered_cardinality_limit("cache_lookups_total"), Some(100));
/// ```
pub fn registered_cardinality_views()
-> impl Fn(&Instrument) -> Option<Stream> + Send + Sync + 'static {
    |instrument: &Instrument| {
        let limit = crate::set::registered_cardinality_limit(instrument.name())?;
        Stream::builder()
            .with_cardinality_limit(limit.max(1))
            .build()
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};

    use super::registered_cardinality_views;
    use crate::FreeForm;

    crate::instrument_set! {
        /// A set with a small declared limit.
        pub struct LimitedMeters {
            counter requests {
                name: "views_test_requests_total",
                unit: "{request}",
                description: "Requests by tenant.",
                labels: { "tenant": FreeForm },
                cardinality_limit: 25,
            },
        }
    }

    fn series(exporter: &InMemoryMetricExporter, name: &str) -> usize {
        let exports = exporter.get_finished_metrics().expect("in-memory metrics");
        let last = exports.last().expect("one export");
        last.scope_metrics()
            .flat_map(|s| s.metrics())
            .filter(|m| m.name() == name)
            .map(|m| match m.data() {
                AggregatedMetrics::U64(MetricData::Sum(s)) => s.data_points().count(),
                other => panic!("unexpected data {other:?}"),
            })
            .sum()
    }

    #[test]
    fn a_set_built_after_the_provider_gets_its_declared_limit() {
        let exporter = InMemoryMetricExporter::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .with_view(registered_cardinality_views())
            .build();
        let meters = LimitedMeters::new(&provider.meter("test"));
        for i in 0..10_000 {
            meters.requests.add(1, format!("tenant-{i}").as_str());
        }
        provider.force_flush().expect("flush");
        let n = series(&exporter, "views_test_requests_total");
        assert!(n <= 26, "{n} series for a limit of 25");
        assert!(n >= 25, "{n} series: the limit is used, not a smaller one");
        assert_eq!(
            crate::registered_cardinality_limit("views_test_requests_total"),
            Some(25)
        );
    }
}
