//! The process-wide meter provider of a test binary that uses captures.
//!
//! Instruments are often created once and kept (a middleware's, a `static` instrument set's),
//! so a synchronous instrument routes each measurement, not its creation: it records into an
//! instrument of the same name on the current capture's meter provider, created there on first
//! use. Bound instruments keep their attributes and route the same way. Observable instruments
//! register their callbacks with the capture current when they are built (their callbacks run
//! at that capture's collection).

use std::borrow::Cow;
use std::sync::{Arc, PoisonError, RwLock};

use opentelemetry::metrics::{
    AsyncInstrumentBuilder, BoundSyncInstrument, Counter, Gauge, Histogram, HistogramBuilder,
    InstrumentBuilder, InstrumentProvider, Meter, MeterProvider, ObservableCounter,
    ObservableGauge, ObservableUpDownCounter, SyncInstrument, UpDownCounter,
};
use opentelemetry::{InstrumentationScope, KeyValue};

use super::route;

/// Hands out meters whose instruments record into the current capture.
pub(crate) struct RoutingMeterProvider;

impl MeterProvider for RoutingMeterProvider {
    fn meter_with_scope(&self, scope: InstrumentationScope) -> Meter {
        Meter::new(Arc::new(RoutingInstruments { scope }))
    }
}

struct RoutingInstruments {
    scope: InstrumentationScope,
}

/// What an instrument was declared with, to declare it again on each capture's provider.
struct Declaration {
    name: Cow<'static, str>,
    description: Option<Cow<'static, str>>,
    unit: Option<Cow<'static, str>>,
    boundaries: Option<Vec<f64>>,
}

/// A synchronous instrument kind that can be declared on a meter and recorded into.
trait Recorder<T>: Clone + Send + Sync + 'static {
    fn declare(meter: &Meter, d: &Declaration) -> Self;
    fn record(&self, value: T, attributes: &[KeyValue]);
}

macro_rules! recorder {
    ($inst:ident < $t:ty >, $declare:ident, $record:ident $(, $with_bounds:ident)?) => {
        impl Recorder<$t> for $inst<$t> {
            fn declare(meter: &Meter, d: &Declaration) -> Self {
                let mut b = meter.$declare(d.name.clone());
                if let Some(text) = &d.description {
                    b = b.with_description(text.clone());
                }
                if let Some(unit) = &d.unit {
                    b = b.with_unit(unit.clone());
                }
                $(if let Some(bounds) = &d.boundaries {
                    b = b.$with_bounds(bounds.clone());
                })?
                b.build()
            }
            fn record(&self, value: $t, attributes: &[KeyValue]) {
                $inst::$record(self, value, attributes);
            }
        }
    };
}

recorder!(Counter<u64>, u64_counter, add);
recorder!(Counter<f64>, f64_counter, add);
recorder!(UpDownCounter<i64>, i64_up_down_counter, add);
recorder!(UpDownCounter<f64>, f64_up_down_counter, add);
recorder!(Gauge<u64>, u64_gauge, record);
recorder!(Gauge<i64>, i64_gauge, record);
recorder!(Gauge<f64>, f64_gauge, record);
recorder!(Histogram<f64>, f64_histogram, record, with_boundaries);
recorder!(Histogram<u64>, u64_histogram, record, with_boundaries);

/// One declared instrument, with its counterpart on every capture that recorded into it.
struct Routed<I> {
    scope: InstrumentationScope,
    declaration: Declaration,
    per_route: RwLock<Vec<(u64, I)>>,
}

impl<I> Routed<I> {
    fn on_current<T>(&self) -> Option<I>
    where
        I: Recorder<T>,
    {
        let route = route::current()?;
        let cached = self
            .per_route
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|(key, _)| *key == route.key)
            .map(|(_, inst)| inst.clone());
        if cached.is_some() {
            return cached;
        }
        let meter = route.meter_provider.meter_with_scope(self.scope.clone());
        let inst = I::declare(&meter, &self.declaration);
        let mut per_route = self
            .per_route
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // Ended captures' instruments are not pruned: a test binary runs a bounded number.
        per_route.push((route.key, inst.clone()));
        Some(inst)
    }
}

/// The handle the OpenTelemetry instrument types wrap.
struct RoutedHandle<I>(Arc<Routed<I>>);

impl<T: Send + Sync + 'static, I: Recorder<T>> SyncInstrument<T> for RoutedHandle<I> {
    fn measure(&self, measurement: T, attributes: &[KeyValue]) {
        if let Some(inst) = self.0.on_current() {
            inst.record(measurement, attributes);
        }
    }

    fn bind(&self, attributes: &[KeyValue]) -> Box<dyn BoundSyncInstrument<T> + Send + Sync> {
        Box::new(RoutedBound {
            routed: Arc::clone(&self.0),
            attributes: attributes.to_vec(),
        })
    }
}

struct RoutedBound<I> {
    routed: Arc<Routed<I>>,
    attributes: Vec<KeyValue>,
}

impl<T: Send + Sync + 'static, I: Recorder<T>> BoundSyncInstrument<T> for RoutedBound<I> {
    fn measure(&self, measurement: T) {
        if let Some(inst) = self.routed.on_current() {
            inst.record(measurement, &self.attributes);
        }
    }
}

impl RoutingInstruments {
    fn routed<I>(&self, declaration: Declaration) -> Arc<RoutedHandle<I>> {
        Arc::new(RoutedHandle(Arc::new(Routed {
            scope: self.scope.clone(),
            declaration,
            per_route: RwLock::new(Vec::new()),
        })))
    }

    fn current_meter(&self) -> Option<Meter> {
        route::current().map(|route| route.meter_provider.meter_with_scope(self.scope.clone()))
    }
}

fn declared<T>(b: InstrumentBuilder<'_, T>) -> Declaration {
    Declaration {
        name: b.name,
        description: b.description,
        unit: b.unit,
        boundaries: None,
    }
}

fn declared_histogram<T>(b: HistogramBuilder<'_, T>) -> Declaration {
    Declaration {
        name: b.name,
        description: b.description,
        unit: b.unit,
        boundaries: b.boundaries,
    }
}

macro_rules! sync_instrument {
    ($method:ident, $inst:ident < $t:ty >) => {
        fn $method(&self, builder: InstrumentBuilder<'_, $inst<$t>>) -> $inst<$t> {
            $inst::new(self.routed::<$inst<$t>>(declared(builder)))
        }
    };
}

macro_rules! histogram_instrument {
    ($method:ident, $t:ty) => {
        fn $method(&self, builder: HistogramBuilder<'_, Histogram<$t>>) -> Histogram<$t> {
            Histogram::new(self.routed::<Histogram<$t>>(declared_histogram(builder)))
        }
    };
}

macro_rules! observable_instrument {
    ($method:ident, $inst:ident < $t:ty >) => {
        fn $method(&self, builder: AsyncInstrumentBuilder<'_, $inst<$t>, $t>) -> $inst<$t> {
            let Some(meter) = self.current_meter() else {
                return $inst::new();
            };
            let mut b = meter.$method(builder.name);
            if let Some(text) = builder.description {
                b = b.with_description(text);
            }
            if let Some(unit) = builder.unit {
                b = b.with_unit(unit);
            }
            b.callbacks = builder.callbacks;
            b.build()
        }
    };
}

impl InstrumentProvider for RoutingInstruments {
    sync_instrument!(u64_counter, Counter<u64>);
    sync_instrument!(f64_counter, Counter<f64>);
    sync_instrument!(i64_up_down_counter, UpDownCounter<i64>);
    sync_instrument!(f64_up_down_counter, UpDownCounter<f64>);
    sync_instrument!(u64_gauge, Gauge<u64>);
    sync_instrument!(i64_gauge, Gauge<i64>);
    sync_instrument!(f64_gauge, Gauge<f64>);
    histogram_instrument!(f64_histogram, f64);
    histogram_instrument!(u64_histogram, u64);
    observable_instrument!(u64_observable_counter, ObservableCounter<u64>);
    observable_instrument!(f64_observable_counter, ObservableCounter<f64>);
    observable_instrument!(i64_observable_up_down_counter, ObservableUpDownCounter<i64>);
    observable_instrument!(f64_observable_up_down_counter, ObservableUpDownCounter<f64>);
    observable_instrument!(u64_observable_gauge, ObservableGauge<u64>);
    observable_instrument!(i64_observable_gauge, ObservableGauge<i64>);
    observable_instrument!(f64_observable_gauge, ObservableGauge<f64>);
}
