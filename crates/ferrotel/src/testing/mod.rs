//! Test kit (feature `testing`): in-memory capture of all three signals through the same
//! pipeline as [`crate::init`], with helpers to assert on spans, data points and log records, and
//! a fake OTLP receiver (HTTP protobuf, HTTP JSON, gRPC; plain or TLS) for end-to-end tests.

mod in_memory;
mod receiver;

pub use in_memory::*;
pub use receiver::*;
