#![doc = include_str!("../docs/prometheus.md")]
//!
//! # Dependencies and why
//!
//! - `opentelemetry`, `opentelemetry_sdk`: the SDK's `ManualReader` and `MetricReader` trait
//!   (feature `experimental_metrics_custom_reader`) the exporter is built on, and the collected
//!   data model it encodes.
//! - No Prometheus client crate: `prometheus-client`'s encoder (used until exemplars) takes
//!   exemplars only from its own metric types, while ours come from the family's reservoirs
//!   joined with the SDK's data points; both text formats are written here from one family list
//!   (`openmetrics.rs`, `text004.rs`), and the real-Prometheus tests parse what they write.
//! - `ferrotel-meters`: `prometheus_name` / `prometheus_unit`, the family's one
//!   OTel->Prometheus name translation (the deploy generator's dashboards use it too), and the
//!   exemplar reservoirs written on OpenMetrics `_bucket` lines.
//! - `tracing`: a debug event for skipped exponential histograms, a warning for name clashes.
//! - `thiserror`: [`ScrapeError`].
//! - `axum` (feature `axum`), `actix-web` (feature `actix`): the `/metrics` routes.
//! - `hyper`, `hyper-util`, `http-body-util`, `bytes`, `tokio` (feature `server`):
//!   [`PrometheusExporter::serve`], a standalone endpoint on a single-threaded runtime of its
//!   own (the HTTP/1 server stack the family's other crates already bring in).

mod exporter;
mod families;
mod format;
pub mod naming;
mod openmetrics;
mod text004;

#[cfg(feature = "axum")]
pub mod axum;

#[cfg(feature = "actix")]
pub mod actix;

#[cfg(feature = "server")]
mod server;
#[cfg(feature = "server")]
pub use server::MetricsServer;

pub use exporter::{Exposition, PrometheusExporter, PrometheusExporterBuilder, ScrapeError};
pub use format::{Format, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};
