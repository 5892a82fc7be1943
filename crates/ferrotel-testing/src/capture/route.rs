//! Which capture the current code belongs to.
//!
//! A capture is keyed by the tokio runtime it was started on (every worker thread, blocking
//! thread and `block_on` of that runtime), or by its thread when it was started outside any
//! runtime. The process-wide `tracing` dispatcher, meter provider and tracer provider ask
//! [`current`] on every call and forward to that capture's pipeline.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, RwLock};
use std::thread::ThreadId;

use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_core::span::Id;

/// One capture's pipeline, as the routers see it.
pub(crate) struct Route {
    /// Distinguishes routes in per-route caches (instruments).
    pub(crate) key: u64,
    pub(crate) dispatch: tracing::Dispatch,
    pub(crate) meter_provider: SdkMeterProvider,
    pub(crate) tracer_provider: SdkTracerProvider,
    /// Span ids this route's subscriber handed out and has not closed: the `tracing` registries
    /// of two captures number their spans independently, so an id alone does not say whose it is.
    live_spans: Mutex<HashSet<u64>>,
}

impl Route {
    pub(crate) fn new(
        dispatch: tracing::Dispatch,
        meter_provider: SdkMeterProvider,
        tracer_provider: SdkTracerProvider,
    ) -> Arc<Self> {
        static NEXT_KEY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Arc::new(Route {
            key: NEXT_KEY.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            dispatch,
            meter_provider,
            tracer_provider,
            live_spans: Mutex::new(HashSet::new()),
        })
    }

    pub(crate) fn span_opened(&self, id: &Id) {
        self.live().insert(id.into_u64());
    }

    pub(crate) fn span_closed(&self, id: &Id) {
        self.live().remove(&id.into_u64());
    }

    fn owns(&self, id: &Id) -> bool {
        self.live().contains(&id.into_u64())
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashSet<u64>> {
        self.live_spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Runtime(tokio::runtime::Id),
    Thread(ThreadId),
}

#[derive(Default)]
struct Table {
    /// Per key, the routes attached to it; the last one is active (a capture started while
    /// another is running on the same runtime takes over until it ends).
    by_key: HashMap<Key, Vec<Arc<Route>>>,
    /// Every route not yet ended.
    active: Vec<Arc<Route>>,
}

static TABLE: LazyLock<RwLock<Table>> = LazyLock::new(|| RwLock::new(Table::default()));

/// Routes whose capture ended. Never freed: `downcast_raw` hands out pointers into a route's
/// subscriber that live as long as the process-wide dispatcher, that is, forever.
static ENDED: Mutex<Vec<Arc<Route>>> = Mutex::new(Vec::new());

fn here() -> Key {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => Key::Runtime(handle.id()),
        Err(_) => Key::Thread(std::thread::current().id()),
    }
}

/// The route of the code running now: its runtime's, else its thread's.
pub(crate) fn current() -> Option<Arc<Route>> {
    let table = TABLE.read().unwrap_or_else(PoisonError::into_inner);
    let lookup = |key| table.by_key.get(&key).and_then(|routes| routes.last());
    let found = match tokio::runtime::Handle::try_current() {
        Ok(handle) => lookup(Key::Runtime(handle.id()))
            .or_else(|| lookup(Key::Thread(std::thread::current().id()))),
        Err(_) => lookup(Key::Thread(std::thread::current().id())),
    };
    found.cloned()
}

/// The route that handed out span `id`: the current one if it did, else the only active route
/// that did (a span moved to a thread outside its capture's runtime). `None` when no route or
/// more than one claims it: a call for it is then dropped rather than sent to the wrong capture.
pub(crate) fn owner_of(id: &Id) -> Option<Arc<Route>> {
    if let Some(route) = current()
        && route.owns(id)
    {
        return Some(route);
    }
    let table = TABLE.read().unwrap_or_else(PoisonError::into_inner);
    let mut owners = table.active.iter().filter(|route| route.owns(id));
    match (owners.next(), owners.next()) {
        (Some(route), None) => Some(Arc::clone(route)),
        _ => None,
    }
}

/// Starts routing the current runtime (or thread) to `route`.
pub(crate) fn attach(route: &Arc<Route>) {
    let mut table = TABLE.write().unwrap_or_else(PoisonError::into_inner);
    if !table.active.iter().any(|r| Arc::ptr_eq(r, route)) {
        table.active.push(Arc::clone(route));
    }
    let routes = table.by_key.entry(here()).or_default();
    routes.retain(|r| !Arc::ptr_eq(r, route));
    routes.push(Arc::clone(route));
}

/// Stops routing anything to `route`.
pub(crate) fn detach(route: &Arc<Route>) {
    let mut table = TABLE.write().unwrap_or_else(PoisonError::into_inner);
    table.active.retain(|r| !Arc::ptr_eq(r, route));
    table.by_key.retain(|_, routes| {
        routes.retain(|r| !Arc::ptr_eq(r, route));
        !routes.is_empty()
    });
    drop(table);
    ENDED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Arc::clone(route));
}
