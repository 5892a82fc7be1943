//! The `instrument_set!` macro: declare a typed instrument set once, get the struct, its
//! constructor, documented fields and the descriptors (instruments as data) from one declaration.

use crate::descriptor::InstrumentDescriptor;

/// A struct of instruments declared with [`instrument_set!`](crate::instrument_set).
pub trait InstrumentSet {
    /// Descriptors of every instrument, in declaration order.
    const DESCRIPTORS: &'static [InstrumentDescriptor];
    /// Creates every instrument on `meter`.
    fn new(meter: &opentelemetry::metrics::Meter) -> Self;
}

/// Declares a typed instrument set.
///
/// Each entry names a kind, a field, and its descriptor: OpenTelemetry `name`, `unit`,
/// `description`, `labels` (key → label kind, in order), and optionally histogram `buckets`
/// and a `cardinality_limit` (applied through [`cardinality_views`](crate::cardinality_views)).
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
