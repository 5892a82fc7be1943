//! Typed instruments over the OpenTelemetry metrics API.
//!
//! Each instrument is generic over its [`LabelSet`]. When every label is a closed enum the
//! instrument keeps one pre-bound SDK handle per label combination (bound lazily, on first
//! use), so a measurement is an index computation plus the SDK's bound update: no attribute
//! allocation, no hashing, no lock. Label sets with a free-form value take the ordinary SDK
//! path with attributes built on the stack.

use std::fmt;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use opentelemetry::metrics::{
    AsyncInstrument, BoundCounter, BoundHistogram, BoundUpDownCounter, Meter,
};

use crate::descriptor::{InstrumentDescriptor, InstrumentKind, ValueType};
use crate::exemplars::{ExemplarReservoir, InstrumentExemplars, Offer};
use crate::labels::LabelSet;

/// Label combinations above this count are not pre-bound (the instrument falls back to the
/// attribute path), so a large closed product never costs more than this many slots.
pub const MAX_PREBOUND_COMBINATIONS: usize = 1024;

/// An instrument that an instrument set can create from its descriptor.
pub trait Instrument: Sized {
    /// Kind recorded in the descriptor.
    const KIND: InstrumentKind;
    /// Number type recorded in the descriptor.
    const VALUE_TYPE: ValueType;
    /// Creates the instrument on `meter`.
    fn build(meter: &Meter, descriptor: &'static InstrumentDescriptor) -> Self;
    /// The descriptor the instrument was built from.
    fn descriptor(&self) -> &'static InstrumentDescriptor;
}

fn slots<T, L: LabelSet>() -> Box<[OnceLock<T>]> {
    match L::CARDINALITY {
        Some(n) if n <= MAX_PREBOUND_COMBINATIONS => (0..n).map(|_| OnceLock::new()).collect(),
        _ => Box::new([]),
    }
}

macro_rules! sync_instrument {
    (
        $(#[$meta:meta])*
        $Name:ident, $num:ty, $Otel:ident, $Bound:ident, $ctor:ident, $method:ident,
        kind = $kind:expr, value_type = $vt:expr, buckets = $buckets:ident
    ) => {
        $(#[$meta])*
        pub struct $Name<L: LabelSet> {
            inner: opentelemetry::metrics::$Otel<$num>,
            bound: Box<[OnceLock<$Bound<$num>>]>,
            descriptor: &'static InstrumentDescriptor,
            exemplars: Option<Exemplars>,
            _labels: PhantomData<fn(L)>,
        }

        impl<L: LabelSet> fmt::Debug for $Name<L> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($Name))
                    .field("name", &self.descriptor.name)
                    .field("prebound_slots", &self.bound.len())
                    .field("exemplars", &self.exemplars.is_some())
                    .finish()
            }
        }

        impl<L: LabelSet> $Name<L> {
            #[inline]
            fn measure(&self, value: $num, labels: L::Values<'_>) {
                if L::CARDINALITY.is_some() {
                    if let Some(slot) = self.bound.get(L::ordinal(labels)) {
                        slot.get_or_init(|| {
                            L::with_attributes(labels, self.descriptor.labels, |attrs| {
                                self.inner.bind(attrs)
                            })
                        })
                        .$method(value);
                        return;
                    }
                }
                L::with_attributes(labels, self.descriptor.labels, |attrs| {
                    self.inner.$method(value, attrs)
                });
            }

            /// The underlying OpenTelemetry instrument (for code that builds its own attributes).
            pub fn otel(&self) -> &opentelemetry::metrics::$Otel<$num> {
                &self.inner
            }
        }

        impl<L: LabelSet> Instrument for $Name<L> {
            const KIND: InstrumentKind = $kind;
            const VALUE_TYPE: ValueType = $vt;
            fn build(meter: &Meter, descriptor: &'static InstrumentDescriptor) -> Self {
                let builder = meter
                    .$ctor(descriptor.name)
                    .with_unit(descriptor.unit)
                    .with_description(descriptor.description);
                sync_instrument!(@buckets $buckets, builder, descriptor);
                $Name {
                    inner: builder.build(),
                    bound: slots::<$Bound<$num>, L>(),
                    descriptor,
                    exemplars: sync_instrument!(@exemplars $buckets, descriptor, L),
                    _labels: PhantomData,
                }
            }
            fn descriptor(&self) -> &'static InstrumentDescriptor {
                self.descriptor
            }
        }
    };
    (@buckets yes, $builder:ident, $d:ident) => {
        let $builder = match $d.buckets {
            Some(b) => $builder.with_boundaries(b.to_vec()),
            None => $builder,
        };
    };
    (@buckets no, $builder:ident, $d:ident) => {};
    (@exemplars yes, $d:ident, $L:ident) => {
        Exemplars::new::<$L>($d)
    };
    (@exemplars no, $d:ident, $L:ident) => {
        None
    };
}

/// The exemplar reservoirs of a histogram: the instrument's registered reservoirs, and for a
/// closed label set one cached reservoir per combination (found without building attributes).
struct Exemplars {
    instrument: Arc<InstrumentExemplars>,
    bound: Box<[OnceLock<Option<Arc<ExemplarReservoir>>>]>,
}

impl Exemplars {
    fn new<L: LabelSet>(descriptor: &'static InstrumentDescriptor) -> Option<Self> {
        let bounds = descriptor.buckets.unwrap_or(SDK_DEFAULT_BUCKETS);
        Some(Self {
            instrument: InstrumentExemplars::register(descriptor.name, bounds)?,
            bound: slots::<Option<Arc<ExemplarReservoir>>, L>(),
        })
    }

    /// The cached reservoir of a closed label set's combination, `None` for free-form sets
    /// (whose reservoir is found by attribute set).
    fn bound<L: LabelSet>(
        &self,
        labels: L::Values<'_>,
        descriptor: &'static InstrumentDescriptor,
    ) -> Option<Option<Arc<ExemplarReservoir>>> {
        L::CARDINALITY?;
        let slot = self.bound.get(L::ordinal(labels))?;
        Some(
            slot.get_or_init(|| {
                L::with_attributes(labels, descriptor.labels, |attrs| {
                    self.instrument.reservoir(attrs)
                })
            })
            .clone(),
        )
    }
}
/// The SDK's default explicit bucket boundaries, for histograms whose descriptor has none.
const SDK_DEFAULT_BUCKETS: &[f64] = &[
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

sync_instrument!(
    /// A monotonic `f64` counter (money, fractional quantities). See [`FloatCounter::add`].
    FloatCounter, f64, Counter, BoundCounter, f64_counter, add,
    kind = InstrumentKind::Counter, value_type = ValueType::F64, buckets = no
);

sync_instrument!(
    /// A non-monotonic `i64` counter (in-flight work, pool sizes). See [`UpDownCounter::add`].
    UpDownCounter, i64, UpDownCounter, BoundUpDownCounter, i64_up_down_counter, add,
    kind = InstrumentKind::UpDownCounter, value_type = ValueType::I64, buckets = no
);

sync_instrument!(
    /// An `f64` histogram with the descriptor's explicit buckets. See [`Histogram::record`].
    Histogram, f64, Histogram, BoundHistogram, f64_histogram, record,
    kind = InstrumentKind::Histogram, value_type = ValueType::F64, buckets = yes
);

/// One counter cell on its own cache line, so threads hitting different series do not
/// contend.
#[repr(align(64))]
struct Cell(AtomicU64);

enum CounterRepr {
    /// Closed label set: one atomic per combination, reported by an observable counter.
    Cells(Arc<[Cell]>),
    /// Label set with a free-form value: the SDK counter.
    Sdk(opentelemetry::metrics::Counter<u64>),
}

/// A monotonic `u64` counter. See [`Counter::add`].
///
/// When every label is a closed enum (and there are at most [`MAX_PREBOUND_COMBINATIONS`]
/// combinations) the counter is pre-bound in the cheapest way there is: one cache-line-padded
/// `AtomicU64` per combination, so `add` is an index computation plus one `fetch_add`. The
/// cells are reported at each collection through an OTel observable counter with the same
/// name, unit and description; the exported data is the same monotonic cumulative sum (the SDK
/// derives deltas for delta exporters, and views apply as usual). Combinations never recorded
/// are not exported. Label sets with a free-form value use the SDK counter.
pub struct Counter<L: LabelSet> {
    repr: CounterRepr,
    descriptor: &'static InstrumentDescriptor,
    _labels: PhantomData<fn(L)>,
}

impl<L: LabelSet> fmt::Debug for Counter<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cells = match &self.repr {
            CounterRepr::Cells(c) => c.len(),
            CounterRepr::Sdk(_) => 0,
        };
        f.debug_struct("Counter")
            .field("name", &self.descriptor.name)
            .field("prebound_cells", &cells)
            .finish()
    }
}

impl<L: LabelSet> Counter<L> {
    /// Adds `value` to the series identified by `labels`.
    #[inline]
    pub fn add(&self, value: u64, labels: L::Values<'_>) {
        match &self.repr {
            CounterRepr::Cells(cells) => {
                if let Some(cell) = cells.get(L::ordinal(labels)) {
                    cell.0.fetch_add(value, Ordering::Relaxed);
                }
            }
            CounterRepr::Sdk(counter) => {
                L::with_attributes(labels, self.descriptor.labels, |attrs| {
                    counter.add(value, attrs)
                });
            }
        }
    }

    /// Current total of one series of a closed-label counter (`None` for a counter with a
    /// free-form label, whose totals live in the SDK).
    pub fn value(&self, labels: L::Values<'_>) -> Option<u64> {
        match &self.repr {
            CounterRepr::Cells(cells) => cells
                .get(L::ordinal(labels))
                .map(|c| c.0.load(Ordering::Relaxed)),
            CounterRepr::Sdk(_) => None,
        }
    }
}

impl<L: LabelSet> Instrument for Counter<L> {
    const KIND: InstrumentKind = InstrumentKind::Counter;
    const VALUE_TYPE: ValueType = ValueType::U64;
    fn build(meter: &Meter, descriptor: &'static InstrumentDescriptor) -> Self {
        let repr = match L::CARDINALITY {
            Some(n) if n <= MAX_PREBOUND_COMBINATIONS => {
                let cells: Arc<[Cell]> = (0..n).map(|_| Cell(AtomicU64::new(0))).collect();
                let read = Arc::clone(&cells);
                let keys = descriptor.labels;
                let _observable = meter
                    .u64_observable_counter(descriptor.name)
                    .with_unit(descriptor.unit)
                    .with_description(descriptor.description)
                    .with_callback(move |o| {
                        for (i, cell) in read.iter().enumerate() {
                            let v = cell.0.load(Ordering::Relaxed);
                            if v == 0 {
                                continue;
                            }
                            if let Some(values) = L::values_at(i) {
                                L::with_attributes(values, keys, |attrs| o.observe(v, attrs));
                            }
                        }
                    })
                    .build();
                CounterRepr::Cells(cells)
            }
            _ => CounterRepr::Sdk(
                meter
                    .u64_counter(descriptor.name)
                    .with_unit(descriptor.unit)
                    .with_description(descriptor.description)
                    .build(),
            ),
        };
        Counter {
            repr,
            descriptor,
            _labels: PhantomData,
        }
    }
    fn descriptor(&self) -> &'static InstrumentDescriptor {
        self.descriptor
    }
}

/// Measurements rejected by [`FloatCounter::add`] (NaN, infinite or negative), process-wide.
static REJECTED_FLOAT_COUNTER_VALUES: AtomicU64 = AtomicU64::new(0);

/// Number of NaN, infinite or negative values dropped by every [`FloatCounter`] so far.
pub fn rejected_float_counter_values() -> u64 {
    REJECTED_FLOAT_COUNTER_VALUES.load(Ordering::Relaxed)
}

impl<L: LabelSet> FloatCounter<L> {
    /// Adds `value` to the series identified by `labels`.
    ///
    /// A counter only goes up: NaN, infinite and negative values are dropped (and counted in
    /// [`rejected_float_counter_values`]) rather than corrupting the total.
    #[inline]
    pub fn add(&self, value: f64, labels: L::Values<'_>) {
        if value.is_finite() && value >= 0.0 {
            self.measure(value, labels)
        } else {
            REJECTED_FLOAT_COUNTER_VALUES.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl<L: LabelSet> UpDownCounter<L> {
    /// Adds `delta` (positive or negative) to the series identified by `labels`.
    #[inline]
    pub fn add(&self, delta: i64, labels: L::Values<'_>) {
        self.measure(delta, labels)
    }
}

impl<L: LabelSet> Histogram<L> {
    /// Records `value` in the series identified by `labels`. NaN and infinite values are
    /// ignored by the SDK.
    ///
    /// When the exemplar filter admits the span current on this thread (by default: a sampled
    /// span is current), the value is also kept as its bucket's exemplar (see
    /// [`exemplars`](crate::exemplars)).
    #[inline]
    pub fn record(&self, value: f64, labels: L::Values<'_>) {
        match &self.exemplars {
            Some(exemplars) => match Offer::current() {
                Some(offer) => self.record_with_exemplar(value, labels, exemplars, offer),
                None => self.measure(value, labels),
            },
            None => self.measure(value, labels),
        }
    }

    /// A record the filter admits: measured, and offered to the series' reservoir. A free-form
    /// set's attributes are built once, for both.
    #[cold]
    fn record_with_exemplar(
        &self,
        value: f64,
        labels: L::Values<'_>,
        exemplars: &Exemplars,
        offer: Offer,
    ) {
        if let Some(reservoir) = exemplars.bound::<L>(labels, self.descriptor) {
            self.measure(value, labels);
            if let Some(reservoir) = reservoir {
                reservoir.offer(value, offer);
            }
            return;
        }
        L::with_attributes(labels, self.descriptor.labels, |attrs| {
            self.inner.record(value, attrs);
            exemplars.instrument.offer(value, offer, attrs);
        });
    }

    /// Records a duration in seconds.
    #[inline]
    pub fn record_duration(&self, elapsed: Duration, labels: L::Values<'_>) {
        self.record(elapsed.as_secs_f64(), labels)
    }
}

/// Error type returned by observable-instrument data sources.
pub type SourceError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Passed to a data source at each collection: records observations with typed labels.
pub struct Observer<'a, L: LabelSet, T> {
    inner: &'a dyn AsyncInstrument<T>,
    descriptor: &'static InstrumentDescriptor,
    _labels: PhantomData<fn(L)>,
}

impl<L: LabelSet, T> fmt::Debug for Observer<'_, L, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Observer")
            .field("instrument", &self.descriptor.name)
            .finish()
    }
}

impl<L: LabelSet, T: Copy> Observer<'_, L, T> {
    /// Reports the current `value` of the series identified by `labels`.
    pub fn observe(&self, value: T, labels: L::Values<'_>) {
        L::with_attributes(labels, self.descriptor.labels, |attrs| {
            self.inner.observe(value, attrs)
        })
    }
}

type SourceFn<L, T> = dyn for<'a> Fn(&Observer<'a, L, T>) -> Result<(), SourceError> + Send + Sync;

/// Health of an observable instrument's data source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceHealth {
    /// Whether a source is registered.
    pub registered: bool,
    /// Collections in which the source returned an error or panicked.
    pub failures: u64,
    /// The most recent error or panic message, cleared by the next success.
    pub last_error: Option<String>,
}

struct SourceSlot<L: LabelSet, T> {
    source: RwLock<Option<Arc<SourceFn<L, T>>>>,
    failures: AtomicU64,
    last_error: Mutex<Option<String>>,
    descriptor: &'static InstrumentDescriptor,
}

impl<L: LabelSet, T: Copy> SourceSlot<L, T> {
    /// Runs the registered source inside the SDK collection. Errors and panics are contained
    /// here so one broken source never stops the collection of other instruments.
    fn collect(&self, inner: &dyn AsyncInstrument<T>) {
        let source = self
            .source
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(source) = source else { return };
        let observer = Observer {
            inner,
            descriptor: self.descriptor,
            _labels: PhantomData,
        };
        let outcome = match catch_unwind(AssertUnwindSafe(|| source(&observer))) {
            Ok(Ok(())) => None,
            Ok(Err(err)) => Some(err.to_string()),
            Err(panic) => Some(format!("data source panicked: {}", panic_message(&*panic))),
        };
        let mut last = self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match outcome {
            None => *last = None,
            Some(msg) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                // Log on transitions only: a source failing at every collection would
                // otherwise flood the logs.
                if last.as_deref() != Some(msg.as_str()) {
                    tracing::warn!(
                        instrument = self.descriptor.name,
                        error = %msg,
                        "observable instrument data source failed; its series is skipped for this collection"
                    );
                }
                *last = Some(msg);
            }
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

macro_rules! observable_instrument {
    (
        $(#[$meta:meta])*
        $Name:ident, $Otel:ident, $kind:expr, [$($num:ty => $ctor:ident, $vt:expr);+]
    ) => {
        $(#[$meta])*
        pub struct $Name<L: LabelSet, T> {
            slot: Arc<SourceSlot<L, T>>,
            _handle: Option<opentelemetry::metrics::$Otel<T>>,
        }

        impl<L: LabelSet, T> fmt::Debug for $Name<L, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($Name))
                    .field("name", &self.slot.descriptor.name)
                    .finish()
            }
        }

        impl<L: LabelSet, T: Copy + Send + Sync + 'static> $Name<L, T> {
            /// Registers the data source read at each collection, replacing any previous one.
            ///
            /// The source runs inside the SDK's collection: keep it fast and non-blocking
            /// (read a cached value, see [`CachedSource`](crate::CachedSource)). An error or a
            /// panic skips this instrument for that collection, is logged once per distinct
            /// message and is visible in [`health`](Self::health); other instruments are
            /// still collected.
            pub fn register<F>(&self, source: F)
            where
                F: for<'a> Fn(&Observer<'a, L, T>) -> Result<(), SourceError> + Send + Sync + 'static,
            {
                *self
                    .slot
                    .source
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(source));
            }

            /// Removes the data source: the instrument reports nothing until a new one is registered.
            pub fn unregister(&self) {
                *self
                    .slot
                    .source
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = None;
            }

            /// Whether a source is registered, how often it failed and its last error.
            pub fn health(&self) -> SourceHealth {
                SourceHealth {
                    registered: self
                        .slot
                        .source
                        .read()
                        .unwrap_or_else(PoisonError::into_inner)
                        .is_some(),
                    failures: self.slot.failures.load(Ordering::Relaxed),
                    last_error: self
                        .slot
                        .last_error
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .clone(),
                }
            }
        }

        impl<T: Copy + Send + Sync + 'static> $Name<(), T> {
            /// Registers a source for an instrument without labels: `|| store.count()`.
            ///
            /// The closure may return `T`, `Option<T>` (nothing observed) or `Result<T, E>`.
            pub fn register_value<F, R>(&self, source: F)
            where
                F: Fn() -> R + Send + Sync + 'static,
                R: IntoObservation<T>,
            {
                self.register(move |o| {
                    if let Some(v) = source().into_observation()? {
                        o.observe(v, ());
                    }
                    Ok(())
                });
            }
        }

        $(
        impl<L: LabelSet> Instrument for $Name<L, $num> {
            const KIND: InstrumentKind = $kind;
            const VALUE_TYPE: ValueType = $vt;
            fn build(meter: &Meter, descriptor: &'static InstrumentDescriptor) -> Self {
                let slot = Arc::new(SourceSlot {
                    source: RwLock::new(None),
                    failures: AtomicU64::new(0),
                    last_error: Mutex::new(None),
                    descriptor,
                });
                let cb_slot = Arc::clone(&slot);
                let handle = meter
                    .$ctor(descriptor.name)
                    .with_unit(descriptor.unit)
                    .with_description(descriptor.description)
                    .with_callback(move |inner| cb_slot.collect(inner))
                    .build();
                $Name { slot, _handle: Some(handle) }
            }
            fn descriptor(&self) -> &'static InstrumentDescriptor {
                self.slot.descriptor
            }
        }
        )+
    };
}

observable_instrument!(
    /// A gauge read by callback at each collection; its data source is registered later with
    /// [`register`](ObservableGauge::register) or [`register_value`](ObservableGauge::register_value).
    ObservableGauge, ObservableGauge, InstrumentKind::ObservableGauge,
    [u64 => u64_observable_gauge, ValueType::U64; f64 => f64_observable_gauge, ValueType::F64;
     i64 => i64_observable_gauge, ValueType::I64]
);

observable_instrument!(
    /// A monotonic counter read by callback (the source reports the running total).
    ObservableCounter, ObservableCounter, InstrumentKind::ObservableCounter,
    [u64 => u64_observable_counter, ValueType::U64; f64 => f64_observable_counter, ValueType::F64]
);

/// What a no-label data source closure may return.
pub trait IntoObservation<T> {
    /// `Ok(Some(v))` to observe `v`, `Ok(None)` to observe nothing, `Err` on failure.
    fn into_observation(self) -> Result<Option<T>, SourceError>;
}

impl<T> IntoObservation<T> for T {
    fn into_observation(self) -> Result<Option<T>, SourceError> {
        Ok(Some(self))
    }
}

impl<T> IntoObservation<T> for Option<T> {
    fn into_observation(self) -> Result<Option<T>, SourceError> {
        Ok(self)
    }
}

impl<T, E: Into<SourceError>> IntoObservation<T> for Result<T, E> {
    fn into_observation(self) -> Result<Option<T>, SourceError> {
        self.map(Some).map_err(Into::into)
    }
}
