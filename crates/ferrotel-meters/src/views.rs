//! SDK views that apply each instrument's cardinality limit.

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
/// It is a single view on purpose: when two views match one instrument the SDK exports two
/// streams. Histogram buckets come from the instrument itself and are preserved.
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
