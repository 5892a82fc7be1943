//! Exemplars: the trace behind a histogram bucket.
//!
//! `opentelemetry_sdk` 0.33 records no exemplars (its data points have the field, never filled,
//! and no public way to fill it), so the family keeps its own, beside the SDK's aggregation:
//!
//! - **Filter** ([`ExemplarFilter`], process-wide, `OTEL_METRICS_EXEMPLAR_FILTER` through the
//!   init crate): `trace_based` (the default) offers a measurement only when the span current at
//!   the record call is sampled; `always_on` offers every one; `always_off` none. Outside a
//!   sampled span a record call pays one thread-local read of the current context.
//! - **Reservoir** ([`ExemplarReservoir`], one per time series): the specification's aligned
//!   histogram reservoir. It keeps, per bucket of the instrument's boundaries, the last
//!   measurement that fell in it, with its time and the trace and span ids of the span current
//!   when it was recorded.
//! - **Registry** ([`InstrumentExemplars`], one per instrument name, process-wide): the exporters
//!   join a collected data point with its reservoir by metric name and attribute set
//!   ([`exemplars_for`]). The Prometheus exporter writes them on OpenMetrics `_bucket` lines; the
//!   init crate's OTLP/HTTP exporter adds them to the protobuf data points it sends.
//!
//! Bounds: at most [`MAX_EXEMPLAR_SERIES`] series per instrument and [`MAX_EXEMPLAR_INSTRUMENTS`]
//! instruments hold reservoirs; beyond them measurements are still aggregated, only without
//! exemplars ([`exemplar_overflows`] counts them). A series' reservoir is allocated on its first
//! offered measurement, so instruments never recorded inside a sampled span cost nothing.
//!
//! A view that renames an instrument or drops attribute keys changes the data point the
//! exporter sees; such points are exported without exemplars.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hash as _, Hasher};
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::SystemTime;

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceId};
use opentelemetry::{Context, KeyValue};

/// Series per instrument that may hold a reservoir (the SDK's default cardinality limit).
pub const MAX_EXEMPLAR_SERIES: usize = 2000;

/// Instruments that may hold reservoirs.
pub const MAX_EXEMPLAR_INSTRUMENTS: usize = 1024;

/// Which measurements are offered to the reservoirs (the specification's exemplar filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExemplarFilter {
    /// Only measurements recorded while a sampled span is current (the default).
    #[default]
    TraceBased,
    /// Every measurement; those outside any span carry no trace id.
    AlwaysOn,
    /// None: no exemplars at all.
    AlwaysOff,
}

impl ExemplarFilter {
    /// The name `OTEL_METRICS_EXEMPLAR_FILTER` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TraceBased => "trace_based",
            Self::AlwaysOn => "always_on",
            Self::AlwaysOff => "always_off",
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::AlwaysOn,
            2 => Self::AlwaysOff,
            _ => Self::TraceBased,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Self::TraceBased => 0,
            Self::AlwaysOn => 1,
            Self::AlwaysOff => 2,
        }
    }
}

impl fmt::Display for ExemplarFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An exemplar filter name that is not `trace_based`, `always_on` or `always_off`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown exemplar filter (expected trace_based, always_on or always_off)")]
pub struct ParseExemplarFilterError;

impl FromStr for ExemplarFilter {
    type Err = ParseExemplarFilterError;

    /// Case-insensitive, surrounding whitespace ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trace_based" => Ok(Self::TraceBased),
            "always_on" => Ok(Self::AlwaysOn),
            "always_off" => Ok(Self::AlwaysOff),
            _ => Err(ParseExemplarFilterError),
        }
    }
}

static FILTER: AtomicU8 = AtomicU8::new(0);
static OVERFLOWS: AtomicU64 = AtomicU64::new(0);

/// Sets the process-wide exemplar filter (the init crate sets it from its configuration).
pub fn set_exemplar_filter(filter: ExemplarFilter) {
    FILTER.store(filter.to_u8(), Ordering::Relaxed);
}

/// The process-wide exemplar filter.
pub fn exemplar_filter() -> ExemplarFilter {
    ExemplarFilter::from_u8(FILTER.load(Ordering::Relaxed))
}

/// Measurements that could not get an exemplar because a reservoir bound was reached.
pub fn exemplar_overflows() -> u64 {
    OVERFLOWS.load(Ordering::Relaxed)
}

/// The trace a measurement belongs to, when the filter offers it to a reservoir: `None` means
/// "record no exemplar"; `Some(None)` an exemplar without trace (`always_on` outside a span).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    trace: Option<(TraceId, SpanId)>,
}

impl Offer {
    /// Applies the filter to the span current on this thread (the OpenTelemetry context, which
    /// the family's `tracing` layer keeps in step with the entered `tracing` span).
    #[inline]
    pub fn current() -> Option<Self> {
        match exemplar_filter() {
            ExemplarFilter::AlwaysOff => None,
            filter => Context::map_current(|cx| Self::admit(filter, cx.span().span_context())),
        }
    }

    /// Applies the filter to a known span (middleware that holds its request span).
    #[inline]
    pub fn for_span(span: &SpanContext) -> Option<Self> {
        Self::admit(exemplar_filter(), span)
    }

    #[inline]
    fn admit(filter: ExemplarFilter, span: &SpanContext) -> Option<Self> {
        // The flag first: an unsampled span (the common case under a ratio sampler) is turned
        // away before its ids are compared with zero.
        if filter == ExemplarFilter::TraceBased && !span.is_sampled() {
            return None;
        }
        let trace = span.is_valid().then(|| (span.trace_id(), span.span_id()));
        match filter {
            ExemplarFilter::AlwaysOff => None,
            ExemplarFilter::TraceBased if span.is_sampled() && trace.is_some() => {
                Some(Self { trace })
            }
            ExemplarFilter::TraceBased => None,
            ExemplarFilter::AlwaysOn => Some(Self { trace }),
        }
    }
}

/// One exemplar: a recorded value, when it was recorded, and the span it was recorded in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exemplar {
    /// The measurement.
    pub value: f64,
    /// When it was recorded.
    pub time: SystemTime,
    /// The trace and span current at the record call, if any.
    pub trace: Option<(TraceId, SpanId)>,
}

/// The aligned histogram reservoir of one time series: the last measurement per bucket.
#[derive(Debug)]
pub struct ExemplarReservoir {
    bounds: Arc<[f64]>,
    slots: Mutex<Box<[Option<Exemplar>]>>,
}

impl ExemplarReservoir {
    fn new(bounds: Arc<[f64]>) -> Self {
        let slots = vec![None; bounds.len() + 1].into_boxed_slice();
        Self {
            bounds,
            slots: Mutex::new(slots),
        }
    }

    /// Keeps `value` as its bucket's exemplar. NaN and infinities are ignored, as the SDK
    /// ignores them for the histogram itself.
    pub fn offer(&self, value: f64, offer: Offer) {
        if !value.is_finite() {
            return;
        }
        // Bucket i holds (bounds[i-1], bounds[i]], as the SDK's histogram.
        let bucket = self.bounds.partition_point(|b| *b < value);
        let exemplar = Exemplar {
            value,
            time: SystemTime::now(),
            trace: offer.trace,
        };
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.get_mut(bucket) {
            *slot = Some(exemplar);
        }
    }

    /// The kept exemplars, in bucket order.
    pub fn exemplars(&self) -> Vec<Exemplar> {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.iter().flatten().copied().collect()
    }
}

/// The reservoirs of one instrument, by attribute set.
#[derive(Debug)]
pub struct InstrumentExemplars {
    bounds: Arc<[f64]>,
    series: RwLock<SeriesMap>,
}

/// Reservoirs by attribute set: bucketed by an order-independent hash of the set, each entry
/// holding its set sorted by key, so a lookup neither sorts nor allocates.
#[derive(Debug, Default)]
struct SeriesMap {
    by_hash: HashMap<u64, Vec<Series>, BuildHasherDefault<SetHashHasher>>,
    len: usize,
}

/// One series: its attribute set, sorted by key, and its reservoir.
type Series = (Box<[KeyValue]>, Arc<ExemplarReservoir>);

impl SeriesMap {
    fn get(&self, hash: u64, attributes: &[KeyValue]) -> Option<&Arc<ExemplarReservoir>> {
        self.by_hash
            .get(&hash)?
            .iter()
            .find(|(stored, _)| same_set(stored, attributes))
            .map(|(_, reservoir)| reservoir)
    }
}

impl InstrumentExemplars {
    /// The reservoirs of the histogram `name` with bucket `bounds`, registered process-wide so
    /// the exporters find them. The same name returns the same reservoirs. `None` beyond
    /// [`MAX_EXEMPLAR_INSTRUMENTS`].
    pub fn register(name: &str, bounds: &[f64]) -> Option<Arc<Self>> {
        let registry = registry();
        if let Some(found) = registry
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
        {
            return Some(Arc::clone(found));
        }
        let mut map = registry.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = map.get(name) {
            return Some(Arc::clone(found));
        }
        if map.len() >= MAX_EXEMPLAR_INSTRUMENTS {
            return None;
        }
        let mut sorted: Vec<f64> = bounds.iter().copied().filter(|b| b.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        sorted.dedup();
        let instrument = Arc::new(Self {
            bounds: sorted.into(),
            series: RwLock::new(SeriesMap::default()),
        });
        map.insert(name.to_owned(), Arc::clone(&instrument));
        Some(instrument)
    }

    /// The reservoir of the series with `attributes` (any order; a repeated key's last value
    /// counts, as in the SDK), created on first use; `None` beyond [`MAX_EXEMPLAR_SERIES`].
    pub fn reservoir(&self, attributes: &[KeyValue]) -> Option<Arc<ExemplarReservoir>> {
        let hash = set_hash(attributes);
        if let Some(found) = self
            .series
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(hash, attributes)
        {
            return Some(Arc::clone(found));
        }
        let mut series = self.series.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = series.get(hash, attributes) {
            return Some(Arc::clone(found));
        }
        if series.len >= MAX_EXEMPLAR_SERIES {
            OVERFLOWS.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let mut stored: Vec<KeyValue> = effective(attributes).cloned().collect();
        stored.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
        let reservoir = Arc::new(ExemplarReservoir::new(Arc::clone(&self.bounds)));
        series
            .by_hash
            .entry(hash)
            .or_default()
            .push((stored.into_boxed_slice(), Arc::clone(&reservoir)));
        series.len += 1;
        Some(reservoir)
    }

    /// Offers `value` to the reservoir of `attributes` (looked up by attribute set).
    pub fn offer(&self, value: f64, offer: Offer, attributes: &[KeyValue]) {
        // The common case, an existing series, offers under the read lock: no reference count
        // taken and dropped per record.
        if let Some(reservoir) = self
            .series
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(set_hash(attributes), attributes)
        {
            reservoir.offer(value, offer);
            return;
        }
        if let Some(reservoir) = self.reservoir(attributes) {
            reservoir.offer(value, offer);
        }
    }

    fn existing(&self, attributes: &[KeyValue]) -> Option<Arc<ExemplarReservoir>> {
        self.series
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(set_hash(attributes), attributes)
            .cloned()
    }
}

type Registry = RwLock<HashMap<String, Arc<InstrumentExemplars>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// The exemplars kept for the data point of metric `name` with `attributes` (as an exporter
/// sees it after collection), in bucket order; empty when none were recorded.
pub fn exemplars_for<'a>(
    name: &str,
    attributes: impl IntoIterator<Item = &'a KeyValue>,
) -> Vec<Exemplar> {
    let instrument = registry()
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(name)
        .cloned();
    let Some(instrument) = instrument else {
        return Vec::new();
    };
    let attributes: Vec<KeyValue> = attributes.into_iter().cloned().collect();
    instrument
        .existing(&attributes)
        .map(|r| r.exemplars())
        .unwrap_or_default()
}

/// Whether any instrument holds exemplars (exporters skip the join when none does).
pub fn any_exemplars() -> bool {
    !registry()
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .is_empty()
}

/// The attributes that count: a repeated key's last value, as the SDK deduplicates.
fn effective(attributes: &[KeyValue]) -> impl Iterator<Item = &KeyValue> {
    attributes
        .iter()
        .enumerate()
        .filter(|(i, kv)| !attributes[i + 1..].iter().any(|later| later.key == kv.key))
        .map(|(_, kv)| kv)
}

/// A hash of the attribute set that does not depend on order (the sum of each pair's hash).
/// Typed: `1` and `"1"` differ.
fn set_hash(attributes: &[KeyValue]) -> u64 {
    effective(attributes)
        .map(|kv| {
            let mut h = std::hash::DefaultHasher::new();
            kv.hash(&mut h);
            h.finish()
        })
        .fold(0, u64::wrapping_add)
}

/// The map key is already a [`set_hash`]: hashing it again would only cost time.
#[derive(Debug, Default)]
struct SetHashHasher(u64);

impl Hasher for SetHashHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (the key is a u64); fold anything else in all the same.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Whether `attributes` (any order) is the set `stored` (sorted by key).
fn same_set(stored: &[KeyValue], attributes: &[KeyValue]) -> bool {
    effective(attributes).count() == stored.len()
        && effective(attributes).all(|kv| {
            stored
                .binary_search_by(|s| s.key.as_str().cmp(kv.key.as_str()))
                .is_ok_and(|i| stored[i].value == kv.value)
        })
}

#[cfg(test)]
mod tests;
