//! Data sources for observable instruments whose value is expensive or async to obtain.
//!
//! OpenTelemetry callbacks are synchronous and run inside the SDK's collection, so they must
//! not block (no database query, no directory scan, no `.await`). The pattern: a background
//! task refreshes a [`CachedSource`]; the gauge callback only reads the cache. Staleness is
//! visible three ways:
//!
//! * the callback refuses a value older than `max_age` (the series disappears for that
//!   collection instead of reporting a frozen number, and the instrument's
//!   [`health`](crate::ObservableGauge::health) records why);
//! * [`CachedSource::register_age_gauge`] exports `telemetry.data_source.age` (seconds since
//!   the last successful refresh, `data_source` attribute), which alerts can watch;
//! * [`CachedSource::snapshot`] returns value, age, staleness and last error for health
//!   endpoints.
//!
//! With tokio, refresh from a task:
//!
//! ```text
//! let cache = CachedSource::new("checkpoints", Duration::from_secs(120));
//! meters.checkpoints_total.register_value(cache.reader());
//! let c = cache.clone();
//! tokio::spawn(async move {
//!     let mut tick = tokio::time::interval(Duration::from_secs(30));
//!     loop { tick.tick().await; c.refresh(store.count_checkpoints()).await; }
//! });
//! ```
//!
//! For blocking sources (files, a synchronous client), [`CachedSource::spawn_refresher`] runs
//! the refresh on a dedicated thread.

use std::fmt;
use std::future::Future;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry::metrics::Meter;

use crate::instruments::SourceError;

/// Error returned by [`CachedSource::fresh`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaleError {
    /// No refresh has succeeded yet.
    #[error("data source `{name}` has no value yet{}", fmt_last(.last_error))]
    Empty {
        /// Source name.
        name: String,
        /// Last refresh error, if any.
        last_error: Option<String>,
    },
    /// The value is older than the source's `max_age`.
    #[error("data source `{name}` is stale: refreshed {age:?} ago, max age {max_age:?}{}", fmt_last(.last_error))]
    Stale {
        /// Source name.
        name: String,
        /// Time since the last successful refresh.
        age: Duration,
        /// Configured maximum age.
        max_age: Duration,
        /// Last refresh error, if any.
        last_error: Option<String>,
    },
}

fn fmt_last(e: &Option<String>) -> String {
    e.as_ref()
        .map(|e| format!("; last error: {e}"))
        .unwrap_or_default()
}

/// Point-in-time view of a [`CachedSource`].
#[derive(Debug, Clone, PartialEq)]
pub struct CacheSnapshot<T> {
    /// The last successfully refreshed value.
    pub value: Option<T>,
    /// Time since that refresh.
    pub age: Option<Duration>,
    /// Whether `age` exceeds `max_age` (or there is no value).
    pub stale: bool,
    /// The last refresh error (cleared by a success).
    pub last_error: Option<String>,
    /// Successful refreshes so far.
    pub refreshes: u64,
    /// Failed refreshes so far.
    pub failures: u64,
}

struct State<T> {
    value: Option<T>,
    updated: Option<Instant>,
    last_error: Option<String>,
    refreshes: u64,
    failures: u64,
}

struct Inner<T> {
    name: String,
    max_age: Duration,
    state: RwLock<State<T>>,
}

/// A value refreshed in the background and read by metric callbacks. Cloning shares the cache.
pub struct CachedSource<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for CachedSource<T> {
    fn clone(&self) -> Self {
        CachedSource {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> fmt::Debug for CachedSource<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedSource")
            .field("name", &self.inner.name)
            .field("max_age", &self.inner.max_age)
            .finish()
    }
}

impl<T: Clone + Send + Sync + 'static> CachedSource<T> {
    /// An empty cache named `name` (used in errors and as the `data_source` attribute) whose
    /// values are served for at most `max_age` after a successful refresh.
    pub fn new(name: impl Into<String>, max_age: Duration) -> Self {
        CachedSource {
            inner: Arc::new(Inner {
                name: name.into(),
                max_age,
                state: RwLock::new(State {
                    value: None,
                    updated: None,
                    last_error: None,
                    refreshes: 0,
                    failures: 0,
                }),
            }),
        }
    }

    /// The source name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Stores a freshly obtained value.
    pub fn store(&self, value: T) {
        let mut s = self
            .inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        s.value = Some(value);
        s.updated = Some(Instant::now());
        s.last_error = None;
        s.refreshes += 1;
    }

    /// Stores a value, or records an error and keeps the previous value (which ages).
    pub fn store_result<E: fmt::Display>(&self, result: Result<T, E>) {
        match result {
            Ok(v) => self.store(v),
            Err(e) => {
                let mut s = self
                    .inner
                    .state
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                s.last_error = Some(e.to_string());
                s.failures += 1;
            }
        }
    }

    /// Awaits `fetch` and stores its outcome: call it from your runtime's periodic task.
    pub async fn refresh<E: fmt::Display>(&self, fetch: impl Future<Output = Result<T, E>>) {
        self.store_result(fetch.await)
    }

    /// The cached value if it is fresh, else why not.
    pub fn fresh(&self) -> Result<T, StaleError> {
        let s = self
            .inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        match (&s.value, s.updated) {
            (Some(v), Some(at)) => {
                let age = at.elapsed();
                if age <= self.inner.max_age {
                    Ok(v.clone())
                } else {
                    Err(StaleError::Stale {
                        name: self.inner.name.clone(),
                        age,
                        max_age: self.inner.max_age,
                        last_error: s.last_error.clone(),
                    })
                }
            }
            _ => Err(StaleError::Empty {
                name: self.inner.name.clone(),
                last_error: s.last_error.clone(),
            }),
        }
    }

    /// Value, age, staleness and counters.
    pub fn snapshot(&self) -> CacheSnapshot<T> {
        let s = self
            .inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let age = s.updated.map(|at| at.elapsed());
        CacheSnapshot {
            value: s.value.clone(),
            age,
            stale: age.is_none_or(|a| a > self.inner.max_age),
            last_error: s.last_error.clone(),
            refreshes: s.refreshes,
            failures: s.failures,
        }
    }

    /// A closure for [`ObservableGauge::register_value`](crate::ObservableGauge::register_value):
    /// returns the fresh value, or an error (the series is skipped) when empty or stale.
    pub fn reader(&self) -> impl Fn() -> Result<T, SourceError> + Send + Sync + 'static {
        let cache = self.clone();
        move || cache.fresh().map_err(Into::into)
    }

    /// Exports `telemetry.data_source.age` (unit `s`, attribute `data_source` = this source's
    /// name; Prometheus `telemetry_data_source_age_seconds`): seconds since the last
    /// successful refresh. Nothing is reported before the first success.
    pub fn register_age_gauge(&self, meter: &Meter) {
        let cache = self.clone();
        let attrs = [KeyValue::new("data_source", self.inner.name.clone())];
        // Same name, unit and description for every source: the SDK keeps one instrument
        // and calls each source's callback.
        let _gauge = meter
            .f64_observable_gauge("telemetry.data_source.age")
            .with_unit("s")
            .with_description("Seconds since the data source was last refreshed successfully.")
            .with_callback(move |o| {
                if let Some(age) = cache.snapshot().age {
                    o.observe(age.as_secs_f64(), &attrs);
                }
            })
            .build();
    }

    /// Refreshes the cache every `interval` on a dedicated thread by calling `fetch` (which may
    /// block: a directory scan, a synchronous client). The first refresh runs immediately.
    ///
    /// The thread stops when the returned [`Refresher`] is dropped or stopped. A panic in
    /// `fetch` is caught and recorded as a failed refresh.
    pub fn spawn_refresher<F, E>(
        &self,
        interval: Duration,
        mut fetch: F,
    ) -> std::io::Result<Refresher>
    where
        F: FnMut() -> Result<T, E> + Send + 'static,
        E: fmt::Display,
    {
        let cache = self.clone();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name(format!("refresh-{}", self.inner.name))
            .spawn(move || {
                loop {
                    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut fetch)) {
                        Ok(result) => cache.store_result(result),
                        Err(_) => cache.store_result::<&str>(Err("refresh panicked")),
                    }
                    match stop_rx.recv_timeout(interval) {
                        Err(RecvTimeoutError::Timeout) => continue,
                        // Stop requested, or the Refresher was dropped.
                        _ => break,
                    }
                }
            })?;
        Ok(Refresher {
            stop: Some(stop_tx),
            handle: Some(handle),
        })
    }
}

/// Handle of a refresh thread started by [`CachedSource::spawn_refresher`].
///
/// Dropping it signals the thread to stop without waiting for it (so a slow `fetch` never
/// blocks the caller); [`stop`](Refresher::stop) signals and waits.
#[derive(Debug)]
pub struct Refresher {
    stop: Option<mpsc::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Refresher {
    /// Stops the thread and waits for the refresh in progress, if any, to finish.
    pub fn stop(mut self) {
        self.stop.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Refresher {
    fn drop(&mut self) {
        // Dropping the sender wakes the thread's recv_timeout with Disconnected.
        self.stop.take();
    }
}
