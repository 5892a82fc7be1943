//! `traceparent`, `tracestate` and `baggage` as a hostile client would send them, through
//! `ferrotel_http::w3c` (the checks the HTTP middleware applies) and the global propagators.
//!
//! Checked for every input: nothing panics; a parent is extracted only from a `traceparent`
//! that passes the strict level-2 check, and its ids are exactly the header's hex digits (the
//! upstream propagator pads short ids, which is what the check is for); a `tracestate` that
//! fails its check contributes nothing, and an accepted one has at most 32 members; baggage
//! over the W3C limits contributes nothing, and accepted baggage has at most 64 entries.
//!
//! Input: the three header values separated by `0xff` bytes (any bytes: the header map takes
//! what `http::HeaderValue` accepts, obs-text included).
#![no_main]

use std::sync::Once;

use ferrotel_http::w3c;
use libfuzzer_sys::fuzz_target;
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

static PROPAGATORS: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    PROPAGATORS.call_once(|| {
        opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
            Box::new(TraceContextPropagator::new()),
            Box::new(BaggagePropagator::new()),
        ]));
    });
    let mut parts = data.splitn(3, |&b| b == 0xff);
    let (traceparent, tracestate, baggage) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );

    // The validators on their own take any text.
    for part in [traceparent, tracestate, baggage] {
        let text = String::from_utf8_lossy(part);
        let _ = w3c::valid_traceparent(&text);
        let _ = w3c::valid_tracestate(&text);
        let _ = w3c::baggage_within_limits(&text);
    }

    let mut headers = http::HeaderMap::new();
    for (name, value) in [
        ("traceparent", traceparent),
        ("tracestate", tracestate),
        ("baggage", baggage),
    ] {
        if let Ok(value) = http::HeaderValue::from_bytes(value) {
            headers.insert(name, value);
        }
    }
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let cx = w3c::extract_context(&headers);

    let span = cx.span();
    let sc = span.span_context();
    if sc.is_valid() {
        let tp = text("traceparent").expect("a parent needs a readable traceparent");
        assert!(w3c::valid_traceparent(tp), "parent extracted from {tp:?}");
        assert!(sc.is_remote());
        assert_eq!(
            format!("{:032x}", sc.trace_id()),
            tp[3..35],
            "trace id of {tp:?}"
        );
        assert_eq!(
            format!("{:016x}", sc.span_id()),
            tp[36..52],
            "span id of {tp:?}"
        );
        let flags = u8::from_str_radix(&tp[53..55], 16).unwrap();
        assert_eq!(sc.is_sampled(), flags & 1 == 1, "flags of {tp:?}");
        let state = sc.trace_state().header();
        match text("tracestate") {
            Some(ts) if w3c::valid_tracestate(ts) => {
                let members = state.split(',').filter(|m| !m.is_empty()).count();
                assert!(members <= 32, "{members} tracestate members from {ts:?}");
            }
            _ => assert!(
                state.is_empty(),
                "tracestate {state:?} from a rejected header"
            ),
        }
    }

    let accepted_baggage = text("baggage").is_some_and(w3c::baggage_within_limits);
    let entries = cx.baggage().len();
    if accepted_baggage {
        assert!(entries <= 64, "{entries} baggage entries");
    } else {
        assert_eq!(entries, 0, "baggage from a rejected or missing header");
    }
});
