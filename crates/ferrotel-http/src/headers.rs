//! The one W3C propagation extractor/injector and the one response-header writer, shared by
//! the tower, actix and reqwest paths.
//!
//! The frameworks use two header map types (`http` 1.x for tower/hyper/reqwest, `http` 0.2
//! inside actix-web), so each gets a small [`HeaderAccess`] implementation and everything above
//! it (which W3C names are pre-parsed, which response headers are written) exists once.

use opentelemetry::propagation::{Extractor, Injector};

use crate::instrumentation::{RequestId, TraceHeaderValue, TraceResponseHeader};
use crate::w3c;

/// Header names the middleware reads or writes, pre-parsed per header map type so the hot path
/// never parses a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KnownHeader {
    TraceParent,
    TraceState,
    Baggage,
    TraceResponse,
}

impl KnownHeader {
    /// The known header a propagator key names, if any.
    fn from_key(key: &str) -> Option<Self> {
        match key {
            "traceparent" => Some(Self::TraceParent),
            "tracestate" => Some(Self::TraceState),
            "baggage" => Some(Self::Baggage),
            _ => None,
        }
    }

    /// The response header carrying the server span's context.
    fn of(header: TraceResponseHeader) -> Option<Self> {
        match header {
            TraceResponseHeader::TraceResponse => Some(Self::TraceResponse),
            TraceResponseHeader::TraceParent => Some(Self::TraceParent),
            TraceResponseHeader::None => None,
        }
    }
}

/// What the shared code needs from a header map.
pub(crate) trait HeaderAccess {
    /// This map's header-name type (the request-id header is configurable).
    type Name;
    /// A known header's value, when it is valid ASCII.
    fn get_known(&self, header: KnownHeader) -> Option<&str>;
    /// Any header's value by name, when it is valid ASCII.
    fn get_str(&self, name: &str) -> Option<&str>;
    /// Every header name present.
    fn names(&self) -> Vec<&str>;
    /// Sets a known header (invalid values are skipped).
    fn set_known(&mut self, header: KnownHeader, value: &[u8]);
    /// Sets a header by this map's name type (invalid values are skipped).
    fn set(&mut self, name: &Self::Name, value: &[u8]);
    /// Sets a header by name string (invalid names or values are skipped). Only the injector
    /// of outgoing requests (feature `reqwest`) needs it.
    #[cfg_attr(not(feature = "reqwest"), allow(dead_code))]
    fn set_str(&mut self, name: &str, value: &str);
}

/// Reads a header map for the global propagator (`traceparent`, `tracestate`, `baggage`).
pub(crate) struct HeaderExtractor<'a, M>(pub &'a M);

impl<M: HeaderAccess> Extractor for HeaderExtractor<'_, M> {
    fn get(&self, key: &str) -> Option<&str> {
        match KnownHeader::from_key(key) {
            // Strict W3C checks first: a header that fails is hidden from the propagator.
            Some(known) => self.0.get_known(known).filter(|value| match known {
                KnownHeader::TraceParent => w3c::valid_traceparent(value),
                KnownHeader::TraceState => w3c::valid_tracestate(value),
                KnownHeader::Baggage => w3c::baggage_within_limits(value),
                KnownHeader::TraceResponse => true,
            }),
            None => self.0.get_str(key),
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.0.names()
    }
}

/// Writes the global propagator's headers into a header map.
#[cfg_attr(not(feature = "reqwest"), allow(dead_code))] // only the client injects
pub(crate) struct HeaderInjector<'a, M>(pub &'a mut M);

impl<M: HeaderAccess> Injector for HeaderInjector<'_, M> {
    fn set(&mut self, key: &str, value: String) {
        match KnownHeader::from_key(key) {
            Some(known) => self.0.set_known(known, value.as_bytes()),
            None => self.0.set_str(key, &value),
        }
    }
}

/// Headers an adapter adds to the response: the trace-context header (when the span is sampled
/// into a valid context) and the request id.
pub(crate) struct ResponseHeaders<'a> {
    pub trace: Option<(TraceResponseHeader, TraceHeaderValue)>,
    pub request_id: &'a RequestId,
}

impl ResponseHeaders<'_> {
    /// Writes both headers into `map`; `request_id_header` is the configured name in `map`'s
    /// own name type.
    pub(crate) fn write_to<M: HeaderAccess>(&self, map: &mut M, request_id_header: &M::Name) {
        if let Some((header, value)) = &self.trace
            && let Some(known) = KnownHeader::of(*header)
        {
            map.set_known(known, value.as_bytes());
        }
        map.set(request_id_header, self.request_id.as_bytes());
    }
}

/// Implements [`HeaderAccess`] for one `http`-crate version's `HeaderMap` (tower and actix use
/// different versions with the same API).
macro_rules! header_access {
    ($map:ty, $name:ty, $value:ty) => {
        impl HeaderAccess for $map {
            type Name = $name;

            fn get_known(&self, header: KnownHeader) -> Option<&str> {
                const TRACEPARENT: $name = <$name>::from_static("traceparent");
                const TRACESTATE: $name = <$name>::from_static("tracestate");
                const BAGGAGE: $name = <$name>::from_static("baggage");
                const TRACERESPONSE: $name = <$name>::from_static("traceresponse");
                let value = match header {
                    KnownHeader::TraceParent => self.get(TRACEPARENT),
                    KnownHeader::TraceState => self.get(TRACESTATE),
                    KnownHeader::Baggage => self.get(BAGGAGE),
                    KnownHeader::TraceResponse => self.get(TRACERESPONSE),
                };
                value.and_then(|v| v.to_str().ok())
            }

            fn get_str(&self, name: &str) -> Option<&str> {
                self.get(name).and_then(|v| v.to_str().ok())
            }

            fn names(&self) -> Vec<&str> {
                self.keys().map(|k| k.as_str()).collect()
            }

            fn set_known(&mut self, header: KnownHeader, value: &[u8]) {
                let name = match header {
                    KnownHeader::TraceParent => <$name>::from_static("traceparent"),
                    KnownHeader::TraceState => <$name>::from_static("tracestate"),
                    KnownHeader::Baggage => <$name>::from_static("baggage"),
                    KnownHeader::TraceResponse => <$name>::from_static("traceresponse"),
                };
                if let Ok(value) = <$value>::from_bytes(value) {
                    self.insert(name, value);
                }
            }

            fn set(&mut self, name: &Self::Name, value: &[u8]) {
                if let Ok(value) = <$value>::from_bytes(value) {
                    self.insert(name.clone(), value);
                }
            }

            fn set_str(&mut self, name: &str, value: &str) {
                if let (Ok(name), Ok(value)) = (
                    <$name>::from_bytes(name.as_bytes()),
                    <$value>::from_str(value),
                ) {
                    self.insert(name, value);
                }
            }
        }
    };
}

header_access!(http::HeaderMap, http::HeaderName, http::HeaderValue);

#[cfg(feature = "actix")]
header_access!(
    actix_web::http::header::HeaderMap,
    actix_web::http::header::HeaderName,
    actix_web::http::header::HeaderValue
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extractor_reads_w3c_and_other_headers() {
        let mut map = http::HeaderMap::new();
        map.insert(
            "traceparent",
            http::HeaderValue::from_static(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        );
        map.insert("x-other", http::HeaderValue::from_static("v"));
        let extractor = HeaderExtractor(&map);
        assert_eq!(
            extractor.get("traceparent"),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        );
        assert_eq!(extractor.get("x-other"), Some("v"));
        assert_eq!(extractor.get("baggage"), None);
        let mut keys = extractor.keys();
        keys.sort_unstable();
        assert_eq!(keys, ["traceparent", "x-other"]);
    }

    #[test]
    fn injector_writes_what_the_extractor_reads() {
        let mut map = http::HeaderMap::new();
        let mut injector = HeaderInjector(&mut map);
        injector.set("tracestate", "k=v".to_owned());
        injector.set("x-custom", "1".to_owned());
        injector.set("bad name", "1".to_owned());
        assert_eq!(HeaderExtractor(&map).get("tracestate"), Some("k=v"));
        assert_eq!(HeaderExtractor(&map).get("x-custom"), Some("1"));
        assert_eq!(map.len(), 2);
    }

    #[cfg(feature = "actix")]
    #[test]
    fn actix_maps_behave_the_same() {
        use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
        let mut map = HeaderMap::new();
        map.insert(
            HeaderName::from_static("baggage"),
            HeaderValue::from_static("a=1"),
        );
        assert_eq!(HeaderExtractor(&map).get("baggage"), Some("a=1"));
        HeaderInjector(&mut map).set("traceparent", "00-x-y-01".to_owned());
        assert_eq!(map.get("traceparent").unwrap(), "00-x-y-01");
    }
}
