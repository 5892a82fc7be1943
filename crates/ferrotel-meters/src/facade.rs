//! A [`metrics::Recorder`] that sends `metrics::counter!`/`gauge!`/`histogram!` calls (from
//! libraries the service depends on) through the OpenTelemetry pipeline.
//!
//! * counters → OTel `u64` counters (`absolute(v)` adds the increase since the last absolute
//!   value, so the exported sum stays monotonic);
//! * gauges → OTel `f64` gauges (`increment`/`decrement` act on the last value of that series);
//! * histograms → OTel `f64` histograms, with [`DURATION_BUCKETS`](crate::DURATION_BUCKETS)
//!   when the unit is seconds or the name ends in `_seconds`, the SDK defaults otherwise.
//!
//! Each `(name, labels)` series is bound once to an SDK bound instrument and cached, so a
//! `counter!("x").increment(1)` in a hot loop costs a map lookup plus a bound add. The cache
//! holds at most [`MAX_CACHED_SERIES`] series per kind; beyond it handles are not cached (the
//! SDK cardinality limit still bounds memory). `describe_*` calls made before the first use of
//! a name set its unit and description.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SetRecorderError, SharedString, Unit,
};
use opentelemetry::KeyValue;
use opentelemetry::metrics::{BoundCounter, BoundGauge, BoundHistogram, Meter};

use crate::descriptor::DURATION_BUCKETS;

/// Series cached per instrument kind.
pub const MAX_CACHED_SERIES: usize = 10_000;

/// UCUM unit for a `metrics` unit.
pub fn ucum_unit(unit: Unit) -> &'static str {
    match unit {
        // Dimensionless counts: an empty unit adds no Prometheus suffix (`1` would add `_ratio`
        // to gauges).
        Unit::Count => "",
        Unit::Percent => "%",
        Unit::Seconds => "s",
        Unit::Milliseconds => "ms",
        Unit::Microseconds => "us",
        Unit::Nanoseconds => "ns",
        Unit::Tebibytes => "TiBy",
        Unit::Gibibytes => "GiBy",
        Unit::Mebibytes => "MiBy",
        Unit::Kibibytes => "KiBy",
        Unit::Bytes => "By",
        Unit::TerabitsPerSecond => "Tbit/s",
        Unit::GigabitsPerSecond => "Gbit/s",
        Unit::MegabitsPerSecond => "Mbit/s",
        Unit::KilobitsPerSecond => "kbit/s",
        Unit::BitsPerSecond => "bit/s",
        Unit::CountPerSecond => "{count}/s",
    }
}

struct CounterHandle {
    bound: BoundCounter<u64>,
    last_absolute: AtomicU64,
}

impl CounterFn for CounterHandle {
    fn increment(&self, value: u64) {
        self.bound.add(value);
    }
    fn absolute(&self, value: u64) {
        let prev = self.last_absolute.fetch_max(value, Ordering::AcqRel);
        if value > prev {
            self.bound.add(value - prev);
        }
    }
}

struct GaugeHandle {
    bound: BoundGauge<f64>,
    bits: AtomicU64,
}

impl GaugeHandle {
    fn update(&self, f: impl Fn(f64) -> f64) {
        let mut new = 0.0;
        let _ = self
            .bits
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
                new = f(f64::from_bits(b));
                Some(new.to_bits())
            });
        self.bound.record(new);
    }
}

impl GaugeFn for GaugeHandle {
    fn increment(&self, value: f64) {
        self.update(|v| v + value)
    }
    fn decrement(&self, value: f64) {
        self.update(|v| v - value)
    }
    fn set(&self, value: f64) {
        self.update(|_| value)
    }
}

struct HistogramHandle(BoundHistogram<f64>);

impl HistogramFn for HistogramHandle {
    fn record(&self, value: f64) {
        self.0.record(value)
    }
}

type Cache<I, H> = RwLock<(HashMap<String, I>, HashMap<Key, Arc<H>>)>;

struct Inner {
    meter: Meter,
    descriptions: RwLock<HashMap<String, (Option<Unit>, SharedString)>>,
    counters: Cache<opentelemetry::metrics::Counter<u64>, CounterHandle>,
    gauges: Cache<opentelemetry::metrics::Gauge<f64>, GaugeHandle>,
    histograms: Cache<opentelemetry::metrics::Histogram<f64>, HistogramHandle>,
}

/// The `metrics` facade recorder backed by an OpenTelemetry [`Meter`]. Cloning shares state.
///
/// ```
/// let meter = opentelemetry::global::meter("deps");
/// let recorder = ferrotel_meters::OtelRecorder::new(meter);
/// metrics::with_local_recorder(&recorder, || {
///     metrics::counter!("cache_hits_total", "cache" => "users").increment(1);
/// });
/// ```
#[derive(Clone)]
pub struct OtelRecorder {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for OtelRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtelRecorder").finish_non_exhaustive()
    }
}

/// Installs an [`OtelRecorder`] on `meter` as the process-wide `metrics` recorder. Fails if a
/// recorder is already installed (the `metrics` crate allows one per process).
pub fn install_metrics_recorder(meter: Meter) -> Result<(), SetRecorderError<OtelRecorder>> {
    metrics::set_global_recorder(OtelRecorder::new(meter))
}

/// The labels as attributes, values cut like free-form labels (a `metrics` label is free-form
/// by nature).
fn attributes(key: &Key) -> Vec<KeyValue> {
    key.labels()
        .map(|l| {
            KeyValue::new(
                l.key().to_owned(),
                crate::labels::free_form_value(l.value()).to_owned(),
            )
        })
        .collect()
}

impl OtelRecorder {
    /// A recorder creating its instruments on `meter`.
    pub fn new(meter: Meter) -> Self {
        OtelRecorder {
            inner: Arc::new(Inner {
                meter,
                descriptions: RwLock::default(),
                counters: RwLock::default(),
                gauges: RwLock::default(),
                histograms: RwLock::default(),
            }),
        }
    }

    fn describe(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner
            .descriptions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.as_str().to_owned(), (unit, description));
    }

    fn description(&self, name: &str) -> (Option<Unit>, String) {
        self.inner
            .descriptions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .map(|(u, d)| (*u, d.to_string()))
            .unwrap_or((None, String::new()))
    }

    /// Returns the cached handle for `key`, or creates (instrument if needed, then bound handle).
    fn handle<I: Clone, H>(
        cache: &Cache<I, H>,
        key: &Key,
        make_instrument: impl FnOnce() -> I,
        bind: impl FnOnce(&I, &[KeyValue]) -> H,
    ) -> Arc<H> {
        if let Some(h) = cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .get(key)
        {
            return Arc::clone(h);
        }
        let mut guard = cache.write().unwrap_or_else(PoisonError::into_inner);
        let (instruments, handles) = &mut *guard;
        if let Some(h) = handles.get(key) {
            return Arc::clone(h);
        }
        let instrument = instruments
            .entry(key.name().to_owned())
            .or_insert_with(make_instrument)
            .clone();
        let handle = Arc::new(bind(&instrument, &attributes(key)));
        if handles.len() < MAX_CACHED_SERIES {
            handles.insert(key.clone(), Arc::clone(&handle));
        }
        handle
    }
}

impl Recorder for OtelRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, unit, description)
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, unit, description)
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, unit, description)
    }

    fn register_counter(&self, key: &Key, _metadata: &Metadata<'_>) -> Counter {
        let h = Self::handle(
            &self.inner.counters,
            key,
            || {
                let (unit, desc) = self.description(key.name());
                self.inner
                    .meter
                    .u64_counter(key.name().to_owned())
                    .with_unit(unit.map(ucum_unit).unwrap_or(""))
                    .with_description(desc)
                    .build()
            },
            |c, attrs| CounterHandle {
                bound: c.bind(attrs),
                last_absolute: AtomicU64::new(0),
            },
        );
        Counter::from_arc(h)
    }

    fn register_gauge(&self, key: &Key, _metadata: &Metadata<'_>) -> Gauge {
        let h = Self::handle(
            &self.inner.gauges,
            key,
            || {
                let (unit, desc) = self.description(key.name());
                self.inner
                    .meter
                    .f64_gauge(key.name().to_owned())
                    .with_unit(unit.map(ucum_unit).unwrap_or(""))
                    .with_description(desc)
                    .build()
            },
            |g, attrs| GaugeHandle {
                bound: g.bind(attrs),
                bits: AtomicU64::new(0f64.to_bits()),
            },
        );
        Gauge::from_arc(h)
    }

    fn register_histogram(&self, key: &Key, _metadata: &Metadata<'_>) -> Histogram {
        let h = Self::handle(
            &self.inner.histograms,
            key,
            || {
                let (unit, desc) = self.description(key.name());
                let seconds = unit == Some(Unit::Seconds) || key.name().ends_with("_seconds");
                let b = self
                    .inner
                    .meter
                    .f64_histogram(key.name().to_owned())
                    .with_unit(unit.map(ucum_unit).unwrap_or(""))
                    .with_description(desc);
                if seconds {
                    b.with_boundaries(DURATION_BUCKETS.to_vec()).build()
                } else {
                    b.build()
                }
            },
            |h, attrs| HistogramHandle(h.bind(attrs)),
        );
        Histogram::from_arc(h)
    }
}
