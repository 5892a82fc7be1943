//! Test kit of the ferrotel family.
//!
//! - [`capture`] (feature `capture`, on by default): everything a service emits through
//!   `ferrotel`'s pipeline (spans, log records, metrics), captured in memory per test. It works
//!   for what services actually test: an `axum::serve` server on a
//!   `#[tokio::test(flavor = "multi_thread")]` runtime, and many such tests in parallel in one
//!   test binary, each seeing only its own telemetry.
//! - [`FakeReceiver`]: an OTLP receiver (HTTP protobuf, HTTP JSON and gRPC; plain or TLS with
//!   [`TestPki`]; fault injection) for end-to-end tests of any OTLP exporter. It does not
//!   depend on `ferrotel`: with `default-features = false` this crate is the receiver alone.
//!
//! Both read metrics with one rule (*Reading metrics* in the guide below): an assertion written
//! against the fake receiver reads the same against a capture.
//!
//! # Dependencies and why
//! - `opentelemetry-proto`, `prost`, `tonic`, `axum`, `hyper-util`, `flate2`, `serde`,
//!   `serde_json`: the receiver's OTLP decoding (protobuf, JSON, gzip) and its HTTP and gRPC
//!   servers, on `tokio`.
//! - `thiserror`: the receiver's error type.
//! - `rustls`, `tokio-rustls`, `rcgen`: the receiver's TLS mode and the throwaway certificates
//!   of [`TestPki`].
//! - `ferrotel`, `ferrotel-tracing`, `opentelemetry_sdk`, `tracing`, `tracing-core`,
//!   `tracing-subscriber`, `tracing-log` (feature `capture`): the pipeline under test, and the
//!   process-wide routing that sends each test's telemetry to its own capture.
//!
//! ---
//!
//! The guide below is `docs/testing.md` of the repository.
#![doc = include_str!("../docs/testing.md")]

#[cfg(feature = "capture")]
pub mod capture;
mod receiver;
mod series;

pub use receiver::*;
