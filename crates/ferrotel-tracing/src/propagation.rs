//! W3C Trace Context propagation with strict parsing: [`TraceContextPropagator`] and
//! [`parse_traceparent`].
//!
//! The SDK's `TraceContextPropagator` splits the header into a vector, parses each part with
//! `from_str_radix` and pads short ids (a 30-hex-digit trace id is accepted as a parent). This
//! one checks the header against W3C Trace Context level 2 in one pass over its bytes and decodes
//! the ids while checking them; what it injects is the same as the SDK propagator's.

use opentelemetry::Context;
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";

/// The ids and sampled flag of a `traceparent` header, `None` when it is not valid W3C Trace
/// Context: `version-traceid-parentid-flags` in lowercase hex, version `ff` invalid, version `00`
/// exactly 55 characters, a later version possibly followed by `-...` fields (ignored), all-zero
/// ids invalid. Flags other than `sampled` are dropped, as the specification asks.
///
/// ```
/// use ferrotel_tracing::propagation::parse_traceparent;
///
/// let (trace, span, flags) =
///     parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
/// assert_eq!(format!("{trace}-{span}"), "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7");
/// assert!(flags.is_sampled());
/// // A 30-hex-digit trace id, which the SDK's propagator would pad and accept:
/// assert!(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01").is_none());
/// ```
pub fn parse_traceparent(value: &str) -> Option<(TraceId, SpanId, TraceFlags)> {
    let b = value.as_bytes();
    if b.len() < 55 || b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
        return None;
    }
    let version = hex(&b[0..2])?;
    let trace = hex(&b[3..35])?;
    let span = hex(&b[36..52])?;
    let flags = hex(&b[53..55])?;
    let length_ok = match version {
        0 => b.len() == 55,
        0xff => false,
        // A future version: what follows the known fields must start a new field.
        _ => b.len() == 55 || b[55] == b'-',
    };
    if !length_ok || trace == 0 || span == 0 {
        return None;
    }
    Some((
        TraceId::from(trace),
        SpanId::from(span as u64),
        TraceFlags::new(flags as u8) & TraceFlags::SAMPLED,
    ))
}

/// The value of each byte as a lowercase hex digit, 0xff for any other byte.
const HEX_DIGIT: [u8; 256] = {
    let mut table = [0xff_u8; 256];
    let mut c = 0;
    while c < 10 {
        table[b'0' as usize + c] = c as u8;
        c += 1;
    }
    let mut c = 0;
    while c < 6 {
        table[b'a' as usize + c] = 10 + c as u8;
        c += 1;
    }
    table
};

/// Lowercase hex digits to a number (at most 32 digits), in 64-bit halves.
fn hex(digits: &[u8]) -> Option<u128> {
    let split = digits.len().saturating_sub(16);
    let (high, low) = digits.split_at(split);
    Some((u128::from(hex64(high)?) << (4 * low.len())) | u128::from(hex64(low)?))
}

fn hex64(digits: &[u8]) -> Option<u64> {
    let mut n: u64 = 0;
    let mut invalid = 0_u8;
    for &c in digits {
        let d = HEX_DIGIT[usize::from(c)];
        invalid |= d;
        n = (n << 4) | u64::from(d & 0xf);
    }
    // Any 0xff digit sets the high bits; valid digits never do.
    (invalid & 0xf0 == 0).then_some(n)
}

/// W3C Trace Context (`traceparent`, `tracestate`) with the strict parsing of
/// [`parse_traceparent`]; injects exactly what the SDK's propagator injects.
///
/// An invalid `traceparent` leaves the context as it was (the request starts a new trace); an
/// invalid `tracestate` is dropped, keeping the parent.
///
/// ```
/// use ferrotel_tracing::propagation::TraceContextPropagator;
/// use opentelemetry::propagation::TextMapPropagator as _;
/// use opentelemetry::trace::TraceContextExt as _;
/// use std::collections::HashMap;
///
/// let headers = HashMap::from([(
///     "traceparent".to_string(),
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
/// )]);
/// let cx = TraceContextPropagator::new().extract(&headers);
/// assert!(cx.span().span_context().is_remote());
/// let mut out = HashMap::new();
/// TraceContextPropagator::new().inject_context(&cx, &mut out);
/// assert_eq!(out["traceparent"], headers["traceparent"]);
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct TraceContextPropagator {
    _private: (),
}

impl TraceContextPropagator {
    /// The propagator.
    pub fn new() -> Self {
        Self::default()
    }
}

fn fields() -> &'static [String; 2] {
    static NAMES: std::sync::OnceLock<[String; 2]> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| [TRACEPARENT.to_string(), TRACESTATE.to_string()])
}

impl TextMapPropagator for TraceContextPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let sc = span.span_context();
        if sc.is_valid() {
            injector.set(
                TRACEPARENT,
                format!(
                    "00-{}-{}-{:02x}",
                    sc.trace_id(),
                    sc.span_id(),
                    sc.trace_flags() & TraceFlags::SAMPLED
                ),
            );
            injector.set(TRACESTATE, sc.trace_state().header());
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let Some((trace, span, flags)) = extractor
            .get(TRACEPARENT)
            .and_then(|v| parse_traceparent(v.trim()))
        else {
            return cx.clone();
        };
        let state = match extractor.get(TRACESTATE) {
            Some(s) if !s.trim().is_empty() => s.parse().unwrap_or_default(),
            _ => TraceState::default(),
        };
        cx.with_remote_span_context(SpanContext::new(trace, span, flags, true, state))
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(fields())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn extracts_what_the_sdk_extracts_from_valid_headers_and_nothing_from_invalid_ones() {
        let sdk = opentelemetry_sdk::propagation::TraceContextPropagator::new();
        let ours = TraceContextPropagator::new();
        let cases = [
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                Some("rojo=1,congo=2"),
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
                None,
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff",
                Some(""),
            ),
            (
                "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future",
                None,
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                Some("BAD STATE"),
            ),
        ];
        for (parent, state) in cases {
            let mut headers = HashMap::from([("traceparent".to_string(), parent.to_string())]);
            if let Some(state) = state {
                headers.insert("tracestate".into(), state.into());
            }
            let a = sdk.extract(&headers);
            let b = ours.extract(&headers);
            assert_eq!(
                a.span().span_context(),
                b.span().span_context(),
                "{parent} {state:?}"
            );
            let (mut ia, mut ib) = (HashMap::new(), HashMap::new());
            sdk.inject_context(&a, &mut ia);
            ours.inject_context(&b, &mut ib);
            assert_eq!(ia, ib);
        }
        for bad in [
            "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
            "",
        ] {
            let headers = HashMap::from([("traceparent".to_string(), bad.to_string())]);
            assert!(
                !ours.extract(&headers).span().span_context().is_valid(),
                "{bad:?}"
            );
            assert!(parse_traceparent(bad).is_none(), "{bad:?}");
        }
        assert_eq!(
            ours.fields().collect::<Vec<_>>(),
            ["traceparent", "tracestate"]
        );
    }
}
