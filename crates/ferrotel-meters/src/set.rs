//! The `instrument_set!` macro: declare a typed instrument set once, get the struct, its
//! constructor, documented fields and the descriptors (instruments as data) from one declaration; and
//! the process-wide registry of the sets built so far, from which
//! [`registered_cardinality_views`](crate::registered_cardinality_views) applies their limits.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::descriptor::InstrumentDescriptor;

/// A struct of instruments declared with [`instrument_set!`](crate::instrument_set).
pub trait InstrumentSet {
    /// Descriptors of every instrument, in declaration order.
    const DESCRIPTORS: &'static [InstrumentDescriptor];
    /// Creates every instrument on `meter`. The sets declared with
    /// [`instrument_set!`](crate::instrument_set) first [`register`] their descriptors, so
    /// that a meter provider built with
    /// [`registered_cardinality_views`](crate::registered_cardinality_views) (as
    /// `ferrotel::init()` does) applies their cardinality limits.
    fn new(meter: &opentelemetry::metrics::Meter) -> Self;
}

/// Declares a typed instrument set.
///
/// Each entry names a kind, a field, and its descriptor: OpenTelemetry `name`, `unit`,
/// `description`, `labels` (key → label kind, in order), and optionally histogram `buckets`
/// and a `cardinality_limit`. Building the set registers its descriptors ([`register`]), so the
/// limits apply under `ferrotel::init()` and any provider built with
/// [`registered_cardinality_views`](crate::registered_cardinality_views); a provider built by
/// hand can list them with [`cardinality_views`](crate::cardinality_views) instead.
///
/// | kind | field type | records |
/// |---|---|---|
/// | `counter` | [`Counter<L>`](crate::Counter) | `u64` |
/// | `float_counter` | [`FloatCounter<L>`](crate::FloatCounter) | `f64 >= 0` |
/// | `up_down_counter` | [`UpDownCounter<L>`](crate::UpDownCounter) | `i64` |
/// | `histogram` | [`Histogram<L>`](crate::Histogram) | `f64` |
/// | `observable_gauge` / `float_observable_gauge` | [`ObservableGauge<L, u64/f64>`](crate::ObservableGauge) | callback |
/// | `observable_counter` | [`ObservableCounter<L, u64>`](crate::ObservableCounter) | callback |
///
/// The label set `L` is `()` for no labels, the kind itself for one label, a tuple otherwise.
/// Each field's doc comment is generated from its description, name, unit and labels.
///
/// ```
/// use ferrotel_meters::{instrument_set, label_enum, FreeForm, InstrumentSet};
///
/// label_enum! {
///     /// Job outcome.
///     pub enum JobStatus { Done = "done", Failed = "failed" }
/// }
///
/// instrument_set! {
///     /// Worker metrics.
///     pub struct WorkerMeters {
///         counter jobs {
///             name: "worker_jobs_processed_total",
///             unit: "{job}",
///             description: "Jobs processed by queue and status.",
///             labels: { "queue": FreeForm, "status": JobStatus },
///             cardinality_limit: 50,
///         },
///         histogram job_duration {
///             name: "worker_job_duration_seconds",
///             unit: "s",
///             description: "Job processing time.",
///             labels: {},
///             buckets: ferrotel_meters::DURATION_BUCKETS,
///         },
///     }
/// }
///
/// let meter = opentelemetry::global::meter("doc");
/// let m = WorkerMeters::new(&meter);
/// m.jobs.add(1, ("emails", JobStatus::Done));
/// m.job_duration.record(0.2, ());
/// assert_eq!(WorkerMeters::DESCRIPTORS.len(), 2);
/// ```
#[macro_export]
macro_rules! instrument_set {
    (
        $(#[$meta:meta])*
        $vis:vis struct $Set:ident {
            $(
                $(#[doc = $doc:literal])*
                $kind:ident $field:ident {
                    name: $name:literal,
                    unit: $unit:literal,
                    description: $desc:literal,
                    labels: { $($key:literal : $lk:ty),* $(,)? }
                    $(, buckets: $buckets:expr)?
                    $(, cardinality_limit: $limit:expr)?
                    $(,)?
                }
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug)]
        #[non_exhaustive]
        $vis struct $Set {
            $(
                #[doc = $desc]
                #[doc = ""]
                #[doc = concat!(
                    "OTel `", $name, "` (", stringify!($kind), ", unit `", $unit, "`)",
                    $(", label `", $key, "`: [`", stringify!($lk), "`]",)*
                    "."
                )]
                $(#[doc = ""] #[doc = $doc])*
                pub $field: $crate::instrument_set!(@ty $kind, $crate::instrument_set!(@labels $($lk),*)),
            )*
        }

        impl $crate::InstrumentSet for $Set {
            const DESCRIPTORS: &'static [$crate::InstrumentDescriptor] = &[
                $(
                    $crate::InstrumentDescriptor {
                        name: $name,
                        kind: <$crate::instrument_set!(@ty $kind, $crate::instrument_set!(@labels $($lk),*)) as $crate::Instrument>::KIND,
                        value_type: <$crate::instrument_set!(@ty $kind, $crate::instrument_set!(@labels $($lk),*)) as $crate::Instrument>::VALUE_TYPE,
                        unit: $unit,
                        description: $desc,
                        labels: &[$($crate::LabelDescriptor::of::<$lk>($key)),*],
                        buckets: $crate::instrument_set!(@opt $($buckets)?),
                        cardinality_limit: $crate::instrument_set!(@opt $($limit)?),
                    },
                )*
            ];

            fn new(meter: &$crate::__private::opentelemetry::metrics::Meter) -> Self {
                // Before the instruments exist: views are consulted when an instrument is built.
                $crate::register_instrument_set::<Self>();
                let mut _i = 0usize;
                $(
                    let $field = <$crate::instrument_set!(@ty $kind, $crate::instrument_set!(@labels $($lk),*)) as $crate::Instrument>::build(
                        meter,
                        &<Self as $crate::InstrumentSet>::DESCRIPTORS[_i],
                    );
                    _i += 1;
                )*
                $Set { $($field),* }
            }
        }

        impl $Set {
            /// Creates every instrument of the set on `meter`.
            pub fn new(meter: &$crate::__private::opentelemetry::metrics::Meter) -> Self {
                <Self as $crate::InstrumentSet>::new(meter)
            }
        }
    };

    (@labels) => { () };
    (@labels $one:ty) => { $one };
    (@labels $($many:ty),+) => { ($($many,)+) };

    (@opt) => { None };
    (@opt $v:expr) => { Some($v) };

    (@ty counter, $L:ty) => { $crate::Counter<$L> };
    (@ty float_counter, $L:ty) => { $crate::FloatCounter<$L> };
    (@ty up_down_counter, $L:ty) => { $crate::UpDownCounter<$L> };
    (@ty histogram, $L:ty) => { $crate::Histogram<$L> };
    (@ty observable_gauge, $L:ty) => { $crate::ObservableGauge<$L, u64> };
    (@ty float_observable_gauge, $L:ty) => { $crate::ObservableGauge<$L, f64> };
    (@ty observable_counter, $L:ty) => { $crate::ObservableCounter<$L, u64> };
}

/// Every descriptor of a set, for generic code.
pub fn descriptors<S: InstrumentSet>() -> &'static [InstrumentDescriptor] {
    S::DESCRIPTORS
}

/// Cardinality limits of the registered sets, by instrument name.
static LIMITS: RwLock<Option<HashMap<&'static str, usize>>> = RwLock::new(None);

/// Registers `descriptors` in the process-wide registry of instrument sets: from then on,
/// [`registered_cardinality_limit`] (and the view
/// [`registered_cardinality_views`](crate::registered_cardinality_views)) knows the
/// cardinality limit of each of them ([`InstrumentDescriptor::effective_cardinality_limit`]).
///
/// Sets declared with [`instrument_set!`](crate::instrument_set) call it when they are built;
/// call it for descriptors of instruments created another way. Registering again is cheap and
/// changes nothing; when two sets declare the same instrument name, the first limit registered
/// stays.
pub fn register_descriptors(descriptors: &'static [InstrumentDescriptor]) {
    let limited = || {
        descriptors
            .iter()
            .filter_map(|d| d.effective_cardinality_limit().map(|l| (d.name, l)))
    };
    let known = |map: &HashMap<&'static str, usize>| limited().all(|(n, _)| map.contains_key(n));
    // A poisoned lock only means a panic elsewhere while inserting: the map is still usable.
    if LIMITS
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_some_and(known)
    {
        return;
    }
    let mut guard = LIMITS.write().unwrap_or_else(|e| e.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    for (name, limit) in limited() {
        map.entry(name).or_insert(limit);
    }
}

/// [`register_descriptors`] for the set `S`.
pub fn register_instrument_set<S: InstrumentSet>() {
    register_descriptors(S::DESCRIPTORS);
}

/// The cardinality limit a registered set declares for the instrument `name` (`None` when no
/// registered set limits it).
pub fn registered_cardinality_limit(name: &str) -> Option<usize> {
    LIMITS
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()?
        .get(name)
        .copied()
}
