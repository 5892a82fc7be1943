//! The server instruments, and a bounded cache of SDK bound instruments in front of them.
//!
//! An unbound `record(value, &attributes)` makes the SDK hash and compare the 5-6 attributes of
//! every measurement to find its series; with five measurements per request that lookup was the
//! largest part of the middleware's metric cost. The attribute set of a request is a function of
//! (route template, method, protocol version, status, error type) — all bounded — so the first
//! request of each set binds the instruments (`experimental_metrics_bound_instruments`) and later
//! requests write straight into the SDK's aggregator:
//!
//! - the route template is resolved once per request into an `Arc<RouteSeries>` (one read-locked
//!   map lookup by `&str`, no allocation); the request keeps it until its metrics are recorded;
//! - inside a route, the other parts pack into a `u32` and a short vector is scanned.
//!
//! Both levels have hard caps ([`MAX_CACHED_ROUTES`], [`MAX_CACHED_SERIES`]). Beyond them a
//! request falls back to the unbound path, which records exactly the same data, only slower: the
//! cache is an optimisation, never a behaviour. Bound and unbound recordings with the same
//! attributes land in the same SDK data point.
//!
//! Bound instruments keep their SDK series alive: with delta temporality a cached series is not
//! evicted between exports (it exports nothing while idle). The caps keep that bounded, below the
//! SDK's default cardinality limit (2000).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use ferrotel_meters::InstrumentDescriptor;
use ferrotel_meters::exemplars::{ExemplarReservoir, InstrumentExemplars, Offer};
use opentelemetry::metrics::{
    BoundCounter, BoundHistogram, BoundUpDownCounter, Counter, Histogram, Meter, UpDownCounter,
};
use opentelemetry::{KeyValue, StringValue, Value};

use crate::semconv::{self, attr};

/// Route templates with a cache entry; later templates take the unbound path.
pub(crate) const MAX_CACHED_ROUTES: usize = 256;

/// Bound attribute sets over all routes; later sets take the unbound path.
pub(crate) const MAX_CACHED_SERIES: usize = 1024;

/// The server instruments (stable HTTP semconv; see the crate docs for names and units).
#[derive(Debug)]
struct Instruments {
    duration: Histogram<f64>,
    /// The duration's exemplar reservoirs (`None` beyond the registry's instrument bound).
    duration_exemplars: Option<Arc<InstrumentExemplars>>,
    requests: Counter<u64>,
    active: UpDownCounter<i64>,
    request_body_size: Histogram<u64>,
    response_body_size: Histogram<u64>,
}

impl Instruments {
    /// Creates each instrument from its descriptor in [`semconv`], so the names, units and
    /// buckets recorded are the ones catalogs and dashboards read.
    fn new(meter: &Meter) -> Self {
        let buckets = |d: &InstrumentDescriptor| d.buckets.unwrap_or_default().to_vec();
        let duration = &semconv::SERVER_REQUEST_DURATION;
        let requests = &semconv::SERVER_REQUESTS;
        let active = &semconv::SERVER_ACTIVE_REQUESTS;
        let request_body = &semconv::SERVER_REQUEST_BODY_SIZE;
        let response_body = &semconv::SERVER_RESPONSE_BODY_SIZE;
        Self {
            duration_exemplars: InstrumentExemplars::register(
                duration.name,
                duration.buckets.unwrap_or_default(),
            ),
            duration: meter
                .f64_histogram(duration.name)
                .with_unit(duration.unit)
                .with_description(duration.description)
                .with_boundaries(buckets(duration))
                .build(),
            requests: meter
                .u64_counter(requests.name)
                .with_unit(requests.unit)
                .with_description(requests.description)
                .build(),
            active: meter
                .i64_up_down_counter(active.name)
                .with_unit(active.unit)
                .with_description(active.description)
                .build(),
            request_body_size: meter
                .u64_histogram(request_body.name)
                .with_unit(request_body.unit)
                .with_description(request_body.description)
                .with_boundaries(buckets(request_body))
                .build(),
            response_body_size: meter
                .u64_histogram(response_body.name)
                .with_unit(response_body.unit)
                .with_description(response_body.description)
                .with_boundaries(buckets(response_body))
                .build(),
        }
    }
}

/// Why a request failed, for `error.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorType {
    /// A 5xx response: `error.type` is the status code.
    Status,
    /// No response, or the body stream failed: `error.type` is `_OTHER`.
    Other,
}

/// What one finished request records.
pub(crate) struct Measurement {
    pub method: usize,
    pub version: &'static str,
    pub status: Option<u16>,
    pub error: Option<ErrorType>,
    pub duration_s: f64,
    pub request_body_size: Option<u64>,
    pub response_body_size: Option<u64>,
    /// The request span, when the exemplar filter admits it: the duration is kept as an
    /// exemplar too.
    pub exemplar: Option<Offer>,
}

impl Measurement {
    /// The attribute set as a `u32` (unique within one route).
    fn key(&self) -> u32 {
        let version = match self.version {
            "0.9" => 0,
            "1.0" => 1,
            "1.1" => 2,
            "2" => 3,
            "3" => 4,
            _ => 5,
        };
        let error = match self.error {
            None => 0,
            Some(ErrorType::Status) => 1,
            Some(ErrorType::Other) => 2,
        };
        // status: 16 bits (+1 bit for "no status"), method: 4 bits, version: 3 bits, error: 2 bits
        u32::from(self.status.unwrap_or(0))
            | u32::from(self.status.is_some()) << 16
            | (self.method as u32 & 0xf) << 17
            | version << 21
            | error << 24
    }
}

/// The instruments, the fixed attributes, and the bound-instrument cache.
#[derive(Debug)]
pub(crate) struct ServerMetrics {
    instruments: Instruments,
    scheme: &'static str,
    /// `http.server.active_requests` bound per method (its only other attribute is the
    /// configured scheme); bound on first use so unused methods create no series.
    active: [OnceLock<BoundUpDownCounter<i64>>; semconv::METHODS.len()],
    routes: RwLock<HashMap<Arc<str>, Arc<RouteSeries>>>,
    unrouted: Arc<RouteSeries>,
    cached_series: AtomicUsize,
}

/// The series of one route template (or of requests without a route).
#[derive(Debug)]
pub(crate) struct RouteSeries {
    route: Option<Arc<str>>,
    /// False beyond [`MAX_CACHED_ROUTES`]: the request records unbound.
    cached: bool,
    series: RwLock<Vec<(u32, BoundSeries)>>,
    /// `{method} {route}` per method, interned on first use (see [`RouteSeries::span_name`]).
    span_names: [OnceLock<&'static str>; semconv::METHODS.len()],
}

/// Longest span name kept for the life of the process.
const MAX_INTERNED_NAME: usize = 256;

/// The instruments bound to one attribute set, each bound on first use (binding creates the SDK
/// series, which a cumulative exporter would then report even if it was never recorded).
#[derive(Debug)]
struct BoundSeries {
    attributes: Box<[KeyValue]>,
    duration: OnceLock<BoundHistogram<f64>>,
    duration_exemplars: OnceLock<Option<Arc<ExemplarReservoir>>>,
    requests: OnceLock<BoundCounter<u64>>,
    request_body_size: OnceLock<BoundHistogram<u64>>,
    response_body_size: OnceLock<BoundHistogram<u64>>,
}

impl BoundSeries {
    fn new(attributes: Box<[KeyValue]>) -> Self {
        Self {
            attributes,
            duration: OnceLock::new(),
            duration_exemplars: OnceLock::new(),
            requests: OnceLock::new(),
            request_body_size: OnceLock::new(),
            response_body_size: OnceLock::new(),
        }
    }

    fn record(&self, instruments: &Instruments, m: &Measurement) {
        let attrs = &*self.attributes;
        self.duration
            .get_or_init(|| instruments.duration.bind(attrs))
            .record(m.duration_s);
        if let Some(offer) = m.exemplar
            && let Some(exemplars) = &instruments.duration_exemplars
            && let Some(reservoir) = self
                .duration_exemplars
                .get_or_init(|| exemplars.reservoir(attrs))
        {
            reservoir.offer(m.duration_s, offer);
        }
        self.requests
            .get_or_init(|| instruments.requests.bind(attrs))
            .add(1);
        if let Some(size) = m.request_body_size {
            self.request_body_size
                .get_or_init(|| instruments.request_body_size.bind(attrs))
                .record(size);
        }
        if let Some(size) = m.response_body_size {
            self.response_body_size
                .get_or_init(|| instruments.response_body_size.bind(attrs))
                .record(size);
        }
    }
}

impl RouteSeries {
    fn new(route: Option<Arc<str>>, cached: bool) -> Self {
        Self {
            route,
            cached,
            series: RwLock::new(Vec::new()),
            span_names: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    /// The span name `{method} {route}` for the method at `method_index` of
    /// [`semconv::METHODS`].
    ///
    /// For a cached route it is interned: made `'static` once, so that every span of the route
    /// shares it (no allocation per request, and redaction remembers its clean verdict). The
    /// memory is bounded and never given back: at most [`MAX_CACHED_ROUTES`] routes times the
    /// ten methods, names of at most [`MAX_INTERNED_NAME`] bytes; other names are allocated per
    /// span.
    pub(crate) fn span_name(&self, method_index: usize) -> std::borrow::Cow<'static, str> {
        use std::borrow::Cow;
        let method = semconv::METHODS[method_index.min(semconv::METHODS.len() - 1)];
        let name = semconv::SpanName {
            method,
            route: self.route.as_deref(),
        };
        let Some(route) = &self.route else {
            return Cow::Borrowed(name.method_only());
        };
        if !self.cached || route.len() + 8 > MAX_INTERNED_NAME {
            return Cow::Owned(name.to_string());
        }
        let slot = &self.span_names[method_index.min(semconv::METHODS.len() - 1)];
        Cow::Borrowed(slot.get_or_init(|| Box::leak(name.to_string().into_boxed_str())))
    }

    /// The route template, shared with every span of the route (no copy per request).
    pub(crate) fn template(&self) -> Option<&Arc<str>> {
        self.route.as_ref()
    }
}

impl ServerMetrics {
    pub(crate) fn new(meter: &Meter, scheme: &'static str) -> Self {
        Self {
            instruments: Instruments::new(meter),
            scheme,
            active: Default::default(),
            routes: RwLock::new(HashMap::new()),
            unrouted: Arc::new(RouteSeries::new(None, true)),
            cached_series: AtomicUsize::new(0),
        }
    }

    /// The series of a route template (`None`: nothing matched). Allocates only the first
    /// time a template is seen, or on every call beyond [`MAX_CACHED_ROUTES`].
    pub(crate) fn route(&self, template: Option<&str>) -> Arc<RouteSeries> {
        let Some(template) = template else {
            return Arc::clone(&self.unrouted);
        };
        if let Ok(routes) = self.routes.read()
            && let Some(series) = routes.get(template)
        {
            return Arc::clone(series);
        }
        let uncached = || Arc::new(RouteSeries::new(Some(Arc::from(template)), false));
        let Ok(mut routes) = self.routes.write() else {
            return uncached();
        };
        if let Some(series) = routes.get(template) {
            return Arc::clone(series);
        }
        if routes.len() >= MAX_CACHED_ROUTES {
            return uncached();
        }
        let route: Arc<str> = Arc::from(template);
        let series = Arc::new(RouteSeries::new(Some(Arc::clone(&route)), true));
        routes.insert(route, Arc::clone(&series));
        series
    }

    /// Moves `http.server.active_requests` of `method` by `delta`.
    pub(crate) fn add_active(&self, method: usize, delta: i64) {
        let Some(slot) = self.active.get(method) else {
            return;
        };
        slot.get_or_init(|| {
            self.instruments.active.bind(&[
                KeyValue::new(attr::HTTP_REQUEST_METHOD, semconv::METHODS[method]),
                KeyValue::new(attr::URL_SCHEME, self.scheme),
            ])
        })
        .add(delta);
    }

    /// Records the duration, count and sizes of one finished request.
    pub(crate) fn record(&self, route: &RouteSeries, m: &Measurement) {
        if !route.cached {
            return self.record_unbound(route, m);
        }
        let key = m.key();
        if let Ok(series) = route.series.read()
            && let Some((_, bound)) = series.iter().find(|(k, _)| *k == key)
        {
            return bound.record(&self.instruments, m);
        }
        if self.cached_series.load(Ordering::Relaxed) >= MAX_CACHED_SERIES {
            return self.record_unbound(route, m);
        }
        let Ok(mut series) = route.series.write() else {
            return self.record_unbound(route, m);
        };
        if let Some((_, bound)) = series.iter().find(|(k, _)| *k == key) {
            return bound.record(&self.instruments, m);
        }
        if self.cached_series.fetch_add(1, Ordering::Relaxed) >= MAX_CACHED_SERIES {
            self.cached_series.fetch_sub(1, Ordering::Relaxed);
            drop(series);
            return self.record_unbound(route, m);
        }
        let bound = BoundSeries::new(self.attributes(route, m).into_boxed_slice());
        bound.record(&self.instruments, m);
        series.push((key, bound));
    }

    fn record_unbound(&self, route: &RouteSeries, m: &Measurement) {
        let attrs = self.attributes(route, m);
        let i = &self.instruments;
        i.duration.record(m.duration_s, &attrs);
        if let (Some(offer), Some(exemplars)) = (m.exemplar, &i.duration_exemplars) {
            exemplars.offer(m.duration_s, offer, &attrs);
        }
        i.requests.add(1, &attrs);
        if let Some(size) = m.request_body_size {
            i.request_body_size.record(size, &attrs);
        }
        if let Some(size) = m.response_body_size {
            i.response_body_size.record(size, &attrs);
        }
    }

    fn attributes(&self, route: &RouteSeries, m: &Measurement) -> Vec<KeyValue> {
        let mut attrs = Vec::with_capacity(6);
        attrs.push(KeyValue::new(
            attr::HTTP_REQUEST_METHOD,
            semconv::METHODS.get(m.method).copied().unwrap_or("_OTHER"),
        ));
        attrs.push(KeyValue::new(attr::URL_SCHEME, self.scheme));
        attrs.push(KeyValue::new(attr::NETWORK_PROTOCOL_VERSION, m.version));
        if let Some(route) = &route.route {
            attrs.push(KeyValue::new(
                attr::HTTP_ROUTE,
                Value::String(StringValue::from(Arc::clone(route))),
            ));
        }
        if let Some(status) = m.status {
            attrs.push(KeyValue::new(
                attr::HTTP_RESPONSE_STATUS_CODE,
                i64::from(status),
            ));
        }
        match m.error {
            Some(ErrorType::Status) => attrs.push(KeyValue::new(
                attr::ERROR_TYPE,
                m.status
                    .map_or_else(|| semconv::ERROR_TYPE_OTHER.to_owned(), |s| s.to_string()),
            )),
            Some(ErrorType::Other) => {
                attrs.push(KeyValue::new(attr::ERROR_TYPE, semconv::ERROR_TYPE_OTHER))
            }
            None => {}
        }
        attrs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};

    fn measurement(method: usize, status: u16) -> Measurement {
        Measurement {
            method,
            version: "1.1",
            status: Some(status),
            error: (status >= 500).then_some(ErrorType::Status),
            duration_s: 0.001,
            request_body_size: Some(0),
            response_body_size: Some(10),
            exemplar: None,
        }
    }

    /// Request counts per attribute set, as (method, route, status, error.type) tuples.
    fn counts(
        provider: &SdkMeterProvider,
        exporter: &InMemoryMetricExporter,
    ) -> Vec<(String, u64)> {
        provider.force_flush().expect("flush");
        let metrics = exporter.get_finished_metrics().expect("metrics");
        let mut out = Vec::new();
        for rm in metrics.last().into_iter() {
            for sm in rm.scope_metrics() {
                for metric in sm.metrics() {
                    if metric.name() != "http.server.requests" {
                        continue;
                    }
                    let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() else {
                        panic!("requests is a u64 sum");
                    };
                    for dp in sum.data_points() {
                        let mut attrs: Vec<String> = dp
                            .attributes()
                            .map(|kv| format!("{}={}", kv.key, kv.value))
                            .collect();
                        attrs.sort();
                        out.push((attrs.join(","), dp.value()));
                    }
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn cached_and_unbound_paths_record_the_same_series() {
        let exporter = InMemoryMetricExporter::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .build();
        let metrics = ServerMetrics::new(&provider.meter("test"), "http");
        let users = metrics.route(Some("/users/{id}"));
        assert!(Arc::ptr_eq(&users, &metrics.route(Some("/users/{id}"))));
        for _ in 0..3 {
            metrics.record(&users, &measurement(0, 200));
        }
        metrics.record(&users, &measurement(0, 503));
        // The same attribute set through the unbound path adds to the same data point.
        metrics.record_unbound(&users, &measurement(0, 200));
        metrics.record(&metrics.route(None), &measurement(9, 404));
        let mut other = measurement(1, 200);
        other.error = Some(ErrorType::Other);
        metrics.record(&users, &other);
        assert_eq!(
            counts(&provider, &exporter),
            vec![
                (
                    "error.type=503,http.request.method=GET,http.response.status_code=503,\
                     http.route=/users/{id},network.protocol.version=1.1,url.scheme=http"
                        .to_owned(),
                    1
                ),
                (
                    "error.type=_OTHER,http.request.method=POST,http.response.status_code=200,\
                     http.route=/users/{id},network.protocol.version=1.1,url.scheme=http"
                        .to_owned(),
                    1
                ),
                (
                    "http.request.method=GET,http.response.status_code=200,\
                     http.route=/users/{id},network.protocol.version=1.1,url.scheme=http"
                        .to_owned(),
                    4
                ),
                (
                    "http.request.method=_OTHER,http.response.status_code=404,\
                     network.protocol.version=1.1,url.scheme=http"
                        .to_owned(),
                    1
                ),
            ]
        );
    }

    #[test]
    fn caches_are_capped_and_overflow_still_records() {
        let exporter = InMemoryMetricExporter::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .build();
        let metrics = ServerMetrics::new(&provider.meter("test"), "http");
        let routes: Vec<_> = (0..MAX_CACHED_ROUTES + 10)
            .map(|i| metrics.route(Some(&format!("/r{i}"))))
            .collect();
        assert_eq!(
            metrics.routes.read().expect("lock").len(),
            MAX_CACHED_ROUTES
        );
        assert!(routes[..MAX_CACHED_ROUTES].iter().all(|r| r.cached));
        assert!(routes[MAX_CACHED_ROUTES..].iter().all(|r| !r.cached));
        // More attribute sets than the series cap: all recorded, cache bounded.
        let route = &routes[0];
        let statuses: Vec<u16> = (100..100 + MAX_CACHED_SERIES as u16 + 50).collect();
        for &status in &statuses {
            metrics.record(route, &measurement(0, status));
        }
        metrics.record(&routes[MAX_CACHED_ROUTES], &measurement(0, 200));
        assert_eq!(
            metrics.cached_series.load(Ordering::Relaxed),
            MAX_CACHED_SERIES
        );
        assert_eq!(route.series.read().expect("lock").len(), MAX_CACHED_SERIES);
        let counts = counts(&provider, &exporter);
        assert_eq!(counts.len(), statuses.len() + 1);
        assert!(counts.iter().all(|(_, n)| *n == 1));
    }

    #[test]
    fn keys_distinguish_every_part() {
        let base = measurement(0, 200);
        let mut keys = vec![base.key()];
        let mut m = measurement(1, 200);
        keys.push(m.key());
        m = measurement(0, 201);
        keys.push(m.key());
        m = measurement(0, 200);
        m.version = "2";
        keys.push(m.key());
        m = measurement(0, 200);
        m.error = Some(ErrorType::Other);
        keys.push(m.key());
        m = measurement(0, 200);
        m.status = None;
        keys.push(m.key());
        m = measurement(9, 200);
        keys.push(m.key());
        let mut dedup = keys.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), keys.len());
    }

    #[test]
    fn exported_instruments_match_their_descriptors() {
        let exporter = InMemoryMetricExporter::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .build();
        let metrics = ServerMetrics::new(&provider.meter("test"), "https");
        metrics.add_active(0, 1);
        let mut failed = measurement(1, 503);
        failed.version = "2";
        metrics.record(&metrics.route(Some("/a")), &failed);
        provider.force_flush().expect("flush");
        let exported = exporter.get_finished_metrics().expect("metrics");
        let mut seen = Vec::new();
        for metric in exported
            .iter()
            .flat_map(|rm| rm.scope_metrics())
            .flat_map(|sm| sm.metrics())
        {
            let d = semconv::SERVER_INSTRUMENTS
                .iter()
                .find(|d| d.name == metric.name())
                .unwrap_or_else(|| panic!("{} has no descriptor", metric.name()));
            assert_eq!(metric.unit(), d.unit, "{}", d.name);
            assert_eq!(metric.description(), d.description, "{}", d.name);
            let attributes: Vec<(String, String)> = match metric.data() {
                AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                    assert_eq!(d.kind, ferrotel_meters::InstrumentKind::Histogram);
                    assert_eq!(
                        h.data_points().next().unwrap().bounds().collect::<Vec<_>>(),
                        d.buckets.unwrap()
                    );
                    h.data_points()
                        .flat_map(|p| {
                            p.attributes()
                                .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                                .collect::<Vec<_>>()
                        })
                        .collect()
                }
                AggregatedMetrics::U64(MetricData::Histogram(h)) => {
                    assert_eq!(d.kind, ferrotel_meters::InstrumentKind::Histogram);
                    assert_eq!(
                        h.data_points().next().unwrap().bounds().collect::<Vec<_>>(),
                        d.buckets.unwrap()
                    );
                    h.data_points()
                        .flat_map(|p| {
                            p.attributes()
                                .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                                .collect::<Vec<_>>()
                        })
                        .collect()
                }
                AggregatedMetrics::U64(MetricData::Sum(sum)) => {
                    assert_eq!(d.kind, ferrotel_meters::InstrumentKind::Counter);
                    sum.data_points()
                        .flat_map(|p| {
                            p.attributes()
                                .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                                .collect::<Vec<_>>()
                        })
                        .collect()
                }
                AggregatedMetrics::I64(MetricData::Sum(sum)) => {
                    assert_eq!(d.kind, ferrotel_meters::InstrumentKind::UpDownCounter);
                    sum.data_points()
                        .flat_map(|p| {
                            p.attributes()
                                .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                                .collect::<Vec<_>>()
                        })
                        .collect()
                }
                _ => panic!("{}: unexpected data", d.name),
            };
            for (key, value) in attributes {
                let label = d
                    .labels
                    .iter()
                    .find(|l| l.key == key)
                    .unwrap_or_else(|| panic!("{}: attribute {key} not declared", d.name));
                if let ferrotel_meters::LabelValues::Closed(values) = label.values {
                    assert!(
                        values.contains(&value.as_str()),
                        "{}: {key}={value}",
                        d.name
                    );
                }
            }
            seen.push(d.name);
        }
        seen.sort_unstable();
        let mut all: Vec<_> = semconv::SERVER_INSTRUMENTS.iter().map(|d| d.name).collect();
        all.sort_unstable();
        assert_eq!(seen, all);
    }
}
