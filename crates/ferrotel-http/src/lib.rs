#![doc = include_str!("../docs/http-middleware.md")]
//!
//! # Dependencies and why
//!
//! - `opentelemetry`, `opentelemetry_sdk`: the API for instruments and propagation; SDK
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
//! - `tower-layer`, `tower-service`, `http-body`, `pin-project-lite` (feature `tower`): the tower
//!   Layer/Service and the response body wrapper.
//! - `axum` (feature `axum`): `MatchedPath` and `ConnectInfo` in the tower layer, routers for the
//!   health and pprof endpoints.
//! - `actix-web` (feature `actix`): the actix `Transform` and endpoint configs.
//! - `reqwest`, `reqwest-middleware`, `async-trait` (feature `reqwest`): client middleware
//!   (the trait is declared with `async_trait`).
//! - `bytes`: counting response body bytes.
//! - `pprof` (feature `pprof`): CPU sampling and flamegraph rendering.

// Without a framework adapter the core has no caller; it still builds (health endpoints).
#![cfg_attr(not(any(feature = "tower", feature = "actix")), allow(dead_code))]

mod headers;
mod instrumentation;
mod metrics;
pub mod semconv;
mod span_context;
pub mod w3c;

pub mod health;

#[cfg(feature = "tower")]
pub mod tower;

#[cfg(feature = "actix")]
pub mod actix;

#[cfg(feature = "reqwest")]
pub mod client;

#[cfg(feature = "pprof")]
pub mod pprof;

/// The `tracing` target of every span this crate creates (defined in `ferrotel-tracing`, which
/// documents why `ferrotel::init()` always keeps it).
pub use ferrotel_tracing::HTTP_SPAN_TARGET;
pub use instrumentation::{
    ConfigError, DEFAULT_EXCLUDED_PATHS, DEFAULT_REQUEST_ID_HEADER, HttpInstrumentation,
    HttpInstrumentationBuilder, SCOPE_NAME, Scheme, TraceResponseHeader,
};

#[cfg(feature = "tower")]
pub use crate::tower::{HttpLayer, HttpService};

#[cfg(feature = "actix")]
pub use crate::actix::HttpMiddleware;
