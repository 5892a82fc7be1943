//! OpenTelemetry HTTP instrumentation for tower/axum and actix-web services.
//!
//! One framework-independent core ([`HttpInstrumentation`]) drives two thin adapters, so both
//! frameworks behave identically (one conformance suite runs against both):
//!
//! - **Server metrics** (stable HTTP semconv): `http.server.request.duration` (s, semconv
//!   buckets; Prometheus `http_server_request_duration_seconds`), `http.server.requests`
//!   (`http_server_requests_total`), `http.server.active_requests`,
//!   `http.server.request.body.size` and `http.server.response.body.size` (By). Attributes:
//!   `http.request.method` (unknown methods become `_OTHER`), `http.route` (the matched template,
//!   absent when nothing matched — never the raw path), `http.response.status_code`,
//!   `url.scheme`, `network.protocol.version`, `error.type`. No client-controlled string ever
//!   becomes a label, so random paths cannot create series.
//! - **Server spans**: `tracing` spans on target `ferrotel::http` at INFO, named
//!   `{method} {route}`, `otel.kind = "server"`, parented on the incoming W3C context (global
//!   propagator), error status on 5xx, `url.path`, `url.query` (sensitive keys redacted),
//!   `user_agent.original`, `client.address`, `request_id`. Responses carry `traceresponse`
//!   (or `traceparent`) and `x-request-id` headers.
//! - **Health endpoints** ([`health`]): `/health`, `/livez`, `/readyz`, `/version`; async checks
//!   with timeouts.
//! - **`/metrics`** (feature `prometheus`): [`prometheus::PrometheusExporter`], an SDK
//!   `MetricReader` rendering Prometheus text or OpenMetrics.
//! - **Client propagation** (feature `reqwest`): [`client::ClientTracing`].
//! - **Profiling** (feature `pprof`, dev only): `pprof::PprofEndpoint`.
//!
//! Health and metrics paths are excluded from request metrics and tracing by default
//! ([`DEFAULT_EXCLUDED_PATHS`]; see [`HttpInstrumentationBuilder::instrument_all_paths`]).
//!
//! # axum
//!
//! ```
//! # #[cfg(feature = "axum")] {
//! use axum::{Router, routing::get};
//! use ferrotel_http::{HttpInstrumentation, HttpLayer, health::HealthRegistry};
//!
//! let instrumentation = HttpInstrumentation::builder().build();
//! let health = HealthRegistry::builder().version(env!("CARGO_PKG_VERSION")).build();
//! let app: Router = Router::new()
//!     .route("/users/{id}", get(|| async { "user" }))
//!     .merge(ferrotel_http::health::axum::router(health))
//!     // `Router::layer` runs after routing, so the layer sees the matched route template.
//!     .layer(HttpLayer::new(instrumentation));
//! # }
//! ```
//!
//! # actix-web
//!
//! ```
//! # #[cfg(feature = "actix")] {
//! use actix_web::{App, web};
//! use ferrotel_http::{HttpInstrumentation, HttpMiddleware};
//!
//! let instrumentation = HttpInstrumentation::builder().build();
//! let app = App::new()
//!     .wrap(HttpMiddleware::new(instrumentation))
//!     .route("/users/{id}", web::get().to(|| async { "user" }));
//! # }
//! ```
//!
//! # Dependencies and why
//!
//! - `opentelemetry`, `opentelemetry_sdk`: the API for instruments and propagation; the SDK's
//!   `ManualReader`/`MetricReader` (feature `experimental_metrics_custom_reader`) for `/metrics`;
//!   bound instruments (feature `experimental_metrics_bound_instruments`, which
//!   `ferrotel-meters` enables in the workspace too) so a request's five measurements skip the
//!   SDK's per-measurement attribute hashing (a bounded cache, see `docs/http-middleware.md`).
//! - `tracing`, `ferrotel-tracing`, `tracing-opentelemetry`: spans are `tracing` spans so
//!   handler `#[instrument]` spans nest under them. The remote parent and the span's
//!   OpenTelemetry context go through whichever span layer the subscriber has: ours (what
//!   `ferrotel::init()` installs; the parent is given before the span is created) or
//!   `tracing-opentelemetry`'s (`OpenTelemetrySpanExt::set_parent` afterwards).
//! - `http`: header and method types shared with tower/hyper/reqwest.
//! - `tokio` (time), `futures-util`: check timeouts and concurrent health checks.
//! - `serde`, `serde_json`: the health and version JSON documents.
//! - `rand`: request ids when the caller sent none.
//! - `thiserror`: error types.
//! - `axum`, `tower-layer`, `tower-service`, `http-body`, `pin-project-lite` (feature `axum`):
//!   the tower Layer/Service, body wrapper, `MatchedPath`, routers for the endpoints.
//! - `actix-web` (feature `actix`): the actix `Transform` and endpoint configs.
//! - `reqwest`, `reqwest-middleware`, `async-trait` (feature `reqwest`): client middleware
//!   (the trait is declared with `async_trait`).
//! - `prometheus-client` (feature `prometheus`): the OpenMetrics text encoder. It writes only
//!   OpenMetrics, so the classic 0.0.4 text format is written here from the same model.
//! - `ferrotel-meters` (feature `prometheus`): `prometheus_name`, the workspace's one
//!   OTel->Prometheus name translation.
//! - `bytes`: counting response body bytes.
//! - `pprof` (feature `pprof`): CPU sampling and flamegraph rendering.

// Without a framework adapter the core has no caller; it still builds (health, exporter).
#![cfg_attr(not(any(feature = "axum", feature = "actix")), allow(dead_code))]

mod instrumentation;
mod metrics;
pub mod semconv;
mod span_context;

pub mod health;

#[cfg(feature = "axum")]
pub mod tower;

#[cfg(feature = "actix")]
pub mod actix;

#[cfg(feature = "reqwest")]
pub mod client;

#[cfg(feature = "prometheus")]
pub mod prometheus;

#[cfg(feature = "pprof")]
pub mod pprof;

pub use instrumentation::{
    ConfigError, DEFAULT_EXCLUDED_PATHS, DEFAULT_REQUEST_ID_HEADER, HttpInstrumentation,
    HttpInstrumentationBuilder, SCOPE_NAME, Scheme, TRACING_TARGET, TraceResponseHeader,
};

#[cfg(feature = "axum")]
pub use crate::tower::{HttpLayer, HttpService};

#[cfg(feature = "actix")]
pub use crate::actix::HttpMiddleware;
