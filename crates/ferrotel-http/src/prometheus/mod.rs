//! Prometheus `/metrics` exposition (feature `prometheus`).
//!
//! [`PrometheusExporter`] is an OpenTelemetry SDK [`MetricReader`]: register it on the service's
//! `SdkMeterProvider` (next to the OTLP periodic reader, or with
//! `ferrotel::builder().with_metric_reader(..)`), and serve [`PrometheusExporter::render`] at
//! `/metrics`. One set of instruments feeds both delivery models.
//!
//! Formats, chosen from the `Accept` header:
//! - OpenMetrics 1.0 text (`application/openmetrics-text`), encoded by `prometheus-client`
//!   (what Prometheus asks for first);
//! - Prometheus text 0.0.4 (`text/plain`, the default). `prometheus-client` only writes
//!   OpenMetrics, so this format is written here from the same intermediate families
//!   (`text004.rs`, ~80 lines, checked by `promtool check metrics` in the tests).
//!
//! Names follow the OTel "Prometheus and OpenMetrics compatibility" rules (see [`naming`]):
//! unit suffixes, `_total` on counters, sanitised label names, `otel_scope_name` /
//! `otel_scope_version` labels, and a `target_info` family holding resource attributes.

pub mod naming;
mod text004;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Weak};
use std::time::Duration;

use opentelemetry::{Key, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InstrumentKind, ManualReader, Pipeline, Temporality};
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use naming::PromKind;

/// Content type of the Prometheus text format 0.0.4.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Content type of the OpenMetrics 1.0 text format.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A metric reader that renders the meter provider's metrics in Prometheus formats on demand.
///
/// Cloning shares the underlying reader: register one clone on the meter provider and keep
/// another for the `/metrics` handler.
#[derive(Debug, Clone)]
pub struct PrometheusExporter {
    reader: Arc<ManualReader>,
    config: Arc<ExporterConfig>,
}

#[derive(Debug, Clone)]
struct ExporterConfig {
    scope_labels: bool,
    target_info: bool,
}

/// Builder for [`PrometheusExporter`].
#[derive(Debug)]
pub struct PrometheusExporterBuilder {
    config: ExporterConfig,
}

impl PrometheusExporterBuilder {
    /// Omits the `otel_scope_name` / `otel_scope_version` labels.
    pub fn without_scope_labels(mut self) -> Self {
        self.config.scope_labels = false;
        self
    }

    /// Omits the `target_info` family (resource attributes).
    pub fn without_target_info(mut self) -> Self {
        self.config.target_info = false;
        self
    }

    /// Builds the exporter (cumulative temporality, as Prometheus requires).
    pub fn build(self) -> PrometheusExporter {
        PrometheusExporter {
            reader: Arc::new(
                ManualReader::builder()
                    .with_temporality(Temporality::Cumulative)
                    .build(),
            ),
            config: Arc::new(self.config),
        }
    }
}

impl Default for PrometheusExporter {
    fn default() -> Self {
        Self::builder().build()
    }
}

/// The output of one scrape.
#[derive(Debug, Clone)]
pub struct Exposition {
    /// Value for the `Content-Type` response header.
    pub content_type: &'static str,
    /// The encoded metrics.
    pub body: String,
}

/// Why a scrape failed.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// The SDK could not collect (for example the meter provider was shut down).
    #[error("collecting metrics failed: {0}")]
    Collect(String),
    /// Encoding failed (a formatter error).
    #[error("encoding metrics failed")]
    Encode(#[from] std::fmt::Error),
}

/// Which text format a scrape asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text 0.0.4.
    Text,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

impl Format {
    /// Negotiates from an `Accept` header: OpenMetrics when it is acceptable with a q-value at
    /// least that of `text/plain`, Prometheus text otherwise (and without a header).
    pub fn from_accept(accept: Option<&str>) -> Self {
        let Some(accept) = accept else {
            return Self::Text;
        };
        let (mut om, mut text) = (0.0f32, 0.0f32);
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                "application/openmetrics-text" => om = om.max(q),
                "text/plain" | "text/*" | "*/*" => text = text.max(q),
                _ => {}
            }
        }
        if om > 0.0 && om >= text {
            Self::OpenMetrics
        } else {
            Self::Text
        }
    }

    /// The `Content-Type` of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Text => TEXT_CONTENT_TYPE,
            Self::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }
}

impl PrometheusExporter {
    /// Starts building an exporter.
    pub fn builder() -> PrometheusExporterBuilder {
        PrometheusExporterBuilder {
            config: ExporterConfig {
                scope_labels: true,
                target_info: true,
            },
        }
    }

    /// Collects from the meter provider and encodes for the given `Accept` header.
    pub fn render(&self, accept: Option<&str>) -> Result<Exposition, ScrapeError> {
        let format = Format::from_accept(accept);
        let body = self.render_format(format)?;
        Ok(Exposition {
            content_type: format.content_type(),
            body,
        })
    }

    /// Collects and encodes in an explicit format.
    pub fn render_format(&self, format: Format) -> Result<String, ScrapeError> {
        let mut rm = ResourceMetrics::default();
        self.reader
            .collect(&mut rm)
            .map_err(|e| ScrapeError::Collect(e.to_string()))?;
        let families = Families(convert(&rm, &self.config));
        let mut out = String::with_capacity(4096);
        match format {
            Format::Text => text004::encode(&mut out, &families.0)?,
            Format::OpenMetrics => {
                let mut registry = Registry::default();
                registry.register_collector(Box::new(families));
                prometheus_client::encoding::text::encode(&mut out, &registry)?;
            }
        }
        Ok(out)
    }
}

impl MetricReader for PrometheusExporter {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.reader.register_pipeline(pipeline)
    }

    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.reader.collect(rm)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.reader.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.reader.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, _kind: InstrumentKind) -> Temporality {
        Temporality::Cumulative
    }
}

/// A number as the SDK reported it (kept exact: integers print without a fraction).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Number {
    I(i64),
    U(u64),
    F(f64),
}

impl Number {
    fn as_f64(self) -> f64 {
        match self {
            Self::I(v) => v as f64,
            Self::U(v) => v as f64,
            Self::F(v) => v,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FamilyKind {
    Counter,
    Gauge,
    Histogram,
    Info,
}

#[derive(Debug)]
pub(crate) enum SampleValue {
    Number(Number),
    /// Non-cumulative bucket counts with their upper bounds (the last is `+Inf`).
    Histogram {
        sum: f64,
        count: u64,
        buckets: Vec<(f64, u64)>,
    },
}

pub(crate) type Labels = Vec<(String, String)>;

/// One Prometheus family, format-independent.
#[derive(Debug)]
pub(crate) struct Family {
    /// Family name; counters exclude `_total`, info excludes `_info`.
    pub name: String,
    pub help: String,
    /// Unit word the name ends with (OpenMetrics `# UNIT`).
    pub unit: Option<String>,
    pub kind: FamilyKind,
    pub samples: Vec<(Labels, SampleValue)>,
}

/// Maps OTel attributes to sorted Prometheus labels; keys colliding after sanitisation are
/// merged with `;`, ordered by original key (spec rule).
fn labels<'a>(
    attrs: impl Iterator<Item = (&'a Key, &'a Value)>,
    extra: &[(String, String)],
) -> Labels {
    let mut map: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (k, v) in attrs {
        map.entry(naming::sanitize_label_name(k.as_str()))
            .or_default()
            .push((k.as_str().to_owned(), v.to_string()));
    }
    let mut out: Labels = map
        .into_iter()
        .map(|(k, mut vs)| {
            vs.sort();
            (
                k,
                vs.into_iter().map(|(_, v)| v).collect::<Vec<_>>().join(";"),
            )
        })
        .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
        .collect();
    out.extend(extra.iter().cloned());
    out.sort();
    out
}

fn convert(rm: &ResourceMetrics, config: &ExporterConfig) -> Vec<Family> {
    let mut families: Vec<Family> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    if config.target_info && !rm.resource().is_empty() {
        families.push(Family {
            name: "target".to_owned(),
            help: "Target metadata".to_owned(),
            unit: None,
            kind: FamilyKind::Info,
            samples: vec![(
                labels(rm.resource().iter(), &[]),
                SampleValue::Number(Number::U(1)),
            )],
        });
        index.insert("target_info".to_owned(), 0);
    }
    for scope in rm.scope_metrics() {
        let mut scope_labels = Vec::new();
        if config.scope_labels {
            scope_labels.push((
                "otel_scope_name".to_owned(),
                scope.scope().name().to_owned(),
            ));
            if let Some(v) = scope.scope().version() {
                scope_labels.push(("otel_scope_version".to_owned(), v.to_owned()));
            }
        }
        for metric in scope.metrics() {
            let Some((kind, samples)) = samples(metric.data(), &scope_labels) else {
                tracing::debug!(
                    metric = metric.name(),
                    "exponential histograms are not exposed to Prometheus"
                );
                continue;
            };
            let prom_kind = match kind {
                FamilyKind::Counter => PromKind::Counter,
                FamilyKind::Histogram => PromKind::Histogram,
                FamilyKind::Gauge | FamilyKind::Info => PromKind::Gauge,
            };
            let (name, unit) = naming::family_name(metric.name(), metric.unit(), prom_kind);
            match index.get(&name) {
                Some(&i) if families[i].kind == kind => families[i].samples.extend(samples),
                Some(_) => {
                    tracing::warn!(metric = %name, "dropping metric whose Prometheus name clashes with another type");
                }
                None => {
                    index.insert(name.clone(), families.len());
                    families.push(Family {
                        name,
                        help: metric.description().to_owned(),
                        unit,
                        kind,
                        samples,
                    });
                }
            }
        }
    }
    families
}

fn samples(
    data: &AggregatedMetrics,
    extra: &Labels,
) -> Option<(FamilyKind, Vec<(Labels, SampleValue)>)> {
    fn of<T: Copy>(
        data: &MetricData<T>,
        extra: &Labels,
        num: impl Fn(T) -> Number,
    ) -> Option<(FamilyKind, Vec<(Labels, SampleValue)>)> {
        let attrs = |it: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
            labels(it.map(|kv| (&kv.key, &kv.value)), extra)
        };
        Some(match data {
            MetricData::Gauge(g) => (
                FamilyKind::Gauge,
                g.data_points()
                    .map(|dp| {
                        (
                            attrs(&mut dp.attributes()),
                            SampleValue::Number(num(dp.value())),
                        )
                    })
                    .collect(),
            ),
            MetricData::Sum(s) => (
                if s.is_monotonic() {
                    FamilyKind::Counter
                } else {
                    FamilyKind::Gauge
                },
                s.data_points()
                    .map(|dp| {
                        (
                            attrs(&mut dp.attributes()),
                            SampleValue::Number(num(dp.value())),
                        )
                    })
                    .collect(),
            ),
            MetricData::Histogram(h) => (
                FamilyKind::Histogram,
                h.data_points()
                    .map(|dp| {
                        let mut buckets: Vec<(f64, u64)> =
                            dp.bounds().zip(dp.bucket_counts()).collect();
                        let inf = dp.bucket_counts().last().unwrap_or(0);
                        buckets.push((f64::INFINITY, inf));
                        let value = SampleValue::Histogram {
                            sum: num(dp.sum()).as_f64(),
                            count: dp.count(),
                            buckets,
                        };
                        (attrs(&mut dp.attributes()), value)
                    })
                    .collect(),
            ),
            MetricData::ExponentialHistogram(_) => return None,
        })
    }
    match data {
        AggregatedMetrics::F64(d) => of(d, extra, Number::F),
        AggregatedMetrics::U64(d) => of(d, extra, Number::U),
        AggregatedMetrics::I64(d) => of(d, extra, Number::I),
    }
}

/// The families of one scrape, encoded through `prometheus-client`'s OpenMetrics encoder.
#[derive(Debug)]
struct Families(Vec<Family>);

impl prometheus_client::collector::Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in &self.0 {
            let metric_type = match family.kind {
                FamilyKind::Counter => MetricType::Counter,
                FamilyKind::Gauge => MetricType::Gauge,
                FamilyKind::Histogram => MetricType::Histogram,
                FamilyKind::Info => MetricType::Info,
            };
            // prometheus-client appends `_{unit}` itself; hand it the stem.
            let unit = family.unit.as_ref().map(|u| Unit::Other(u.clone()));
            let stem = match &family.unit {
                Some(u) => family
                    .name
                    .strip_suffix(u.as_str())
                    .and_then(|s| s.strip_suffix('_'))
                    .unwrap_or(&family.name),
                None => &family.name,
            };
            let mut metric =
                encoder.encode_descriptor(stem, &family.help, unit.as_ref(), metric_type)?;
            for (labels, value) in &family.samples {
                match (family.kind, value) {
                    (FamilyKind::Info, _) => metric.encode_info(labels)?,
                    (FamilyKind::Counter, SampleValue::Number(n)) => {
                        let mut m = metric.encode_family(labels)?;
                        match *n {
                            Number::U(v) => m.encode_counter::<NoLabelSet, _, u64>(&v, None)?,
                            Number::I(v) => m.encode_counter::<NoLabelSet, _, u64>(
                                &v.max(0).unsigned_abs(),
                                None,
                            )?,
                            Number::F(v) => m.encode_counter::<NoLabelSet, _, f64>(&v, None)?,
                        }
                    }
                    (FamilyKind::Gauge, SampleValue::Number(n)) => {
                        let mut m = metric.encode_family(labels)?;
                        match *n {
                            Number::U(v) => m.encode_gauge(&v)?,
                            Number::I(v) => m.encode_gauge(&v)?,
                            Number::F(v) => m.encode_gauge(&v)?,
                        }
                    }
                    (
                        FamilyKind::Histogram,
                        SampleValue::Histogram {
                            sum,
                            count,
                            buckets,
                        },
                    ) => {
                        metric
                            .encode_family(labels)?
                            .encode_histogram::<NoLabelSet>(*sum, *count, buckets, None)?;
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// axum route for `/metrics` (feature `axum`).
#[cfg(feature = "axum")]
pub mod axum {
    use super::PrometheusExporter;
    use ::axum::Router;
    use ::axum::response::{IntoResponse, Response};
    use ::axum::routing::get;
    use http::{HeaderMap, StatusCode, header};

    /// Serves one scrape for the request headers: 200 with the exposition, or 500 with the reason.
    pub fn scrape(exporter: &PrometheusExporter, headers: &HeaderMap) -> Response {
        let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
        match exporter.render(accept) {
            Ok(e) => ([(header::CONTENT_TYPE, e.content_type)], e.body).into_response(),
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        }
    }

    /// A router serving `GET /metrics`.
    pub fn router<S: Clone + Send + Sync + 'static>(exporter: PrometheusExporter) -> Router<S> {
        Router::new().route(
            "/metrics",
            get(move |headers: HeaderMap| async move { scrape(&exporter, &headers) }),
        )
    }
}

/// actix-web service configuration for `/metrics` (feature `actix`).
#[cfg(feature = "actix")]
pub mod actix {
    use super::PrometheusExporter;
    use actix_web::http::header;
    use actix_web::{HttpRequest, HttpResponse, web};

    /// Serves one scrape for the request: 200 with the exposition, or 500 with the reason.
    pub fn scrape(exporter: &PrometheusExporter, req: &HttpRequest) -> HttpResponse {
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok());
        match exporter.render(accept) {
            Ok(e) => HttpResponse::Ok().content_type(e.content_type).body(e.body),
            Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
        }
    }

    /// Registers `GET /metrics`: `App::new().configure(prometheus::actix::configure(exporter))`.
    pub fn configure(exporter: PrometheusExporter) -> impl FnOnce(&mut web::ServiceConfig) {
        move |cfg| {
            cfg.app_data(web::Data::new(exporter)).route(
                "/metrics",
                web::get().to(
                    |exporter: web::Data<PrometheusExporter>, req: HttpRequest| async move {
                        scrape(&exporter, &req)
                    },
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_formats() {
        assert_eq!(Format::from_accept(None), Format::Text);
        assert_eq!(Format::from_accept(Some("text/plain")), Format::Text);
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::from_accept(Some(prometheus)), Format::OpenMetrics);
        assert_eq!(
            Format::from_accept(Some("application/openmetrics-text;q=0.2, text/plain")),
            Format::Text
        );
    }
}
