#![doc = include_str!("../docs/prometheus.md")]
//!
//! # Dependencies and why
//!
//! - `opentelemetry`, `opentelemetry_sdk`: the SDK's `ManualReader` and `MetricReader` trait
//!   (feature `experimental_metrics_custom_reader`) the exporter is built on, and the collected
//!   data model it encodes.
//! - `prometheus-client`: the OpenMetrics text encoder. It writes only OpenMetrics, so the
//!   classic 0.0.4 text format is written here from the same families (`text004.rs`).
//! - `ferrotel-meters`: `prometheus_name` / `prometheus_unit`, the family's one
//!   OTel->Prometheus name translation (the deploy generator's dashboards use it too).
//! - `tracing`: a debug event for skipped exponential histograms, a warning for name clashes.
//! - `thiserror`: [`ScrapeError`].
//! - `axum` (feature `axum`), `actix-web` (feature `actix`): the `/metrics` routes.

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

pub use exporter::{Exposition, PrometheusExporter, PrometheusExporterBuilder, ScrapeError};
pub use format::{Format, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};
