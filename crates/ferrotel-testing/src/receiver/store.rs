//! What the receiver keeps: every decoded request (raw, so nothing is lost), request metadata,
//! injected faults, and the change notifications `wait_for` sleeps on.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, metric};

use super::model::{
    Attributes, MetricKind, PointValue, ReceivedDataPoint, ReceivedLogRecord, ReceivedSpan,
    RequestInfo, Scope, Signal, Transport,
};

/// A decoded request of one signal.
pub(crate) enum Payload {
    Traces(ExportTraceServiceRequest),
    Metrics(ExportMetricsServiceRequest),
    Logs(ExportLogsServiceRequest),
}

impl Payload {
    fn signal(&self) -> Signal {
        match self {
            Payload::Traces(_) => Signal::Traces,
            Payload::Metrics(_) => Signal::Metrics,
            Payload::Logs(_) => Signal::Logs,
        }
    }
}

/// A fault the receiver answers with instead of accepting requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Reject as temporarily unavailable: HTTP `503 Service Unavailable` / gRPC `UNAVAILABLE`.
    /// OTLP exporters treat this as retryable. The data is not stored.
    Unavailable,
    /// Reject as malformed: HTTP `400 Bad Request` / gRPC `INVALID_ARGUMENT`.
    /// OTLP exporters treat this as permanent. The data is not stored.
    BadRequest,
    /// Hold the response for this long, then accept and store the data as usual.
    Delay(Duration),
}

#[derive(Default)]
struct FaultState {
    fault: Option<Fault>,
    /// `None`: until cleared; `Some(n)`: for the next `n` requests.
    remaining: Option<u64>,
}

#[derive(Default)]
pub(crate) struct Store {
    traces: Vec<(Transport, ExportTraceServiceRequest)>,
    metrics: Vec<(Transport, ExportMetricsServiceRequest)>,
    logs: Vec<(Transport, ExportLogsServiceRequest)>,
    requests: Vec<RequestInfo>,
    decode_errors: Vec<String>,
    tls_errors: Vec<String>,
}

/// State shared by the servers and the [`FakeReceiver`](super::FakeReceiver) handle.
pub(crate) struct Shared {
    store: Mutex<Store>,
    faults: Mutex<FaultState>,
    /// Bumped on every change; blocking waiters sleep on `changed`.
    version: Mutex<u64>,
    changed: Condvar,
    /// The same version for async waiters.
    version_tx: tokio::sync::watch::Sender<u64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in a test thread must not make every later query panic too.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new() -> Self {
        Shared {
            store: Mutex::new(Store::default()),
            faults: Mutex::new(FaultState::default()),
            version: Mutex::new(0),
            changed: Condvar::new(),
            version_tx: tokio::sync::watch::Sender::new(0),
        }
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    fn notify(&self) {
        let mut v = lock(&self.version);
        *v += 1;
        let now = *v;
        drop(v);
        self.changed.notify_all();
        self.version_tx.send_replace(now);
    }

    pub(crate) fn version(&self) -> u64 {
        *lock(&self.version)
    }

    /// Blocks until the version differs from `seen` or `timeout` passes.
    pub(crate) fn wait_change_blocking(&self, seen: u64, timeout: Duration) {
        let guard = lock(&self.version);
        let _ = self
            .changed
            .wait_timeout_while(guard, timeout, |v| *v == seen)
            .unwrap_or_else(PoisonError::into_inner);
    }

    pub(crate) fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.version_tx.subscribe()
    }

    pub(crate) fn set_fault(&self, fault: Option<Fault>, remaining: Option<u64>) {
        let mut f = lock(&self.faults);
        f.fault = fault;
        f.remaining = remaining;
    }

    /// The fault to apply to the request being handled now, consuming one use.
    pub(crate) fn take_fault(&self) -> Option<Fault> {
        let mut f = lock(&self.faults);
        let fault = f.fault?;
        match f.remaining {
            None => {}
            Some(0) => {
                f.fault = None;
                return None;
            }
            Some(n) => {
                f.remaining = Some(n - 1);
                if n == 1 {
                    f.fault = None;
                }
            }
        }
        Some(fault)
    }

    pub(crate) fn record(&self, info: RequestInfo, payload: Option<Payload>) {
        let mut store = self.store();
        if let Some(payload) = payload {
            debug_assert_eq!(payload.signal(), info.signal);
            let t = info.transport;
            match payload {
                Payload::Traces(r) => store.traces.push((t, r)),
                Payload::Metrics(r) => store.metrics.push((t, r)),
                Payload::Logs(r) => store.logs.push((t, r)),
            }
        }
        store.requests.push(info);
        drop(store);
        self.notify();
    }

    pub(crate) fn record_decode_error(&self, message: String) {
        self.store().decode_errors.push(message);
        self.notify();
    }

    pub(crate) fn record_tls_error(&self, message: String) {
        self.store().tls_errors.push(message);
        self.notify();
    }

    pub(crate) fn clear(&self) {
        *self.store() = Store::default();
        self.notify();
    }
}

impl Store {
    pub(crate) fn trace_requests(&self) -> Vec<ExportTraceServiceRequest> {
        self.traces.iter().map(|(_, r)| r.clone()).collect()
    }

    pub(crate) fn metrics_requests(&self) -> Vec<ExportMetricsServiceRequest> {
        self.metrics.iter().map(|(_, r)| r.clone()).collect()
    }

    pub(crate) fn logs_requests(&self) -> Vec<ExportLogsServiceRequest> {
        self.logs.iter().map(|(_, r)| r.clone()).collect()
    }

    pub(crate) fn requests(&self) -> &[RequestInfo] {
        &self.requests
    }

    pub(crate) fn tls_errors(&self) -> &[String] {
        &self.tls_errors
    }

    pub(crate) fn decode_errors(&self) -> &[String] {
        &self.decode_errors
    }

    /// Accepted requests of `signal` that arrived over `transport`.
    pub(crate) fn request_count(&self, signal: Signal, transport: Transport) -> usize {
        self.requests
            .iter()
            .filter(|r| r.accepted && r.signal == signal && r.transport == transport)
            .count()
    }

    pub(crate) fn rejected_count(&self, signal: Signal) -> usize {
        self.requests
            .iter()
            .filter(|r| !r.accepted && r.signal == signal)
            .count()
    }

    pub(crate) fn spans(&self) -> Vec<ReceivedSpan> {
        let mut out = Vec::new();
        for (transport, req) in &self.traces {
            for rs in &req.resource_spans {
                let resource = Attributes::from_proto(
                    rs.resource
                        .as_ref()
                        .map(|r| r.attributes.as_slice())
                        .unwrap_or_default(),
                );
                for ss in &rs.scope_spans {
                    let scope = Scope::from_proto(ss.scope.as_ref());
                    for span in &ss.spans {
                        out.push(ReceivedSpan {
                            span: span.clone(),
                            resource: resource.clone(),
                            scope: scope.clone(),
                            transport: *transport,
                        });
                    }
                }
            }
        }
        out
    }

    pub(crate) fn data_points(&self) -> Vec<ReceivedDataPoint> {
        self.metrics
            .iter()
            .flat_map(|(transport, req)| points_of(*transport, req))
            .collect()
    }

    pub(crate) fn log_records(&self) -> Vec<ReceivedLogRecord> {
        let mut out = Vec::new();
        for (transport, req) in &self.logs {
            for rl in &req.resource_logs {
                let resource = Attributes::from_proto(
                    rl.resource
                        .as_ref()
                        .map(|r| r.attributes.as_slice())
                        .unwrap_or_default(),
                );
                for sl in &rl.scope_logs {
                    let scope = Scope::from_proto(sl.scope.as_ref());
                    for record in &sl.log_records {
                        out.push(ReceivedLogRecord {
                            record: record.clone(),
                            resource: resource.clone(),
                            scope: scope.clone(),
                            transport: *transport,
                        });
                    }
                }
            }
        }
        out
    }

    /// Distinct resources (as attribute lists) that sent `signal`, in first-seen order.
    pub(crate) fn resources(&self, signal: Signal) -> Vec<Attributes> {
        let all: Vec<Attributes> = match signal {
            Signal::Traces => self
                .traces
                .iter()
                .flat_map(|(_, r)| r.resource_spans.iter().map(|rs| rs.resource.as_ref()))
                .map(|r| {
                    Attributes::from_proto(r.map(|r| r.attributes.as_slice()).unwrap_or_default())
                })
                .collect(),
            Signal::Metrics => self
                .metrics
                .iter()
                .flat_map(|(_, r)| r.resource_metrics.iter().map(|rm| rm.resource.as_ref()))
                .map(|r| {
                    Attributes::from_proto(r.map(|r| r.attributes.as_slice()).unwrap_or_default())
                })
                .collect(),
            Signal::Logs => self
                .logs
                .iter()
                .flat_map(|(_, r)| r.resource_logs.iter().map(|rl| rl.resource.as_ref()))
                .map(|r| {
                    Attributes::from_proto(r.map(|r| r.attributes.as_slice()).unwrap_or_default())
                })
                .collect(),
        };
        let mut out: Vec<Attributes> = Vec::new();
        for r in all {
            if !out.contains(&r) {
                out.push(r);
            }
        }
        out
    }
}

/// The data points of one metrics request, as they arrived over `transport`.
pub(crate) fn points_of(
    transport: Transport,
    req: &ExportMetricsServiceRequest,
) -> Vec<ReceivedDataPoint> {
    let transport = &transport;
    let mut out = Vec::new();
    for rm in &req.resource_metrics {
        let resource = Attributes::from_proto(
            rm.resource
                .as_ref()
                .map(|r| r.attributes.as_slice())
                .unwrap_or_default(),
        );
        for sm in &rm.scope_metrics {
            let scope = Scope::from_proto(sm.scope.as_ref());
            for m in &sm.metrics {
                let base = |kind, attributes: &[_], value, start, time, exemplars: &[_]| {
                    ReceivedDataPoint {
                        metric_name: m.name.clone(),
                        description: m.description.clone(),
                        unit: m.unit.clone(),
                        kind,
                        attributes: Attributes::from_proto(attributes),
                        value,
                        start_time_unix_nano: start,
                        time_unix_nano: time,
                        exemplars: exemplars.to_vec(),
                        resource: resource.clone(),
                        scope: scope.clone(),
                        transport: *transport,
                    }
                };
                let temporality = |t: i32| {
                    AggregationTemporality::try_from(t)
                        .unwrap_or(AggregationTemporality::Unspecified)
                };
                match &m.data {
                    Some(metric::Data::Gauge(g)) => out.extend(g.data_points.iter().map(|p| {
                        base(
                            MetricKind::Gauge,
                            &p.attributes,
                            PointValue::from_number(p.value.as_ref()),
                            p.start_time_unix_nano,
                            p.time_unix_nano,
                            &p.exemplars,
                        )
                    })),
                    Some(metric::Data::Sum(s)) => {
                        let kind = MetricKind::Sum {
                            monotonic: s.is_monotonic,
                            temporality: temporality(s.aggregation_temporality),
                        };
                        out.extend(s.data_points.iter().map(|p| {
                            base(
                                kind,
                                &p.attributes,
                                PointValue::from_number(p.value.as_ref()),
                                p.start_time_unix_nano,
                                p.time_unix_nano,
                                &p.exemplars,
                            )
                        }))
                    }
                    Some(metric::Data::Histogram(h)) => {
                        let kind = MetricKind::Histogram {
                            temporality: temporality(h.aggregation_temporality),
                        };
                        out.extend(h.data_points.iter().map(|p| {
                            base(
                                kind,
                                &p.attributes,
                                PointValue::Histogram {
                                    count: p.count,
                                    sum: p.sum,
                                    bucket_counts: p.bucket_counts.clone(),
                                    explicit_bounds: p.explicit_bounds.clone(),
                                    min: p.min,
                                    max: p.max,
                                },
                                p.start_time_unix_nano,
                                p.time_unix_nano,
                                &p.exemplars,
                            )
                        }))
                    }
                    Some(metric::Data::ExponentialHistogram(h)) => {
                        let kind = MetricKind::ExponentialHistogram {
                            temporality: temporality(h.aggregation_temporality),
                        };
                        out.extend(h.data_points.iter().map(|p| {
                            base(
                                kind,
                                &p.attributes,
                                PointValue::ExponentialHistogram {
                                    count: p.count,
                                    sum: p.sum,
                                    scale: p.scale,
                                    positive: p.positive.clone(),
                                },
                                p.start_time_unix_nano,
                                p.time_unix_nano,
                                &p.exemplars,
                            )
                        }))
                    }
                    Some(metric::Data::Summary(s)) => out.extend(s.data_points.iter().map(|p| {
                        base(
                            MetricKind::Summary,
                            &p.attributes,
                            PointValue::Summary {
                                count: p.count,
                                sum: p.sum,
                            },
                            p.start_time_unix_nano,
                            p.time_unix_nano,
                            &[],
                        )
                    })),
                    None => {}
                }
            }
        }
    }
    out
}
