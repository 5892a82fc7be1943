//! The OTLP metrics request: the stock conversion of the SDK's collected metrics, with the
//! family's exemplars added to the histogram data points.
//!
//! `opentelemetry_sdk` 0.33 never fills a data point's exemplars and offers no way to, so the
//! join happens on the protobuf message the stock conversion builds: it keeps the SDK's order
//! (scopes, metrics, data points), so each protobuf point is walked beside the SDK point it came
//! from, whose metric name and attributes find its reservoir
//! ([`ferrotel_meters::exemplars::exemplars_for`]).

use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use ferrotel_meters::exemplars::{self, Exemplar};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1 as proto;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};

/// Where the last export's exemplars ended: each export sends those recorded since.
#[derive(Debug)]
pub(crate) struct ExemplarCursor(Mutex<SystemTime>);

impl Default for ExemplarCursor {
    fn default() -> Self {
        Self(Mutex::new(UNIX_EPOCH))
    }
}

impl ExemplarCursor {
    /// Moves the cursor to now and returns where it was.
    pub(crate) fn advance(&self) -> SystemTime {
        let now = SystemTime::now();
        std::mem::replace(
            &mut *self.0.lock().unwrap_or_else(PoisonError::into_inner),
            now,
        )
    }
}

/// `metrics` as an `ExportMetricsServiceRequest`, each histogram point carrying the exemplars
/// of its series recorded after `since` (those before went with an earlier export).
pub(crate) fn request_with_exemplars(
    metrics: &ResourceMetrics,
    since: SystemTime,
) -> ExportMetricsServiceRequest {
    let mut request = ExportMetricsServiceRequest::from(metrics);
    if !exemplars::any_exemplars() {
        return request;
    }
    let Some(resource) = request.resource_metrics.first_mut() else {
        return request;
    };
    for (scope, sdk_scope) in resource
        .scope_metrics
        .iter_mut()
        .zip(metrics.scope_metrics())
    {
        for (metric, sdk_metric) in scope.metrics.iter_mut().zip(sdk_scope.metrics()) {
            let Some(proto::metric::Data::Histogram(histogram)) = &mut metric.data else {
                continue;
            };
            let name = sdk_metric.name();
            macro_rules! join {
                ($data:expr) => {
                    if let MetricData::Histogram(h) = $data {
                        for (point, sdk_point) in
                            histogram.data_points.iter_mut().zip(h.data_points())
                        {
                            point.exemplars =
                                exemplars::exemplars_for(name, sdk_point.attributes())
                                    .into_iter()
                                    .filter(|e| e.time > since)
                                    .map(to_proto)
                                    .collect();
                        }
                    }
                };
            }
            match sdk_metric.data() {
                AggregatedMetrics::F64(d) => join!(d),
                AggregatedMetrics::U64(d) => join!(d),
                AggregatedMetrics::I64(d) => join!(d),
            }
        }
    }
    request
}

fn to_proto(e: Exemplar) -> proto::Exemplar {
    let (trace_id, span_id) = match e.trace {
        Some((trace, span)) => (trace.to_bytes().to_vec(), span.to_bytes().to_vec()),
        None => (Vec::new(), Vec::new()),
    };
    proto::Exemplar {
        filtered_attributes: Vec::new(),
        time_unix_nano: e
            .time
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default(),
        span_id,
        trace_id,
        value: Some(proto::exemplar::Value::AsDouble(e.value)),
    }
}
