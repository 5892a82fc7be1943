//! The guard: what `init()` returns, which flushes and shuts the pipelines down.

use std::any::Any;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;

use crate::accounting::{Accounting, Closing, Stats};
use crate::config::{Config, Signal};
use crate::pipeline::Pipelines;

/// Why a signal's shutdown did not complete cleanly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShutdownError {
    /// The final flush did not finish within the shutdown timeout (collector down or slow).
    #[error("did not finish within {0:?}")]
    TimedOut(Duration),
    /// The provider reported an error.
    #[error("{0}")]
    Failed(String),
    /// The shutdown timeout passed with records still queued or being exported (collector
    /// hung or too slow); they are counted as failed in [`ShutdownReport::stats`].
    #[error(
        "did not finish within {timeout:?}: {records} records still queued or being exported were counted as failed"
    )]
    Abandoned {
        /// The shutdown timeout.
        timeout: Duration,
        /// Records given up on.
        records: u64,
    },
    /// Shutdown itself went through, but the last export failed and nothing succeeded since:
    /// those records did not reach the backend.
    #[error(
        "the last export failed ({records} records not delivered since the last success): {error}"
    )]
    ExportFailed {
        /// Records whose export failed since the last successful export.
        records: u64,
        /// The last export error.
        error: String,
    },
}

/// Per-signal outcome of [`Guard::shutdown`]. After a shutdown, every record a signal accepted
/// is accounted for in `stats`: `exported + failed` (records the shutdown had to give up on are
/// counted as failed), and the signal's result says what failed.
#[derive(Debug, Clone)]
pub struct ShutdownReport {
    /// Tracer provider.
    pub traces: Result<(), ShutdownError>,
    /// Meter provider (includes the final metric export).
    pub metrics: Result<(), ShutdownError>,
    /// Logger provider.
    pub logs: Result<(), ShutdownError>,
    /// How long shutdown took.
    pub elapsed: Duration,
    /// Export counts after shutdown.
    pub stats: Stats,
}

impl ShutdownReport {
    /// Whether all three signals shut down cleanly.
    pub fn is_ok(&self) -> bool {
        self.traces.is_ok() && self.metrics.is_ok() && self.logs.is_ok()
    }
}

struct Providers {
    tracer: SdkTracerProvider,
    meter: SdkMeterProvider,
    logger: SdkLoggerProvider,
    grpc_runtime: Option<tokio::runtime::Runtime>,
}

/// Keeps telemetry running; flushes and shuts down all three providers when dropped (or on
/// [`Guard::shutdown`]), waiting at most the shutdown timeout. Safe to drop on a tokio
/// current_thread runtime, a multi-thread runtime, or with no runtime.
#[must_use = "telemetry stops when the guard is dropped"]
pub struct Guard {
    config: Config,
    providers: Option<Providers>,
    accounting: Arc<Accounting>,
    dispatch: tracing::Dispatch,
    /// Behind a mutex only so that the guard is `Sync` (shared by reference between threads);
    /// touched once, at shutdown.
    keep_alive: std::sync::Mutex<Vec<Box<dyn Any + Send>>>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("service_name", &self.config.service_name)
            .field("running", &self.providers.is_some())
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// The guard of pipelines that `startup` built and installed.
    pub(crate) fn new(
        config: Config,
        pipelines: Pipelines,
        accounting: Arc<Accounting>,
        dispatch: tracing::Dispatch,
        keep_alive: Vec<Box<dyn Any + Send>>,
    ) -> Guard {
        Guard {
            config,
            providers: Some(Providers {
                tracer: pipelines.tracer_provider,
                meter: pipelines.meter_provider,
                logger: pipelines.logger_provider,
                grpc_runtime: pipelines.grpc_runtime,
            }),
            accounting,
            dispatch,
            keep_alive: std::sync::Mutex::new(keep_alive),
        }
    }

    /// The effective configuration. Its `Display` is a table with secrets masked.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Export counts so far (exported, failed, dropped, in flight) per signal.
    pub fn stats(&self) -> Stats {
        self.accounting.stats()
    }

    /// The `tracing` dispatcher (use with `tracing::dispatcher::set_default` when the builder
    /// had `global(false)`).
    pub fn dispatch(&self) -> &tracing::Dispatch {
        &self.dispatch
    }

    /// The tracer provider (`None` after shutdown).
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.providers.as_ref().map(|p| &p.tracer)
    }

    /// The meter provider (`None` after shutdown).
    pub fn meter_provider(&self) -> Option<&SdkMeterProvider> {
        self.providers.as_ref().map(|p| &p.meter)
    }

    /// The logger provider (`None` after shutdown).
    pub fn logger_provider(&self) -> Option<&SdkLoggerProvider> {
        self.providers.as_ref().map(|p| &p.logger)
    }

    /// A meter from this guard's provider (a no-op meter after shutdown).
    pub fn meter(&self, name: &'static str) -> opentelemetry::metrics::Meter {
        use opentelemetry::metrics::MeterProvider as _;
        match &self.providers {
            Some(p) => p.meter.meter(name),
            None => SdkMeterProvider::builder().build().meter(name),
        }
    }

    /// Exports everything buffered now, waiting at most the shutdown timeout.
    pub fn force_flush(&self) -> ShutdownReport {
        self.run_on_providers(|p, signal, timeout| {
            let _ = timeout;
            match signal {
                Signal::Traces => p.tracer.force_flush(),
                Signal::Metrics => p.meter.force_flush(),
                Signal::Logs => p.logger.force_flush(),
            }
        })
    }

    /// Flushes and shuts down all three providers in parallel, waiting at most the shutdown
    /// timeout, and reports per signal.
    pub fn shutdown(mut self) -> ShutdownReport {
        self.shutdown_inner()
    }

    fn shutdown_inner(&mut self) -> ShutdownReport {
        let mut report = self.run_on_providers(|p, signal, timeout| match signal {
            Signal::Traces => p.tracer.shutdown_with_timeout(timeout),
            Signal::Metrics => p.meter.shutdown_with_timeout(timeout),
            Signal::Logs => p.logger.shutdown_with_timeout(timeout),
        });
        let timeout = self.config.shutdown_timeout;
        let acc = &self.accounting;
        for (result, counters) in [
            (&mut report.traces, &acc.spans),
            (&mut report.metrics, &acc.metric_points),
            (&mut report.logs, &acc.logs),
        ] {
            settle(result, counters.close(), timeout);
        }
        report.stats = self.stats();
        self.keep_alive
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
        if let Some(rt) = self.providers.take().and_then(|p| p.grpc_runtime) {
            // Never blocks, so it is safe inside an async context.
            rt.shutdown_background();
        }
        report
    }

    /// Runs `op` for the three signals on their own threads and waits for all of them until
    /// the shutdown timeout: a hung exporter cannot hang the caller.
    fn run_on_providers(
        &self,
        op: fn(&ProvidersRef, Signal, Duration) -> opentelemetry_sdk::error::OTelSdkResult,
    ) -> ShutdownReport {
        let start = Instant::now();
        let timeout = self.config.shutdown_timeout;
        let not_running = || Err(ShutdownError::Failed("already shut down".into()));
        let Some(p) = &self.providers else {
            return ShutdownReport {
                traces: not_running(),
                metrics: not_running(),
                logs: not_running(),
                elapsed: start.elapsed(),
                stats: self.stats(),
            };
        };
        let (tx, rx) = mpsc::channel();
        for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
            let refs = ProvidersRef {
                tracer: p.tracer.clone(),
                meter: p.meter.clone(),
                logger: p.logger.clone(),
            };
            let thread_tx = tx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("ferrotel-shutdown-{signal}"))
                .spawn(move || {
                    let _ = thread_tx.send((signal, op(&refs, signal, timeout)));
                });
            if let Err(e) = spawned {
                let _ = tx.send((
                    signal,
                    Err(opentelemetry_sdk::error::OTelSdkError::InternalFailure(
                        e.to_string(),
                    )),
                ));
            }
        }
        drop(tx);
        let deadline = start + timeout;
        let mut results = [None, None, None];
        for _ in 0..3 {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((signal, r)) => {
                    results[signal as usize] = Some(r.map_err(|e| match e {
                        opentelemetry_sdk::error::OTelSdkError::Timeout(d) => {
                            ShutdownError::TimedOut(d)
                        }
                        other => ShutdownError::Failed(other.to_string()),
                    }))
                }
                Err(_) => break,
            }
        }
        let [traces, metrics, logs] =
            results.map(|r| r.unwrap_or(Err(ShutdownError::TimedOut(timeout))));
        ShutdownReport {
            traces,
            metrics,
            logs,
            elapsed: start.elapsed(),
            stats: self.stats(),
        }
    }
}

/// Folds what accounting found unresolved at the end of shutdown into a signal's result: a
/// clean provider shutdown still fails when records were given up on or the last export failed.
fn settle(result: &mut Result<(), ShutdownError>, closing: Closing, timeout: Duration) {
    if closing.lost > 0 {
        *result = Err(ShutdownError::Abandoned {
            timeout,
            records: closing.lost,
        });
    } else if let (Ok(()), Some((records, error))) = (&*result, closing.failure) {
        *result = Err(ShutdownError::ExportFailed { records, error });
    }
}

/// Cheap clones of the providers, moved to the shutdown threads.
struct ProvidersRef {
    tracer: SdkTracerProvider,
    meter: SdkMeterProvider,
    logger: SdkLoggerProvider,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.providers.is_some() {
            let report = self.shutdown_inner();
            if !report.is_ok() && !std::thread::panicking() {
                crate::console::stderr_line(&format!(
                    "telemetry shutdown incomplete after {:?}: traces {:?}, metrics {:?}, logs {:?}",
                    report.elapsed, report.traces, report.metrics, report.logs
                ));
            }
        }
    }
}
