//! Exporter adapters: one exporter type per signal whatever the transport, and gRPC and
//! `https://` HTTP exports driven on the SDK's own runtime.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// An exporter whose futures are polled inside a tokio runtime context.
///
/// The SDK's batch processors and periodic reader poll export futures on their own plain threads;
/// tonic and the hyper client of `https://` exports need a tokio reactor and timer. Entering our runtime on every poll gives it one without
/// depending on the application's runtime, so gRPC export works with a current_thread runtime,
/// a multi-thread runtime, or none, and shutdown cannot deadlock on a blocked application runtime.
#[derive(Debug)]
pub(crate) struct OnRuntime<E> {
    inner: E,
    handle: tokio::runtime::Handle,
}

impl<E> OnRuntime<E> {
    #[cfg_attr(not(any(feature = "grpc", feature = "tls")), allow(dead_code))]
    pub(crate) fn new(inner: E, handle: tokio::runtime::Handle) -> Self {
        Self { inner, handle }
    }

    /// The same runtime around another exporter made from this one's.
    #[cfg_attr(not(any(feature = "grpc", feature = "tls")), allow(dead_code))]
    pub(crate) fn map<T>(self, wrap: impl FnOnce(E) -> T) -> OnRuntime<T> {
        OnRuntime {
            inner: wrap(self.inner),
            handle: self.handle,
        }
    }

    fn run<F: Future>(&self, fut: F) -> Entered<'_, F> {
        Entered {
            handle: &self.handle,
            fut: Box::pin(fut),
        }
    }
}

struct Entered<'a, F> {
    handle: &'a tokio::runtime::Handle,
    fut: Pin<Box<F>>,
}

impl<F: Future> Future for Entered<'_, F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _enter = self.handle.enter();
        self.fut.as_mut().poll(cx)
    }
}

impl<E: SpanExporter> SpanExporter for OnRuntime<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.run(self.inner.export(batch)).await
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let _enter = self.handle.enter();
        self.inner.shutdown_with_timeout(timeout)
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: LogExporter> LogExporter for OnRuntime<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        self.run(self.inner.export(batch)).await
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let _enter = self.handle.enter();
        self.inner.shutdown_with_timeout(timeout)
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: PushMetricExporter> PushMetricExporter for OnRuntime<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        self.run(self.inner.export(metrics)).await
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let _enter = self.handle.enter();
        self.inner.shutdown_with_timeout(timeout)
    }
    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

/// The OTLP exporter of a signal: one that does its own I/O (plain HTTP through reqwest's
/// blocking client), or one polled on our runtime (gRPC, `https://` HTTP).
#[derive(Debug)]
pub(crate) enum EitherExporter<H, G> {
    Direct(H),
    #[cfg_attr(not(any(feature = "grpc", feature = "tls")), allow(dead_code))]
    OnRuntime(G),
}

impl<H: SpanExporter, G: SpanExporter> SpanExporter for EitherExporter<H, G> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        match self {
            Self::Direct(e) => e.export(batch).await,
            Self::OnRuntime(e) => e.export(batch).await,
        }
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self {
            Self::Direct(e) => e.shutdown_with_timeout(timeout),
            Self::OnRuntime(e) => e.shutdown_with_timeout(timeout),
        }
    }
    fn force_flush(&self) -> OTelSdkResult {
        match self {
            Self::Direct(e) => e.force_flush(),
            Self::OnRuntime(e) => e.force_flush(),
        }
    }
    fn set_resource(&mut self, resource: &Resource) {
        match self {
            Self::Direct(e) => e.set_resource(resource),
            Self::OnRuntime(e) => e.set_resource(resource),
        }
    }
}

impl<H: LogExporter, G: LogExporter> LogExporter for EitherExporter<H, G> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        match self {
            Self::Direct(e) => e.export(batch).await,
            Self::OnRuntime(e) => e.export(batch).await,
        }
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self {
            Self::Direct(e) => e.shutdown_with_timeout(timeout),
            Self::OnRuntime(e) => e.shutdown_with_timeout(timeout),
        }
    }
    fn set_resource(&mut self, resource: &Resource) {
        match self {
            Self::Direct(e) => e.set_resource(resource),
            Self::OnRuntime(e) => e.set_resource(resource),
        }
    }
}

impl<H: PushMetricExporter, G: PushMetricExporter> PushMetricExporter for EitherExporter<H, G> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        match self {
            Self::Direct(e) => e.export(metrics).await,
            Self::OnRuntime(e) => e.export(metrics).await,
        }
    }
    fn force_flush(&self) -> OTelSdkResult {
        match self {
            Self::Direct(e) => e.force_flush(),
            Self::OnRuntime(e) => e.force_flush(),
        }
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self {
            Self::Direct(e) => e.shutdown_with_timeout(timeout),
            Self::OnRuntime(e) => e.shutdown_with_timeout(timeout),
        }
    }
    fn temporality(&self) -> Temporality {
        match self {
            Self::Direct(e) => e.temporality(),
            Self::OnRuntime(e) => e.temporality(),
        }
    }
}
