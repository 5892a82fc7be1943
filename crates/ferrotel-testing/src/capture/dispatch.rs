//! The process-wide `tracing` subscriber of a test binary that uses captures: every call goes to
//! the subscriber of the capture the calling code belongs to (`route::current`), and calls about
//! an existing span go to the capture that created it.

use std::any::TypeId;

use tracing_core::span::{Attributes, Current, Id, Record};
use tracing_core::subscriber::{Interest, Subscriber};
use tracing_core::{Event, LevelFilter, Metadata};

use super::route;

/// The id handed out when no capture is current at `new_span` (the span's callsite was enabled
/// for one capture, which ended before the span was built). Calls for it are dropped.
const ORPHAN: u64 = u64::MAX;

pub(crate) struct RoutingSubscriber;

impl Subscriber for RoutingSubscriber {
    fn register_callsite(&self, _metadata: &'static Metadata<'static>) -> Interest {
        // Captures filter differently and come and go: ask `enabled` every time.
        Interest::sometimes()
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        route::current().is_some_and(|route| route.dispatch.enabled(metadata))
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        match route::current() {
            Some(route) => {
                let id = route.dispatch.new_span(span);
                route.span_opened(&id);
                id
            }
            None => Id::from_u64(ORPHAN),
        }
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some(route) = route::owner_of(span) {
            route.dispatch.record(span, values);
        }
    }

    fn record_follows_from(&self, span: &Id, follows: &Id) {
        if let Some(route) = route::owner_of(span) {
            route.dispatch.record_follows_from(span, follows);
        }
    }

    fn event(&self, event: &Event<'_>) {
        if let Some(route) = route::current() {
            route.dispatch.event(event);
        }
    }

    fn enter(&self, span: &Id) {
        if let Some(route) = route::owner_of(span) {
            route.dispatch.enter(span);
        }
    }

    fn exit(&self, span: &Id) {
        if let Some(route) = route::owner_of(span) {
            route.dispatch.exit(span);
        }
    }

    fn clone_span(&self, id: &Id) -> Id {
        match route::owner_of(id) {
            Some(route) => route.dispatch.clone_span(id),
            None => id.clone(),
        }
    }

    fn try_close(&self, id: Id) -> bool {
        let Some(route) = route::owner_of(&id) else {
            return false;
        };
        let closed = route.dispatch.try_close(id.clone());
        if closed {
            route.span_closed(&id);
        }
        closed
    }

    fn current_span(&self) -> Current {
        match route::current() {
            Some(route) => route.dispatch.current_span(),
            None => Current::none(),
        }
    }

    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(self as *const Self as *const ());
        }
        // Pointers into a capture's subscriber stay valid: ended routes are never freed.
        let route = route::current()?;
        ferrotel_tracing::forward_downcast_raw(&route.dispatch, id)
    }
}
